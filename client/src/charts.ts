/** Small dependency-free SVG charts for the HTML bill page and `report load --svg`. */
export interface ChartPoint {
  label: string;
  value: number;
}

export interface ChartOptions {
  title: string;
  unit: string;
  width?: number;
  height?: number;
  /** Draw bars (totals per bucket) or a step line (prices). */
  style?: 'bars' | 'steps';
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** A standalone SVG document: axes, up to ~12 x labels, the max value on the y axis. */
export function renderChart(points: ChartPoint[], options: ChartOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 300;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = points.length > 0 ? plotWidth / points.length : plotWidth;
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#333"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end">${formatNumber(max)}</text>`,
    `<text x="${left - 6}" y="${top + plotHeight}" text-anchor="end">0</text>`,
    `<text x="12" y="${top + plotHeight / 2}" transform="rotate(-90 12 ${top + plotHeight / 2})" text-anchor="middle">${escapeXml(options.unit)}</text>`,
  ];
  if (options.style === 'steps') {
    const path = points
      .map(
        (p, i) =>
          `${i === 0 ? 'M' : 'L'}${(left + i * step).toFixed(1)},${y(p.value).toFixed(1)} H${(left + (i + 1) * step).toFixed(1)}`,
      )
      .join(' ');
    if (path) parts.push(`<path d="${path}" fill="none" stroke="#c0392b" stroke-width="1.5"/>`);
  } else {
    points.forEach((p, i) => {
      const barHeight = (p.value / max) * plotHeight;
      parts.push(
        `<rect x="${(left + i * step + step * 0.1).toFixed(1)}" y="${(top + plotHeight - barHeight).toFixed(1)}" width="${Math.max(1, step * 0.8).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="#2e86c1"><title>${escapeXml(p.label)}: ${formatNumber(p.value)} ${escapeXml(options.unit)}</title></rect>`,
      );
    });
  }
  const labelEvery = Math.max(1, Math.ceil(points.length / 12));
  points.forEach((p, i) => {
    if (i % labelEvery !== 0) return;
    const x = left + i * step + step / 2;
    parts.push(
      `<text x="${x.toFixed(1)}" y="${top + plotHeight + 14}" transform="rotate(30 ${x.toFixed(1)} ${top + plotHeight + 14})">${escapeXml(p.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
