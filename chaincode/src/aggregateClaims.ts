import type { Context } from 'fabric-contract-api';
import {
  aggregateClaimErrors,
  BillingError,
  computeBill,
  periodsStartingIn,
  type AggregationRoundRecord,
  type BillComputation,
  type SubscriptionApproval,
  type SubscriptionRecord,
  type TariffRecord,
  utilityOf,
} from '@smartmeter/domain';
import { conflict } from './contractError';
import { aggregationRoundKey } from './ledger/keys';
import { valuesByRange } from './ledger/store';
import { isoSeconds, parseIsoSeconds } from './ledger/txTime';
import { approvalOf } from './subscriptions';

/**
 * What the endorsers can check of a cost the distributor computed off-chain from an `aggregate` subscription's
 * shares (an aggregate bill, a prepaid settlement) without the session key, which never reaches them: the rounds
 * it rests on are final, and its shape, standing charge, periods and sums agree with a key-less baseline.
 */

/**
 * Every period of the subscription in [from, to) has a final round: COMPLETE or RESOLVED. A round still open or
 * FAULT (not yet resolved) means the period's shares and price are not final. A round RESOLVED with too few meters
 * to show a load is final too: it has no policy price, so the tariff's base price applies (or a manual signal).
 * `what` names the claim in the refusal ("this bill", "this settlement").
 */
export async function requireRoundsClosed(
  ctx: Context,
  approval: SubscriptionApproval,
  end: string | undefined,
  from: number,
  to: number,
  what: string,
): Promise<void> {
  const rounds = await valuesByRange<AggregationRoundRecord>(
    ctx,
    aggregationRoundKey(approval.regionCode, isoSeconds(from)),
    aggregationRoundKey(approval.regionCode, isoSeconds(to)),
  );
  const final = new Set(rounds.filter((r) => r.status !== 'FAULT').map((r) => r.periodStart));
  const faulted = new Set(rounds.filter((r) => r.status === 'FAULT').map((r) => r.periodStart));
  const last = end ? Math.min(to, parseIsoSeconds('end', end)) : to;
  const open: string[] = [];
  for (const period of periodsStartingIn(approval, from, last)) {
    const start = isoSeconds(period.startSeconds);
    if (!final.has(start)) open.push(start);
  }
  if (open.length > 0) {
    const faults = open.filter((p) => faulted.has(p)).length;
    throw conflict(
      `the rounds of ${approval.regionCode} are not all final for ${what} (from the 1st of its month): ${open.length} of them (${faults} FAULT, not yet resolved), from ${open[0]}`,
    );
  }
}

/** What the cost of the period is without any reading: what does not depend on consumption. */
export function baselineBill(
  subscription: SubscriptionRecord,
  periodFrom: string,
  periodTo: string,
  tariffs: TariffRecord[],
): BillComputation {
  const approval = approvalOf(subscription);
  try {
    return computeBill({
      periodFrom,
      periodTo,
      intervalSeconds: approval.intervalSeconds,
      intervalChanges: approval.intervalChanges,
      subscriptionStart: approval.startDate,
      subscriptionEnd: subscription.end?.effectiveAt,
      utility: utilityOf(subscription),
      readings: [],
      priorReadings: [],
      tariffVersions: tariffs,
      signals: {},
    });
  } catch (err) {
    if (err instanceof BillingError)
      throw conflict(`cannot bill ${subscription.subscriptionId}: ${err.message}`);
    throw err;
  }
}

/**
 * Everything wrong with a claimed computation that the endorsers can see without the session key, its line
 * items' tariff versions included.
 */
export function claimedComputationErrors(
  computation: unknown,
  baseline: BillComputation,
  tariffs: TariffRecord[],
): string[] {
  const errors = aggregateClaimErrors(computation, baseline);
  if (errors.length > 0) return errors;
  const known = new Set(tariffs.map((t) => `${t.tariffId}|${t.version}`));
  for (const [i, line] of (computation as BillComputation).lineItems.entries())
    if (!known.has(`${line.tariffId}|${line.tariffVersion}`))
      errors.push(
        `computation.lineItems[${i}]: ${line.tariffId} v${line.tariffVersion} is not a version of the subscription's tariff`,
      );
  return errors;
}
