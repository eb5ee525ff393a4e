import type * as Echarts from 'echarts';
import type { LoadRow } from './reporting/reports';
import { formatKwh } from './output';

/**
 * Charts drawn by Apache ECharts on the server: its SVG renderer in SSR mode needs no browser and no DOM, and the
 * web pages will draw the same options in the browser later. `report load --svg` writes the load chart; the bill
 * page (billReport.ts) embeds its usage and price charts as inline SVG.
 */

/** The chart's pixel size. */
export interface ChartSize {
  width?: number;
  height?: number;
}

/** One series over the chart's categories; null is a gap (no value, or a suppressed one). */
export interface CategorySeries {
  name: string;
  values: (number | null)[];
  color?: string;
}

export interface CategoryChart extends ChartSize {
  title: string;
  subtitle?: string;
  /** The x-axis labels, one per value of each series. */
  categories: string[];
  xName: string;
  /** The y-axis name: the unit, with what it is per ("kWh per day", "p/kWh"). */
  yName: string;
  series: CategorySeries[];
  /** Bars stacked per category (energy per band), or step lines (prices that hold until the next period). */
  kind: 'stackedBars' | 'steps';
}

/** Colours of the series in order: the bill page gives a band the same colour in its legend and both charts. */
export const SERIES_COLORS = ['#2e6fd8', '#e07b00', '#2e9d57', '#c0392b', '#8e44ad', '#6d6d6d'];
export const GRIDLINE_COLOR = '#d9d9d9';
/** Where the plot area sits inside the chart, in pixels (tests find the axis labels by it). */
export const GRID = { top: 92, right: 72, bottom: 64, left: 84 } as const;

const DEFAULT_SIZE = { width: 900, height: 420 };

/** ECharts is large: loaded on the first chart, not on every meterctl start. */
function loadEcharts(): typeof Echarts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('echarts') as typeof Echarts;
}

/** Renders an option to a standalone SVG document (no scripts, no external resources). */
export function renderSvg(option: Echarts.EChartsOption, size: ChartSize = {}): string {
  const width = size.width ?? DEFAULT_SIZE.width;
  const height = size.height ?? DEFAULT_SIZE.height;
  const chart = loadEcharts().init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option });
    return `${chart.renderToSVGString()}\n`;
  } finally {
    // Without it zrender's animation loop keeps the process alive.
    chart.dispose();
  }
}

/** The chart's title and subtitle, centred above the plot. */
export function chartTitle(text: string, subtext?: string): Echarts.EChartsOption['title'] {
  return {
    text,
    subtext,
    left: 'center',
    top: 8,
    textStyle: { fontSize: 15, color: '#222' },
    subtextStyle: { fontSize: 12, color: '#444' },
  };
}

/** A value axis on the left with its unit as the name, ticks and gridlines. */
export function valueAxis(name: string): Echarts.YAXisComponentOption {
  return {
    type: 'value',
    name,
    nameTextStyle: { align: 'left', color: '#333' },
    axisLine: { show: true },
    axisTick: { show: true },
    splitLine: { show: true, lineStyle: { color: GRIDLINE_COLOR } },
  };
}

/** A category axis below the plot, its labels thinned where they would overlap. */
export function categoryAxis(categories: string[], name: string): Echarts.XAXisComponentOption {
  return {
    type: 'category',
    data: categories,
    name,
    nameLocation: 'middle',
    nameGap: 34,
    nameTextStyle: { color: '#333' },
    axisLabel: { hideOverlap: true },
  };
}

/** Stacked bars or step lines over categories, with a legend when there is more than one series. */
export function renderCategoryChart(chart: CategoryChart): string {
  const legend = chart.series.length > 1;
  return renderSvg(
    {
      title: chartTitle(chart.title, chart.subtitle),
      legend: legend ? { top: 58, data: chart.series.map((s) => s.name) } : undefined,
      grid: { ...GRID },
      xAxis: categoryAxis(chart.categories, chart.xName),
      yAxis: valueAxis(chart.yName),
      series: chart.series.map((s, i) => ({
        name: s.name,
        color: s.color ?? SERIES_COLORS[i % SERIES_COLORS.length],
        data: s.values,
        ...(chart.kind === 'steps'
          ? { type: 'line' as const, step: 'end' as const, symbol: 'none', lineStyle: { width: 2 } }
          : { type: 'bar' as const, stack: 'total', barMaxWidth: 40 }),
      })),
    },
    chart,
  );
}

