import type { AggregationLedger } from './ledger';
import type { Logger } from './log';
import { dayFilters, type DayFilters } from './shareCheck';

interface Entry {
  filters?: DayFilters;
  /** When the ledger may be asked again (epoch ms) while it has no filters. */
  nextFetchAt: number;
  /** The ledger answered that it has none (rather than not answering at all). */
  notFound: boolean;
  fetching?: Promise<DayFilters | undefined>;
}

/**
 * The filters of each (region, UTC day), fetched from the ledger once and kept: they never change once
 * published. While the ledger has none, it is asked again every retryMs at most, however many shares arrive.
 */
export class FiltersCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ledger: AggregationLedger,
    private readonly log: Logger,
    private readonly retryMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The filters if known; else asks the ledger unless it was asked less than retryMs ago. */
  async get(region: string, day: string, force = false): Promise<DayFilters | undefined> {
    const key = `${region}|${day}`;
    const entry = this.entries.get(key);
    if (entry?.filters) return entry.filters;
    if (entry?.fetching) return entry.fetching;
    if (entry && !force && entry.nextFetchAt > this.now()) return undefined;
    const current: Entry = entry ?? { nextFetchAt: 0, notFound: false };
    this.entries.set(key, current);
    current.fetching = this.fetch(region, day, current).finally(() => {
      current.fetching = undefined;
    });
    return current.fetching;
  }

  /** Whether the ledger said it has no filters for the region and day (as opposed to not answering). */
  knownMissing(region: string, day: string): boolean {
    return this.entries.get(`${region}|${day}`)?.notFound ?? false;
  }

  /** Forgets the filters of days before this one (YYYY-MM-DD): no share of them can reach the ledger any more. */
  forgetBefore(day: string): void {
    for (const key of this.entries.keys()) {
      if (key.slice(key.indexOf('|') + 1) < day) this.entries.delete(key);
    }
  }

  private async fetch(region: string, day: string, entry: Entry): Promise<DayFilters | undefined> {
    try {
      const record = await this.ledger.filters(region, day);
      if (record?.regionCode === region && record.day === day) {
        entry.filters = dayFilters(record);
        this.log.log(
          'info',
          'filters.loaded',
          `filters for ${region} on ${day}: ${record.meterCount} meters`,
          {
            region,
            day,
            meterCount: record.meterCount,
            periodSeconds: record.periodSeconds,
          },
        );
        return entry.filters;
      }
      if (!entry.notFound) {
        this.log.log('info', 'filters.not_found', `no filters for ${region} on ${day} on the ledger yet`, {
          region,
          day,
        });
      }
      entry.notFound = true;
    } catch (err) {
      this.log.log('warn', 'filters.fetch_failed', `cannot read the filters for ${region} on ${day}`, {
        region,
        day,
        error: oneLine(err),
      });
    }
    entry.nextFetchAt = this.now() + this.retryMs;
    return undefined;
  }
}

export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim().slice(0, 300);
}
