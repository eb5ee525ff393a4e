import { fetchCostEvidence, recomputeBill } from '@smartmeter/client/dist/billVerify';
import type { CommandDeps } from '@smartmeter/client/dist/commands/deps';
import { decryptReadings, type DecryptedReading } from '@smartmeter/client/dist/commands/readings';
import { sessionKeyFor } from '@smartmeter/client/dist/sessionKeys';
import {
  BillingError,
  epochSecondsOf,
  isoSeconds,
  openReadings,
  type SubscriptionRecord,
  utilityOf,
} from '@smartmeter/domain';
import type { Bucket, CompletenessView, ConsumptionBucket, ConsumptionView } from './api';

/**
 * A subscription's readings of [from, to), decrypted here (in the household's own process, with its own key;
 * for an organization with its grant), summed into buckets, with the cost of the complete periods so far as a
 * bill of them would be computed.
 */
export function consumptionView(
  deps: CommandDeps,
  subscriptionId: string,
  range: { from: string; to: string; bucket: Bucket },
): Promise<ConsumptionView> {
  return deps.withChannel(async (clients, { profile, channel }) => {
    const subscription = await clients.subscriptions.get(subscriptionId);
    const { key } = sessionKeyFor(subscription, profile.mspId, deps.keystore());
    const records = await clients.measurements.all(subscriptionId, range.from, range.to);
    const readings = decryptReadings(subscription, records, key);
    const opened = readings.filter((r) => r.payload);
    const buckets = bucketReadings(opened, range.bucket);
    const cost = await costSoFar(subscription, range, deps.now(), async (period) =>
      recomputeBill(await fetchCostEvidence(clients, channel, subscription, period), key),
    );
    return {
      subscriptionId,
      from: range.from,
      to: range.to,
      bucket: range.bucket,
      unit: opened[0]?.payload?.unit ?? 'Wh',
      buckets,
      total: {
        quantity: buckets.reduce((sum, b) => sum + b.quantity, 0),
        readings: opened.length,
      },
      undecryptable: readings.length - opened.length,
      ...cost,
    };
  });
}

/** Sums decrypted readings by the UTC hour, day or month their period starts in. */
export function bucketReadings(readings: readonly DecryptedReading[], bucket: Bucket): ConsumptionBucket[] {
  const sums = new Map<string, ConsumptionBucket>();
  for (const reading of readings) {
    if (!reading.payload) continue;
    const start = bucketStart(reading.periodStart, bucket);
    const sum = sums.get(start) ?? { start, quantity: 0, readings: 0 };
    sum.quantity += reading.payload.energyWh;
    sum.readings += 1;
    sums.set(start, sum);
  }
  return [...sums.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
}

export function bucketStart(periodStart: string, bucket: Bucket): string {
  if (bucket === 'month') return `${periodStart.slice(0, 7)}-01T00:00:00Z`;
  const size = bucket === 'hour' ? 3600 : 86_400;
  return isoSeconds(Math.floor(epochSecondsOf(periodStart) / size) * size);
}

type CostFields = Pick<ConsumptionView, 'cost' | 'costNote'>;

/**
 * The cost of the range's periods that have ended (and lie within the subscription), computed as their bill
 * would be; null with the reason when there are none or the bill function refuses the period.
 */
async function costSoFar(
  subscription: SubscriptionRecord,
  range: { from: string; to: string },
  now: Date,
  compute: (period: { periodFrom: string; periodTo: string }) => Promise<ReturnType<typeof recomputeBill>>,
): Promise<CostFields> {
  const approval = subscription.approval;
  if (!approval) return { cost: null, costNote: 'the subscription is not approved' };
  if (subscription.privacyMode === 'aggregate')
    return { cost: null, costNote: 'an aggregate subscription is priced from its shares: see its bills' };
  const interval = approval.intervalSeconds;
  const from = maxIso(range.from, approval.startDate);
  const ended = isoSeconds(Math.floor(now.getTime() / 1000 / interval) * interval);
  const to = minIso(range.to, ended, subscription.end?.effectiveAt ?? range.to);
  if (to <= from) return { cost: null, costNote: 'no period of the range has ended yet' };
  try {
    const bill = await compute({ periodFrom: from, periodTo: to });
    return {
      cost: { currency: bill.currency, totalMinor: bill.totalMinor, energyWh: bill.energyWh, costTo: to },
    };
  } catch (err) {
    if (err instanceof BillingError) return { cost: null, costNote: err.message };
    throw err;
  }
}

const maxIso = (...values: string[]): string => values.reduce((a, b) => (a > b ? a : b));
const minIso = (...values: string[]): string => values.reduce((a, b) => (a < b ? a : b));

/** Expected, present, missing and undecryptable periods of [from, to) (the distributor's completeness page). */
export function completenessView(
  deps: CommandDeps,
  subscriptionId: string,
  range: { from: string; to: string },
): Promise<CompletenessView> {
  return deps.withChannel(async ({ subscriptions, measurements }, { profile, channel }) => {
    const gaps = await measurements.missing(subscriptionId, range.from, range.to);
    const subscription = await subscriptions.get(subscriptionId);
    const { key } = sessionKeyFor(subscription, profile.mspId, deps.keystore());
    const readings = await measurements.all(subscriptionId, range.from, range.to);
    const { invalid } = openReadings(readings, key, channel, subscription.keyId, utilityOf(subscription));
    return {
      subscriptionId,
      from: range.from,
      to: range.to,
      expected: gaps.expected,
      present: gaps.expected - gaps.missing.length,
      missing: gaps.missing,
      invalid: invalid.length,
    };
  });
}
