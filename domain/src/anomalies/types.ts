import type { Utility } from '@smartmeter/crypto';

/** The utilities the detector knows; quantities are Wh for electricity and litres for gas and water. */
export type AnomalyUtility = Utility;

export const ANOMALY_KINDS = ['spike', 'leak', 'stuck', 'drop', 'impossible'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One decrypted reading: the quantity consumed in the period that starts at `periodStart`. */
export interface SeriesPoint {
  periodStart: string;
  quantity: number;
}

/** One subscription's readings in one utility, in any order (the detector sorts them). */
export interface AnomalySeries {
  subscriptionId: string;
  utility: AnomalyUtility;
  intervalSeconds: number;
  points: SeriesPoint[];
}

/** What the household usually consumes in a period like the finding's, per period. */
export interface ExpectedRange {
  low: number;
  high: number;
  median: number;
}

/**
 * An alert with its evidence. `periodStart` and `periodEnd` are the starts of the first and the last period
 * concerned (so a one-period finding has them equal); `value` is the quantity that triggered it (the largest
 * for a spike, the smallest night flow for a leak, the repeated value for a flat line, 0 for a drop).
 */
export interface AnomalyFinding {
  kind: AnomalyKind;
  subscriptionId: string;
  utility: AnomalyUtility;
  periodStart: string;
  periodEnd: string;
  periods: number;
  value: number;
  expected: ExpectedRange;
  /** How far from the usual: the robust z-score for a spike, hours for a flat line or a drop, ratios otherwise. */
  score: number;
  reason: string;
}
