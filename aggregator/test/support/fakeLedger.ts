import {
  CryptoInputError,
  bf2Entry,
  bloomFilterHas,
  parseBloomFilterJson,
  parseGridShare,
  sumPrids,
  verifyShareSignature,
  type GridShare,
} from '@smartmeter/crypto';
import {
  AggregationLimits,
  gridShareRecordOf,
  isoSecondsOf,
  type AggregationFiltersView,
  type DayFilterSet,
  type AggregationRoundRecord,
  type GridShareRecord,
  type ShareBatch,
} from '@smartmeter/domain';
import { LedgerRefusal, type AggregationLedger } from '../../src/ledger';

type Method = 'filters' | 'submitShares' | 'closeRound' | 'round';

/**
 * The Aggregation contract in memory, with its checks (chaincode/src/contracts/AggregationContract.ts) made with
 * the same @smartmeter/crypto functions: BF1 membership, the share signature, the time rules, duplicates and
 * PRID conflicts, closed rounds, and BF2 and the load at CloseRound. The clock is the test's.
 */
export class FakeLedger implements AggregationLedger {
  readonly filtersByKey = new Map<string, AggregationFiltersView>();
  readonly stored = new Map<string, Map<string, GridShareRecord>>();
  readonly closedRounds = new Map<string, AggregationRoundRecord>();
  readonly calls: Record<Method, number> = { filters: 0, submitShares: 0, closeRound: 0, round: 0 };
  /** Calls by method and region ("closeRound|north/d3"). */
  readonly callsByRegion = new Map<string, number>();
  /** Every batch SubmitShares accepted. */
  readonly batches: ShareBatch[] = [];
  /** Failures to throw on the next calls of a method for a region, in order; 'after': the call takes effect first. */
  private readonly failures = new Map<string, (Error | 'after')[]>();
  private filtersGate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  publish(set: DayFilterSet): AggregationFiltersView {
    const record: AggregationFiltersView = {
      ...set.filters,
      docType: 'aggregationFilters',
      distributorMspId: 'Distributor1MSP',
      publishedAt: isoSecondsOf(),
      bf1Parts: set.bf1Parts,
    };
    this.filtersByKey.set(`${set.filters.regionCode}|${set.filters.day}`, record);
    return record;
  }

  /** The next calls of method for the region fail with these errors (refusals or transport failures). */
  failNext(method: Method, region: string, ...errors: Error[]): void {
    this.plan(method, region, errors);
  }

  /** The next call of method for the region takes effect, then fails as if its outcome were unknown. */
  succeedThenFail(method: Method, region: string): void {
    this.plan(method, region, ['after']);
  }

  private plan(method: Method, region: string, failures: (Error | 'after')[]): void {
    const key = `${method}|${region}`;
    this.failures.set(key, [...(this.failures.get(key) ?? []), ...failures]);
  }

  /** filters() waits until the returned function is called. */
  holdFilters(): () => void {
    this.filtersGate = new Promise((resolve) => {
      this.openGate = resolve;
    });
    return () => {
      this.openGate?.();
      this.filtersGate = undefined;
    };
  }

  async filters(regionCode: string, day: string): Promise<AggregationFiltersView | undefined> {
    this.count('filters', regionCode);
    await this.filtersGate;
    this.failure('filters', regionCode);
    return this.filtersByKey.get(`${regionCode}|${day}`);
  }

  async submitShares(batch: ShareBatch): Promise<{ stored: number; duplicates: number }> {
    this.count('submitShares', batch.regionCode);
    const after = this.failure('submitShares', batch.regionCode);
    const result = this.store(batch);
    if (after) throw new Error('14 UNAVAILABLE: the submit was not confirmed');
    return result;
  }

  async closeRound(regionCode: string, periodStart: string): Promise<AggregationRoundRecord> {
    this.count('closeRound', regionCode);
    const after = this.failure('closeRound', regionCode);
    const record = this.close(regionCode, periodStart);
    if (after) throw new Error('the commit status did not arrive');
    return record;
  }

  async round(regionCode: string, periodStart: string): Promise<AggregationRoundRecord | undefined> {
    this.count('round', regionCode);
    this.failure('round', regionCode);
    return this.closedRounds.get(`${regionCode}|${periodStart}`);
  }

  callsOf(method: Method, region: string): number {
    return this.callsByRegion.get(`${method}|${region}`) ?? 0;
  }

  private count(method: Method, region: string): void {
    this.calls[method] += 1;
    this.callsByRegion.set(`${method}|${region}`, this.callsOf(method, region) + 1);
  }

  sharesOf(regionCode: string, periodStart: string): GridShareRecord[] {
    return [...(this.stored.get(`${regionCode}|${periodStart}`)?.values() ?? [])];
  }

  /** Throws the next planned failure; true when the call should take effect and then fail. */
  private failure(method: Method, region: string): boolean {
    const next = this.failures.get(`${method}|${region}`)?.shift();
    if (next === 'after') return true;
    if (next) throw next;
    return false;
  }

