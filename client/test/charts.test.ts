import {
  describeBucket,
  formatRange,
  GRID,
  GRIDLINE_COLOR,
  renderCategoryChart,
  renderLoadChart,
  SERIES_COLORS,
} from '../src/charts';
import type { LoadRow } from '../src/reporting/reports';
import { leftAxis, parseSvg, svgBars, svgLinePoints, svgTexts } from './support/svg';

/** Hourly rows from 2026-11-01T00:00Z; the 6th and 18th cover too few households and are suppressed. */
function hourlyRows(count: number): LoadRow[] {
  return Array.from({ length: count }, (_, i) => {
    const suppressed = i === 5 || i === 17;
    return {
      periodStart: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3_600_000)
        .toISOString()
        .replace('.000Z', 'Z'),
      energyWh: suppressed ? null : 20_000 + ((i * 7919) % 23) * 1000,
      readingCount: 12,
      households: suppressed ? 3 : 6 + (i % 3),
      suppressed,
    };
  });
}

const QUERY = {
  regionCode: 'north/d1',
  from: '2026-11-01T00:00:00Z',
  to: '2026-11-02T00:00:00Z',
  bucketSeconds: 3600,
  minHouseholds: 5,
};

describe('the load chart', () => {
  const rows = hourlyRows(24);
  const svg = parseSvg(renderLoadChart(rows, QUERY));
  const texts = svgTexts(svg);
  const axis = leftAxis(texts, GRID.left);

  it('when drawn then the title names the region and the dates, and the subtitle the totals and households', () => {
    const shown = rows.filter((r) => r.energyWh !== null);
    const totalWh = shown.reduce((sum, r) => sum + (r.energyWh ?? 0), 0);

    expect(texts.map((t) => t.text)).toContain('Load of north/d1, 1 Nov 2026');
    expect(texts.map((t) => t.text)).toContain(
      `Total ${(totalWh / 1000).toFixed(3)} kWh in 22 of 24 buckets · 3–8 households per bucket · 2 suppressed (fewer than 5 households)`,
    );
    expect(texts.some((t) => t.text.includes('T00:00:00Z'))).toBe(false);
  });

  it('when drawn then the y axis has evenly spaced ticks from 0, one gridline each, and the unit per bucket', () => {
    const values = axis.ticks.map((t) => t.value);
    const gridlines = svg.querySelectorAll('path').filter((p) => p.getAttribute('stroke') === GRIDLINE_COLOR);

    expect(values.length).toBeGreaterThanOrEqual(4);
    expect(values[0]).toBe(0);
    const step = values[1] - values[0];
    values.forEach((value, i) => {
      expect(value).toBeCloseTo(i * step, 9);
    });
    expect(gridlines).toHaveLength(values.length);
    expect(texts.filter((t) => t.text === 'kWh per hour').length).toBeGreaterThanOrEqual(1);
    expect(texts.map((t) => t.text)).toContain('households');
  });

  it('when drawn then the x labels carry the year, start at the first bucket and name the time zone', () => {
    const bottom = 420 - GRID.bottom;
    const labels = texts.filter((t) => t.anchor === 'middle' && t.y > bottom && t.y < bottom + 30);

    expect(labels.length).toBeGreaterThanOrEqual(4);
    expect(labels[0].text).toBe('2026-11-01 00:00');
    for (const label of labels) expect(label.text).toMatch(/^2026-11-01 \d\d:00$/);
    expect(texts.map((t) => t.text)).toContain('bucket start (UTC)');
  });

  it('when drawn then there is one bar per shown bucket, each as high as its energy, the highest the maximum', () => {
    const bars = svgBars(svg).filter((b) => b.series === 0);
    const shown = rows.map((r, i) => ({ ...r, i })).filter((r) => r.energyWh !== null);

    expect(bars.map((b) => b.index)).toEqual(shown.map((r) => r.i));
    for (const bar of bars) {
      const kwh = (rows[bar.index].energyWh ?? 0) / 1000;
      expect(axis.valueAt(bar.bottom - bar.height)).toBeCloseTo(kwh, 1);
    }
    const tallest = bars.reduce((a, b) => (b.height > a.height ? b : a));
    expect(rows[tallest.index].energyWh).toBe(Math.max(...shown.map((r) => r.energyWh ?? 0)));
    expect(axis.ticks[axis.ticks.length - 1].value).toBeGreaterThanOrEqual(
      (rows[tallest.index].energyWh ?? 0) / 1000,
    );
  });

  it('when drawn then the households line steps through every bucket', () => {
    expect(svgLinePoints(svg, SERIES_COLORS[1]).length).toBeGreaterThanOrEqual(rows.length);
  });

  it('when buckets are half hours or days then the unit, labels and title say so', () => {
    const halfHours = svgTexts(
      parseSvg(renderLoadChart(hourlyRows(4), { ...QUERY, bucketSeconds: 1800 })),
    ).map((t) => t.text);
    const days = svgTexts(
      parseSvg(
        renderLoadChart(
          [0, 1, 2].map((d) => ({
            periodStart: `2026-11-0${d + 1}T00:00:00Z`,
            energyWh: 500_000,
            readingCount: 240,
            households: 5,
            suppressed: false,
          })),
          { ...QUERY, to: '2026-11-04T00:00:00Z', bucketSeconds: 86_400 },
        ),
      ),
    ).map((t) => t.text);

    expect(halfHours).toContain('kWh per 30 min');
    expect(days).toContain('kWh per day');
    expect(days).toContain('Load of north/d1, 1 Nov 2026 – 3 Nov 2026');
    expect(days).toEqual(expect.arrayContaining(['2026-11-01', '2026-11-02', '2026-11-03', 'day (UTC)']));
    expect(days.join('\n')).toContain(
      '5 households per bucket · none suppressed (at least 5 households each)',
    );
  });

  it('when every bucket is suppressed then it still draws axes and says so', () => {
    const suppressed = hourlyRows(3).map((r) => ({ ...r, energyWh: null, suppressed: true, households: 2 }));
    const drawn = svgTexts(parseSvg(renderLoadChart(suppressed, QUERY))).map((t) => t.text);

    expect(drawn.join('\n')).toContain(
      'Total 0.000 kWh in 0 of 3 buckets · 2 households per bucket · 3 suppressed (fewer than 5 households)',
    );
    expect(drawn).toContain('0');
  });
});

