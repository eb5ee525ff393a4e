import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  aggregateFactsErrors,
  type AggregateBillFacts,
  type BillComputation,
  type SubscriptionApproval,
  describeSchedule,
  EventName,
  isPeriodBoundary,
  periodIndex,
  runningTotalsSince,
  type BillRecord,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isAuditor,
  isOperatorOf,
  isOwner,
  mayReadSubscriptionData,
  requireOperatorOf,
} from '../access';
import { baselineBill, claimedComputationErrors, requireRoundsClosed } from '../aggregateClaims';
import { computeDisclosedBill, prepaidPartOf, transientSessionKey } from '../billing';
import { SmartMeterContract } from '../baseContract';
import { alreadyExists, conflict, forbidden, invalidArgument } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { idsByPartialKey, pageByPartialKey, readRequired, saveAndEmit, writeIndex } from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds } from '../ledger/txTime';
import { tariffVersions } from '../pricing';
import { approvalOf, loadSubscription, requireStatus, requireSubscriptionId } from '../subscriptions';
import {
  parseBookmark,
  parseIntegerArgument,
  parsePageSize,
  requireDerivedId,
  requireIdentifier,
  requireOnlyFields,
  requireText,
  parseJsonObject,
} from '../validate';

export { SESSION_KEY_TRANSIENT_KEY } from '../billing';
const MAX_BILL_DAYS = 62;
const MAX_BILL_PERIODS = 10_000;
const MAX_TEXT = 500;
/** A redacted computation with up to ~9,000 missing periods listed. */
const MAX_AGGREGATE_BILL_JSON = 400 * 1024;

/**
 * Bills computed inside the chaincode from the encrypted readings on the ledger: the session key comes as
 * transient data (never stored or logged), both endorsing peers decrypt and price the readings, and the
 * endorsement policy makes them agree. A bill that starts after the 1st also decrypts the month's earlier
 * readings: running totals (tiers, rounding) start on the 1st (domain/src/billing/computeBill.ts).
 */
@Info({ title: 'Billing', description: 'Deterministic, verifiable bills' })
export class BillingContract extends SmartMeterContract {
  constructor() {
    super('Billing');
  }

