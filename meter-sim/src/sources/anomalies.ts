import type { Utility } from '@smartmeter/crypto';
import { DEFAULT_ANOMALY_THRESHOLDS, ErrorCode } from '@smartmeter/domain';
import { unitHash } from '../random';
import type { MeasuredQuantity, ReadingSource } from './source';

/**
 * Labelled faults that meter-sim can inject into a source, so that the anomaly detector (issue 19) can be
 * measured against known answers. Each fault is a meter or installation fault, clearly beyond natural use.
 */
export const INJECTABLE_ANOMALY_KINDS = ['spike', 'leak', 'stuck', 'drop'] as const;
export type InjectableAnomalyKind = (typeof INJECTABLE_ANOMALY_KINDS)[number];

/**
 * One injected fault over whole periods from `startSeconds`. `magnitude` is, for a spike, the quantity added
 * to its one period (Wh or litres); for a leak, the extra flow per hour (litres); for stuck and drop it is 0
 * (their effect is given by the inner source and the length).
 */
export interface InjectedAnomaly {
  kind: InjectableAnomalyKind;
  startSeconds: number;
  periods: number;
  magnitude: number;
}

export interface AnomalyPlanOptions {
  utility: Utility;
  fromSeconds: number;
  toSeconds: number;
  intervalSeconds: number;
  /** As given (a command line gives strings): each must be one of INJECTABLE_ANOMALY_KINDS. */
  kinds: readonly string[];
  /** How many faults; default one of each kind. */
  count?: number;
}

export class AnomalyPlanError extends Error {
  readonly code = ErrorCode.InvalidArgument;
  constructor(message: string) {
    super(message);
    this.name = 'AnomalyPlanError';
  }
}

const HOUR = 3600;
const DAY = 86_400;

interface Range {
  min: number;
  max: number;
}

/** Spike sizes per period: well above the detector's minimum excess (2 kWh/h, 800 L/h, 150 L/h). */
const SPIKE_SIZE: Readonly<Record<Utility, Range>> = {
  electricity: { min: 3000, max: 6000 },
  gas: { min: 600, max: 1500 },
  water: { min: 100, max: 300 },
};

/** Leak flows per hour: above the detector's night threshold (60 L/h gas, 6 L/h water) even before use. */
const LEAK_RATE: Readonly<Partial<Record<Utility, Range>>> = {
  gas: { min: 80, max: 200 },
  water: { min: 8, max: 30 },
};

const LEAK_HOURS: Range = { min: 48, max: 96 };
const STUCK_HOURS: Range = { min: 8, max: 24 };
/** Drops last 1.5 to 3 times the detector's drop length, so that every one is long enough to be found. */
const DROP_FACTOR: Range = { min: 1.5, max: 3 };

/**
 * The UTC hours [from, to) in which a fault may start. A leak starts between 06:00 and 22:00 so that 48 hours
 * cover two whole night windows (01:00 to 05:00), as the detector needs. A stuck register freezes the value of
 * its first period, so it starts where synthetic households (UTC offset 0) use well above the stuck floor
 * (40 Wh/h, 40 L/h, 10 L/h): electricity by day, gas and water in their evening peaks; a frozen night value
 * would be below the floor and no fault at all.
 */
const START_HOURS: Readonly<Record<InjectableAnomalyKind, Readonly<Record<Utility, Range>>>> = {
  spike: { electricity: { min: 0, max: 24 }, gas: { min: 0, max: 24 }, water: { min: 0, max: 24 } },
  leak: { electricity: { min: 6, max: 22 }, gas: { min: 6, max: 22 }, water: { min: 6, max: 22 } },
  stuck: { electricity: { min: 8, max: 20 }, gas: { min: 17, max: 19 }, water: { min: 19, max: 21 } },
  drop: { electricity: { min: 0, max: 24 }, gas: { min: 0, max: 24 }, water: { min: 0, max: 24 } },
};

/** Faults are kept this far apart, so that the detector sees each on its own. */
const GAP_SECONDS = 12 * HOUR;

