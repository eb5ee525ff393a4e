import type { SubscriptionApproval } from './records';
import { epochSecondsOf, isoSeconds } from './time';

/**
 * The reading periods of a subscription. A subscription starts with one interval; the distributor may change
 * it from a boundary on, so the periods form consecutive segments, each with its own interval. Chaincode,
 * meters, billing and reports all derive periods from here, so they agree on which slots exist.
 */
export type PeriodSchedule = Pick<SubscriptionApproval, 'startDate' | 'intervalSeconds' | 'intervalChanges'>;

export interface PeriodSegment {
  fromSeconds: number;
  intervalSeconds: number;
}

export interface Period {
  startSeconds: number;
  intervalSeconds: number;
}

export function periodSegments(schedule: PeriodSchedule): PeriodSegment[] {
  const changes = schedule.intervalChanges ?? [];
  const first: PeriodSegment = {
    fromSeconds: epochSecondsOf(schedule.startDate),
    intervalSeconds: changes[0]?.previousIntervalSeconds ?? schedule.intervalSeconds,
  };
  return [
    first,
    ...changes.map((change) => ({
      fromSeconds: epochSecondsOf(change.effectiveFrom),
      intervalSeconds: change.intervalSeconds,
    })),
  ];
}

function segmentIndexAt(segments: PeriodSegment[], seconds: number): number {
  for (let i = segments.length - 1; i >= 0; i -= 1) if (segments[i].fromSeconds <= seconds) return i;
  return -1;
}

/** The interval of the period starting at `seconds`, or undefined when no period starts then. */
export function intervalOfPeriod(schedule: PeriodSchedule, seconds: number): number | undefined {
  const segments = periodSegments(schedule);
  const at = segmentIndexAt(segments, seconds);
  if (at < 0) return undefined;
  const segment = segments[at];
  if ((seconds - segment.fromSeconds) % segment.intervalSeconds !== 0) return undefined;
  return segment.intervalSeconds;
}

/** Whether a period starts (or, equivalently, the previous one ends) at `seconds`. */
export function isPeriodBoundary(schedule: PeriodSchedule, seconds: number): boolean {
  return intervalOfPeriod(schedule, seconds) !== undefined;
}

/** How many periods start before the period starting at `seconds` (0 for the first). */
export function periodIndex(schedule: PeriodSchedule, seconds: number): number {
  const segments = periodSegments(schedule);
  const at = segmentIndexAt(segments, seconds);
  if (at < 0) throw new RangeError(`${isoSeconds(seconds)} is before the first period`);
  let index = 0;
  for (let i = 0; i < at; i += 1) {
    index += (segments[i + 1].fromSeconds - segments[i].fromSeconds) / segments[i].intervalSeconds;
  }
  return index + Math.floor((seconds - segments[at].fromSeconds) / segments[at].intervalSeconds);
}

/** The first period starting at or after `seconds`. */
export function firstPeriodFrom(schedule: PeriodSchedule, seconds: number): Period {
  const segments = periodSegments(schedule);
  const at = Math.max(0, segmentIndexAt(segments, seconds));
  const segment = segments[at];
  const offset = Math.max(0, seconds - segment.fromSeconds);
  const start = segment.fromSeconds + Math.ceil(offset / segment.intervalSeconds) * segment.intervalSeconds;
  const next = segments.at(at + 1);
  if (next && start >= next.fromSeconds)
    return { startSeconds: next.fromSeconds, intervalSeconds: next.intervalSeconds };
  return { startSeconds: start, intervalSeconds: segment.intervalSeconds };
}

/** The period after the one starting at `startSeconds`. */
export function periodAfter(schedule: PeriodSchedule, startSeconds: number): Period {
  const interval = intervalOfPeriod(schedule, startSeconds);
  return firstPeriodFrom(schedule, startSeconds + (interval ?? 1));
}

/** Periods starting in [fromSeconds, toSeconds), in order. */
export function* periodsStartingIn(schedule: PeriodSchedule, fromSeconds: number, toSeconds: number) {
  for (
    let period = firstPeriodFrom(schedule, fromSeconds);
    period.startSeconds < toSeconds;
    period = firstPeriodFrom(schedule, period.startSeconds + period.intervalSeconds)
  ) {
    yield period;
  }
}

/** "every 1800 s from 2026-01-01T00:00:00Z, every 900 s from 2026-02-01T00:00:00Z". */
export function describeSchedule(schedule: PeriodSchedule): string {
  return periodSegments(schedule)
    .map((segment) => `every ${segment.intervalSeconds} s from ${isoSeconds(segment.fromSeconds)}`)
    .join(', ');
}