/** What the load chart says about its rows: the query it answers. */
export interface LoadChartQuery {
  regionCode: string;
  from: string;
  to: string;
  bucketSeconds: number;
  minHouseholds: number;
}

/**
 * A region's load: energy per bucket as bars (suppressed buckets are gaps), the households each bucket covers as
 * a line on the right axis, and the totals in the subtitle.
 */
export function renderLoadChart(rows: LoadRow[], query: LoadChartQuery, size: ChartSize = {}): string {
  const unit = `kWh per ${describeBucket(query.bucketSeconds)}`;
  const shown = rows.filter((r) => r.energyWh !== null);
  const totalWh = shown.reduce((sum, r) => sum + (r.energyWh ?? 0), 0);
  const counts = rows.map((r) => r.households).filter((n) => n > 0);
  const households =
    counts.length === 0
      ? 'no households'
      : Math.min(...counts) === Math.max(...counts)
        ? `${counts[0]} households per bucket`
        : `${Math.min(...counts)}–${Math.max(...counts)} households per bucket`;
  const suppressed = rows.length - shown.length;
  const subtitle = [
    `Total ${formatKwh(totalWh)} kWh in ${shown.length} of ${rows.length} buckets`,
    households,
    suppressed > 0
      ? `${suppressed} suppressed (fewer than ${query.minHouseholds} households)`
      : `none suppressed (at least ${query.minHouseholds} households each)`,
  ].join(' · ');
  const labelTime = query.bucketSeconds % 86_400 !== 0;
  return renderSvg(
    {
      title: chartTitle(`Load of ${query.regionCode}, ${formatRange(query.from, query.to)}`, subtitle),
      legend: { top: 58, data: [unit, 'households'] },
      grid: { ...GRID },
      xAxis: categoryAxis(
        rows.map((r) =>
          labelTime ? r.periodStart.slice(0, 16).replace('T', ' ') : r.periodStart.slice(0, 10),
        ),
        `${labelTime ? 'bucket start' : 'day'} (UTC)`,
      ),
      yAxis: [
        valueAxis(unit),
        {
          type: 'value',
          name: 'households',
          position: 'right',
          minInterval: 1,
          alignTicks: true,
          axisLine: { show: true },
          axisTick: { show: true },
          splitLine: { show: false },
        },
      ],
      series: [
        {
          name: unit,
          type: 'bar',
          color: SERIES_COLORS[0],
          barMaxWidth: 40,
          data: rows.map((r) => (r.energyWh === null ? null : r.energyWh / 1000)),
        },
        {
          name: 'households',
          type: 'line',
          yAxisIndex: 1,
          color: SERIES_COLORS[1],
          step: 'middle',
          symbol: 'none',
          data: rows.map((r) => r.households),
          // Buckets whose households fall below this line are suppressed.
          markLine: {
            silent: true,
            symbol: 'none',
            lineStyle: { color: SERIES_COLORS[1], type: 'dashed', width: 1 },
            label: { formatter: `k = ${query.minHouseholds}`, position: 'insideEndTop' },
            data: [{ yAxis: query.minHouseholds }],
          },
        },
      ],
    },
    size,
  );
}

/** 3600 → "hour", 1800 → "30 min", 86400 → "day", 7200 → "2 h", 90 → "90 s". */
export function describeBucket(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? 'day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-11-01T00:00:00Z" → "1 Nov 2026" (UTC). */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** "2026-11-01T07:30:00Z" → "1 Nov 2026 07:30 UTC". */
export function formatDateTime(iso: string): string {
  return `${formatDate(iso)} ${new Date(iso).toISOString().slice(11, 16)} UTC`;
}

/**
 * A range [from, to) for people: whole UTC days as the days they cover ("1 Nov 2026", "1 Nov 2026 – 30 Nov
 * 2026"), other ranges with their times ("1 Nov 2026 06:00 UTC – 1 Nov 2026 18:00 UTC").
 */
export function formatRange(from: string, to: string): string {
  const start = Date.parse(from);
  const end = Date.parse(to);
  if (start % 86_400_000 === 0 && end % 86_400_000 === 0 && end > start) {
    const last = new Date(end - 86_400_000).toISOString();
    return end - start === 86_400_000 ? formatDate(from) : `${formatDate(from)} – ${formatDate(last)}`;
  }
  return `${formatDateTime(from)} – ${formatDateTime(to)}`;
}
