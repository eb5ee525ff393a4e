import type { ServiceError } from '@grpc/grpc-js';
import { CommitError, CommitStatusError, EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import {
  backoffDelayMs,
  CaError,
  describeFailure,
  ExitCode,
  isRetryable,
  outcomeUnknown,
  NotOnChannel,
  ServiceUnreachable,
  UsageError,
} from '../src/errors';
import { ProfileError } from '../src/profile';

const cause = new Error('grpc') as ServiceError;
const gatewayError = (code: number, details: { address: string; mspId: string; message: string }[]) =>
  new EndorseError({ code, details, cause, message: `${code} FAILED: endorse`, transactionId: 'tx1' });

describe('describeFailure: one line and an exit code for every failure', () => {
  it('when the network did not confirm a submitted transaction then the message says it may still commit, exit 3', () => {
    const err = new CommitStatusError({
      code: 4,
      details: [],
      cause,
      message: '4 DEADLINE_EXCEEDED: Deadline exceeded',
      transactionId: 'f00d',
    });
    expect(describeFailure(err)).toEqual({
      exitCode: ExitCode.Unreachable,
      message:
        'the network did not confirm transaction f00d (4 DEADLINE_EXCEEDED: Deadline exceeded); it may still commit: check the ledger before repeating it',
    });
  });

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
      message: 'transaction abc was not committed: ENDORSEMENT_POLICY_FAILURE (10)',
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

  it('when the organization is not a member of the channel asked for then exit 1, as the peers would refuse it', () => {
    expect(describeFailure(new NotOnChannel('Distributor2MSP is not a member of channel northgrid'))).toEqual(
      {
        exitCode: 1,
        message: 'Distributor2MSP is not a member of channel northgrid',
      },
    );
  });
});

describe('retry rules: only what is safe and useful', () => {
  const refusal = gatewayError(10, [
    {
      address: 'p:1',
      mspId: 'Distributor1MSP',
      message: 'chaincode response 500, CONFLICT: readings must advance',
    },
  ]);

  it.each<[string, unknown, boolean]>([
    [
      'an MVCC read conflict at commit',
      new CommitError({ code: 11, transactionId: 't', message: 'm' }),
      true,
    ],
    [
      'a phantom read conflict at commit',
      new CommitError({ code: 12, transactionId: 't', message: 'm' }),
      true,
    ],
    [
      'an endorsement-policy failure at commit',
      new CommitError({ code: 10, transactionId: 't', message: 'm' }),
      false,
    ],
    ['a chaincode refusal', refusal, false],
    ['an unreachable endorser', gatewayError(14, []), true],
    ['an endorser that answered too late', gatewayError(4, []), true],
    [
      'endorsers one block apart',
      new EndorseError({
        code: 10,
        details: [],
        cause,
        message: '10 ABORTED: ProposalResponsePayloads do not match',
        transactionId: 't',
      }),
      true,
    ],
    ['the gateway refusing the identity', gatewayError(7, []), false],
    [
      'an endorser whose chaincode server is down',
      gatewayError(10, [{ address: 'p:1', mspId: 'AuthorityMSP', message: 'connection refused' }]),
      true,
    ],
    [
      'a commit status that timed out (the outcome is unknown)',
      new CommitStatusError({ code: 4, details: [], cause, message: 'x', transactionId: 't' }),
      false,
    ],
  ])('when the failure is %s then retrying is %s', (_label, err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });

  it('when a commit status timed out then the outcome counts as unknown (look the transaction up first)', () => {
    expect(
      outcomeUnknown(
        new CommitStatusError({ code: 4, details: [], cause, message: 'x', transactionId: 't' }),
      ),
    ).toBe(true);
    expect(outcomeUnknown(refusal)).toBe(false);
  });

  it('when backing off then the delay doubles to a cap, with jitter in its upper half', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelayMs(n, 1000, 30_000, () => 0))).toEqual([
      500, 1000, 2000, 4000, 15_000,
    ]);
    expect([0, 1, 2, 3, 10].map((n) => backoffDelayMs(n, 1000, 30_000, () => 0.999999))).toEqual([
      999, 1999, 3999, 7999, 29_999,
    ]);
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(3)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
