import type { ChaincodeChannel } from '@smartmeter/client/dist/contracts/invoke';
import type { SubscriptionRecord } from '@smartmeter/domain';
import {
  MeasurementClient,
  type BatchResult,
  type ReadingSubmission,
} from '@smartmeter/client/dist/contracts/MeasurementClient';
import { SubscriptionClient } from '@smartmeter/client/dist/contracts/SubscriptionClient';
import type { MeterLedger } from './meter';

/** The ledger as one meter sees it through the Fabric gateway: its subscription and its readings. */
export class NetworkLedger implements MeterLedger {
  private readonly subscriptions: SubscriptionClient;
  private readonly measurements: MeasurementClient;

  constructor(
    chaincode: ChaincodeChannel,
    private readonly subscriptionId: string,
  ) {
    this.subscriptions = new SubscriptionClient(chaincode);
    this.measurements = new MeasurementClient(chaincode);
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
}
