import type { ServiceError } from '@grpc/grpc-js';
import {
  CommitError,
  CommitStatusError,
  EndorseError,
  GatewayError,
  StatusCode,
  type Commit,
  type Contract,
  type Gateway,
  type Status,
} from '@hyperledger/fabric-gateway';
import { gateway as gatewayProtos, msp } from '@hyperledger/fabric-protos';
import { commitStatusRequest, submitConfirmed, type ContractTarget } from '../src/contracts/invoke';
import { outcomeUnknown } from '../src/errors';

const cause = new Error('grpc') as ServiceError;
const utf8 = new TextEncoder();

/** What fabric-gateway throws when the orderers' answer to Submit is an error (its class is not exported). */
function submitError(message: string): GatewayError {
  const err = new GatewayError({ code: 2, details: [], cause, message });
  err.name = 'SubmitError';
  return err;
}

const status = (code: number, transactionId = 'tx-1'): Status => ({
  blockNumber: 7n,
  code: code as Status['code'],
  successful: code === StatusCode.VALID,
  transactionId,
});

/** One endorsed transaction and a ledger that may or may not have it; records every submit and look-up. */
class FakeChannel {
  readonly submits: string[] = [];
  readonly lookUps: string[] = [];
  /** What each Submit does, in order: 'ok' or an error to throw. */
  submitOutcomes: ('ok' | Error)[] = ['ok'];
  /** What the commit status of a submitted transaction says: a status, or an error (a deadline). */
  ledger: Status | Error = status(StatusCode.VALID);
  /** What a look-up by id says; the same as the ledger unless a test sets it. */
  lookUp?: Status | Error;
  /** What each endorsement does, in order, before they all succeed. */
  endorseFailures: Error[] = [];
  readonly endorsements: string[] = [];
  readonly reEndorsed: number[] = [];

  target(): ContractTarget {
    const transaction = {
      getTransactionId: () => 'tx-1',
      getResult: () => utf8.encode('{"stored":1}'),
      submit: async () => {
        this.submits.push('tx-1');
        const outcome = this.submitOutcomes.shift() ?? 'ok';
        if (outcome !== 'ok') throw outcome;
        return { getStatus: async () => this.statusOrThrow() };
      },
    };
    const endorse = async () => {
      this.endorsements.push('endorse');
      const failure = this.endorseFailures.shift();
      if (failure) throw failure;
      return transaction;
    };
    const contract = { newProposal: () => ({ endorse }) } as unknown as Contract;
    const gateway = {
      getIdentity: () => ({ mspId: 'Distributor1HouseholdsMSP', credentials: utf8.encode('cert') }),
      newCommit: (bytes: Uint8Array): Commit => {
        const signed = gatewayProtos.SignedCommitStatusRequest.deserializeBinary(bytes);
        const request = gatewayProtos.CommitStatusRequest.deserializeBinary(signed.getRequest_asU8());
        this.lookUps.push(request.getTransactionId());
        return { getStatus: async () => this.statusOrThrow(this.lookUp) } as unknown as Commit;
      },
    } as unknown as Gateway;
    return {
      contract,
      gateway,
      channelName: 'northgrid',
      observer: { reEndorsed: (attempt) => this.reEndorsed.push(attempt) },
    };
  }

  private statusOrThrow(answer: Status | Error = this.ledger): Status {
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

describe('submitConfirmed: a transaction is ordered at most once, and its outcome is confirmed', () => {
  it('when the submit succeeds and commits then the result is returned without any look-up', async () => {
    const fake = new FakeChannel();
    const result = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] });
    expect(new TextDecoder().decode(result)).toBe('{"stored":1}');
    expect(fake.submits).toEqual(['tx-1']);
    expect(fake.lookUps).toEqual([]);
  });

