import { epochSecondsOf, isoSeconds, periodsStartingIn } from '@smartmeter/domain';
import type { ReportAccessRequest, ReportBill, ReportDb, ReportLoad, ReportSubscription } from './reportDb';

export interface LoadRow {
  periodStart: string;
  /** Null when the bucket covers fewer households than the report may show (suppressed). */
  energyWh: number | null;
  readingCount: number;
  /** How many households the sum covers. */
  households: number;
  suppressed: boolean;
}

/**
 * A published sum must cover at least this many households: a regional load of one household is that
 * household's consumption. REPORT_MIN_HOUSEHOLDS or --min-households change it.
 */
export const DEFAULT_MIN_HOUSEHOLDS = 5;

const MAX_BUCKETS = 20_000;

/**
 * Sums load documents into buckets of bucketSeconds (aligned to the UTC epoch) covering [from, to); empty
 * buckets count 0. A bucket whose readings come from fewer than minHouseholds households (but from at least
 * one) is suppressed: its energy is not shown.
 */
export function bucketLoad(
  docs: Pick<ReportLoad, 'periodStart' | 'energyWh' | 'readingCount' | 'households' | 'aggregateMeters'>[],
  from: string,
  to: string,
  bucketSeconds: number,
  minHouseholds: number = DEFAULT_MIN_HOUSEHOLDS,
): LoadRow[] {
  const start = Math.floor(epochSecondsOf(from) / bucketSeconds) * bucketSeconds;
  const end = epochSecondsOf(to);
  const count = Math.ceil((end - start) / bucketSeconds);
  if (count > MAX_BUCKETS)
    throw new RangeError(
      `the range holds ${count} buckets; use a larger --interval (at most ${MAX_BUCKETS})`,
    );
  const sums = Array.from({ length: count }, () => ({
    energyWh: 0,
    readingCount: 0,
    households: new Set<string>(),
    aggregateMeters: 0,
  }));
  for (const doc of docs) {
    const index = Math.floor((epochSecondsOf(doc.periodStart) - start) / bucketSeconds);
    if (index < 0 || index >= sums.length) continue;
    sums[index].energyWh += doc.energyWh;
    sums[index].readingCount += doc.readingCount;
    for (const household of doc.households) sums[index].households.add(household);
    // Aggregate rounds name no household: the bucket covers as many meters as its largest round.
    sums[index].aggregateMeters = Math.max(sums[index].aggregateMeters, doc.aggregateMeters ?? 0);
  }
  return sums.map((sum, i) => {
    const households = sum.households.size + sum.aggregateMeters;
    const suppressed = households > 0 && households < minHouseholds;
    return {
      periodStart: isoSeconds(start + i * bucketSeconds),
      energyWh: suppressed ? null : sum.energyWh,
      readingCount: sum.readingCount,
      households,
      suppressed,
    };
  });
}

/** The region's load in [from, to): both channels' aggregates for the region, bucketed. */
export async function loadReport(
  db: ReportDb,
  regionCode: string,
  from: string,
  to: string,
  bucketSeconds: number,
  minHouseholds: number = DEFAULT_MIN_HOUSEHOLDS,
): Promise<LoadRow[]> {
  const docs: ReportLoad[] = [];
  for await (const doc of db.range(`load|${regionCode}|${from}`, `load|${regionCode}|${to}`))
    docs.push(doc as ReportLoad);
  return bucketLoad(docs, from, to, bucketSeconds, minHouseholds);
}

export type SubscriptionGrouping = 'status' | 'distributor' | 'region';

export interface GroupRow {
  group: string;
  subscriptions: number;
}

export function groupSubscriptions(docs: ReportSubscription[], by: SubscriptionGrouping): GroupRow[] {
  const counts = new Map<string, number>();
  for (const doc of docs) {
    const key =
      by === 'status'
        ? doc.status
        : by === 'distributor'
          ? doc.distributorMspId
          : (doc.regionCode ?? '(not approved)');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([group, subscriptions]) => ({ group, subscriptions }));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export interface MissingRow {
  channel: string;
  subscriptionId: string;
  distributorMspId: string;
  regionCode: string;
  expected: number;
  received: number;
  missing: number;
  lastPeriodStart?: string;
}

/** Periods that have ended by asOf (and before the subscription's end) minus readings received. */
export function missingReadings(docs: ReportSubscription[], asOf: string): MissingRow[] {
  const now = epochSecondsOf(asOf);
  const rows: MissingRow[] = [];
  for (const doc of docs) {
    if (!doc.startDate || !doc.intervalSeconds || (doc.status !== 'ACTIVE' && doc.status !== 'ENDED'))
      continue;
    const schedule = {
      startDate: doc.startDate,
      intervalSeconds: doc.intervalSeconds,
      intervalChanges: doc.intervalChanges,
    };
    const until = Math.min(now, doc.endEffectiveAt ? epochSecondsOf(doc.endEffectiveAt) : now);
    let expected = 0;
    for (const period of periodsStartingIn(schedule, epochSecondsOf(doc.startDate), until)) {
      if (period.startSeconds + period.intervalSeconds > until) break;
      expected += 1;
    }
    const missing = Math.max(0, expected - doc.readingCount);
    if (missing === 0) continue;
    rows.push({
      channel: doc.channel,
      subscriptionId: doc.subscriptionId,
      distributorMspId: doc.distributorMspId,
      regionCode: doc.regionCode ?? '',
      expected,
      received: doc.readingCount,
      missing,
      lastPeriodStart: doc.lastPeriodStart,
    });
  }
  return rows.sort((a, b) => b.missing - a.missing || (a.subscriptionId < b.subscriptionId ? -1 : 1));
}

export function filterDefined(selector: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(selector).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
}

export type { ReportAccessRequest, ReportBill };