/**
 * A deterministic plan of labelled faults between fromSeconds and toSeconds: the span is cut into `count`
 * equal slots and each fault is put at a drawn start in its own slot, so that faults never overlap. The kinds
 * are cycled from a drawn offset and shuffled, so that every kind appears when count ≥ kinds.length.
 */
export function planAnomalies(seed: string, options: AnomalyPlanOptions): InjectedAnomaly[] {
  const kinds = validatedKinds(options);
  const count = validatedCount(options.count ?? kinds.length);
  validateSpan(options);
  const interval = options.intervalSeconds;
  const firstPeriod = Math.ceil(options.fromSeconds / interval) * interval;
  const lastEnd = Math.floor(options.toSeconds / interval) * interval;
  const slotSeconds = Math.floor((lastEnd - firstPeriod) / count / interval) * interval;
  return kindSequence(seed, kinds, count).map((kind, i) => {
    const slotStart = firstPeriod + i * slotSeconds;
    return placeInSlot(seed, i, kind, options, slotStart, slotStart + slotSeconds);
  });
}

/** Parses "spike,leak" as given on a command line; the kinds are checked by planAnomalies. */
export function parseAnomalyKinds(text: string): string[] {
  return text
    .split(',')
    .map((kind) => kind.trim())
    .filter((kind) => kind !== '');
}

function validatedKinds(options: AnomalyPlanOptions): InjectableAnomalyKind[] {
  if (options.kinds.length === 0)
    throw new AnomalyPlanError(`no anomaly kind given: choose from ${INJECTABLE_ANOMALY_KINDS.join(', ')}`);
  return options.kinds.map((text) => {
    const kind = INJECTABLE_ANOMALY_KINDS.find((known) => known === text);
    if (kind === undefined)
      throw new AnomalyPlanError(
        `unknown anomaly kind "${text}": choose from ${INJECTABLE_ANOMALY_KINDS.join(', ')}`,
      );
    if (kind === 'leak' && LEAK_RATE[options.utility] === undefined)
      throw new AnomalyPlanError(`a leak is a gas or water fault; ${options.utility} cannot leak`);
    return kind;
  });
}

function validatedCount(count: number): number {
  if (!Number.isInteger(count) || count < 1)
    throw new AnomalyPlanError(`the anomaly count must be a positive integer, got ${count}`);
  return count;
}

function validateSpan(options: AnomalyPlanOptions): void {
  const { fromSeconds, toSeconds, intervalSeconds } = options;
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1)
    throw new AnomalyPlanError(`intervalSeconds must be a positive whole number, got ${intervalSeconds}`);
  if (!Number.isFinite(fromSeconds) || !Number.isFinite(toSeconds) || fromSeconds >= toSeconds)
    throw new AnomalyPlanError(
      `the span must run forwards: from ${fromSeconds} is not before to ${toSeconds}`,
    );
}

/** count kinds: the given kinds in turn from a drawn offset, then shuffled (Fisher–Yates on the seed). */
function kindSequence(seed: string, kinds: InjectableAnomalyKind[], count: number): InjectableAnomalyKind[] {
  const offset = Math.floor(unitHash(seed, 'kind-offset') * kinds.length);
  const sequence = Array.from({ length: count }, (_, i) => kinds[(i + offset) % kinds.length]);
  for (let i = sequence.length - 1; i > 0; i -= 1) {
    const j = Math.floor(unitHash(seed, 'shuffle', i) * (i + 1));
    [sequence[i], sequence[j]] = [sequence[j], sequence[i]];
  }
  return sequence;
}

function draw(range: Range, ...parts: ReadonlyArray<string | number>): number {
  return range.min + (range.max - range.min) * unitHash(...parts);
}

function durationHours(seed: string, i: number, kind: InjectableAnomalyKind, utility: Utility): number {
  if (kind === 'leak') return draw(LEAK_HOURS, seed, 'hours', i);
  if (kind === 'stuck') return draw(STUCK_HOURS, seed, 'hours', i);
  if (kind === 'drop')
    return DEFAULT_ANOMALY_THRESHOLDS.perUtility[utility].dropZeroHours * draw(DROP_FACTOR, seed, 'hours', i);
  return 0;
}