  @Transaction()
  @Returns('string')
  async IssueBill(
    ctx: Context,
    subscriptionId: string,
    periodFrom: string,
    periodTo: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const { from, to } = requireBillTimes(ctx, periodFrom, periodTo);
    const subscription = await loadSubscription(ctx, id);
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'IssueBill');
    if (subscription.privacyMode === 'aggregate') {
      throw conflict(
        `${id} is an aggregate subscription: it is billed from its shares with RecordAggregateBill, and its session key is never sent to the peers`,
      );
    }
    const sessionKey = transientSessionKey(ctx, subscription);
    requireStatus(subscription, ['ACTIVE', 'ENDED'], 'bill');
    requireBillBoundaries(approvalOf(subscription), from, to);
    await requireNoOverlap(ctx, id, from, to);
    const computation = await computeDisclosedBill(ctx, subscription, sessionKey, periodFrom, periodTo);
    const prepaid = await prepaidPartOf(ctx, subscription, periodFrom, periodTo, computation.totalMinor);
    const bill: BillRecord = {
      ...computation,
      docType: 'bill',
      billId: `bill_${ctx.stub.getTxID().slice(0, 24)}`,
      subscriptionId: id,
      distributorMspId: subscription.distributorMspId,
      periodFrom,
      periodTo,
      status: 'ISSUED',
      issuedAt: isoSeconds(txEpochSeconds(ctx)),
      ...(prepaid ? { prepaid } : {}),
    };
    await writeIndex(
      ctx,
      Keys.billBySubscription.key(ctx, { subscriptionId: id, periodFrom, billId: bill.billId }),
    );
    return save(ctx, bill, EventName.BillIssued);
  }

  /**
   * The bill of an `aggregate` subscription (domain/src/billing/aggregateBill.ts). The distributor computed it
   * off-chain from the household's shares and sealed its report to IPFS; the session key stays with the
   * distributor, so this transaction takes no transient data at all and refuses any. Every endorser checks what
   * does not need the key: the rounds from the 1st of the month are all final, the bill's shape, its standing
   * charge, periods and sums (aggregateClaimErrors), the report's CID and hash, and that no bill overlaps.
   */
  @Transaction()
  @Returns('string')
  async RecordAggregateBill(ctx: Context, billJson: string): Promise<string> {
    if (ctx.stub.getTransient().size > 0) {
      throw invalidArgument(
        'RecordAggregateBill takes no transient data: the session key of an aggregate subscription never leaves the distributor',
      );
    }
    const raw = parseJsonObject('bill', billJson, MAX_AGGREGATE_BILL_JSON);
    requireOnlyFields('bill', raw, ['subscriptionId', 'periodFrom', 'periodTo', 'computation', 'aggregate']);
    const id = requireSubscriptionId(raw.subscriptionId);
    const periodFrom = raw.periodFrom as string;
    const periodTo = raw.periodTo as string;
    const { from, to } = requireBillTimes(ctx, periodFrom, periodTo);
    const subscription = await loadSubscription(ctx, id);
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'RecordAggregateBill');
    if (subscription.privacyMode !== 'aggregate') {
      throw conflict(`${id} is a disclosed subscription: the chaincode bills it itself with IssueBill`);
    }
    requireStatus(subscription, ['ACTIVE', 'ENDED'], 'bill');
    const approval = approvalOf(subscription);
    requireBillBoundaries(approval, from, to);
    // From the 1st of the month: the bill's running totals include the month's earlier shares, which must be
    // final too, or a share arriving later would change what the household recomputes.
    await requireRoundsClosed(
      ctx,
      approval,
      subscription.end?.effectiveAt,
      parseIsoSeconds('since', runningTotalsSince(periodFrom)),
      to,
      'this bill',
    );
    await requireNoOverlap(ctx, id, from, to);
    const tariffs = await tariffVersions(ctx, subscription.distributorMspId, approval.tariffId);
    const baseline = baselineBill(subscription, periodFrom, periodTo, tariffs);
    const errors = claimedComputationErrors(raw.computation, baseline, tariffs);
    if (errors.length === 0)
      errors.push(
        ...aggregateFactsErrors(raw.aggregate, (raw.computation as BillComputation).readingsDigest),
      );
    if (errors.length > 0) throw invalidArgument(`the aggregate bill is refused: ${errors.join('; ')}`);
    const bill: BillRecord = {
      ...(raw.computation as BillComputation),
      docType: 'bill',
      billId: `bill_${ctx.stub.getTxID().slice(0, 24)}`,
      subscriptionId: id,
      distributorMspId: subscription.distributorMspId,
      periodFrom,
      periodTo,
      status: 'ISSUED',
      issuedAt: isoSeconds(txEpochSeconds(ctx)),
      aggregate: raw.aggregate as AggregateBillFacts,
    };
    const prepaid = await prepaidPartOf(ctx, subscription, periodFrom, periodTo, bill.totalMinor);
    if (prepaid) bill.prepaid = prepaid;
    await writeIndex(
      ctx,
      Keys.billBySubscription.key(ctx, { subscriptionId: id, periodFrom, billId: bill.billId }),
    );
    return save(ctx, bill, EventName.BillIssued);
  }

  @Transaction()
  @Returns('string')
  async DisputeBill(ctx: Context, billId: string, reason: string): Promise<string> {
    const bill = await loadBill(ctx, billId);
    const text = requireText('reason', reason, MAX_TEXT);
    const subscription = await loadSubscription(ctx, bill.subscriptionId);
    const caller = callerOf(ctx);
    if (!isOwner(caller, subscription))
      throw forbidden(
        `only the household of ${bill.subscriptionId} may dispute its bill; caller is ${describe(caller)}`,
      );
    requireBillStatus(bill, ['ISSUED'], 'dispute');
    return save(
      ctx,
      { ...bill, status: 'DISPUTED', dispute: { reason: text, disputedAt: isoSeconds(txEpochSeconds(ctx)) } },
      EventName.BillDisputed,
    );
  }

  /** UPHELD voids the bill so the period can be billed again; REJECTED keeps it payable. */
  @Transaction()
  @Returns('string')
  async ResolveDispute(ctx: Context, billId: string, outcome: string, note: string): Promise<string> {
    const bill = await loadBill(ctx, billId);
    if (outcome !== 'UPHELD' && outcome !== 'REJECTED')
      throw invalidArgument('outcome must be UPHELD or REJECTED');
    const text = requireText('note', note, MAX_TEXT);
    requireOperatorOf(callerOf(ctx), bill.distributorMspId, 'ResolveDispute');
    requireBillStatus(bill, ['DISPUTED'], 'resolve');
    return save(
      ctx,
      {
        ...bill,
        status: 'RESOLVED',
        resolution: { outcome, note: text, resolvedAt: isoSeconds(txEpochSeconds(ctx)) },
      },
      EventName.DisputeResolved,
    );
  }

  @Transaction()
  @Returns('string')
  async RecordPayment(ctx: Context, billId: string, amountMinor: string, reference: string): Promise<string> {
    const bill = await loadBill(ctx, billId);
    const amount = parseIntegerArgument('amountMinor', amountMinor, 0, Number.MAX_SAFE_INTEGER);
    const ref = requireIdentifier('reference', reference);
    requireOperatorOf(callerOf(ctx), bill.distributorMspId, 'RecordPayment');
    if (bill.status === 'RESOLVED' && bill.resolution?.outcome === 'UPHELD') {
      throw conflict(`bill ${bill.billId} was voided by an upheld dispute`);
    }
    requireBillStatus(bill, ['ISSUED', 'RESOLVED'], 'record a payment for');
    // A prepaid bill's settlements already paid part of it: what is due is the rest.
    // Nothing is due (0) when a late, lower price made the settlements pay more than the bill.
    const due = Math.max(0, bill.prepaid?.dueMinor ?? bill.totalMinor);
    if (amount !== due)
      throw invalidArgument(
        bill.prepaid
          ? `the payment must settle what is due: ${due} ${bill.currency} minor units (total ${bill.totalMinor}, ${bill.prepaid.settledMinor} already paid by prepaid settlements)`
          : `the payment must settle the total of ${bill.totalMinor} ${bill.currency} minor units`,
      );
    return save(
      ctx,
      {
        ...bill,
        status: 'PAID',
        payment: { amountMinor: amount, reference: ref, paidAt: isoSeconds(txEpochSeconds(ctx)) },
      },
      EventName.BillPaid,
    );
  }

  @Transaction(false)
  @Returns('string')
  async GetBill(ctx: Context, billId: string): Promise<string> {
    const bill = await loadBill(ctx, billId);
    await requireBillReader(ctx, bill.subscriptionId, bill.distributorMspId);
    return canonicalJson(bill);
  }

  /** A subscription's bills in period order: for its household, its operator and auditors. */
  @Transaction(false)
  @Returns('string')
  async ListSubscriptionBills(ctx: Context, subscriptionId: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const subscription = await loadSubscription(ctx, id);
    await requireBillReader(ctx, id, subscription.distributorMspId);
    return canonicalJson(await billsOf(ctx, id));
  }

  /** All bills of the channel, for operators (their own) and auditors, a page at a time. */
  @Transaction(false)
  @Returns('string')
  async ListBills(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const size = parsePageSize(pageSize);
    const from = parseBookmark(bookmark);
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller) && !isAuditor(caller))
      throw forbidden(`ListBills is for operators and auditors; caller is ${describe(caller)}`);
    const page = await pageByPartialKey<BillRecord, 'billId'>(ctx, Keys.bill, {}, size, from);
    return canonicalJson({
      records: page.records.filter((b) => isAuditor(caller) || b.distributorMspId === caller.mspId),
      bookmark: page.bookmark,
    });
  }
}