describe('category charts', () => {
  it('when bars are stacked then each category stacks its series to their sum and the legend names them', () => {
    const svg = parseSvg(
      renderCategoryChart({
        title: 'Energy per day, by band',
        categories: ['2026-11-01', '2026-11-02'],
        xName: 'day (UTC)',
        yName: 'kWh per day',
        kind: 'stackedBars',
        series: [
          { name: 'peak', values: [6, 9] },
          { name: 'off-peak <night>', values: [3, 1] },
        ],
      }),
    );
    const texts = svgTexts(svg);
    const axis = leftAxis(texts, GRID.left);
    const bars = svgBars(svg);
    const top = (index: number) =>
      Math.min(...bars.filter((b) => b.index === index).map((b) => b.bottom - b.height));

    expect(texts.map((t) => t.text)).toEqual(
      expect.arrayContaining([
        'Energy per day, by band',
        'peak',
        'off-peak <night>',
        'kWh per day',
        '2026-11-01',
      ]),
    );
    expect(bars).toHaveLength(4);
    expect(axis.valueAt(top(0))).toBeCloseTo(9, 1);
    expect(axis.valueAt(top(1))).toBeCloseTo(10, 1);
  });

  it('when steps are drawn then the line holds each value to the next category', () => {
    const svg = parseSvg(
      renderCategoryChart({
        title: 'Price',
        categories: ['a', 'b', 'c'],
        xName: 'period',
        yName: 'p/kWh',
        kind: 'steps',
        series: [{ name: 'flat', values: [30.12, 11.76, 30.12] }],
      }),
    );
    const axis = leftAxis(svgTexts(svg), GRID.left);
    const values = svgLinePoints(svg, SERIES_COLORS[0]).map((p) => axis.valueAt(p.y));

    expect(Math.max(...values)).toBeCloseTo(30.12, 1);
    expect(Math.min(...values)).toBeCloseTo(11.76, 1);
  });
});

describe('chart wording', () => {
  it('when a bucket size is described then it reads as a unit', () => {
    expect([60, 900, 1800, 3600, 7200, 86_400, 604_800, 90].map(describeBucket)).toEqual([
      '1 min',
      '15 min',
      '30 min',
      'hour',
      '2 h',
      'day',
      '7 days',
      '90 s',
    ]);
  });

  it('when a range is formatted then whole days read as dates and other ranges keep their times', () => {
    expect(formatRange('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z')).toBe('1 Nov 2026 – 30 Nov 2026');
    expect(formatRange('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z')).toBe('1 Nov 2026');
    expect(formatRange('2026-11-01T06:00:00Z', '2026-11-01T18:30:00Z')).toBe(
      '1 Nov 2026 06:00 UTC – 1 Nov 2026 18:30 UTC',
    );
  });
});
