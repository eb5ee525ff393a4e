import {
  contractOf,
  evaluateJson,
  type ChaincodeChannel,
  type ContractTarget,
} from '@smartmeter/client/dist/contracts/invoke';
import { refusalOf } from '@smartmeter/client/dist/errors';
import { ErrorCode, type SubscriptionRecord, type WalletRecord } from '@smartmeter/domain';
import {
  MeasurementClient,
  type BatchResult,
  type ReadingSubmission,
} from '@smartmeter/client/dist/contracts/MeasurementClient';
import { SubscriptionClient } from '@smartmeter/client/dist/contracts/SubscriptionClient';
import type { MeterLedger } from './meter';

/** The ledger as one meter sees it through the Fabric gateway: its subscription, its readings and its wallet. */
export class NetworkLedger implements MeterLedger {
  private readonly subscriptions: SubscriptionClient;
  private readonly measurements: MeasurementClient;
  private readonly prepaid: ContractTarget;

  constructor(
    chaincode: ChaincodeChannel,
    private readonly subscriptionId: string,
  ) {
    this.subscriptions = new SubscriptionClient(chaincode);
    this.measurements = new MeasurementClient(chaincode);
    this.prepaid = contractOf(chaincode, 'Prepaid');
  }

  getSubscription(): Promise<SubscriptionRecord> {
    return this.subscriptions.get(this.subscriptionId);
  }

  confirmPairing(proof: string): Promise<SubscriptionRecord> {
    return this.subscriptions.confirmPairing(this.subscriptionId, proof);
  }

  /** SubmitReadings, also for a single reading: all or nothing, and idempotent for readings already stored. */
  async submitReadings(readings: ReadingSubmission[]): Promise<BatchResult> {
    return this.measurements.submitBatch(readings);
  }

  /** Prepaid:GetWallet, evaluated (the meter may read its own subscription's wallet); NOT_FOUND: not prepaid. */
  async walletOf(subscriptionId: string): Promise<WalletRecord | undefined> {
    try {
      return await evaluateJson<WalletRecord>(this.prepaid, 'GetWallet', subscriptionId);
    } catch (err) {
      if (refusalOf(err)?.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
  }
}
