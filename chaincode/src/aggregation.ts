import type { Context } from 'fabric-contract-api';
import {
  AggregationLimits,
  REGION_CODE_PATTERN,
  type AggregationFiltersRecord,
  type AggregationRoundRecord,
  type Bf1PartRecord,
  type GridShareRecord,
} from '@smartmeter/domain';
import { invalidArgument, notFound } from './contractError';
import { Keys, aggregationRoundKey, fixedWidth, gridSharePrefix } from './ledger/keys';
import { readOptional, valuesByRange } from './ledger/store';
import { isoSeconds, parseIsoSeconds } from './ledger/txTime';

/**
 * Shared state of the aggregate privacy mode: the day filters, the rounds and their shares, and the time rules
 * every Aggregation transaction applies. See docs/aggregation.md.
 */

export const DAY_SECONDS = 86_400;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function requireRegionCode(value: unknown): string {
  if (typeof value !== 'string' || !REGION_CODE_PATTERN.test(value)) {
    throw invalidArgument('regionCode must be a grid area path such as north/d3 (lowercase, digits, -, /)');
  }
  return value;
}

/** A UTC day YYYY-MM-DD; returns its first second. */
export function parseDay(value: unknown): number {
  if (typeof value !== 'string' || !DAY_PATTERN.test(value)) {
    throw invalidArgument('day must be a UTC date YYYY-MM-DD');
  }
  return parseIsoSeconds('day', `${value}T00:00:00Z`);
}

export function dayOf(epochSeconds: number): string {
  return isoSeconds(epochSeconds).slice(0, 10);
}

export async function filtersFor(
  ctx: Context,
  regionCode: string,
  day: string,
): Promise<AggregationFiltersRecord | undefined> {
  return readOptional<AggregationFiltersRecord>(ctx, Keys.aggregationFilters.key(ctx, { regionCode, day }));
}

/** The round a period belongs to: its filters (which must exist), the period's index and its end. */
export interface RoundContext {
  filters: AggregationFiltersRecord;
  periodStartSeconds: number;
  periodEndSeconds: number;
  /** Index of the period within its day: selects the mask sum. */
  periodIndex: number;
}

export function bf1PartKey(ctx: Context, regionCode: string, day: string, part: number): string {
  return Keys.aggregationBf1Part.key(ctx, { regionCode, day, part: fixedWidth(part, 4) });
}

export async function bf1PartFor(ctx: Context, round: RoundContext): Promise<Bf1PartRecord> {
  const { filters } = round;
  const part = Math.floor(round.periodIndex / filters.periodsPerPart);
  const record = await readOptional<Bf1PartRecord>(
    ctx,
    bf1PartKey(ctx, filters.regionCode, filters.day, part),
  );
  if (!record) throw notFound(`BF1 part ${part} of ${filters.regionCode} on ${filters.day} is not published`);
  return record;
}

export async function roundContext(
  ctx: Context,
  regionCode: string,
  periodStart: string,
): Promise<RoundContext> {
  const start = parseIsoSeconds('periodStart', periodStart);
  const day = dayOf(start);
  const filters = await filtersFor(ctx, regionCode, day);
  if (!filters) throw notFound(`no aggregation filters for ${regionCode} on ${day}`);
  const offset = start - parseDay(day);
  if (offset % filters.periodSeconds !== 0) {
    throw invalidArgument(
      `periodStart ${periodStart} is not a period boundary of ${regionCode} (periods of ${filters.periodSeconds} s)`,
    );
  }
  return {
    filters,
    periodStartSeconds: start,
    periodEndSeconds: start + filters.periodSeconds,
    periodIndex: offset / filters.periodSeconds,
  };
}

export async function roundRecord(
  ctx: Context,
  regionCode: string,
  periodStart: string,
): Promise<AggregationRoundRecord | undefined> {
  return readOptional<AggregationRoundRecord>(ctx, aggregationRoundKey(regionCode, periodStart));
}

/** Every share stored for a round, in PRID order. */
export async function sharesOfRound(
  ctx: Context,
  regionCode: string,
  periodStart: string,
): Promise<GridShareRecord[]> {
  const prefix = gridSharePrefix(regionCode, periodStart);
  return valuesByRange<GridShareRecord>(ctx, prefix, `${prefix}~`);
}

/**
 * When a share may reach the ledger: not before its period ended (by its own signed sentAt and by the
 * transaction time), not from the future beyond clock skew, and not later than the meter's outbox keeps it.
 */
export function requireShareTime(
  where: string,
  sentAtSeconds: number,
  round: RoundContext,
  txSeconds: number,
): void {
  if (sentAtSeconds < round.periodEndSeconds) {
    throw invalidArgument(
      `${where}: sentAt is before its period ended (${isoSeconds(round.periodEndSeconds)})`,
    );
  }
  if (sentAtSeconds > txSeconds + AggregationLimits.maxClockSkewSeconds) {
    throw invalidArgument(`${where}: sentAt lies in the future of the transaction time`);
  }
  if (txSeconds - round.periodEndSeconds > AggregationLimits.maxShareDelaySeconds) {
    throw invalidArgument(
      `${where}: the period ended more than ${AggregationLimits.maxShareDelaySeconds} s before this transaction`,
    );
  }
}

/** Decimal strings for sums that may exceed 2^53. */
export function parseDecimal(name: string, value: unknown, limit: bigint): bigint {
  if (typeof value !== 'string' || !/^-?(0|[1-9]\d{0,30})$/.test(value)) {
    throw invalidArgument(`${name} must be an integer as a decimal string`);
  }
  const parsed = BigInt(value);
  if (parsed > limit || parsed < -limit)
    throw invalidArgument(`${name} is out of range (|${name}| <= ${limit})`);
  if (value === '-0') throw invalidArgument(`${name} must not be -0`);
  return parsed;
}
