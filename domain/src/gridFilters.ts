import {
  BF1_FALSE_POSITIVE_RATE,
  BF2_FALSE_POSITIVE_RATE,
  bf2Entry,
  buildBloomFilter,
  maskSum,
  periodSecrets,
  sumPrids,
  type GridShare,
  type PeriodSecrets,
} from '@smartmeter/crypto';
import type { DayFilterSet, GridShareRecord, RoundResolutionInput } from './aggregation';
import { isoSeconds } from './time';

/**
 * What the distributor computes from its aggregate meters' session keys (it is the paper's KGCBP): a day's
 * filters and mask sums, and, for a faulted round, which meters are missing. Pure functions: meterctl, the
 * tests and the benchmark share them.
 */

export interface AggregateMeter {
  meterId: string;
  sessionKey: Uint8Array;
}

const DAY_SECONDS = 86_400;

/** The start (epoch seconds) of every period of a UTC day. */
export function periodStartsOfDay(day: string, periodSeconds: number): number[] {
  const dayStart = Date.parse(`${day}T00:00:00Z`) / 1000;
  if (!Number.isSafeInteger(dayStart)) throw new Error(`not a UTC day: ${day}`);
  if (periodSeconds <= 0 || DAY_SECONDS % periodSeconds !== 0) {
    throw new Error(`a period of ${periodSeconds} s does not divide a day`);
  }
  return Array.from({ length: DAY_SECONDS / periodSeconds }, (_, k) => dayStart + k * periodSeconds);
}

/**
 * BF1's JSON bytes per PRID at BF1_FALSE_POSITIVE_RATE: -log2(p) / ln 2 bits, base64. A part's transaction carries
 * its filter twice (the argument and the write), and SmartBFT refuses transactions over 500 KB.
 */
const BF1_JSON_BYTES_PER_PRID = (-Math.log2(BF1_FALSE_POSITIVE_RATE) / Math.LN2 / 8) * (4 / 3);
export const BF1_PART_BUDGET_BYTES = 160 * 1024;

/** The most periods a BF1 part may cover for this many meters: a divisor of the day's periods. */
export function periodsPerPartFor(meterCount: number, periodsPerDay: number): number {
  const fits = Math.max(1, Math.floor(BF1_PART_BUDGET_BYTES / (2 * meterCount * BF1_JSON_BYTES_PER_PRID)));
  let periods = Math.min(fits, periodsPerDay);
  while (periodsPerDay % periods !== 0) periods -= 1;
  return periods;
}

/** BF1 (in parts), BF2 and Z_k for one region and day, from the session keys of the region's aggregate meters. */
export function buildDayFilters(options: {
  regionCode: string;
  day: string;
  periodSeconds: number;
  meters: readonly AggregateMeter[];
}): DayFilterSet {
  if (options.meters.length === 0) throw new Error('a region needs at least one aggregate meter');
  const starts = periodStartsOfDay(options.day, options.periodSeconds);
  const periodsPerPart = periodsPerPartFor(options.meters.length, starts.length);
  const parts: string[][] = Array.from({ length: starts.length / periodsPerPart }, () => []);
  const sums: string[] = [];
  const maskSums: string[] = [];
  for (const [k, start] of starts.entries()) {
    const secrets = options.meters.map((meter) => periodSecrets(meter.sessionKey, start));
    const periodPrids = secrets.flatMap(pridsOf);
    parts[Math.floor(k / periodsPerPart)].push(...periodPrids);
    sums.push(bf2Entry(isoSeconds(start), sumPrids(periodPrids)));
    maskSums.push(maskSum(secrets).toString());
  }
  return {
    filters: {
      regionCode: options.regionCode,
      day: options.day,
      periodSeconds: options.periodSeconds,
      meterCount: options.meters.length,
      periodsPerPart,
      bf2: buildBloomFilter(sums, BF2_FALSE_POSITIVE_RATE),
      maskSums,
    },
    bf1Parts: parts.map((prids) => buildBloomFilter(prids, BF1_FALSE_POSITIVE_RATE)),
  };
}

function pridsOf(secrets: PeriodSecrets): string[] {
  return [secrets.first.prid, secrets.second.prid];
}

/**
 * The distributor's finding for a faulted round: meters with no share or only one, the shares to leave out
 * (a half-reporting meter's lone share, and any share that is none of its meters'), and the mask sum of the
 * meters whose two shares arrived, so that Σ counted shares − Z' is the exact load of those meters.
 */
export function findMissingMeters(options: {
  regionCode: string;
  periodStartSeconds: number;
  meters: readonly AggregateMeter[];
  storedPrids: readonly string[];
}): RoundResolutionInput {
  const stored = new Set(options.storedPrids);
  const known = new Set<string>();
  const missingMeters: string[] = [];
  const excludedPrids: string[] = [];
  const complete: PeriodSecrets[] = [];
  for (const meter of options.meters) {
    const secrets = periodSecrets(meter.sessionKey, options.periodStartSeconds);
    const present = pridsOf(secrets).filter((prid) => stored.has(prid));
    pridsOf(secrets).forEach((prid) => known.add(prid));
    if (present.length === 2) {
      complete.push(secrets);
    } else {
      missingMeters.push(meter.meterId);
      excludedPrids.push(...present);
    }
  }
  excludedPrids.push(...options.storedPrids.filter((prid) => !known.has(prid)));
  return {
    regionCode: options.regionCode,
    periodStart: isoSeconds(options.periodStartSeconds),
    missingMeters: missingMeters.sort(),
    excludedPrids: excludedPrids.sort(),
    correctedMaskSum: maskSum(complete).toString(),
  };
}

/** The ledger record of a share: the share as its meter signed it, under the record's field names. */
export function gridShareRecordOf(share: GridShare): GridShareRecord {
  return {
    docType: 'gridShare',
    regionCode: share.region,
    periodStart: share.periodStart,
    prid: share.prid,
    value: share.value,
    sentAt: share.sentAt,
    signature: share.signature,
  };
}
