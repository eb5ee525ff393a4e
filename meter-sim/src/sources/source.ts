import type { Quality, Utility } from '@smartmeter/crypto';

/** What the meter measured in one period, in the utility's unit (Wh, or litres for gas and water). */
export interface MeasuredQuantity {
  quantity: number;
  quality: Quality;
}

/** Where a meter's consumption comes from: a synthetic household or a replayed data set. */
export interface ReadingSource {
  readonly utility: Utility;
  readonly description: string;
  /** The quantity consumed in [startSeconds, startSeconds + intervalSeconds); the same answer every time. */
  measure(startSeconds: number, intervalSeconds: number): MeasuredQuantity;
  /**
   * Called by the meter with its subscription's start before it measures anything: a source that replays
   * recorded days starts its replay on the subscription's first day.
   */
  alignTo?(subscriptionStartSeconds: number): void;
}

/** Sub-steps in which sources integrate consumption, so that any interval sums the same underlying usage. */
export const STEP_SECONDS = 300;
