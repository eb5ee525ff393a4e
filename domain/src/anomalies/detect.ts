import { createHash } from 'node:crypto';
import { UNIT_OF } from '@smartmeter/crypto';
import { ErrorCode } from '../errors';
import { epochSecondsOf, isoSeconds } from '../time';
import { MAD_TO_SIGMA, median, medianAbsoluteDeviation, round2 } from './statistics';
import { DEFAULT_ANOMALY_THRESHOLDS, type AnomalyThresholds, type UtilityThresholds } from './thresholds';
import {
  ANOMALY_KINDS,
  type AnomalyFinding,
  type AnomalyKind,
  type AnomalySeries,
  type ExpectedRange,
} from './types';

const DAY = 86_400;
const HOUR = 3_600;

export class AnomalyInputError extends Error {
  readonly code = ErrorCode.InvalidArgument;
  constructor(message: string) {
    super(message);
    this.name = 'AnomalyInputError';
  }
}

interface Point {
  seconds: number;
  periodStart: string;
  quantity: number;
}

/** What every rule needs: the sorted plausible readings, the limits and the household's usual levels. */
interface Scan {
  series: AnomalySeries;
  thresholds: AnomalyThresholds;
  limits: UtilityThresholds;
  /** The reading interval in hours, to turn rates per hour into quantities per period. */
  hours: number;
  unit: string;
  points: Point[];
  profile: UsualLevels;
}

/**
 * Finds anomalies in one subscription's readings: impossible values, short spikes far above the household's
 * usual level for that time of day, continuous night flow (gas and water leaks), flat lines and drops to zero.
 * Pure and deterministic: the same series always gives the same findings, sorted by period and kind.
 */
export function detectAnomalies(
  series: AnomalySeries,
  thresholds: AnomalyThresholds = DEFAULT_ANOMALY_THRESHOLDS,
): AnomalyFinding[] {
  const interval = series.intervalSeconds;
  if (!Number.isInteger(interval) || interval < 60 || DAY % interval !== 0) {
    throw new AnomalyInputError(
      `intervalSeconds must be a whole number of seconds from 60 that divides a day, got ${interval}`,
    );
  }
  const all = series.points.map(toPoint).sort((a, b) => a.seconds - b.seconds);
  const limits = thresholds.perUtility[series.utility];
  const hours = interval / HOUR;
  const plausible = all.filter((p) => implausibility(p.quantity, limits, hours) === undefined);
  const scan: Scan = {
    series,
    thresholds,
    limits,
    hours,
    unit: UNIT_OF[series.utility],
    points: plausible,
    profile: new UsualLevels(plausible, interval, thresholds.minSlotSamples),
  };
  const leaking = leaks(scan);
  // A steady leak into a home that uses nothing else reads the same every period: that flat line is the leak.
  const flat = flatLines(scan).filter((f) => !leaking.some((leak) => overlaps(f, leak)));
  return [...impossibleValues(scan, all), ...spikes(scan), ...leaking, ...flat, ...drops(scan)].sort(
    byPeriodThenKind,
  );
}

/** A stable identifier of a finding, so that confirming it twice is one record. */
export function anomalyId(finding: Pick<AnomalyFinding, 'subscriptionId' | 'kind' | 'periodStart'>): string {
  return createHash('sha256')
    .update(`${finding.subscriptionId}|${finding.kind}|${finding.periodStart}`)
    .digest('hex')
    .slice(0, 32);
}

function toPoint(point: { periodStart: string; quantity: number }): Point {
  const seconds = epochSecondsOf(point.periodStart);
  if (!Number.isFinite(seconds))
    throw new AnomalyInputError(`periodStart is not a time: "${point.periodStart}"`);
  return { seconds, periodStart: isoSeconds(seconds), quantity: point.quantity };
}

function overlaps(a: AnomalyFinding, b: AnomalyFinding): boolean {
  return a.periodStart <= b.periodEnd && b.periodStart <= a.periodEnd;
}

function byPeriodThenKind(a: AnomalyFinding, b: AnomalyFinding): number {
  if (a.periodStart !== b.periodStart) return a.periodStart < b.periodStart ? -1 : 1;
  return ANOMALY_KINDS.indexOf(a.kind) - ANOMALY_KINDS.indexOf(b.kind);
}

/**
 * The household's usual level per time-of-day slot, separately for weekdays and weekends (UTC days). A slot
 * with too few samples falls back to the same hour of any day, then to the whole series.
 */
class UsualLevels {
  private readonly bySlot = new Map<string, number[]>();
  private readonly byHour = new Map<number, number[]>();
  private readonly everything: number[];

  constructor(
    points: Point[],
    private readonly interval: number,
    private readonly minSamples: number,
  ) {
    this.everything = points.map((p) => p.quantity);
    for (const p of points) {
      push(this.bySlot, this.slotOf(p.seconds), p.quantity);
      push(this.byHour, hourOf(p.seconds), p.quantity);
    }
  }