  private context(regionCode: string, periodStart: string) {
    const start = Date.parse(periodStart) / 1000;
    const day = periodStart.slice(0, 10);
    const filters = this.filtersByKey.get(`${regionCode}|${day}`);
    if (!filters) throw new LedgerRefusal('NOT_FOUND', `no aggregation filters for ${regionCode} on ${day}`);
    const offset = start - Date.parse(`${day}T00:00:00Z`) / 1000;
    if (offset % filters.periodSeconds !== 0) {
      throw new LedgerRefusal('INVALID_ARGUMENT', `periodStart ${periodStart} is not a period boundary`);
    }
    return { filters, periodEnd: start + filters.periodSeconds, periodIndex: offset / filters.periodSeconds };
  }

  private store(batch: ShareBatch): { stored: number; duplicates: number } {
    if (batch.shares.length === 0 || batch.shares.length > AggregationLimits.maxSharesPerBatch) {
      throw new LedgerRefusal(
        'INVALID_ARGUMENT',
        `a batch holds 1 to ${AggregationLimits.maxSharesPerBatch} shares`,
      );
    }
    const key = `${batch.regionCode}|${batch.periodStart}`;
    const { filters, periodEnd } = this.context(batch.regionCode, batch.periodStart);
    if (this.closedRounds.has(key))
      throw new LedgerRefusal('CONFLICT', `round ${key} is closed: no more shares`);
    const now = Date.now() / 1000;
    const index =
      (Date.parse(batch.periodStart) / 1000 - Date.parse(`${filters.day}T00:00:00Z`) / 1000) /
      filters.periodSeconds;
    const bf1 = parseBloomFilterJson(filters.bf1Parts[Math.floor(index / filters.periodsPerPart)]);
    const round = this.stored.get(key) ?? new Map<string, GridShareRecord>();
    const fresh = new Map<string, GridShareRecord>();
    let duplicates = 0;
    for (const [index, raw] of batch.shares.entries()) {
      const share = checked(`shares[${index}]`, raw, batch);
      const sentAt = Date.parse(share.sentAt) / 1000;
      if (sentAt < periodEnd || sentAt > now + AggregationLimits.maxClockSkewSeconds) {
        throw new LedgerRefusal('INVALID_ARGUMENT', `shares[${index}]: sentAt out of range`);
      }
      if (now - periodEnd > AggregationLimits.maxShareDelaySeconds) {
        throw new LedgerRefusal('INVALID_ARGUMENT', `shares[${index}]: the period ended too long ago`);
      }
      if (!bloomFilterHas(bf1, share.prid))
        throw new LedgerRefusal('FORBIDDEN', `shares[${index}]: not in BF1`);
      if (!verifyShareSignature(share))
        throw new LedgerRefusal('FORBIDDEN', `shares[${index}]: bad signature`);
      const record = gridShareRecordOf(share);
      const earlier = fresh.get(share.prid) ?? round.get(share.prid);
      if (earlier) {
        if (JSON.stringify(earlier) !== JSON.stringify(record)) {
          throw new LedgerRefusal('CONFLICT', `shares[${index}]: PRID ${share.prid} has another share`);
        }
        duplicates += 1;
        continue;
      }
      fresh.set(share.prid, record);
    }
    for (const [prid, record] of fresh) round.set(prid, record);
    this.stored.set(key, round);
    this.batches.push(batch);
    return { stored: fresh.size, duplicates };
  }

  private close(regionCode: string, periodStart: string): AggregationRoundRecord {
    const key = `${regionCode}|${periodStart}`;
    const { filters, periodEnd, periodIndex } = this.context(regionCode, periodStart);
    if (Date.now() / 1000 < periodEnd)
      throw new LedgerRefusal('INVALID_ARGUMENT', `round ${key} has not ended yet`);
    if (this.closedRounds.has(key)) throw new LedgerRefusal('CONFLICT', `round ${key} is already closed`);
    const shares = this.sharesOf(regionCode, periodStart);
    const shareSum = shares.reduce((sum, share) => sum + BigInt(share.value), 0n);
    const pridSum = sumPrids(shares.map((share) => share.prid));
    const expectedShares = 2 * filters.meterCount;
    const matches =
      shares.length === expectedShares &&
      bloomFilterHas(parseBloomFilterJson(filters.bf2), bf2Entry(periodStart, pridSum));
    const maskSum = filters.maskSums[periodIndex];
    const record: AggregationRoundRecord = {
      docType: 'aggregationRound',
      regionCode,
      periodStart,
      periodSeconds: filters.periodSeconds,
      distributorMspId: filters.distributorMspId,
      status: matches ? 'COMPLETE' : 'FAULT',
      shareCount: shares.length,
      expectedShares,
      shareSum: shareSum.toString(),
      pridSum,
      ...(matches ? { maskSum, load: (shareSum - BigInt(maskSum)).toString() } : {}),
      closedAt: isoSecondsOf(),
    };
    this.closedRounds.set(key, record);
    return record;
  }
}

function checked(where: string, raw: unknown, batch: ShareBatch): GridShare {
  let share: GridShare;
  try {
    share = parseGridShare(raw);
  } catch (err) {
    if (err instanceof CryptoInputError)
      throw new LedgerRefusal('INVALID_ARGUMENT', `${where}: ${err.message}`);
    throw err;
  }
  if (share.region !== batch.regionCode || share.periodStart !== batch.periodStart) {
    throw new LedgerRefusal('INVALID_ARGUMENT', `${where} belongs to another round`);
  }
  return share;
}
