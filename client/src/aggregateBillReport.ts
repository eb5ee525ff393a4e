import type * as Echarts from 'echarts';
import type { BillReportDocument, BillReportPeriod, PeriodPriceSource } from '@smartmeter/domain';
import { escapeHtml, formatDays, formatPercent, formatPrice, priceUnit, STYLE, unitNote } from './billReport';
import {
  categoryAxis,
  chartTitle,
  describeBucket,
  formatDateTime,
  formatRange,
  GRID,
  renderSvg,
  SERIES_COLORS,
  valueAxis,
} from './charts';
import { formatAmount } from './money';
import { formatKwh, formatMoney } from './output';

/**
 * The bill report of an `aggregate` subscription as one self-contained HTML page (inline CSS and SVG, no
 * scripts, no external resources), from its JSON document (BillReportDocument). The distributor renders it when
 * it bills and seals both, page and document, for the household (crypto's sealBillReport); the household's
 * meterctl opens them.
 *
 * Units, as billReport.ts shows the disclosed-mode bill: energy in kWh (Wh / 1000, three decimals; regional
 * loads too), unit prices in the currency's minor unit per kWh (p/kWh for GBP: micro-minor / 10^6), amounts of
 * the bill in major units with the currency's minor digits ("82.57 GBP").
 *
 * Per-period and per-day amounts: the document holds them exactly, in 10^-9 minor units (Wh × micro-minor/kWh).
 * The page shows them in the price's unit without "/kWh" (p for GBP, so kWh × p/kWh = p) rounded half up to
 * 10^-4 of the minor unit (0.0001 p; for a currency priced in major units, the same 10^-4 minor unit in major
 * units). The bill's lines are these exact amounts summed and rounded once (computeBill.ts): each line is the
 * running total of its periods' exact amounts over the calendar month, rounded half up to a whole minor unit.
 * A line per price, except that a dynamic tariff's signal-priced periods make one line per tariff version
 * ("signal", shown at the energy-weighted average price) and its base-priced periods another ("base"). So the
 * bill's energy amount differs from the exact sum of the periods by less than one minor unit per line, and the
 * page says so.
 */

export interface AggregateBillReportOptions {
  /** The bill's id, when the page is rendered after the bill was issued (the verify command then names it). */
  billId?: string;
}

/** Days with missing periods (per-day chart) and missing periods (per-period chart). */
const MISSING_COLOR = '#c0392b';
const MISSING_SHADE = 'rgba(192,57,43,0.28)';
const THRESHOLD_COLOR = '#222';
/** Amounts per period are shown to 10^-4 of the minor unit: 10^5 of the document's 10^-9 minor units. */
const AMOUNT_DISPLAY_DECIMALS = 4;
const AMOUNT_DISPLAY_STEP = 10n ** BigInt(9 - AMOUNT_DISPLAY_DECIMALS);

const SOURCES: Record<PeriodPriceSource, string> = {
  policy: "the authority's price policy, from the region's load of the period",
  override: "a price the authority set by hand, which the policy's price did not replace",
  manual: 'a price signal the authority published by hand',
  base: "the tariff's base price (no price signal for the period)",
};

const PAGE_STYLE = `${STYLE}
.mode{background:#eef3fb;border-left:4px solid #2e6fd8;padding:8px 12px}
figure{margin:1em 0}figcaption{color:#555;font-size:90%}
caption{text-align:left;font-weight:bold;padding:4px 0}
details{margin:.6em 0}summary{cursor:pointer;color:#1a4fa0;font-weight:bold}
.periods td,.periods tbody th{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.periods td:nth-child(4){text-align:left}.lines td:nth-child(n+3){text-align:right;white-space:nowrap}.periods th[scope=rowgroup]{background:#e8e8e8;text-align:left}
.periods tr.missing td,.periods tr.missing th{color:#8e1f14;background:#fbeeec}
.verdict{font-weight:bold}.verdict.below{color:#1e6b3a}.verdict.above{color:#8e1f14}`;

