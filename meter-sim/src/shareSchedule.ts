import { randomInt } from 'node:crypto';

/** An integer in [0, n): unpredictable, since publishing moments and order are what keep shares apart. */
export type RandomInt = (n: number) => number;

export const secureRandomInt: RandomInt = (n) => randomInt(n);

/**
 * The two publishing moments (epoch seconds) of a period's shares in live mode, the paper's rule: each at an
 * independent random second in [from, windowEnd), never within `gapSeconds` of the other. Uniform over all
 * such pairs: draw two seconds from a range `gapSeconds` shorter, sort them and push the later one up by the
 * gap. When less than the gap is left of the window, the first goes at once and the second a gap later.
 */
export function liveMoments(
  fromSeconds: number,
  windowEndSeconds: number,
  gapSeconds: number,
  random: RandomInt = secureRandomInt,
): [number, number] {
  const from = Math.ceil(fromSeconds);
  const span = Math.floor(windowEndSeconds) - from - gapSeconds;
  if (span < 1) return random(2) === 0 ? [from, from + gapSeconds] : [from + gapSeconds, from];
  const a = random(span);
  const b = random(span);
  const [early, late] = a <= b ? [a, b] : [b, a];
  // Which share goes first is itself random.
  const moments: [number, number] = [from + early, from + late + gapSeconds];
  return random(2) === 0 ? moments : [moments[1], moments[0]];
}

/**
 * Orders a backlog for publishing: random, but no two items of the same group (a period's two shares) next
 * to each other, nor the first next to `lastGroup` (what went out just before), wherever the backlog allows
 * it. Each step draws among the items of another group than the previous one; with three items left of
 * which two form a pair, it takes from the pair, the one way not to end on two of a kind. `limit`: only the
 * first so many (the rest are ordered by a later call, with `lastGroup`).
 */
export function spreadOrder<T>(
  items: readonly T[],
  group: (item: T) => string,
  options: { lastGroup?: string; limit?: number; random?: RandomInt } = {},
): T[] {
  const random = options.random ?? secureRandomInt;
  const limit = options.limit ?? Infinity;
  const left = [...items];
  const order: T[] = [];
  let previous = options.lastGroup;
  while (left.length > 0 && order.length < limit) {
    let candidates = left.filter((item) => group(item) !== previous);
    if (candidates.length === 0) candidates = left;
    if (left.length === 3) {
      const paired = candidates.filter(
        (item) => left.filter((other) => group(other) === group(item)).length > 1,
      );
      if (paired.length > 0) candidates = paired;
    }
    const chosen = candidates[random(candidates.length)];
    left.splice(left.indexOf(chosen), 1);
    order.push(chosen);
    previous = group(chosen);
  }
  return order;
}