  it('when the gateway reports a failed submit for a transaction that did commit (fabric#4415) then it is looked up by id and not sent again', async () => {
    const fake = new FakeChannel();
    fake.submitOutcomes = [
      submitError('insufficient number of orderers could successfully process the request'),
    ];
    const result = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] });
    expect(new TextDecoder().decode(result)).toBe('{"stored":1}');
    expect(fake.lookUps).toEqual(['tx-1']);
    expect(fake.submits).toEqual(['tx-1']);
  });

  it('when the ledger does not have the transaction then the same signed transaction (same id) is sent once more', async () => {
    const fake = new FakeChannel();
    fake.submitOutcomes = [submitError('no orderer answered'), 'ok'];
    fake.lookUp = new CommitStatusError({
      code: 4,
      details: [],
      cause,
      message: 'deadline',
      transactionId: 'tx-1',
    });
    const result = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] });
    expect(new TextDecoder().decode(result)).toBe('{"stored":1}');
    expect(fake.lookUps).toEqual(['tx-1']);
    expect(fake.submits).toEqual(['tx-1', 'tx-1']);
  });

  it('when the copy cannot be sent either then the error says the outcome is unknown', async () => {
    const fake = new FakeChannel();
    fake.submitOutcomes = [submitError('no orderer answered'), submitError('still none')];
    fake.lookUp = new CommitStatusError({
      code: 4,
      details: [],
      cause,
      message: 'deadline',
      transactionId: 'tx-1',
    });
    const failure = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] }).catch(
      (err: unknown) => err,
    );
    expect(outcomeUnknown(failure)).toBe(true);
    expect(fake.submits).toEqual(['tx-1', 'tx-1']);
  });

  it('when the commit status does not come in time then it is asked for once more, and found committed', async () => {
    const fake = new FakeChannel();
    fake.ledger = new CommitStatusError({
      code: 4,
      details: [],
      cause,
      message: 'deadline',
      transactionId: 'tx-1',
    });
    fake.lookUp = status(StatusCode.VALID);
    const result = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] });
    expect(new TextDecoder().decode(result)).toBe('{"stored":1}');
    expect(fake.submits).toEqual(['tx-1']);
    expect(fake.lookUps).toEqual(['tx-1']);
  });

  it('when the transaction is ordered but invalid then a CommitError names its validation code', async () => {
    const fake = new FakeChannel();
    fake.ledger = status(StatusCode.MVCC_READ_CONFLICT);
    const failure = await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] }).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(CommitError);
    expect((failure as CommitError).code).toBe(StatusCode.MVCC_READ_CONFLICT);
    expect((failure as CommitError).transactionId).toBe('tx-1');
  });

  it('when the endorsing peers answered differently (ABORTED, no refusal) then it is endorsed anew and commits', async () => {
    const fake = new FakeChannel();
    const diverged = new EndorseError({
      code: 10,
      details: [],
      cause,
      message:
        '10 ABORTED: failed to collect enough transaction endorsements: ProposalResponsePayloads do not match',
      transactionId: 'tx-0',
    });
    fake.endorseFailures = [diverged, diverged];
    await submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] });
    expect(fake.endorsements).toHaveLength(3);
    expect(fake.reEndorsed).toEqual([1, 2]);
    expect(fake.submits).toEqual(['tx-1']);
  });

  it('when the peers keep answering differently then it gives up after three new endorsements, submitting nothing', async () => {
    const fake = new FakeChannel();
    const diverged = new EndorseError({
      code: 10,
      details: [],
      cause,
      message: 'ABORTED',
      transactionId: 'tx-0',
    });
    fake.endorseFailures = [diverged, diverged, diverged, diverged, diverged];
    await expect(submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] })).rejects.toBe(diverged);
    expect(fake.endorsements).toHaveLength(4);
    expect(fake.submits).toEqual([]);
  });

  it('when an endorser refuses with a chaincode code (ABORTED with a CODE: detail) then it is not endorsed again', async () => {
    const fake = new FakeChannel();
    fake.endorseFailures = [
      new EndorseError({
        code: 10,
        details: [
          {
            address: 'peer0',
            mspId: 'Distributor1MSP',
            message: 'chaincode response 500, CONFLICT: readings must advance',
          },
        ],
        cause,
        message: 'ABORTED',
        transactionId: 'tx-0',
      }),
    ];
    await expect(submitConfirmed(fake.target(), 'SubmitReadings', { arguments: [] })).rejects.toThrow(
      'ABORTED',
    );
    expect(fake.endorsements).toHaveLength(1);
    expect(fake.reEndorsed).toEqual([]);
  });

  it('when a chaincode refusal comes back from endorsement then nothing is submitted', async () => {
    const fake = new FakeChannel();
    const target = fake.target();
    const refusal = new GatewayError({ code: 10, details: [], cause, message: 'FORBIDDEN: no' });
    (target.contract as unknown as { newProposal: () => unknown }).newProposal = () => ({
      endorse: () => Promise.reject(refusal),
    });
    await expect(submitConfirmed(target, 'SubmitReadings', { arguments: [] })).rejects.toBe(refusal);
    expect(fake.submits).toEqual([]);
  });
});

describe('commitStatusRequest', () => {
  it('asks for the transaction id on the channel as the gateway identity', () => {
    let sent: Uint8Array = new Uint8Array();
    const gateway = {
      getIdentity: () => ({ mspId: 'AuthorityMSP', credentials: utf8.encode('PEM') }),
      newCommit: (bytes: Uint8Array) => {
        sent = bytes;
        return {} as Commit;
      },
    } as unknown as Gateway;
    commitStatusRequest({ contract: {} as Contract, gateway, channelName: 'southgrid' }, 'abc123');
    const signed = gatewayProtos.SignedCommitStatusRequest.deserializeBinary(sent);
    const request = gatewayProtos.CommitStatusRequest.deserializeBinary(signed.getRequest_asU8());
    const identity = msp.SerializedIdentity.deserializeBinary(request.getIdentity_asU8());
    expect([request.getTransactionId(), request.getChannelId(), identity.getMspid()]).toEqual([
      'abc123',
      'southgrid',
      'AuthorityMSP',
    ]);
    expect(new TextDecoder().decode(identity.getIdBytes_asU8())).toBe('PEM');
    expect(signed.getSignature_asU8()).toHaveLength(0);
  });
});
