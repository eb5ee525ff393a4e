import type {
  AggregationFiltersRecord,
  AggregationFiltersView,
  DayFilterSet,
  AggregationRoundRecord,
  FaultyMeterRecord,
  GridShareRecord,
  RoundResolutionInput,
  ShareBatch,
  ShareLookup,
} from '@smartmeter/domain';

/** The chaincode's MAX_SHARE_LOOKUPS. */
const SHARE_LOOKUPS_PER_CALL = 1000;
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** What SubmitShares returns: shares newly stored and those already on the ledger (a resend). */
export interface SubmitSharesResult {
  regionCode: string;
  periodStart: string;
  stored: number;
  duplicates: number;
}

/** The Aggregation contract: day filters, pseudonymous shares, rounds and regional loads (aggregate mode). */
export class AggregationClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Aggregation');
  }

  /**
   * Publishes a day's filters: the header, then each BF1 part (each a transaction under SmartBFT's 500 KB).
   * onPart reports progress. A part already published (a repeated run after a failure) is skipped.
   */
  async publishFilters(
    set: DayFilterSet,
    onPart: (published: number, parts: number) => void = () => undefined,
  ): Promise<AggregationFiltersRecord> {
    const header = await submitJson<AggregationFiltersRecord>(
      this.contract,
      'PublishFilters',
      JSON.stringify(set.filters),
    );
    for (const [part, bf1] of set.bf1Parts.entries()) {
      await this.publishBf1Part(set.filters.regionCode, set.filters.day, part, bf1);
      onPart(part + 1, set.bf1Parts.length);
    }
    return header;
  }

  publishBf1Part(regionCode: string, day: string, part: number, bf1: object): Promise<unknown> {
    return submitJson(this.contract, 'PublishBf1Part', regionCode, day, String(part), JSON.stringify(bf1));
  }

  submitShares(batch: ShareBatch): Promise<SubmitSharesResult> {
    return submitJson(this.contract, 'SubmitShares', JSON.stringify(batch));
  }

  closeRound(regionCode: string, periodStart: string): Promise<AggregationRoundRecord> {
    return submitJson(this.contract, 'CloseRound', regionCode, periodStart);
  }

  resolveRound(resolution: RoundResolutionInput): Promise<AggregationRoundRecord> {
    return submitJson(this.contract, 'ResolveRound', JSON.stringify(resolution));
  }

  /** The day's header with every BF1 part; NOT_FOUND until all parts are published. */
  filters(regionCode: string, day: string): Promise<AggregationFiltersView> {
    return evaluateJson(this.contract, 'GetFilters', regionCode, day);
  }

  round(regionCode: string, periodStart: string): Promise<AggregationRoundRecord> {
    return evaluateJson(this.contract, 'GetRound', regionCode, periodStart);
  }

  rounds(regionCode: string, from: string, to: string): Promise<AggregationRoundRecord[]> {
    return evaluateJson(this.contract, 'ListRounds', regionCode, from, to);
  }

  shares(regionCode: string, periodStart: string): Promise<GridShareRecord[]> {
    return evaluateJson(this.contract, 'ListShares', regionCode, periodStart);
  }

  faultyMeters(distributorMspId: string): Promise<FaultyMeterRecord[]> {
    return evaluateJson(this.contract, 'ListFaultyMeters', distributorMspId);
  }

  /** The shares stored under the given PRIDs (GetShares, at most 1000 periods per call: batched here). */
  async sharesOf(regionCode: string, lookups: readonly ShareLookup[]): Promise<GridShareRecord[]> {
    const found: GridShareRecord[] = [];
    for (let i = 0; i < lookups.length; i += SHARE_LOOKUPS_PER_CALL) {
      const batch = lookups.slice(i, i + SHARE_LOOKUPS_PER_CALL);
      found.push(
        ...(await evaluateJson<GridShareRecord[]>(
          this.contract,
          'GetShares',
          regionCode,
          JSON.stringify(batch),
        )),
      );
    }
    return found;
  }
}