/** One self-contained HTML page: totals, the per-day and per-period charts, every period, how to check. */
export function renderAggregateBillReport(
  doc: BillReportDocument,
  options: AggregateBillReportOptions = {},
): string {
  const e = escapeHtml;
  const bill = doc.bill;
  const heading = `Electricity bill report, ${formatRange(doc.periodFrom, doc.periodTo)}`;
  const missing = doc.bill.missingPeriods.length + doc.bill.invalidReadings.length;
  const summary: [string, string][] = [
    ...(options.billId === undefined
      ? []
      : [['Bill id', `<code data-field="billId">${e(options.billId)}</code>`] as [string, string]]),
    ['Subscription', `<code data-field="subscriptionId">${e(doc.subscriptionId)}</code>`],
    ['Meter', `<span data-field="meterId">${e(doc.meterId)}</span>`],
    ['Region', `<span data-field="regionCode">${e(doc.regionCode)}</span>`],
    ['Distributor', `<span data-field="distributor">${e(doc.distributorMspId)}</span>`],
    [
      'Period',
      `${e(formatRange(doc.periodFrom, doc.periodTo))} <span class="muted">(${e(doc.periodFrom)} up to ${e(doc.periodTo)}, periods of ${e(describeBucket(doc.periodSeconds))})</span>`,
    ],
    [
      'Tariff',
      bill.tariffVersions.map((v) => `${e(v.tariffId)} v${v.version}`).join(', ') +
        ` <span class="muted">(${e(unitNote(bill.currency))})</span>`,
    ],
    [
      'Periods',
      `${bill.readingCount} of ${bill.expectedReadings} billed` +
        (missing > 0
          ? `, <span data-field="missingCount">${missing}</span> missing (not billed, not estimated)`
          : ''),
    ],
    ['Energy', `<span data-field="energy">${formatKwh(bill.energyWh)} kWh</span>`],
    ['Total', `<strong data-field="total">${e(formatMoney(bill.totalMinor, bill.currency))}</strong>`],
    ['Generated', `${e(formatDateTime(doc.generatedAt))} <span class="muted">(by the distributor)</span>`],
  ];

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${e(heading)} · ${e(doc.distributorMspId)}</title>
<style>
${PAGE_STYLE}
</style></head><body>
<h1>${e(heading)}</h1>
<p class="sub">From ${e(doc.distributorMspId)} · subscription <code>${e(doc.subscriptionId)}</code> · channel ${e(doc.channel)}</p>
<p class="mode"><strong>Aggregate privacy mode:</strong> computed from your pseudonymous shares; the ledger holds only the totals and this report's hash.</p>
<dl class="summary">
${summary.map(([term, value]) => `<dt>${e(term)}</dt><dd>${value}</dd>`).join('\n')}
</dl>
${chargesSection(doc)}
${feedbackSection(doc)}
<h2>Usage per day</h2>
${figure(dayChart(doc), dayChartLabel(doc))}
<h2>Usage and price per period</h2>
${figure(periodChart(doc), periodChartLabel(doc))}
${periodsSection(doc)}
${missingSection(doc)}
${checkSection(doc, options)}
</body></html>
`;
}

/** The document as canonical pretty JSON: object keys sorted at every depth, two-space indent, a final newline. */
export function aggregateBillReportJson(doc: BillReportDocument): string {
  return `${JSON.stringify(sortKeysDeep(doc), null, 2)}\n`;
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const source = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(source)
        .sort()
        .filter((key) => source[key] !== undefined)
        .map((key) => [key, sortKeysDeep(source[key])]),
    );
  }
  return value;
}

/** A non-negative or negative integer divided by 10^digits, exactly, with exactly `digits` decimals. */
function formatFixed(value: bigint, digits: number): string {
  const sign = value < 0n ? '-' : '';
  const text = (value < 0n ? -value : value).toString().padStart(digits + 1, '0');
  if (digits === 0) return `${sign}${text}`;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/**
 * 10^-9 minor units (a decimal string) in the price's unit without "/kWh" (p for GBP), rounded half up (away
 * from zero) to 10^-4 of the minor unit: "9036000000" → "9.0360".
 */
export function formatPeriodAmount(amountNanoMinor: string, currency: string): string {
  const exact = BigInt(amountNanoMinor);
  const magnitude = exact < 0n ? -exact : exact;
  const rounded = (magnitude * 2n + AMOUNT_DISPLAY_STEP) / (AMOUNT_DISPLAY_STEP * 2n);
  const { scaleDigits } = priceUnit(currency);
  // The price unit is micro-minor × 10^scaleDigits; the amount unit has scaleDigits − 6 more digits than minor.
  return formatFixed(exact < 0n ? -rounded : rounded, AMOUNT_DISPLAY_DECIMALS + scaleDigits - 6);
}

/** The unit of the per-period amounts: "p" for GBP, the currency for those priced in major units. */
function amountUnit(currency: string): string {
  return priceUnit(currency).symbol;
}

/** A load in Wh (decimal string) in kWh, exactly: "12345678" → "12345.678". */
function formatLoadKwh(loadWh: string): string {
  return /^-?\d+$/.test(loadWh) ? formatFixed(BigInt(loadWh), 3) : loadWh;
}

/** Above this many energy lines the page leaves them to the JSON document (at most two per dynamic version). */
export const MAX_LINES_SHOWN = 100;

function chargesSection(doc: BillReportDocument): string {
  const e = escapeHtml;
  const bill = doc.bill;
  const money = (minor: number) => e(formatMoney(minor, bill.currency));
  const unit = e(priceUnit(bill.currency).symbol);
  const energyMinor = bill.lineItems.reduce((sum, line) => sum + line.amountMinor, 0);
  const exactNano = doc.periods.reduce((sum, p) => sum + BigInt(p.amountNanoMinor), 0n);
  const standingRates = bill.standingCharge.byVersion
    .map((part) => `${formatPrice(part.microPerDay, bill.currency)} ${unit}/day`)
    .join(', ');
  const taxRates = [
    ...new Set((bill.taxBases.length > 0 ? bill.taxBases : [bill]).map((t) => t.taxBasisPoints)),
  ]
    .map((bp) => `${formatPercent(bp)} %`)
    .join(', ');
  const count = bill.lineItems.length;
  return `<h2>Charges</h2>
<table class="charges"><caption>What this bill charges</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="n">Quantity</th><th scope="col" class="n">Rate</th><th scope="col" class="n">Amount</th></tr></thead>
<tbody>
<tr class="energy"><th scope="row">Energy</th><td class="n energy">${formatKwh(bill.energyWh)} kWh</td><td class="n">each period at its own price</td><td class="n amount">${money(energyMinor)}</td></tr>
<tr class="standing"><th scope="row">Standing charge</th><td class="n days">${formatDays(bill.standingCharge.seconds)}</td><td class="n">${standingRates}</td><td class="n amount">${money(bill.standingCharge.amountMinor)}</td></tr>
<tr class="subtotal"><th scope="row">Subtotal</th><td></td><td></td><td class="n amount">${money(bill.subtotalMinor)}</td></tr>
<tr class="tax"><th scope="row">Tax</th><td class="n">on ${money(bill.subtotalMinor)}</td><td class="n rate">${e(taxRates)}</td><td class="n amount">${money(bill.taxMinor)}</td></tr>
<tr class="total"><th scope="row">Total</th><td></td><td></td><td class="n amount">${money(bill.totalMinor)}</td></tr>
</tbody></table>
<p class="muted">Each period's amount is its energy in kWh times its price in ${unit}/kWh, exactly (the table of every period
below); together they come to <span data-field="exactEnergyAmount">${formatPeriodAmount(exactNano.toString(), bill.currency)} ${e(amountUnit(bill.currency))}</span>.
The bill's lines add up these exact amounts and are rounded half up once: each line is the exact sum of its periods' amounts,
in a running total over the calendar month (UTC), rounded half up to a whole minor unit; the standing charge and the tax likewise.
There is a line per price, except that the periods priced by the authority's signals make one line per tariff version
("signal", at their energy-weighted average price) and those at the tariff's base price another ("base").
The energy amount is the sum of the bill's ${count} ${count === 1 ? 'line' : 'lines'}: it differs from the exact sum above
by less than one minor unit per line. The charges always add up to the total, and bills for adjacent periods add up to one
bill for the whole.</p>
${linesTable(doc)}`;
}

/** The bill's energy lines (one per price; signals: one per version), when few enough to read; the JSON has them all. */
function linesTable(doc: BillReportDocument): string {
  const e = escapeHtml;
  const bill = doc.bill;
  const unit = e(priceUnit(bill.currency).symbol);
  if (bill.lineItems.length > MAX_LINES_SHOWN)
    return `<p class="muted">With ${bill.lineItems.length} lines they are not listed here; the JSON document of this report has them (<code>bill.lineItems</code>).</p>`;
  const rows = bill.lineItems.map(
    (line) =>
      `<tr><td>${e(line.label)}</td><td>${e(line.tariffId)} v${line.tariffVersion}</td><td>${formatKwh(line.energyWh)}</td><td>${formatPrice(line.priceMicroPerKwh, bill.currency)}</td><td>${e(formatAmount(line.amountMinor, bill.currency))}</td></tr>`,
  );
  const signal = bill.lineItems.some((line) => line.label === 'signal')
    ? ', the signal-priced periods one per tariff version at their average price'
    : '';
  return `<details class="lines"><summary>The bill's ${bill.lineItems.length} energy ${bill.lineItems.length === 1 ? 'line' : 'lines'}, one per price${signal}</summary>
