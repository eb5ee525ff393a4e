import type { ServiceError } from '@grpc/grpc-js';
import { CommitError, CommitStatusError, GatewayError } from '@hyperledger/fabric-gateway';
import { ClientRefusal, NotOnChannel, ServiceUnreachable, UsageError } from '@smartmeter/client/dist/errors';
import { InvalidGrantError } from '@smartmeter/client/dist/grants';
import { chaincodeRefusal } from '../../client/test/commands/support/fixtures';
import { httpFailureOf, PortalError } from '../src/errors';

const PEER = '127.0.0.1:7051 (Distributor1MSP)';
const cause = new Error('grpc') as ServiceError;

describe('httpFailureOf: the HTTP answer of a failure', () => {
  it.each([
    ['INVALID_ARGUMENT', 400],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['ALREADY_EXISTS', 409],
    ['CONFLICT', 409],
    ['WRONG_KEY', 409],
  ])('when the chaincode refuses %s then the status is %i with its code, text and peer', (code, status) => {
    const failure = httpFailureOf(chaincodeRefusal(`${code}: subscription sub_1 says no`), '127.0.0.1:7051');

    expect(failure).toEqual({ status, error: { code, message: 'subscription sub_1 says no', peer: PEER } });
  });

  it("when the portal refuses itself then its status, code and fields are the answer's", () => {
    const failure = httpFailureOf(new PortalError(400, 'VALIDATION', 'bad body', ['body/reason: too long']));

    expect(failure).toEqual({
      status: 400,
      error: { code: 'VALIDATION', message: 'bad body', fields: ['body/reason: too long'] },
    });
  });

  it.each<[what: string, status: number, code: string, err: Error, message: string]>([
    ['a usage error', 400, 'USAGE', new UsageError('--to must be after --from'), '--to must be after --from'],
    [
      'a channel the organization is not on',
      403,
      'NOT_ON_CHANNEL',
      new NotOnChannel('not on southgrid'),
      'not on southgrid',
    ],
    ['a client-side refusal', 422, 'NO_KEY', new ClientRefusal('NO_KEY', 'no key for it'), 'no key for it'],
    // Its message starts with its code: the answer carries the code once.
    [
      'a grant that does not hold the key',
      422,
      'INVALID_GRANT',
      new InvalidGrantError('wraps another key'),
      'wraps another key',
    ],
    [
      'an unreachable reporting database',
      503,
      'UNREACHABLE',
      new ServiceUnreachable('no reports'),
      'no reports',
    ],
    ['a bug', 500, 'INTERNAL', new Error('undefined is not a function'), 'undefined is not a function'],
  ])(
    'when the failure is %s then the status is %i with code %s and its message',
    (_what, status, code, err, message) => {
      expect(httpFailureOf(err)).toEqual({ status, error: { code, message } });
    },
  );

  it('when the gateway peer cannot be reached then 503 UNREACHABLE names its endpoint', () => {
    const err = new GatewayError({ code: 14, details: [], cause, message: 'no connection' });

    expect(httpFailureOf(err, '127.0.0.1:7051')).toEqual({
      status: 503,
      error: {
        code: 'UNREACHABLE',
        message: 'cannot reach 127.0.0.1:7051; is the network up? ./test-network.sh status',
      },
    });
  });

  it('when a submitted transaction was not confirmed then 504 OUTCOME_UNKNOWN says it may still commit', () => {
    const err = new CommitStatusError({
      code: 4,
      details: [],
      cause,
      message: '4 DEADLINE_EXCEEDED',
      transactionId: 'f00d',
    });

    const failure = httpFailureOf(err);

    expect(failure.status).toBe(504);
    expect(failure.error).toMatchObject({
      code: 'OUTCOME_UNKNOWN',
      message: expect.stringContaining('may still commit') as string,
    });
  });

  it('when a transaction lost a race at commit then 409 NOT_COMMITTED names the validation code', () => {
    const err = new CommitError({ code: 11, transactionId: 'abc', message: 'transaction abc failed' });

    expect(httpFailureOf(err)).toEqual({
      status: 409,
      error: { code: 'NOT_COMMITTED', message: 'MVCC_READ_CONFLICT: transaction abc failed' },
    });
  });
});
