import { liveMoments, spreadOrder } from '../src/shareSchedule';

describe('share moments (live mode)', () => {
  it('when a period ends then its two shares fall in the window, at least the gap apart, spread over all of it, either first', () => {
    const end = 1_800_000;
    const pairs = Array.from({ length: 4000 }, () => liveMoments(end, end + 240, 20));
    for (const [a, b] of pairs) {
      expect(Math.min(a, b)).toBeGreaterThanOrEqual(end);
      expect(Math.max(a, b)).toBeLessThan(end + 240);
      expect(Math.abs(a - b)).toBeGreaterThanOrEqual(20);
      expect(Number.isInteger(a) && Number.isInteger(b)).toBe(true);
    }
    const all = pairs.flat();
    expect(Math.min(...all)).toBe(end);
    expect(Math.max(...all)).toBe(end + 239);
    // Independent moments: the first share (PRID) goes first about half the time.
    const firstEarly = pairs.filter(([a, b]) => a < b).length;
    expect(firstEarly).toBeGreaterThan(1800);
    expect(firstEarly).toBeLessThan(2200);
    // Every second of the window gets used.
    const perSecond = new Map<number, number>();
    all.forEach((moment) => perSecond.set(moment, (perSecond.get(moment) ?? 0) + 1));
    expect(perSecond.size).toBe(240);
  });

  it('when the meter measures late in the window then both moments are from now on, and the gap still holds', () => {
    const end = 1_800_000;
    for (let i = 0; i < 500; i += 1) {
      const [a, b] = liveMoments(end + 200, end + 240, 20);
      expect(Math.min(a, b)).toBeGreaterThanOrEqual(end + 200);
      expect(Math.abs(a - b)).toBeGreaterThanOrEqual(20);
    }
    // Less than the gap left: one goes at once, the other a gap later (past the window rather than too close).
    const [a, b] = liveMoments(end + 230, end + 240, 20);
    expect([a, b].sort()).toEqual([end + 230, end + 250]);
  });
});

describe('backlog order (catch-up)', () => {
  const backlog = (periods: number) => Array.from({ length: periods }, (_, p) => [`${p}a`, `${p}b`]).flat();
  const period = (item: string) => item.slice(0, -1);

  it("when a backlog is ordered then it is a random permutation with no period's two shares side by side", () => {
    const orders = new Set<string>();
    for (let run = 0; run < 300; run += 1) {
      const items = backlog(2 + (run % 9));
      const order = spreadOrder(items, period);
      expect([...order].sort()).toEqual([...items].sort());
      for (let i = 1; i < order.length; i += 1) expect(period(order[i])).not.toBe(period(order[i - 1]));
      if (items.length === 10) orders.add(order.join(','));
    }
    expect(orders.size).toBeGreaterThan(25);
  });

  it('when ordered in slices then no slice starts with the sibling of what went last', () => {
    const items = backlog(3);
    for (let run = 0; run < 200; run += 1) {
      const first = spreadOrder(items, period, { limit: 1 });
      const rest = spreadOrder(
        items.filter((item) => item !== first[0]),
        period,
        { lastGroup: period(first[0]) },
      );
      const order = [...first, ...rest];
      for (let i = 1; i < order.length; i += 1) expect(period(order[i])).not.toBe(period(order[i - 1]));
    }
  });

  it('when only one period is left then its two shares go anyway', () => {
    expect(spreadOrder(['0a', '0b'], period).sort()).toEqual(['0a', '0b']);
  });
});