async function billsOf(ctx: Context, subscriptionId: string): Promise<BillRecord[]> {
  const bills: BillRecord[] = [];
  for (const billId of await idsByPartialKey(ctx, Keys.billBySubscription, { subscriptionId }))
    bills.push(await loadBill(ctx, billId));
  return bills;
}

/** A period may be billed once; a bill voided by an upheld dispute no longer counts. */
async function requireNoOverlap(
  ctx: Context,
  subscriptionId: string,
  from: number,
  to: number,
): Promise<void> {
  for (const bill of await billsOf(ctx, subscriptionId)) {
    if (bill.status === 'RESOLVED' && bill.resolution?.outcome === 'UPHELD') continue;
    if (
      parseIsoSeconds('periodFrom', bill.periodFrom) < to &&
      from < parseIsoSeconds('periodTo', bill.periodTo)
    ) {
      throw alreadyExists(`bill ${bill.billId} already covers ${bill.periodFrom} to ${bill.periodTo}`);
    }
  }
}

function requireBillTimes(ctx: Context, periodFrom: string, periodTo: string): { from: number; to: number } {
  const from = parseIsoSeconds('periodFrom', periodFrom);
  const to = parseIsoSeconds('periodTo', periodTo);
  if (to <= from) throw invalidArgument('periodTo must be after periodFrom');
  if (to - from > MAX_BILL_DAYS * 86_400)
    throw invalidArgument(`a bill covers at most ${MAX_BILL_DAYS} days`);
  if (to > txEpochSeconds(ctx)) throw invalidArgument('a bill can only cover time that has passed');
  return { from, to };
}

