import { parse, type HTMLElement } from 'node-html-parser';

/** A text of an SVG chart where ECharts placed it (its translate or matrix, plus its own x and y). */
export interface SvgText {
  text: string;
  x: number;
  y: number;
  anchor: string;
}

/** A bar of a bar series: which series and data index ECharts drew it for, and its pixel box. */
export interface SvgBar {
  series: number;
  index: number;
  x: number;
  bottom: number;
  height: number;
}

function position(element: HTMLElement): { x: number; y: number } {
  const transform = element.getAttribute('transform') ?? '';
  const translate = /translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)/.exec(transform);
  const matrix = /matrix\((?:[-\d.e]+[ ,]+){4}([-\d.e]+)[ ,]+([-\d.e]+)\)/.exec(transform);
  const [tx, ty] = translate ? [translate[1], translate[2]] : matrix ? [matrix[1], matrix[2]] : ['0', '0'];
  return {
    x: Number(tx) + Number(element.getAttribute('x') ?? 0),
    y: Number(ty) + Number(element.getAttribute('y') ?? 0),
  };
}

/** Parses an SVG document (as ECharts renders it) with an HTML parser; throws unless it is one <svg>. */
export function parseSvg(svg: string): HTMLElement {
  const root = parse(svg);
  const element = root.querySelector('svg');
  if (!element) throw new Error('no <svg> element');
  return element;
}

export function svgTexts(svg: HTMLElement): SvgText[] {
  return svg.querySelectorAll('text').map((element) => ({
    text: element.text,
    ...position(element),
    anchor: element.getAttribute('text-anchor') ?? 'start',
  }));
}

/** Bars are closed rectangles "M x y l w 0 l 0 -h l -w 0 Z" tagged with their series and data index. */
export function svgBars(svg: HTMLElement): SvgBar[] {
  return svg
    .querySelectorAll('path[ecmeta_ssr_type="chart"]')
    .map((element) => {
      const d = element.getAttribute('d') ?? '';
      const box = /^M([-\d.]+) ([-\d.]+)l[-\d.]+ 0l0 ([-\d.]+)l[-\d.]+ 0Z$/.exec(d);
      if (!box || element.getAttribute('ecmeta_data_index') === undefined) return undefined;
      return {
        series: Number(element.getAttribute('ecmeta_series_index')),
        index: Number(element.getAttribute('ecmeta_data_index')),
        x: Number(box[1]),
        bottom: Number(box[2]),
        height: -Number(box[3]),
      };
    })
    .filter((bar): bar is SvgBar => bar !== undefined);
}

/** The points of a line series' path: drawn in its colour, unfilled, not moved (legend icons are). */
export function svgLinePoints(svg: HTMLElement, color: string): { x: number; y: number }[] {
  const paths = svg
    .querySelectorAll('path')
    .filter(
      (element) =>
        element.getAttribute('stroke') === color &&
        element.getAttribute('fill') === 'none' &&
        element.getAttribute('transform') === undefined,
    );
  return paths.flatMap((element) =>
    [...(element.getAttribute('d') ?? '').matchAll(/[ML]([-\d.]+) ([-\d.]+)/g)].map((m) => ({
      x: Number(m[1]),
      y: Number(m[2]),
    })),
  );
}

/**
 * The value axis whose tick labels stand right-aligned left of the plot (x below gridLeft): its ticks in value
 * order and a function from a pixel row to a value (linear through the lowest and highest tick).
 */
export function leftAxis(texts: SvgText[], gridLeft: number) {
  const ticks = texts
    .filter((t) => t.anchor === 'end' && t.x < gridLeft && /^-?[\d.,]+$/.test(t.text))
    .map((t) => ({ value: Number(t.text.replace(/,/g, '')), y: t.y }))
    .sort((a, b) => a.value - b.value);
  const low = ticks[0];
  const high = ticks[ticks.length - 1];
  const valueAt = (y: number) => low.value + ((low.y - y) / (low.y - high.y)) * (high.value - low.value);
  const pixels = (value: number) => (value / (high.value - low.value)) * (low.y - high.y);
  return { ticks, valueAt, pixels };
}
