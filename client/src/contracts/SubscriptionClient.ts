import type { Page, SubscriptionRecord, SubscriptionStatus } from '@smartmeter/domain';
import { allPages, contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

export interface ApprovalTerms {
  intervalSeconds: number;
  tariffId: string;
  regionCode: string;
  startDate: string;
}

export interface SubscriptionVersion {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  record: SubscriptionRecord | null;
}

/** The Subscription contract: request, approval, pairing and end of households' subscriptions. */
export class SubscriptionClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Subscription');
  }

  request(requestJson: string): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'RequestSubscription', requestJson);
  }

  approve(subscriptionId: string, terms: ApprovalTerms): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'ApproveSubscription', subscriptionId, JSON.stringify(terms));
  }

  reject(subscriptionId: string, reason: string): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'RejectSubscription', subscriptionId, reason);
  }

  confirmPairing(subscriptionId: string, pairingProof: string): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'ConfirmPairing', subscriptionId, pairingProof);
  }

  /** The household moves its own (party "subscriber") or its meter's binding to a new certificate's key. */
  rebindKey(
    subscriptionId: string,
    party: 'subscriber' | 'meter',
    certificatePem: string,
  ): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'RebindKey', subscriptionId, party, certificatePem);
  }

  /** effectiveFrom empty means the first boundary of both intervals from now. */
  changeInterval(
    subscriptionId: string,
    intervalSeconds: number,
    effectiveFrom = '',
  ): Promise<SubscriptionRecord> {
    return submitJson(
      this.contract,
      'ChangeReadingInterval',
      subscriptionId,
      String(intervalSeconds),
      effectiveFrom,
    );
  }

  /** effectiveAt empty means now (the transaction time). */
  end(subscriptionId: string, reason: string, effectiveAt = ''): Promise<SubscriptionRecord> {
    return submitJson(this.contract, 'EndSubscription', subscriptionId, reason, effectiveAt);
  }

  get(subscriptionId: string): Promise<SubscriptionRecord> {
    return evaluateJson(this.contract, 'GetSubscription', subscriptionId);
  }

  mine(): Promise<SubscriptionRecord[]> {
    return evaluateJson(this.contract, 'ListMySubscriptions');
  }

  page(
    status: SubscriptionStatus | '',
    pageSize: number,
    bookmark: string,
  ): Promise<Page<SubscriptionRecord>> {
    return evaluateJson(this.contract, 'ListSubscriptions', status, String(pageSize), bookmark);
  }

  all(status: SubscriptionStatus | '' = ''): Promise<SubscriptionRecord[]> {
    return allPages((bookmark) => this.page(status, 100, bookmark));
  }

  history(subscriptionId: string): Promise<SubscriptionVersion[]> {
    return evaluateJson(this.contract, 'GetSubscriptionHistory', subscriptionId);
  }
}
