import { SimClock } from '../src/clock';
import { submissionDelaySeconds } from '../src/jitter';

describe('submission jitter', () => {
  it('when thousands of meters report the same period then delays stay in [0, bound) and spread over it', () => {
    const period = Date.parse('2026-01-14T10:00:00Z') / 1000;
    const delays = Array.from({ length: 5000 }, (_, i) =>
      submissionDelaySeconds(`mtr-${i}`, period, 1800, 60),
    );
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(60);
    expect(new Set(delays).size).toBe(60);
    const perSecond = new Map<number, number>();
    delays.forEach((d) => perSecond.set(d, (perSecond.get(d) ?? 0) + 1));
    expect(Math.max(...perSecond.values())).toBeLessThan((5000 / 60) * 1.5);
  });

  it('when the interval is short then the delay stays under a quarter of it; the same meter and period always get the same delay', () => {
    for (let i = 0; i < 500; i += 1) expect(submissionDelaySeconds(`m${i}`, 0, 300, 3600)).toBeLessThan(75);
    expect(submissionDelaySeconds('m1', 1800, 1800, 60)).toBe(submissionDelaySeconds('m1', 1800, 1800, 60));
    expect(submissionDelaySeconds('m1', 1800, 1800, 0)).toBe(0);
  });
});

describe('simulated clock', () => {
  it('when running at speed then simulated time advances speed × wall time from the origin, capped at the present', () => {
    let wall = 1_000_000;
    const clock = new SimClock(1440, 1_000_000 - 86_400, () => wall);
    expect(clock.nowSeconds()).toBe(1_000_000 - 86_400);
    wall += 30;
    expect(clock.nowSeconds()).toBe(1_000_000 - 86_400 + 30 * 1440);
    expect(clock.realMsUntil(1_000_000 - 86_400 + 31 * 1440)).toBe(1000);
    wall += 60;
    expect(clock.nowSeconds()).toBe(wall);
    expect(clock.realMsUntil(wall + 5)).toBe(5000);
  });

  it('when the speed is 1 then it is the wall clock', () => {
    const wall = 5000;
    expect(new SimClock(1, 0, () => wall).nowSeconds()).toBe(5000);
  });
});
