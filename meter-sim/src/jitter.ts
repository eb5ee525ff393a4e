import { unitHash } from './random';

/**
 * How long after a period ends the meter submits it. Each meter and period gets its own offset in
 * [0, maxJitter), so thousands of meters with the same interval do not all reach the peer in the same second.
 * Bounded by a quarter of the interval, so a reading always goes out well before the next one is due.
 */
export function submissionDelaySeconds(
  meterId: string,
  periodStartSeconds: number,
  intervalSeconds: number,
  maxJitterSeconds: number,
): number {
  const bound = Math.min(maxJitterSeconds, intervalSeconds / 4);
  return Math.floor(unitHash(meterId, 'jitter', periodStartSeconds) * bound);
}