function requireBillBoundaries(approval: SubscriptionApproval, from: number, to: number): void {
  if (!isPeriodBoundary(approval, from) || !isPeriodBoundary(approval, to)) {
    throw invalidArgument(
      `the billing period must start and end on period boundaries (${describeSchedule(approval)})`,
    );
  }
  if (periodIndex(approval, to) - periodIndex(approval, from) > MAX_BILL_PERIODS)
    throw invalidArgument('the billing period holds too many readings');
}

async function requireBillReader(
  ctx: Context,
  subscriptionId: string,
  distributorMspId: string,
): Promise<void> {
  const caller = callerOf(ctx);
  if (isOperatorOf(caller, distributorMspId) || isAuditor(caller)) return;
  if (
    caller.role === 'subscriber' &&
    mayReadSubscriptionData(caller, await loadSubscription(ctx, subscriptionId))
  )
    return;
  throw forbidden(`${describe(caller)} may not read the bills of ${subscriptionId}`);
}

async function loadBill(ctx: Context, billId: string): Promise<BillRecord> {
  const id = requireDerivedId('billId', 'bill', billId);
  return readRequired<BillRecord>(ctx, Keys.bill.key(ctx, { billId: id }), `bill ${id}`);
}

function requireBillStatus(bill: BillRecord, allowed: BillRecord['status'][], action: string): void {
  if (!allowed.includes(bill.status)) {
    throw conflict(`cannot ${action} bill ${bill.billId}: it is ${bill.status}`);
  }
}

/** Bill events carry ids and counts only. */
function save(ctx: Context, bill: BillRecord, event: EventName): Promise<string> {
  return saveAndEmit(ctx, Keys.bill.key(ctx, { billId: bill.billId }), bill, event, {
    billId: bill.billId,
    subscriptionId: bill.subscriptionId,
    status: bill.status,
    invalidReadings: bill.invalidReadings.length,
    estimatedReadings: bill.estimatedReadings,
  });
}
