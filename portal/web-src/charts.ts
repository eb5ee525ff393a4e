/**
 * ECharts, loaded as the global `echarts` from /vendor/echarts.min.js. Canvas rendering only: the SVG renderer
 * writes style attributes, which the portal's Content-Security-Policy refuses, and so would HTML tooltips, so
 * tooltips are drawn on the canvas too (renderMode richText).
 *
 * A chart is accessible as an image with a name (role="img", aria-label) and a text summary beside it; it is
 * drawn once its container has a size (a ResizeObserver), and follows the container's size after that.
 */
import type { BarSeriesOption, EChartsOption, EChartsType, LineSeriesOption } from 'echarts';
import { h } from './dom.js';

declare const echarts: typeof import('echarts');

export interface SeriesChartSpec {
  testId: string;
  kind: 'bar' | 'line';
  /** The chart's accessible name: what it shows, over which period. */
  label: string;
  /** The same information in words, shown next to the chart. */
  summary: string;
  categories: string[];
  /** null: no value (a suppressed bucket), drawn as a gap. */
  values: (number | null)[];
  seriesName: string;
  yAxisName: string;
  /** A price holds until the next one: draw the line as steps. */
  stepped?: boolean;
  /** Attributes set on the container once the chart has been drawn (what tests wait for). */
  drawnAttributes: Record<string, string>;
}

interface MountedChart {
  container: HTMLElement;
  observer: ResizeObserver;
  chart?: EChartsType;
}

const mounted = new Set<MountedChart>();

/** A figure with the chart and its summary; the chart is drawn when the figure is in the page. */
export function seriesChart(spec: SeriesChartSpec): HTMLElement {
  const container = h('div', {
    class: 'chart',
    role: 'img',
    'aria-label': spec.label,
    'data-testid': spec.testId,
  });
  const figure = h('figure', { class: 'chart-figure' }, container, h('figcaption', {}, spec.summary));
  if (!echartsLoaded()) {
    container.classList.add('chart-unavailable');
    container.textContent = 'The chart library did not load; the figures are in the text below.';
    setAttributes(container, spec.drawnAttributes);
    return figure;
  }
  const entry: MountedChart = {
    container,
    observer: new ResizeObserver(() => {
      drawOrResize(entry, spec);
    }),
  };
  entry.observer.observe(container);
  mounted.add(entry);
  return figure;
}

/** Disposes every chart no longer in the page (after a view is replaced), so none leaks its canvas or observer. */
export function disposeDetachedCharts(): void {
  for (const entry of mounted) {
    if (entry.container.isConnected) continue;
    entry.observer.disconnect();
    entry.chart?.dispose();
    mounted.delete(entry);
  }
}

function echartsLoaded(): boolean {
  return 'echarts' in globalThis;
}

function drawOrResize(entry: MountedChart, spec: SeriesChartSpec): void {
  if (entry.container.clientWidth === 0 || !entry.container.isConnected) return;
  if (entry.chart) {
    entry.chart.resize();
    return;
  }
  entry.chart = echarts.init(entry.container, null, { renderer: 'canvas' });
  entry.chart.setOption(chartOption(spec));
  setAttributes(entry.container, spec.drawnAttributes);
}

function setAttributes(element: HTMLElement, attributes: Record<string, string>): void {
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
}

/** Colours with at least 4.5:1 contrast on white (style.css uses the same). */
const TEXT_COLOUR = '#1b1f24';
const SERIES_COLOUR = '#1d5fa7';

function chartOption(spec: SeriesChartSpec): EChartsOption {
  return {
    animation: !window.matchMedia('(prefers-reduced-motion: reduce)').matches,
    color: [SERIES_COLOUR],
    textStyle: { color: TEXT_COLOUR },
    grid: { left: 16, right: 16, top: 40, bottom: 16 },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    xAxis: { type: 'category', data: spec.categories, axisLabel: { hideOverlap: true, color: TEXT_COLOUR } },
    yAxis: { type: 'value', name: spec.yAxisName, axisLabel: { color: TEXT_COLOUR } },
    series: [spec.kind === 'bar' ? barSeries(spec) : lineSeries(spec)],
  };
}

function barSeries(spec: SeriesChartSpec): BarSeriesOption {
  return { type: 'bar', name: spec.seriesName, data: spec.values };
}

function lineSeries(spec: SeriesChartSpec): LineSeriesOption {
  return {
    type: 'line',
    name: spec.seriesName,
    data: spec.values,
    connectNulls: false,
    showSymbol: spec.values.length <= 60,
    step: spec.stepped ? 'end' : false,
  };
}
