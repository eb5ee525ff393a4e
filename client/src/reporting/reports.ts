import { periodsStartingIn } from '@smartmeter/chaincode/dist/api/periods';
import type { ReportAccessRequest, ReportBill, ReportDb, ReportLoad, ReportSubscription } from './reportDb';

export interface LoadRow {
  periodStart: string;
  energyWh: number;
  readingCount: number;
}

const MAX_BUCKETS = 20_000;

function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Sums load documents into buckets of bucketSeconds (aligned to the UTC epoch) covering [from, to); empty buckets count 0. */
export function bucketLoad(
  docs: Pick<ReportLoad, 'periodStart' | 'energyWh' | 'readingCount'>[],
  from: string,
  to: string,
  bucketSeconds: number,
): LoadRow[] {
  const start = Math.floor(epochSeconds(from) / bucketSeconds) * bucketSeconds;
  const end = epochSeconds(to);
  const count = Math.ceil((end - start) / bucketSeconds);
  if (count > MAX_BUCKETS)
    throw new RangeError(
      `the range holds ${count} buckets; use a larger --interval (at most ${MAX_BUCKETS})`,
    );
  const rows: LoadRow[] = [];
  for (let i = 0; i < count; i += 1)
    rows.push({ periodStart: iso(start + i * bucketSeconds), energyWh: 0, readingCount: 0 });
  for (const doc of docs) {
    const index = Math.floor((epochSeconds(doc.periodStart) - start) / bucketSeconds);
    if (index < 0 || index >= rows.length) continue;
    rows[index].energyWh += doc.energyWh;
    rows[index].readingCount += doc.readingCount;
  }
  return rows;
}

/** The region's load in [from, to): both channels' aggregates for the region, bucketed. */
export async function loadReport(
  db: ReportDb,
  regionCode: string,
  from: string,
  to: string,
  bucketSeconds: number,
): Promise<LoadRow[]> {
  const docs: ReportLoad[] = [];
  for await (const doc of db.range(`load|${regionCode}|${from}`, `load|${regionCode}|${to}`))
    docs.push(doc as ReportLoad);
  return bucketLoad(docs, from, to, bucketSeconds);
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
  const now = epochSeconds(asOf);
  const rows: MissingRow[] = [];
  for (const doc of docs) {
    if (!doc.startDate || !doc.intervalSeconds || (doc.status !== 'ACTIVE' && doc.status !== 'ENDED'))
      continue;
    const schedule = {
      startDate: doc.startDate,
      intervalSeconds: doc.intervalSeconds,
      intervalChanges: doc.intervalChanges,
    };
    const until = Math.min(now, doc.endEffectiveAt ? epochSeconds(doc.endEffectiveAt) : now);
    let expected = 0;
    for (const period of periodsStartingIn(schedule, epochSeconds(doc.startDate), until)) {
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
