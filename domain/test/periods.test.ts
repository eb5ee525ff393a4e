import {
  describeSchedule,
  firstPeriodFrom,
  intervalOfPeriod,
  isPeriodBoundary,
  periodAfter,
  periodIndex,
  periodsStartingIn,
  type PeriodSchedule,
} from '@smartmeter/domain';

const at = (iso: string) => Date.parse(iso) / 1000;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

const halfHourly: PeriodSchedule = { startDate: '2026-01-14T00:00:00Z', intervalSeconds: 1800 };
/** Half-hourly until 02:00, then quarter-hourly. */
const changed: PeriodSchedule = {
  startDate: '2026-01-14T00:00:00Z',
  intervalSeconds: 900,
  intervalChanges: [
    {
      effectiveFrom: '2026-01-14T02:00:00Z',
      intervalSeconds: 900,
      previousIntervalSeconds: 1800,
      changedAt: '2026-01-14T01:10:00Z',
    },
  ],
};

describe('period schedule', () => {
  it('when the interval never changed then periods are start + k × interval', () => {
    expect(intervalOfPeriod(halfHourly, at('2026-01-14T01:30:00Z'))).toBe(1800);
    expect(intervalOfPeriod(halfHourly, at('2026-01-14T01:15:00Z'))).toBeUndefined();
    expect(intervalOfPeriod(halfHourly, at('2026-01-13T23:30:00Z'))).toBeUndefined();
    expect(periodIndex(halfHourly, at('2026-01-14T01:30:00Z'))).toBe(3);
    expect(firstPeriodFrom(halfHourly, at('2026-01-13T12:00:00Z')).startSeconds).toBe(
      at('2026-01-14T00:00:00Z'),
    );
  });

  it('when the interval changed then each segment keeps its own grid and indexes continue across', () => {
    const starts = [...periodsStartingIn(changed, at('2026-01-14T01:00:00Z'), at('2026-01-14T02:40:00Z'))];
    expect(starts.map((p) => `${iso(p.startSeconds).slice(11, 16)}/${p.intervalSeconds}`)).toEqual([
      '01:00/1800',
      '01:30/1800',
      '02:00/900',
      '02:15/900',
      '02:30/900',
    ]);
    expect(isPeriodBoundary(changed, at('2026-01-14T01:15:00Z'))).toBe(false);
    expect(isPeriodBoundary(changed, at('2026-01-14T02:15:00Z'))).toBe(true);
    expect(periodIndex(changed, at('2026-01-14T02:00:00Z'))).toBe(4);
    expect(periodIndex(changed, at('2026-01-14T02:45:00Z'))).toBe(7);
    expect(periodAfter(changed, at('2026-01-14T01:30:00Z'))).toEqual({
      startSeconds: at('2026-01-14T02:00:00Z'),
      intervalSeconds: 900,
    });
    expect(describeSchedule(changed)).toBe(
      'every 1800 s from 2026-01-14T00:00:00Z, every 900 s from 2026-01-14T02:00:00Z',
    );
  });

  it('when periods are listed then each starts where the previous ended and indexes count them', () => {
    const periods = [...periodsStartingIn(changed, at('2026-01-14T00:00:00Z'), at('2026-01-14T06:00:00Z'))];
    periods.slice(1).forEach((p, i) => {
      expect(p.startSeconds).toBe(periods[i].startSeconds + periods[i].intervalSeconds);
      expect(periodIndex(changed, p.startSeconds)).toBe(i + 1);
    });
    expect(periods).toHaveLength(4 + 16);
  });
});
