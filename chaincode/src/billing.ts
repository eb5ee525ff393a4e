import { keyIdOf } from '@smartmeter/crypto';
import type { Context } from 'fabric-contract-api';
import {
  BillingError,
  computeBill,
  openReadings,
  runningTotalsSince,
  type BillComputation,
  type BillRecord,
  type ReadingRecord,
  type SettlementRecord,
  type SubscriptionRecord,
  type WalletRecord,
  utilityOf,
} from '@smartmeter/domain';
import { conflict, forbidden, invalidArgument } from './contractError';
import { Keys, readingKey } from './ledger/keys';
import { idsByPartialKey, readOptional, valuesByPartialKey, valuesByRange } from './ledger/store';
import { priceSignalsIn, tariffVersions } from './pricing';
import { approvalOf } from './subscriptions';

/**
 * What a `disclosed` subscription's readings of [periodFrom, periodTo) cost, computed on each endorser from the
 * encrypted readings with the session key given as transient data: the Billing contract's bills and the Prepaid
 * contract's settlements (exhaustion) are the same function, so a month's settlements add up to its bill.
 */

/** Name of the transient field that carries the session key. */
export const SESSION_KEY_TRANSIENT_KEY = 'sessionKey';

/** The 32-byte session key from the transient data, checked against the subscription's key id. */
export function transientSessionKey(ctx: Context, subscription: SubscriptionRecord): Uint8Array {
  const sessionKey = ctx.stub.getTransient().get(SESSION_KEY_TRANSIENT_KEY);
  if (!sessionKey || sessionKey.length !== 32) {
    throw invalidArgument(
      `the 32-byte session key must come as transient field "${SESSION_KEY_TRANSIENT_KEY}"`,
    );
  }
  if (keyIdOf(sessionKey) !== subscription.keyId) {
    throw forbidden(
      `the session key given is not the key of ${subscription.subscriptionId} (${subscription.keyId})`,
    );
  }
  return sessionKey;
}

export async function computeDisclosedBill(
  ctx: Context,
  subscription: SubscriptionRecord,
  sessionKey: Uint8Array,
  periodFrom: string,
  periodTo: string,
): Promise<BillComputation> {
  const id = subscription.subscriptionId;
  const approval = approvalOf(subscription);
  // Running totals start on the 1st of the month: its earlier readings count for tiers and rounding (at most
  // 30 days of them, 8,640 at the shortest interval).
  const since = runningTotalsSince(periodFrom);
  const open = async (from: string, to: string) =>
    openReadings(
      await valuesByRange<ReadingRecord>(ctx, readingKey(id, from), readingKey(id, to)),
      sessionKey,
      ctx.stub.getChannelID(),
      subscription.keyId,
      utilityOf(subscription),
    );
  const { billed, invalid: invalidReadings } = await open(periodFrom, periodTo);
  // Prior readings that do not decrypt count for nothing here; the bill that covered them listed them.
  const prior = since < periodFrom ? (await open(since, periodFrom)).billed : [];
  const signals = Object.fromEntries(
    (await priceSignalsIn(ctx, approval.regionCode, since, periodTo)).map((s) => [
      s.periodStart,
      s.priceMicroPerKwh,
    ]),
  );
  try {
    return computeBill({
      periodFrom,
      periodTo,
      intervalSeconds: approval.intervalSeconds,
      intervalChanges: approval.intervalChanges,
      subscriptionStart: approval.startDate,
      subscriptionEnd: subscription.end?.effectiveAt,
      utility: utilityOf(subscription),
      readings: billed,
      priorReadings: prior,
      invalidReadings,
      tariffVersions: await tariffVersions(ctx, subscription.distributorMspId, approval.tariffId),
      signals,
    });
  } catch (err) {
    if (err instanceof BillingError) throw conflict(`cannot bill ${id}: ${err.message}`);
    throw err;
  }
}

/**
 * A prepaid subscription's bill shows what its wallet's settlements inside the bill's period already paid (their
 * ranges start and end inside it: hourly settlements always do for a bill from the 1st to the 1st), and what is
 * still due. Undefined for subscriptions without a wallet.
 */
export async function prepaidPartOf(
  ctx: Context,
  subscription: SubscriptionRecord,
  periodFrom: string,
  periodTo: string,
  totalMinor: number,
): Promise<BillRecord['prepaid']> {
  const wallet = await readOptional<WalletRecord>(
    ctx,
    Keys.wallet.key(ctx, {
      distributorMspId: subscription.distributorMspId,
      subscriptionId: subscription.subscriptionId,
    }),
  );
  if (!wallet) return undefined;
  const settlements = await valuesByPartialKey<SettlementRecord, 'subscriptionId' | 'periodFrom'>(
    ctx,
    Keys.settlement,
    { subscriptionId: subscription.subscriptionId },
  );
  // A settlement's cost cannot be split (running totals): a bill must not cut one, or the readings it paid
  // would be charged again (or not at all).
  const crossing = settlements.find(
    (s) =>
      s.periodFrom < periodTo &&
      periodFrom < s.periodTo &&
      (s.periodFrom < periodFrom || s.periodTo > periodTo),
  );
  if (crossing)
    throw conflict(
      `the prepaid settlement ${crossing.periodFrom} - ${crossing.periodTo} crosses the bill's period: bill from and to settlement boundaries`,
    );
  const inside = settlements.filter((s) => s.periodFrom >= periodFrom && s.periodTo <= periodTo);
  const settledMinor = inside.reduce((sum, s) => sum + s.amountMinor, 0);
  return { settlements: inside.length, settledMinor, dueMinor: totalMinor - settledMinor };
}

/**
 * Where a subscription's bills end: the latest periodTo of its bills (voided ones aside). Readings before it are
 * paid by a bill, so a prepaid wallet's settlements start there at the earliest and never charge them again.
 */
export async function billedUntil(ctx: Context, subscriptionId: string): Promise<string | undefined> {
  let latest: string | undefined;
  for (const billId of await idsByPartialKey(ctx, Keys.billBySubscription, { subscriptionId })) {
    const bill = await readOptional<BillRecord>(ctx, Keys.bill.key(ctx, { billId }));
    if (!bill || (bill.status === 'RESOLVED' && bill.resolution?.outcome === 'UPHELD')) continue;
    if (latest === undefined || bill.periodTo > latest) latest = bill.periodTo;
  }
  return latest;
}
