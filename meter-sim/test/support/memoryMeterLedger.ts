import { GatewayError } from '@hyperledger/fabric-gateway';
import type { ServiceError } from '@grpc/grpc-js';
import type { SubscriptionRecord, WalletRecord } from '@smartmeter/domain';
import type { BatchResult, ReadingSubmission } from '@smartmeter/client/dist/contracts/MeasurementClient';
import { PAIR_BUNDLE_FORMAT, type PairBundle } from '@smartmeter/client/dist/pairBundle';
import { keyIdOf } from '@smartmeter/crypto';
import { contracts, World, type Household } from '../../../chaincode/test/support/fixtures';
import type { MeterLedger } from '../../src/meter';

/** Errors as the gateway delivers them: a chaincode refusal in the details, or an unreachable peer. */
export function refusalError(message: string): GatewayError {
  return new GatewayError({
    code: 10,
    details: [
      {
        address: 'peer0.memory:7051',
        mspId: 'Distributor1MSP',
        message: `chaincode response 500, ${message}`,
      },
    ],
    cause: {} as ServiceError,
    message: '10 ABORTED: failed to endorse transaction',
  });
}

export function unavailableError(): GatewayError {
  return new GatewayError({
    code: 14,
    details: [],
    cause: {} as ServiceError,
    message: '14 UNAVAILABLE: No connection established',
  });
}

/**
 * The real contracts on the in-memory ledger, seen by one meter: transaction time is the wall clock, like the
 * orderer's, and chaincode refusals arrive as gateway errors.
 */
export class MemoryMeterLedger implements MeterLedger {
  /** Makes the next n submissions fail as if the peer were down. */
  outageSubmissions = 0;
  /**
   * Commits the next submission, then stops the meter through this controller and throws, as if the process
   * died between the ledger's commit and the outbox's record of it.
   */
  crashAfterNextCommit: AbortController | undefined;
  readonly submittedBatches: string[][] = [];
  /**
   * The subscription's prepaid wallet as Prepaid:GetWallet returns it; undefined: not prepaid (NOT_FOUND). Tests
   * set it (or change it in afterSubmit) as the chaincode would on a wallet change.
   */
  wallet: WalletRecord | undefined;
  /** Makes the next n wallet reads fail as if the peer were down. */
  outageWalletReads = 0;
  walletReads = 0;
  /** Called after each committed submission, with how many there have been: tests change the wallet here. */
  afterSubmit: ((submissions: number) => void) | undefined;

  constructor(
    readonly world: World,
    readonly household: Household,
  ) {}

  getSubscription(): Promise<SubscriptionRecord> {
    return this.call((ctx) => contracts.subscription.GetSubscription(ctx, this.household.subscriptionId));
  }

  confirmPairing(proof: string): Promise<SubscriptionRecord> {
    return this.call((ctx) =>
      contracts.subscription.ConfirmPairing(ctx, this.household.subscriptionId, proof),
    );
  }

  async submitReadings(readings: ReadingSubmission[]): Promise<BatchResult> {
    if (this.outageSubmissions > 0) {
      this.outageSubmissions -= 1;
      throw unavailableError();
    }
    const result = await this.call<BatchResult>((ctx) =>
      contracts.measurement.SubmitReadings(ctx, JSON.stringify(readings)),
    );
    this.submittedBatches.push(readings.map((r) => r.periodStart));
    this.afterSubmit?.(this.submittedBatches.length);
    const crash = this.crashAfterNextCommit;
    if (crash) {
      this.crashAfterNextCommit = undefined;
      crash.abort();
      throw new Error('simulated crash after commit');
    }
    return result;
  }

  walletOf(subscriptionId: string): Promise<WalletRecord | undefined> {
    this.walletReads += 1;
    if (this.outageWalletReads > 0) {
      this.outageWalletReads -= 1;
      return Promise.reject(unavailableError());
    }
    if (subscriptionId !== this.household.subscriptionId)
      return Promise.reject(refusalError(`FORBIDDEN: the meter may read only its own wallet`));
    return Promise.resolve(this.wallet && { ...this.wallet, policy: { ...this.wallet.policy } });
  }

  private async call<T>(fn: Parameters<World['run']>[1]): Promise<T> {
    try {
      return JSON.parse(
        (await this.world.run(this.household.meter, fn, { time: new Date() })) as string,
      ) as T;
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw refusalError((err as Error).message);
    }
  }
}

/** An approved (not yet paired) household whose half-hourly periods start at `startSeconds`, on a ledger at wall time. */
export async function approvedHousehold(
  startSeconds: number,
  intervalSeconds = 1800,
): Promise<{ world: World; household: Household }> {
  const world = await World.create();
  const household = await world.requested();
  const startDate = new Date(startSeconds * 1000).toISOString().replace('.000Z', 'Z');
  await world.approve(household, { intervalSeconds, startDate }, { time: new Date() });
  return { world, household };
}

export function bundleFor(household: Household): PairBundle {
  return {
    format: PAIR_BUNDLE_FORMAT,
    channel: 'northgrid',
    chaincodeName: 'smartmeter',
    mspId: 'Distributor1MSP',
    subscriptionId: household.subscriptionId,
    meterId: household.meterId,
    peer: { endpoint: 'memory', hostAlias: 'memory', tlsRootCertPem: '' },
    identity: { certificatePem: '', privateKeyPem: '' },
    sessionKey: { keyId: keyIdOf(household.sessionKey), keyHex: household.sessionKey.toString('hex') },
    createdAt: '2026-01-01T00:00:00Z',
  };
}
