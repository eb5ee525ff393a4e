import type { ServiceError } from '@grpc/grpc-js';
import { CommitError, EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { CaError, describeFailure, ExitCode, ServiceUnreachable, UsageError } from '../src/errors';
import { ProfileError } from '../src/profile';

const cause = new Error('grpc') as ServiceError;
const gatewayError = (code: number, details: { address: string; mspId: string; message: string }[]) =>
  new EndorseError({ code, details, cause, message: `${code} FAILED: endorse`, transactionId: 'tx1' });

describe('describeFailure: one line and an exit code for every failure', () => {
  it('when a peer refuses with a chaincode error then the code, text and peer are printed, exit 1', () => {
    const err = gatewayError(10, [
      {
        address: '127.0.0.1:7051',
        mspId: 'Distributor1MSP',
        message: 'chaincode response 500, FORBIDDEN: only operators\nmay approve',
      },
    ]);
    expect(describeFailure(err)).toEqual({
      exitCode: ExitCode.Refused,
      message: 'FORBIDDEN: only operators may approve (127.0.0.1:7051, Distributor1MSP)',
    });
  });

  it.each([14, 4])(
    'when the gateway is unreachable (gRPC %i) then exit 3 points at the network status',
    (code) => {
      const err = new GatewayError({ code, details: [], cause, message: 'no connection' });
      expect(describeFailure(err, '127.0.0.1:7051')).toEqual({
        exitCode: ExitCode.Unreachable,
        message: 'cannot reach 127.0.0.1:7051; is the network up? ./test-network.sh status',
      });
    },
  );

  it('when a peer error has no chaincode code then the gateway message and the peer are printed, exit 1', () => {
    const err = gatewayError(9, [{ address: 'p:1', mspId: 'AuthorityMSP', message: 'access denied' }]);
    expect(describeFailure(err)).toEqual({
      exitCode: 1,
      message: '9 FAILED: endorse (p:1, AuthorityMSP: access denied)',
    });
  });

  it('when a transaction fails validation then its id and code are printed, exit 1', () => {
    const err = new CommitError({ code: 10, transactionId: 'abc', message: 'failed' });
    expect(describeFailure(err)).toEqual({
      exitCode: 1,
      message: 'transaction abc was not committed: validation code 10',
    });
  });

  it('when the call or the configuration is wrong then exit 2', () => {
    expect(describeFailure(new UsageError('no profile')).exitCode).toBe(ExitCode.Usage);
    expect(describeFailure(new ProfileError('bad profile')).exitCode).toBe(ExitCode.Usage);
  });
});

describe('describeFailure: the CA and the reporting database', () => {
  it('when the CA refuses then exit 1 with its message; when it cannot be reached then exit 3', () => {
    expect(
      describeFailure(new CaError('the CA ca-distributor1 refused: Identity x is already registered', false)),
    ).toEqual({
      exitCode: 1,
      message: 'the CA ca-distributor1 refused: Identity x is already registered',
    });
    expect(describeFailure(new CaError('cannot reach the CA', true)).exitCode).toBe(3);
  });

  it('when the reporting database cannot be reached then exit 3', () => {
    expect(describeFailure(new ServiceUnreachable('cannot reach the reporting database')).exitCode).toBe(3);
  });
});