function magnitudeOf(seed: string, i: number, kind: InjectableAnomalyKind, utility: Utility): number {
  if (kind === 'spike') return Math.round(draw(SPIKE_SIZE[utility], seed, 'magnitude', i));
  const leak = LEAK_RATE[utility];
  if (kind === 'leak' && leak) return Math.round(draw(leak, seed, 'magnitude', i));
  return 0;
}

function placeInSlot(
  seed: string,
  i: number,
  kind: InjectableAnomalyKind,
  options: AnomalyPlanOptions,
  slotStart: number,
  slotEnd: number,
): InjectedAnomaly {
  const interval = options.intervalSeconds;
  const periods = Math.max(1, Math.ceil((durationHours(seed, i, kind, options.utility) * HOUR) / interval));
  const window = START_HOURS[kind][options.utility];
  const starts: number[] = [];
  for (let s = slotStart + GAP_SECONDS; s + periods * interval <= slotEnd; s += interval) {
    const hour = (((s % DAY) + DAY) % DAY) / HOUR;
    if (hour >= window.min && hour < window.max) starts.push(s);
  }
  if (starts.length === 0)
    throw new AnomalyPlanError(
      `the span is too short: fault ${i + 1} (${kind}, ${(periods * interval) / HOUR} h) does not fit in its ` +
        `${(slotEnd - slotStart) / DAY} day share of the span; give a longer span or fewer anomalies`,
    );
  const startSeconds = starts[Math.floor(unitHash(seed, 'start', i) * starts.length)];
  return { kind, startSeconds, periods, magnitude: magnitudeOf(seed, i, kind, options.utility) };
}

/**
 * A source with faults injected: the inner source's quantity, changed where the plan says. The plan's periods
 * are of `intervalSeconds`; a fault covers [startSeconds, startSeconds + periods × intervalSeconds). Pure, as
 * the inner source is: the same period always gives the same answer. The quality stays the inner one, since
 * the point is that a faulty meter reports its faults as measured.
 */
export class AnomalyInjectingSource implements ReadingSource {
  readonly utility: Utility;

  constructor(
    private readonly inner: ReadingSource,
    readonly plan: readonly InjectedAnomaly[],
    private readonly intervalSeconds: number,
  ) {
    this.utility = inner.utility;
  }

  get description(): string {
    const kinds = this.plan.map((anomaly) => anomaly.kind).join(', ');
    return `${this.inner.description}, with ${this.plan.length} injected fault${this.plan.length === 1 ? '' : 's'} (${kinds})`;
  }

  alignTo(subscriptionStartSeconds: number): void {
    this.inner.alignTo?.(subscriptionStartSeconds);
  }

  measure(startSeconds: number, intervalSeconds: number): MeasuredQuantity {
    const measured = this.inner.measure(startSeconds, intervalSeconds);
    return this.plan.reduce(
      (current, anomaly) => this.apply(anomaly, current, startSeconds, intervalSeconds),
      measured,
    );
  }

  private apply(
    anomaly: InjectedAnomaly,
    current: MeasuredQuantity,
    startSeconds: number,
    intervalSeconds: number,
  ): MeasuredQuantity {
    const from = anomaly.startSeconds;
    const to = from + anomaly.periods * this.intervalSeconds;
    const overlap = Math.min(to, startSeconds + intervalSeconds) - Math.max(from, startSeconds);
    if (overlap <= 0) return current;
    switch (anomaly.kind) {
      case 'spike':
        // A spike is one burst at its start: a period that does not hold the start is unchanged.
        return from >= startSeconds && from < startSeconds + intervalSeconds
          ? { ...current, quantity: current.quantity + anomaly.magnitude }
          : current;
      case 'leak':
        return { ...current, quantity: Math.round(current.quantity + (anomaly.magnitude * overlap) / HOUR) };
      case 'stuck':
        return startSeconds >= from
          ? { ...current, quantity: this.inner.measure(from, intervalSeconds).quantity }
          : current;
      case 'drop':
        return startSeconds >= from ? { ...current, quantity: 0 } : current;
    }
  }
}