<table class="lines"><caption>Energy lines: the periods billed at each price, each line's exact amount rounded once</caption>
<thead><tr><th scope="col">Price from</th><th scope="col">Tariff</th><th scope="col">Energy (kWh)</th><th scope="col">Unit price (${unit}/kWh)</th><th scope="col">Amount (${e(bill.currency)})</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
</details>`;
}

function feedbackSection(doc: BillReportDocument): string {
  const feedback = doc.feedback;
  if (!feedback) return '';
  const below = feedback.verdict === 'below-threshold';
  const verdict = below
    ? 'below the threshold: eligible for the incentive'
    : 'above the threshold: the penalty notice applies';
  return `<h2>Your use against the threshold</h2>
<table class="feedback"><caption>Average daily use compared with the tariff's threshold</caption>
<tbody>
<tr><th scope="row">Your average</th><td class="n" data-field="averagePerDay">${formatKwh(feedback.averageWhPerDay)} kWh/day</td></tr>
<tr><th scope="row">Threshold</th><td class="n" data-field="thresholdPerDay">${formatKwh(feedback.thresholdWhPerDay)} kWh/day</td></tr>
</tbody></table>
<p class="verdict ${below ? 'below' : 'above'}" data-field="verdict">${verdict}</p>
<p class="muted">The average is the bill's energy divided by its days. This comparison is for information: it changes no amount
on this bill. The per-day chart draws the threshold as a dashed line.</p>`;
}

/** An ECharts SVG made accessible: role="img", an aria-label and a <title>; no namespace URLs (inline SVG). */
function accessibleSvg(svg: string, label: string): string {
  const open = /^<svg\b([^>]*)>/.exec(svg);
  if (!open) return svg;
  const keep = [...open[1].matchAll(/\b(width|height|viewBox)="([^"]*)"/g)]
    .map(([, name, value]) => `${name}="${value}"`)
    .join(' ');
  const e = escapeHtml;
  return `<svg ${keep} role="img" aria-label="${e(label)}"><title>${e(label)}</title>${svg.slice(open[0].length)}`;
}

function figure(svg: string, label: string): string {
  return `<figure>
