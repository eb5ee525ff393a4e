import type { Context } from 'fabric-contract-api';
import { READING_INTERVALS_SECONDS, type IntervalChange, type SubscriptionRecord } from '@smartmeter/domain';
import { invalidArgument } from './contractError';
import { isoSeconds, parseIsoSeconds, txEpochSeconds } from './ledger/txTime';
import { approvalOf, lastPeriodEnd, readingCursor } from './subscriptions';

/**
 * A change of a subscription's reading interval, as the operator's ChangeReadingInterval and a meter's applied
 * device configuration both make it: one rule for where a change may take effect, so readings stay contiguous.
 */

/** Reading intervals a distributor may set, in seconds (the device configuration schema allows the same). */
export const ALLOWED_INTERVALS = READING_INTERVALS_SECONDS;
const MAX_AHEAD_SECONDS = 90 * 24 * 3600;

export function requireAllowedInterval(value: unknown, given: unknown): number {
  if (typeof value !== 'number' || !(ALLOWED_INTERVALS as readonly number[]).includes(value)) {
    throw invalidArgument(
      `intervalSeconds must be one of ${ALLOWED_INTERVALS.join(', ')} (got ${JSON.stringify(given)})`,
    );
  }
  return value;
}

function leastCommonMultiple(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

/** No change before the start, an earlier change, or the end of the last accepted reading. */
async function earliestChange(ctx: Context, record: SubscriptionRecord): Promise<number> {
  const approval = approvalOf(record);
  const cursor = await readingCursor(ctx, record.subscriptionId);
  return Math.max(
    parseIsoSeconds('startDate', approval.startDate) + 1,
    ...(approval.intervalChanges ?? []).map((c) => parseIsoSeconds('effectiveFrom', c.effectiveFrom) + 1),
    cursor ? lastPeriodEnd(approval, cursor) : 0,
  );
}

/**
 * The subscription with its interval changed to `interval` from `effectiveFrom`: a boundary of both the current
 * and the new interval, not before the end of the last accepted reading (empty: the first such boundary from
 * now). The caller authorizes and saves.
 */
export async function withIntervalChange(
  ctx: Context,
  record: SubscriptionRecord,
  interval: number,
  effectiveFrom: string,
): Promise<SubscriptionRecord> {
  const approval = approvalOf(record);
  if (interval === approval.intervalSeconds) {
    throw invalidArgument(`the reading interval already is ${interval} s`);
  }
  const nowSeconds = txEpochSeconds(ctx);
  const earliest = await earliestChange(ctx, record);
  const step = leastCommonMultiple(approval.intervalSeconds, interval);
  const from =
    effectiveFrom === ''
      ? Math.ceil(Math.max(earliest, nowSeconds) / step) * step
      : parseIsoSeconds('effectiveFrom', effectiveFrom);
  if (from % step !== 0) {
    throw invalidArgument(
      `effectiveFrom must be a boundary of both the ${approval.intervalSeconds}-second and the ${interval}-second interval`,
    );
  }
  if (from < earliest) {
    throw invalidArgument(
      `effectiveFrom must be after the start, after earlier changes and not before ${isoSeconds(earliest)}, the end of the last accepted reading`,
    );
  }
  if (from > nowSeconds + MAX_AHEAD_SECONDS) {
    throw invalidArgument('effectiveFrom may be at most 90 days ahead');
  }
  const now = isoSeconds(nowSeconds);
  const change: IntervalChange = {
    effectiveFrom: isoSeconds(from),
    intervalSeconds: interval,
    previousIntervalSeconds: approval.intervalSeconds,
    changedAt: now,
  };
  return {
    ...record,
    approval: {
      ...approval,
      intervalSeconds: interval,
      intervalChanges: [...(approval.intervalChanges ?? []), change],
    },
    updatedAt: now,
  };
}
