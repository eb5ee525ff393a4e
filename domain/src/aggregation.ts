/**
 * Records of the aggregate privacy mode (docs/aggregation.md): the distributor's per-day filters and mask
 * sums, the pseudonymous shares the aggregator submits, the rounds that add them up, and the meters found
 * missing. No record here names a subscription: a share is tied to nothing but its pseudonym and its round.
 */
import type { GridShare } from '@smartmeter/crypto';

/** How a subscription's readings reach the ledger. */
export const PRIVACY_MODES = ['disclosed', 'aggregate'] as const;
export type PrivacyMode = (typeof PRIVACY_MODES)[number];

/** A serialized Bloom filter (the JSON form of the bloom-filters package), kept opaque on the ledger. */
export type BloomFilterDocument = Readonly<Record<string, unknown>>;

/**
 * What the distributor publishes ahead of a day, for one region: the day's header (BF2 and the mask sums),
 * then BF1 in parts of `periodsPerPart` periods. The parts exist because this Fabric's SmartBFT refuses any
 * transaction over 500 KB, and BF1 grows with meters × periods (README "Aggregate privacy mode").
 */
export interface AggregationFiltersInput {
  regionCode: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Length of the day's periods: divides a day and is a multiple of 300 s. */
  periodSeconds: number;
  /** Aggregate meters in the region that day: every round expects two shares from each. */
  meterCount: number;
  /** Periods each BF1 part covers; divides the day's periods. Part j covers periods [j·n, (j+1)·n). */
  periodsPerPart: number;
  /** BF2: the hash of each period's PRID sum (see bf2Entry in @smartmeter/crypto). */
  bf2: BloomFilterDocument;
  /** Z_k per period of the day, in time order: the sum of the meters' masks, a decimal string. */
  maskSums: string[];
}

export interface AggregationFiltersRecord extends AggregationFiltersInput {
  docType: 'aggregationFilters';
  distributorMspId: string;
  publishedAt: string;
}

/** One part of BF1: every PRID and PRID' of every meter for the part's periods. */
export interface Bf1PartInput {
  regionCode: string;
  day: string;
  part: number;
  bf1: BloomFilterDocument;
}

export interface Bf1PartRecord extends Bf1PartInput {
  docType: 'aggregationBf1Part';
  publishedAt: string;
}

/** A day's filters as the distributor builds them: the header and BF1 in parts. */
export interface DayFilterSet {
  filters: AggregationFiltersInput;
  bf1Parts: BloomFilterDocument[];
}

/** What Aggregation:GetFilters returns once every part is published: the header with BF1's parts, in order. */
export interface AggregationFiltersView extends AggregationFiltersRecord {
  bf1Parts: BloomFilterDocument[];
}

/** One stored share: the MQTT message as the meter signed it. */
export interface GridShareRecord {
  docType: 'gridShare';
  regionCode: string;
  periodStart: string;
  prid: string;
  value: string;
  sentAt: string;
  signature: string;
}

/** The argument of Aggregation:SubmitShares: shares of one round, as the meters signed them. */
export interface ShareBatch {
  regionCode: string;
  periodStart: string;
  shares: GridShare[];
}

/** COMPLETE: every meter reported; FAULT: BF2 did not match, no load yet; RESOLVED: corrected by the distributor. */
export type RoundStatus = 'COMPLETE' | 'FAULT' | 'RESOLVED';

export interface AggregationRoundRecord {
  docType: 'aggregationRound';
  regionCode: string;
  periodStart: string;
  periodSeconds: number;
  distributorMspId: string;
  status: RoundStatus;
  /** Shares stored for the round when it closed, and the meters the filters expected (two shares each). */
  shareCount: number;
  expectedShares: number;
  /** Σ of the shares' values (decimal string) and of their PRIDs (a point, hex). */
  shareSum: string;
  pridSum: string;
  /** The mask sum the load was computed with: Z_k, or Z'_k after a resolution. */
  maskSum?: string;
  /** The regional load in Wh (decimal string): only on COMPLETE and RESOLVED rounds that count enough meters. */
  load?: string;
  closedAt: string;
  resolution?: RoundResolution;
}

/** The distributor's finding for a faulted round. */
export interface RoundResolution {
  /** Meters that sent no share or only one. */
  missingMeters: string[];
  /** Shares left out of the sum: a lone share of a half-reporting meter, or one from no known meter. */
  excludedPrids: string[];
  correctedMaskSum: string;
  resolvedAt: string;
}

/** The argument of Aggregation:ResolveRound. */
export interface RoundResolutionInput {
  regionCode: string;
  periodStart: string;
  missingMeters: string[];
  excludedPrids: string[];
  correctedMaskSum: string;
}

/** A meter that did not report a round: visible to its distributor and to the authority. */
export interface FaultyMeterRecord {
  docType: 'faultyMeter';
  distributorMspId: string;
  meterId: string;
  regionCode: string;
  periodStart: string;
  recordedAt: string;
}

/** Hard limits of the Aggregation contract. */
export const AggregationLimits = {
  /** Shares in one SubmitShares transaction. */
  maxSharesPerBatch: 200,
  /** Meters in one region's filters. */
  maxMetersPerRegion: 5000,
  /**
   * A regional load must sum at least this many meters: the load of a region of one meter is that household's
   * consumption. Filters for fewer are refused, and a resolved round that counts fewer shows no load.
   */
  minMetersPerLoad: 5,
  /** A share may reach the ledger this long after its period ended (the meter's outbox may hold it). */
  maxShareDelaySeconds: 2 * 86_400,
  /** How far in the future of the transaction time a share's sentAt may be (clock skew). */
  maxClockSkewSeconds: 300,
  /** Shortest period: the GGM slot (AGGREGATE_SLOT_SECONDS in @smartmeter/crypto). */
  minPeriodSeconds: 300,
} as const;