${accessibleSvg(svg, label)}<figcaption>${escapeHtml(label)}</figcaption>
</figure>`;
}

function dayChartLabel(doc: BillReportDocument): string {
  const withMissing = doc.days.filter((d) => d.missingPeriods > 0).length;
  const parts = [`Energy per day (UTC) in kWh, ${formatKwh(doc.bill.energyWh)} kWh in all`];
  if (withMissing > 0)
    parts.push(
      `${withMissing} ${withMissing === 1 ? 'day has' : 'days have'} missing periods (shown in red)`,
    );
  if (doc.feedback)
    parts.push(`the dashed line is the threshold, ${formatKwh(doc.feedback.thresholdWhPerDay)} kWh/day`);
  return `${parts.join('; ')}.`;
}

function periodChartLabel(doc: BillReportDocument): string {
  const unit = priceUnit(doc.bill.currency).symbol;
  const missing = doc.periods.filter((p) => p.energyWh === null).length;
  return (
    `Energy per period of ${describeBucket(doc.periodSeconds)} in kWh (left axis) and the price of each period in ${unit}/kWh (right axis)` +
    (missing > 0 ? `; the ${missing} missing periods are shaded red and leave gaps in the energy line.` : '.')
  );
}

/** The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 × a power of ten at or above x: an axis end with round ticks. */
function roundUp(x: number): number {
  if (x <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(x));
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((f) => f * magnitude >= x) ?? 10;
  return step * magnitude;
}

/** Bars of kWh per day (days with missing periods in red), and the threshold as a dashed line. */
function dayChart(doc: BillReportDocument): string {
  const kwh = doc.days.map((d) => d.energyWh / 1000);
  const hasMissing = doc.days.some((d) => d.missingPeriods > 0);
  const threshold = doc.feedback ? doc.feedback.thresholdWhPerDay / 1000 : undefined;
  const complete = 'kWh per day';
  const partial = 'days with missing periods (not billed, not estimated)';
  const axis = valueAxis('kWh per day');
  // ECharts scales the axis to the bars only: a threshold above them would be off the chart.
  if (threshold !== undefined && threshold >= Math.max(0, ...kwh)) axis.max = roundUp(threshold * 1.05);
  const series: Echarts.SeriesOption[] = [
    {
      name: complete,
      type: 'bar',
      stack: 'day',
      barMaxWidth: 40,
      color: SERIES_COLORS[0],
      data: doc.days.map((d, i) => (d.missingPeriods > 0 ? null : kwh[i])),
      ...(threshold !== undefined
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              lineStyle: { color: THRESHOLD_COLOR, type: 'dashed', width: 1.5 },
              label: {
                formatter: `threshold ${formatKwh(doc.feedback?.thresholdWhPerDay ?? 0)} kWh/day`,
                position: 'insideEndTop',
                color: THRESHOLD_COLOR,
                backgroundColor: '#fff',
                padding: [1, 3],
              },
              data: [{ yAxis: threshold }],
            },
          }
        : {}),
    },
  ];
  if (hasMissing)
    series.push({
      name: partial,
      type: 'bar',
      stack: 'day',
      barMaxWidth: 40,
      color: MISSING_COLOR,
      data: doc.days.map((d, i) => (d.missingPeriods > 0 ? kwh[i] : null)),
      // How many periods each such day misses, above its bar.
      label: {
        show: true,
        position: 'top',
        color: MISSING_COLOR,
        formatter: (p: { dataIndex: number }) => `${doc.days[p.dataIndex].missingPeriods} missing`,
      },
    });
  return renderSvg(
    {
      title: chartTitle(
        'Energy per day',
        `${formatKwh(doc.bill.energyWh)} kWh in all (days in UTC)` +
          (doc.feedback ? ` · average ${formatKwh(doc.feedback.averageWhPerDay)} kWh/day` : ''),
      ),
      legend: { top: 58, data: hasMissing ? [complete, partial] : [complete] },
      grid: { ...GRID },
      xAxis: categoryAxis(
        doc.days.map((d) => d.day),
        'day (UTC)',
      ),
      yAxis: axis,
      series,
    },
    { height: 380 },
  );
}

/** kWh per period as a line (gaps where missing), the price as steps on the right axis, missing periods shaded. */
function periodChart(doc: BillReportDocument): string {
  const currency = doc.bill.currency;
  const { symbol, scaleDigits } = priceUnit(currency);
  const energyName = `kWh per ${describeBucket(doc.periodSeconds)}`;
  const priceName = `price (${symbol}/kWh)`;
  const missingName = 'missing period (not billed, not estimated)';
  const hasMissing = doc.periods.some((p) => p.energyWh === null);
  const series: Echarts.SeriesOption[] = [
    {
      name: energyName,
      type: 'line',
      symbol: 'none',
      color: SERIES_COLORS[0],
      lineStyle: { width: 1.5 },
      connectNulls: false,
      data: doc.periods.map((p) => (p.energyWh === null ? null : p.energyWh / 1000)),
    },
    {
      name: priceName,
      type: 'line',
      step: 'end',
      symbol: 'none',
      yAxisIndex: 1,
      color: SERIES_COLORS[1],
      lineStyle: { width: 1.5 },
      data: doc.periods.map((p) => p.priceMicroPerKwh / 10 ** scaleDigits),
    },
  ];
  if (hasMissing)
    series.push({
      name: missingName,
      type: 'bar',
      yAxisIndex: 2,
      silent: true,
      color: MISSING_SHADE,
      barCategoryGap: '0%',
      // Visible even where a month of periods makes each one a fraction of a pixel.
      barMinWidth: 3,
      data: doc.periods.map((p) => (p.energyWh === null ? 1 : null)),
    });
  return renderSvg(
    {
      title: chartTitle(
        'Energy and price per period',
        `energy in kWh per ${describeBucket(doc.periodSeconds)} (left), price in ${symbol}/kWh (right); times in UTC`,
      ),
      legend: {
        top: 58,
        data: hasMissing ? [energyName, priceName, missingName] : [energyName, priceName],
      },
      grid: { ...GRID },
      xAxis: categoryAxis(
        doc.periods.map((p) => p.periodStart.slice(0, 16).replace('T', ' ')),
        'period start (UTC)',
      ),
      yAxis: [
        valueAxis(energyName),
        {
          type: 'value',
          name: `${symbol}/kWh`,
          position: 'right',
          nameTextStyle: { align: 'right', color: '#333' },
          axisLine: { show: true },
          axisTick: { show: true },
          splitLine: { show: false },
        },
        { type: 'value', show: false, min: 0, max: 1 },
      ],
      series,
    },
    { height: 420 },
  );
}

function periodsSection(doc: BillReportDocument): string {
  const e = escapeHtml;
  const currency = doc.bill.currency;
  const unit = e(priceUnit(currency).symbol);
  const amount = e(amountUnit(currency));
  const byDay = new Map<string, BillReportPeriod[]>();
  for (const period of doc.periods) {
    const day = period.periodStart.slice(0, 10);
    const list = byDay.get(day) ?? [];
    list.push(period);
    byDay.set(day, list);
  }
  const days = new Map(doc.days.map((d) => [d.day, d]));
  const groups = [...byDay].map(([day, periods]) => {
    const total = days.get(day);
    const heading =
      day +
      (total
        ? ` · ${formatKwh(total.energyWh)} kWh · ${formatPeriodAmount(total.amountNanoMinor, currency)} ${amountUnit(currency)}` +
          (total.missingPeriods > 0 ? ` · ${total.missingPeriods} missing` : '')
        : '');
    const rows = periods.map((p) => {
      const cells = [
        p.energyWh === null ? 'missing' : formatKwh(p.energyWh),
        formatPrice(p.priceMicroPerKwh, currency),
        p.priceSource,
        p.regionalLoadWh === undefined ? '' : formatLoadKwh(p.regionalLoadWh),
        p.energyWh === null ? 'not billed' : formatPeriodAmount(p.amountNanoMinor, currency),
      ];
      return `<tr${p.energyWh === null ? ' class="missing"' : ''}><th>${p.periodStart.slice(11, 16)}</th>${cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`;
    });
    return `<tbody><tr><th colspan="6" scope="rowgroup">${e(heading)}</th></tr>\n${rows.join('\n')}</tbody>`;
  });
  const sources = [...new Set(doc.periods.map((p) => p.priceSource))]
    .map((s) => `<dt>${e(s)}</dt><dd>${e(SOURCES[s])}</dd>`)
    .join('');
  return `<h2>Every period</h2>
<p>Energy × price = amount, exactly, for each of the ${doc.periods.length} periods. Amounts in ${amount} (${unit}/kWh × kWh),
rounded half up to ${AMOUNT_DISPLAY_DECIMALS} decimals for display; the JSON document holds them exactly (in 10<sup>-9</sup> of the
minor unit). Each of the bill's lines is the exact sum of its periods' amounts, rounded half up once (see Charges).</p>
<dl class="sources">${sources}</dl>
<details class="periods"><summary>All ${doc.periods.length} periods, day by day</summary>
<table class="periods"><caption>Energy, price and amount of every period (times in UTC)</caption>
<thead><tr><th scope="col">Start</th><th scope="col">Energy (kWh)</th><th scope="col">Price (${unit}/kWh)</th><th scope="col">Price source</th><th scope="col">Regional load (kWh)</th><th scope="col">Amount (${amount})</th></tr></thead>
${groups.join('\n')}
</table>
</details>`;
}

/** Consecutive period starts as runs: [first, last start, count]. */
function runsOf(starts: string[], periodSeconds: number): [string, string, number][] {
  const runs: [string, string, number][] = [];
  for (const start of [...starts].sort()) {
    const last = runs.at(-1);
    if (last && Date.parse(start) - Date.parse(last[1]) === periodSeconds * 1000) {
      last[1] = start;
      last[2] += 1;
    } else runs.push([start, start, 1]);
  }
  return runs;
}

function missingSection(doc: BillReportDocument): string {
  const e = escapeHtml;
  const bill = doc.bill;
  const count = bill.missingPeriods.length + bill.invalidReadings.length;
  if (count === 0)
    return `<h2>Missing periods</h2>\n<p data-field="missing">None: every period of the bill was billed.</p>`;
  const end = (start: string) => new Date(Date.parse(start) + doc.periodSeconds * 1000).toISOString();
  const items = runsOf(bill.missingPeriods, doc.periodSeconds).map(
    ([first, last, n]) =>
      `<li>${e(formatRange(first, end(last)))} (${n} ${n === 1 ? 'period' : 'periods'})</li>`,
  );
  const invalid = bill.invalidReadings.map(
    (r) =>
      `<li>${e(formatRange(r.periodStart, end(r.periodStart)))}: its shares do not give a reading (${e(r.code)}: ${e(r.reason)})</li>`,
  );
  return `<h2>Missing periods</h2>
<p data-field="missing"><strong>${count} ${count === 1 ? 'period' : 'periods'} missing: not billed, not estimated.</strong>
For a missing period the ledger holds no complete pair of shares from your meter${bill.invalidReadings.length > 0 ? ', or a pair that does not unmask to a reading (INVALID_READING)' : ''}: nothing
is charged for it and no consumption is assumed.</p>
<details class="missing"><summary>Which periods (${count})</summary>
<ul>
${[...items, ...invalid].join('\n')}
</ul>
</details>`;
}

function checkSection(doc: BillReportDocument, options: AggregateBillReportOptions): string {
  const e = escapeHtml;
  const command = `meterctl bill verify ${options.billId ?? '<billId>'}`;
  return `<h2>Check this bill yourself</h2>
<p>Run</p>
<pre><code class="verify">${e(command)}</code></pre>
<p>as the household: it recomputes this bill from the ledger's shares with your own session key and compares every figure${
    options.billId === undefined
      ? ` (the bill's id is in <code>meterctl bill list --subscription ${e(doc.subscriptionId)}</code>)`
      : ''
  }.</p>`;
}
