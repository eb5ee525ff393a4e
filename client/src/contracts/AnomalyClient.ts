import type { ConfirmedAnomalyRecord } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** The Anomaly contract: findings the distributor confirmed, sealed under the session key. */
export class AnomalyClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Anomaly');
  }

  /** By an operator of the subscription's distributor. */
  confirm(
    subscriptionId: string,
    anomalyTag: string,
    sealedFinding: string,
  ): Promise<ConfirmedAnomalyRecord> {
    return submitJson(this.contract, 'ConfirmAnomaly', subscriptionId, anomalyTag, sealedFinding);
  }

  get(subscriptionId: string, anomalyTag: string): Promise<ConfirmedAnomalyRecord> {
    return evaluateJson(this.contract, 'GetConfirmedAnomaly', subscriptionId, anomalyTag);
  }

  all(subscriptionId: string): Promise<ConfirmedAnomalyRecord[]> {
    return evaluateJson(this.contract, 'ListConfirmedAnomalies', subscriptionId);
  }
}