  /** The median and the floored MAD of the samples like this period. */
  at(seconds: number, madFloorFraction: number): { median: number; sigma: number } {
    const slot = this.bySlot.get(this.slotOf(seconds)) ?? [];
    const hour = this.byHour.get(hourOf(seconds)) ?? [];
    const samples =
      slot.length >= this.minSamples ? slot : hour.length >= this.minSamples ? hour : this.everything;
    const centre = samples.length > 0 ? median(samples) : 0;
    const mad = samples.length > 0 ? medianAbsoluteDeviation(samples, centre) : 0;
    return { median: centre, sigma: MAD_TO_SIGMA * Math.max(mad, madFloorFraction * centre, 1) };
  }

  get overallMedian(): number {
    return this.everything.length > 0 ? median(this.everything) : 0;
  }

  private slotOf(seconds: number): string {
    const weekday = new Date(seconds * 1000).getUTCDay();
    const weekend = weekday === 0 || weekday === 6 ? 'weekend' : 'weekday';
    return `${weekend}:${Math.floor((((seconds % DAY) + DAY) % DAY) / this.interval)}`;
  }
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function hourOf(seconds: number): number {
  return Math.floor((((seconds % DAY) + DAY) % DAY) / HOUR);
}

/** Why a quantity cannot have been measured, or undefined when it could. */
function implausibility(quantity: number, limits: UtilityThresholds, hours: number): string | undefined {
  if (!Number.isFinite(quantity)) return 'is not a number';
  if (quantity < 0) return 'is negative';
  if (!Number.isInteger(quantity)) return 'is not a whole number';
  if (quantity > limits.maxPerHour * hours)
    return `is above the ${limits.maxPerHour * hours} a meter can pass`;
  return undefined;
}

function finding(
  scan: Scan,
  kind: AnomalyKind,
  run: Point[],
  fields: { value: number; expected: ExpectedRange; score: number; reason: string },
): AnomalyFinding {
  return {
    kind,
    subscriptionId: scan.series.subscriptionId,
    utility: scan.series.utility,
    periodStart: run[0].periodStart,
    periodEnd: run[run.length - 1].periodStart,
    periods: run.length,
    ...fields,
    expected: {
      low: round2(fields.expected.low),
      high: round2(fields.expected.high),
      median: round2(fields.expected.median),
    },
    score: round2(fields.score),
  };
}

function impossibleValues(scan: Scan, all: Point[]): AnomalyFinding[] {
  const high = scan.limits.maxPerHour * scan.hours;
  return all.flatMap((p) => {
    const why = implausibility(p.quantity, scan.limits, scan.hours);
    if (why === undefined) return [];
    return [
      finding(scan, 'impossible', [p], {
        value: p.quantity,
        expected: { low: 0, high, median: scan.profile.overallMedian },
        score: Number.isFinite(p.quantity) ? Math.abs(p.quantity) / high : 0,
        reason: `${p.quantity} ${scan.unit} in ${scan.hours} h ${why}`,
      }),
    ];
  });
}

/** Consecutive runs (no missing period inside) of the points that satisfy `keep`. */
function runsOf(points: Point[], interval: number, keep: (p: Point) => boolean): Point[][] {
  const runs: Point[][] = [];
  let current: Point[] = [];
  for (const p of points) {
    const previous = current.at(-1);
    if (keep(p) && previous !== undefined && p.seconds === previous.seconds + interval) {
      current.push(p);
      continue;
    }
    if (current.length > 0) runs.push(current);
    current = keep(p) ? [p] : [];
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

function spikeRange(scan: Scan, seconds: number): ExpectedRange & { sigma: number } {
  const { median: centre, sigma } = scan.profile.at(seconds, scan.thresholds.madFloorFraction);
  const spread = scan.thresholds.spikeZ * sigma;
  return {
    median: centre,
    sigma,
    low: Math.max(0, centre - spread),
    high: Math.max(centre + spread, centre + scan.limits.spikeMinExcessPerHour * scan.hours),
  };
}

/** Short runs far above the usual level for the time of day: a meter fault, not consumption. */
function spikes(scan: Scan): AnomalyFinding[] {
  const interval = scan.series.intervalSeconds;
  const above = (p: Point): boolean => p.quantity > spikeRange(scan, p.seconds).high;
  return runsOf(scan.points, interval, above)
    .filter((run) => run.length * scan.hours <= scan.thresholds.spikeMaxHours)
    .map((run) => {
      const peak = run.reduce((a, b) => (b.quantity > a.quantity ? b : a));
      const range = spikeRange(scan, peak.seconds);
      const z = (peak.quantity - range.median) / range.sigma;
      return finding(scan, 'spike', run, {
        value: peak.quantity,
        expected: range,
        score: z,
        reason:
          `${peak.quantity} ${scan.unit} at ${peak.periodStart}, usually ${round2(range.median)} ` +
          `(expected at most ${round2(range.high)}), robust z ${round2(z)}`,
      });
    });
}

/** The night window's periods of one UTC day, or undefined when a reading is missing from it. */
function nightOf(scan: Scan, byStart: Map<number, Point>, day: number): Point[] | undefined {
  const [from, to] = scan.thresholds.leakWindowUtc;
  const interval = scan.series.intervalSeconds;
  const night: Point[] = [];
  for (let s = day * DAY + from * HOUR; s < day * DAY + to * HOUR; s += interval) {
    const p = byStart.get(s);
    if (!p) return undefined;
    night.push(p);
  }
  return night;
}

/** Gas or water flowing in every period of the night window, on consecutive nights: a leak. */
function leaks(scan: Scan): AnomalyFinding[] {
  const leakPerHour = scan.limits.leakMinPerHour;
  if (leakPerHour === undefined || scan.points.length === 0) return [];
  const threshold = leakPerHour * scan.hours;
  const byStart = new Map(scan.points.map((p) => [p.seconds, p]));
  const firstDay = Math.floor(scan.points[0].seconds / DAY);
  const lastDay = Math.floor(scan.points[scan.points.length - 1].seconds / DAY);
  const nights: { day: number; points: Point[] }[] = [];
  for (let day = firstDay; day <= lastDay; day += 1) {
    const points = nightOf(scan, byStart, day);
    if (points) nights.push({ day, points });
  }
  const usualNight = nights.length > 0 ? median(nights.flatMap((n) => n.points.map((p) => p.quantity))) : 0;
  const [from, to] = scan.thresholds.leakWindowUtc;
  const findings: AnomalyFinding[] = [];
  let run: { day: number; points: Point[] }[] = [];
  const close = (): void => {
    if (run.length >= scan.thresholds.leakNights) {
      const points = run.flatMap((n) => n.points);
      const least = Math.min(...points.map((p) => p.quantity));
      findings.push(
        finding(scan, 'leak', points, {
          value: least,
          expected: { low: 0, high: threshold, median: usualNight },
          score: least / threshold,
          reason:
            `${scan.series.utility} flowed in every period from ${from}:00 to ${to}:00 UTC on ${run.length} ` +
            `consecutive nights, at least ${least} ${scan.unit} per period (a leak is ${threshold} or more; ` +
            `usually ${round2(usualNight)})`,
        }),
      );
    }
    run = [];
  };
  for (const night of nights) {
    const flowing = night.points.every((p) => p.quantity >= threshold);
    const follows = run.length > 0 && night.day === run[run.length - 1].day + 1;
    if (!flowing || !follows) close();
    if (flowing) run.push(night);
  }
  close();
  return findings;
}

/** The same non-zero value for hours: a stuck register or a meter that repeats its last reading. */
function flatLines(scan: Scan): AnomalyFinding[] {
  const least = scan.limits.stuckMinPerHour * scan.hours;
  const interval = scan.series.intervalSeconds;
  return runsOf(scan.points, interval, (p) => p.quantity >= least)
    .flatMap((run) => splitAtChanges(run))
    .filter((run) => run.length * scan.hours >= scan.thresholds.stuckHours)
    .map((run) => {
      const usual = spikeRange(scan, run[0].seconds);
      return finding(scan, 'stuck', run, {
        value: run[0].quantity,
        expected: usual,
        score: run.length * scan.hours,
        reason: `${run[0].quantity} ${scan.unit} in each of ${run.length} periods (${run.length * scan.hours} h): a flat line`,
      });
    });
}

/** Splits a run into the stretches of one repeated value. */
function splitAtChanges(run: Point[]): Point[][] {
  const parts: Point[][] = [];
  for (const p of run) {
    const last = parts.at(-1);
    if (last !== undefined && last[0].quantity === p.quantity) last.push(p);
    else parts.push([p]);
  }
  return parts;
}

/** Zero for many hours from a household that usually consumes: tamper, a cut supply or a dead register. */
function drops(scan: Scan): AnomalyFinding[] {
  // The usual level of the periods that consumed anything: a long drop's own zeros must not hide it.
  const consuming = scan.points.filter((p) => p.quantity > 0).map((p) => p.quantity);
  const usual = consuming.length > 0 ? median(consuming) : 0;
  if (usual < scan.limits.dropMinMedianPerHour * scan.hours) return [];
  return runsOf(scan.points, scan.series.intervalSeconds, (p) => p.quantity === 0)
    .filter((run) => run.length * scan.hours >= scan.limits.dropZeroHours)
    .map((run) =>
      finding(scan, 'drop', run, {
        value: 0,
        expected: { low: 0, high: usual, median: usual },
        score: run.length * scan.hours,
        reason: `zero in each of ${run.length} periods (${run.length * scan.hours} h); usually ${round2(usual)} ${scan.unit} per period`,
      }),
    );
}
