import type { AggregateBillFacts, BillComputation, BillRecord, Page } from '@smartmeter/domain';

/** The argument of Billing:RecordAggregateBill. */
export interface AggregateBillClaim {
  subscriptionId: string;
  periodFrom: string;
  periodTo: string;
  /** The redacted computation (redactForLedger). */
  computation: BillComputation;
  aggregate: AggregateBillFacts;
}
import { allPages, contractOf, evaluateJson, submitJson, submitWith, type ChaincodeChannel } from './invoke';

/** The Billing contract: bills computed on the endorsing peers from the encrypted readings. */
export class BillingClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Billing');
  }

  /** The session key travels as transient data; both policy organizations must endorse. */
  issue(
    subscriptionId: string,
    periodFrom: string,
    periodTo: string,
    sessionKey: Uint8Array,
    endorsingOrganizations: string[],
  ): Promise<BillRecord> {
    return submitWith(this.contract, 'IssueBill', {
      arguments: [subscriptionId, periodFrom, periodTo],
      transientData: { sessionKey },
      endorsingOrganizations,
    });
  }

  /** An aggregate subscription's bill, computed off-chain: no transient data, the session key stays here. */
  recordAggregate(claim: AggregateBillClaim): Promise<BillRecord> {
    return submitJson(this.contract, 'RecordAggregateBill', JSON.stringify(claim));
  }

  dispute(billId: string, reason: string): Promise<BillRecord> {
    return submitJson(this.contract, 'DisputeBill', billId, reason);
  }

  resolve(billId: string, outcome: 'UPHELD' | 'REJECTED', note: string): Promise<BillRecord> {
    return submitJson(this.contract, 'ResolveDispute', billId, outcome, note);
  }

  pay(billId: string, amountMinor: number, reference: string): Promise<BillRecord> {
    return submitJson(this.contract, 'RecordPayment', billId, String(amountMinor), reference);
  }

  get(billId: string): Promise<BillRecord> {
    return evaluateJson(this.contract, 'GetBill', billId);
  }

  forSubscription(subscriptionId: string): Promise<BillRecord[]> {
    return evaluateJson(this.contract, 'ListSubscriptionBills', subscriptionId);
  }

  all(): Promise<BillRecord[]> {
    return allPages((bookmark) =>
      evaluateJson<Page<BillRecord>>(this.contract, 'ListBills', '100', bookmark),
    );
  }
}
