/** Median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median absolute deviation around the median. */
export function medianAbsoluteDeviation(values: readonly number[], centre = median(values)): number {
  return median(values.map((v) => Math.abs(v - centre)));
}

/** 1.4826 × MAD estimates the standard deviation of normal noise, so z-scores read like ordinary ones. */
export const MAD_TO_SIGMA = 1.4826;

/** Rounds for display: findings carry at most two decimals. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
