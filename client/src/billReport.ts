import { resolve } from 'node:path';
import {
  bandAt,
  computeBill,
  isoSeconds,
  openReadings,
  periodsStartingIn,
  runningTotalsSince,
  WEEKDAYS,
  type BilledReading,
  type BillRecord,
  type TariffRecord,
  utilityOf,
} from '@smartmeter/domain';
import type { BillEvidence } from './billVerify';
import {
  formatDate,
  formatDateTime,
  formatRange,
  renderCategoryChart,
  SERIES_COLORS,
  type CategorySeries,
} from './charts';
import { minorDigits } from './money';
import { formatKwh, formatMoney } from './output';

/**
 * The household's bill as one self-contained HTML page (inline CSS and SVG, no scripts, no external resources):
 * `meterctl bill report`.
 *
 * Units, as the bill record holds them and as the page shows them (conversions are exact, on integers):
 * - energy: Wh on the ledger, kWh on the page (Wh / 1000, three decimals) — everywhere, charts included;
 * - unit prices: micro-minor units per kWh on the ledger (30.12 p/kWh is 30_120_000), shown in the currency's
 *   minor unit per kWh (p/kWh for GBP, c/kWh for EUR, ¢/kWh for USD: the stored value / 1 000 000), or for other
 *   currencies in major units per kWh (/ 10^(6 + minor digits));
 * - standing charges: micro-minor units per day, shown in p/day (or the currency's equivalent) likewise;
 * - amounts: minor units, shown in major units with the currency's minor digits ("82.57 GBP").
 * So on every line energy (kWh) × unit price (p/kWh) / 100 is the amount in GBP, rounded half up to a penny.
 */

/** How the household ran `bill report`: the verify hint repeats it so that it works as printed. */
export interface VerifyInvocation {
  /** The connection profile file (made absolute on the page). */
  profilePath: string;
  /** The keystore folder holding the household's identity and session key (made absolute). */
  keystoreDir: string;
  /** The household's identity (-i). */
  identity: string;
  channel: string;
  /** The session key's name in the keystore, when the report was given --key. */
  key?: string;
}

/** A minor unit people price energy in, by currency; other currencies show prices in major units. */
const MINOR_UNIT_NAMES: Readonly<Partial<Record<string, string>>> = { GBP: 'p', EUR: 'c', USD: '¢' };

/** How a currency's micro-minor prices are shown: the unit's name and how many decimal digits to shift. */
export function priceUnit(currency: string): { symbol: string; scaleDigits: number } {
  const minor = MINOR_UNIT_NAMES[currency];
  return minor === undefined
    ? { symbol: currency, scaleDigits: 6 + minorDigits(currency) }
    : { symbol: minor, scaleDigits: 6 };
}

/** "prices in p/kWh; 100 p = 1 GBP", or "prices in JPY/kWh" for a currency priced in major units. */
export function unitNote(currency: string): string {
  const { symbol } = priceUnit(currency);
  if (symbol === currency) return `prices in ${currency}/kWh`;
  return `prices in ${symbol}/kWh; ${10 ** minorDigits(currency)} ${symbol} = 1 ${currency}`;
}

/** 30_120_000 GBP → "30.12" (p/kWh or p/day): exact, at least two decimals, trailing zeros dropped. */
export function formatPrice(micro: number, currency: string): string {
  return formatScaled(micro, priceUnit(currency).scaleDigits, 2);
}

/** An integer divided by 10^digits, exactly, with at least minFraction decimals. */
function formatScaled(value: number, digits: number, minFraction: number): string {
  const sign = value < 0 ? '-' : '';
  const text = String(Math.abs(value)).padStart(digits + 1, '0');
  let fraction = text.slice(text.length - digits).replace(/0+$/, '');
  if (fraction.length < minFraction) fraction = fraction.padEnd(minFraction, '0');
  return `${sign}${text.slice(0, text.length - digits)}${fraction ? `.${fraction}` : ''}`;
}

/** Basis points as a percentage: 500 → "5", 1250 → "12.5". */
export function formatPercent(basisPoints: number): string {
  return formatScaled(basisPoints, 2, 0);
}

/** Seconds as days for the standing charge: 2 592 000 → "30 days", 1800 → "0.0208 days" (4 decimals). */
export function formatDays(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} ${seconds === 86_400 ? 'day' : 'days'}`;
  return `${(seconds / 86_400).toFixed(4)} days`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Quotes an argument for a POSIX shell when it holds anything but safe characters. */
function shellArgument(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The `meterctl bill verify` command a household runs to check this bill, with its profile, keystore and identity. */
export function verifyCommand(billId: string, invocation: VerifyInvocation): string {
  const args = [
    'meterctl',
    '-p',
    resolve(invocation.profilePath),
    '-k',
    resolve(invocation.keystoreDir),
    '-i',
    invocation.identity,
    '-c',
    invocation.channel,
    'bill',
    'verify',
    billId,
    ...(invocation.key === undefined ? [] : ['--key', invocation.key]),
  ];
  return args.map(shellArgument).join(' ');
}

/** The bill's readings that decrypt, and those of its month before it (tiers and rounding count from the 1st). */
function openedReadings(evidence: BillEvidence, sessionKey: Uint8Array) {
  const { channel, subscription } = evidence;
  return {
    billed: openReadings(evidence.readings, sessionKey, channel, subscription.keyId, utilityOf(subscription))
      .billed,
    prior: openReadings(
      evidence.priorReadings ?? [],
      sessionKey,
      channel,
      subscription.keyId,
      utilityOf(subscription),
    ).billed,
  };
}

/** Energy per UTC day of the bill and per line label (band, tier, "flat", "signal", "base"), in Wh. */
export interface DailyUsage {
  days: string[];
  byLabel: Map<string, number[]>;
}

/**
 * Each day priced by the same bill function as the ledger (so a tier that fills up mid-day splits as on the bill):
 * the energy of each day's lines, by label. The days' energies add up to the bill's lines.
 */
export function dailyUsage(evidence: BillEvidence, sessionKey: Uint8Array): DailyUsage {
  const { bill, subscription } = evidence;
  const approval = subscription.approval as NonNullable<typeof subscription.approval>;
  const { billed, prior } = openedReadings(evidence, sessionKey);
  const all = [...prior, ...billed].sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1));
  const signals = Object.fromEntries(
    [...(evidence.priorSignals ?? []), ...evidence.signals].map((s) => [s.periodStart, s.priceMicroPerKwh]),
  );
  const days: string[] = [];
  const byLabel = new Map<string, number[]>();
  for (const [from, to] of daySegments(bill.periodFrom, bill.periodTo)) {
    const since = runningTotalsSince(from);
    const within = (r: BilledReading, a: string, b: string) => r.periodStart >= a && r.periodStart < b;
    const day = computeBill({
      periodFrom: from,
      periodTo: to,
      intervalSeconds: approval.intervalSeconds,
      intervalChanges: approval.intervalChanges,
      subscriptionStart: approval.startDate,
      subscriptionEnd: subscription.end?.effectiveAt,
      utility: utilityOf(subscription),
      readings: all.filter((r) => within(r, from, to)),
      priorReadings: all.filter((r) => within(r, since, from)),
      tariffVersions: evidence.tariffVersions,
      signals,
    });
    const index = days.push(from.slice(0, 10)) - 1;
    for (const line of day.lineItems) {
      const values = byLabel.get(line.label) ?? [];
      while (values.length < index + 1) values.push(0);
      values[index] += line.energyWh;
      byLabel.set(line.label, values);
    }
  }
  for (const values of byLabel.values()) while (values.length < days.length) values.push(0);
  return { days, byLabel };
}

/** [from, to) cut at UTC midnights. */
function daySegments(from: string, to: string): [string, string][] {
  const end = Date.parse(to) / 1000;
  const segments: [string, string][] = [];
  for (let start = Date.parse(from) / 1000; start < end;) {
    const next = Math.min(end, (Math.floor(start / 86_400) + 1) * 86_400);
    segments.push([isoSeconds(start), isoSeconds(next)]);
    start = next;
  }
  return segments;
}

/** The unit price in force in one period of the bill, and the line label it is billed under. */
export interface PeriodPrice {
  periodStart: string;
  label: string;
  priceMicroPerKwh: number;
}

/**
 * The unit price in force at each period of the bill: the signal for dynamic tariffs (the base price without
 * one), the band for time-of-use, the flat price. Tiered prices depend on the month's use, so they are left out
 * (empty list).
 */
export function periodPrices(evidence: BillEvidence): PeriodPrice[] {
  const approval = evidence.subscription.approval;
  if (!approval) return [];
  const signals = new Map(evidence.signals.map((s) => [s.periodStart, s.priceMicroPerKwh]));
  const from = Date.parse(evidence.bill.periodFrom) / 1000;
  const to = Date.parse(evidence.bill.periodTo) / 1000;
  const prices: PeriodPrice[] = [];
  for (const { startSeconds: at } of periodsStartingIn(approval, from, to)) {
    const periodStart = isoSeconds(at);
    const tariff = versionAt(evidence.tariffVersions, at);
    if (!tariff) continue;
    const pricing = tariff.pricing;
    if (pricing.kind === 'tiered') return [];
    if (pricing.kind === 'flat')
      prices.push({ periodStart, label: 'flat', priceMicroPerKwh: pricing.priceMicroPerKwh });
    else if (pricing.kind === 'dynamic') {
      const signal = signals.get(periodStart);
      prices.push(
        signal === undefined
          ? { periodStart, label: 'base', priceMicroPerKwh: pricing.basePriceMicroPerKwh }
          : { periodStart, label: 'signal', priceMicroPerKwh: signal },
      );
    } else {
      const band = bandAt(pricing.bands, at, tariff.utcOffsetMinutes);
      prices.push({ periodStart, label: band.name, priceMicroPerKwh: band.priceMicroPerKwh });
    }
  }
  return prices;
}

/** The version in force at a time, as the bill function picks it (the first version before any is). */
function versionAt(versions: TariffRecord[], at: number): TariffRecord | undefined {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  let found: TariffRecord | undefined;
  for (const version of sorted) if (Date.parse(version.effectiveFrom) / 1000 <= at) found = version;
  return found ?? sorted[0];
}

/** The tariff versions the bill used, or the one in force at its start when it used none. */
function usedVersions(evidence: BillEvidence): TariffRecord[] {
  const used = evidence.tariffVersions.filter((t) =>
    evidence.bill.tariffVersions.some((u) => u.tariffId === t.tariffId && u.version === t.version),
  );
  const first = versionAt(evidence.tariffVersions, Date.parse(evidence.bill.periodFrom) / 1000);
  return used.length > 0 ? used : first ? [first] : [];
}

/** One row of the band legend: a label as the line items name it, when it applies, its price. */
interface BandRow {
  label: string;
  when: string;
  price: string;
}

function minuteText(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function offsetText(minutes: number): string {
  if (minutes === 0) return 'UTC';
  const sign = minutes < 0 ? '-' : '+';
  return `UTC${sign}${minuteText(Math.abs(minutes))}`;
}

function daysText(days: readonly string[]): string {
  if (WEEKDAYS.every((d) => days.includes(d))) return 'every day';
  return WEEKDAYS.filter((d) => days.includes(d)).join(', ');
}

function bandRows(tariff: TariffRecord, regionCode: string): BandRow[] {
  const unit = `${priceUnit(tariff.currency).symbol}/kWh`;
  const price = (micro: number) => `${formatPrice(micro, tariff.currency)} ${unit}`;
  const pricing = tariff.pricing;
  switch (pricing.kind) {
    case 'flat':
      return [{ label: 'flat', when: 'all hours', price: price(pricing.priceMicroPerKwh) }];
    case 'dynamic':
      return [
        {
          label: 'signal',
          when: `each period's price signal from the authority for ${regionCode}`,
          price: 'varies (see the price chart)',
        },
        { label: 'base', when: 'periods without a price signal', price: price(pricing.basePriceMicroPerKwh) },
      ];
    case 'timeOfUse':
      return pricing.bands.map((band) => ({
        label: band.name,
        when: `${daysText(band.days)}, ${minuteText(band.startMinute)}–${minuteText(band.endMinute % 1440)} ${offsetText(tariff.utcOffsetMinutes)}`,
        price: price(band.priceMicroPerKwh),
      }));
    case 'tiered': {
      let below = 0;
      return pricing.tiers.map((tier, i) => {
        const when =
          tier.upToWh === null
            ? `above ${formatKwh(below)} kWh in the calendar month`
            : `${formatKwh(below)} to ${formatKwh(tier.upToWh)} kWh in the calendar month`;
        below = tier.upToWh ?? below;
        return { label: `tier ${i + 1}`, when, price: price(tier.priceMicroPerKwh) };
      });
    }
  }
}

/** A colour for every label, in the order of the tariff's bands and then of the lines. */
function labelColors(labels: string[]): Map<string, string> {
  const colors = new Map<string, string>();
  for (const label of labels)
    if (!colors.has(label)) colors.set(label, SERIES_COLORS[colors.size % SERIES_COLORS.length]);
  return colors;
}

/** Entries keyed by label in the order of the colours (the tariff's bands first), as the legend lists them. */
function inLegendOrder<T extends readonly [string, ...unknown[]]>(
  entries: T[],
  colors: Map<string, string>,
): T[] {
  const order = [...colors.keys()];
  return [...entries].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
}

function swatch(color: string | undefined): string {
  return color ? `<span class="swatch" style="background:${color}"></span>` : '';
}

/** The bill's life in order: issued, disputed, resolved, paid (each once at most, as the ledger allows). */
export function billHistory(bill: BillRecord): { at: string; event: string; detail: string }[] {
  const events = [
    {
      at: bill.issuedAt,
      event: 'issued',
      detail: `by ${bill.distributorMspId}, total ${formatMoney(bill.totalMinor, bill.currency)}`,
    },
  ];
  if (bill.dispute)
    events.push({
      at: bill.dispute.disputedAt,
      event: 'disputed by the household',
      detail: bill.dispute.reason,
    });
  if (bill.resolution)
    events.push({
      at: bill.resolution.resolvedAt,
      event:
        bill.resolution.outcome === 'UPHELD'
          ? 'dispute upheld: this bill is void'
          : 'dispute rejected: the bill stands',
      detail: bill.resolution.note,
    });
  if (bill.payment)
    events.push({
      at: bill.payment.paidAt,
      event: 'paid',
      detail: `${formatMoney(bill.payment.amountMinor, bill.currency)}, reference ${bill.payment.reference}`,
    });
  return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

function statusText(bill: BillRecord): string {
  if (bill.status === 'PAID' && bill.payment) return `PAID on ${formatDate(bill.payment.paidAt)}`;
  if (bill.status === 'DISPUTED') return 'DISPUTED (awaiting the distributor)';
  if (bill.status === 'RESOLVED')
    return bill.resolution?.outcome === 'UPHELD' ? 'VOID (dispute upheld)' : 'RESOLVED (payable)';
  return `${bill.status} (payable)`;
}

export const STYLE = `body{font-family:sans-serif;max-width:940px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:1.6em;font-size:1.2em}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.n{text-align:right;white-space:nowrap}.total td{font-weight:bold;border-top:2px solid #333}
.muted{color:#666;font-size:90%}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{color:#555}dd{margin:0}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:-.1em;border-radius:2px}
pre{background:#f4f4f4;padding:8px;white-space:pre-wrap;word-break:break-all}svg{max-width:100%;height:auto}`;

/** One self-contained HTML page: the bill, how it was priced, its charts, its history and how to check it. */
export function renderBillHtml(
  evidence: BillEvidence,
  sessionKey: Uint8Array,
  invocation: VerifyInvocation,
): string {
  const bill = evidence.bill;
  const e = escapeHtml;
  const money = (minor: number) => e(formatMoney(minor, bill.currency));
  const unit = priceUnit(bill.currency).symbol;
  const versions = usedVersions(evidence);
  const regionCode = evidence.subscription.approval?.regionCode ?? '';
  const bands = versions.flatMap((v) => bandRows(v, regionCode).map((row) => ({ ...row, tariff: v })));
  const usage = dailyUsage(evidence, sessionKey);
  const prices = periodPrices(evidence);
  const colors = labelColors([
    ...bands.map((b) => b.label),
    ...bill.lineItems.map((l) => l.label),
    ...usage.byLabel.keys(),
  ]);
  const heading = `Electricity bill, ${formatRange(bill.periodFrom, bill.periodTo)}`;
  const standingRates = (
    bill.standingCharge.byVersion.length > 0
      ? bill.standingCharge.byVersion.map((p) => ({ version: p.version, microPerDay: p.microPerDay }))
      : versions.map((v) => ({ version: v.version, microPerDay: v.standingChargeMicroPerDay }))
  )
    .map(
      (r) =>
        `${formatPrice(r.microPerDay, bill.currency)} ${e(unit)}/day${versions.length > 1 ? ` (v${r.version})` : ''}`,
    )
    .join(', ');
  const taxRates = [
    ...new Set((bill.taxBases.length > 0 ? bill.taxBases : [bill]).map((t) => t.taxBasisPoints)),
  ]
    .map((bp) => `${formatPercent(bp)} %`)
    .join(', ');

  const summary: [string, string][] = [
    ['Bill id', `<code data-field="billId">${e(bill.billId)}</code>`],
    ['Issued', `<span data-field="issuedAt">${e(formatDateTime(bill.issuedAt))}</span>`],
    [
      'Period',
      `${e(formatRange(bill.periodFrom, bill.periodTo))} <span class="muted">(${e(bill.periodFrom)} up to ${e(bill.periodTo)})</span>`,
    ],
    ['Distributor', e(bill.distributorMspId)],
    [
      'Subscription',
      `<code>${e(bill.subscriptionId)}</code>, meter ${e(evidence.subscription.meterId)}, region ${e(regionCode)}`,
    ],
    [
      'Tariff',
      versions.map((v) => `${e(v.tariffId)} v${v.version}`).join(', ') +
        ` <span class="muted">(${e(unitNote(bill.currency))})</span>`,
    ],
    ['Standing charge', `<span data-field="standingPerDay">${standingRates}</span>`],
    ['Tax rate', e(taxRates)],
    ['Status', `<strong data-field="status">${e(statusText(bill))}</strong>`],
    [
      'Readings',
      `${bill.readingCount} of ${bill.expectedReadings} billed` +
        (bill.missingPeriods.length > 0 ? `, ${bill.missingPeriods.length} missing (not billed)` : '') +
        (bill.invalidReadings.length > 0
          ? `, ${bill.invalidReadings.length} that do not decrypt (INVALID_READING, not billed)`
          : '') +
        (bill.estimatedReadings > 0
          ? `, ${bill.estimatedReadings} estimated by the meter (${formatKwh(bill.estimatedEnergyWh)} kWh, billed)`
          : ''),
    ],
    ['Energy', `<span data-field="energy">${formatKwh(bill.energyWh)} kWh</span>`],
    ['Total', `<strong data-field="total">${money(bill.totalMinor)}</strong>`],
  ];

  const bandTable = `<table class="bands"><tr><th>Band</th><th>Tariff</th><th>When</th><th class="n">Unit price</th></tr>
${bands
  .map(
    (b) =>
      `<tr data-band="${e(b.label)}"><td>${swatch(colors.get(b.label))}${e(b.label)}</td><td>${e(b.tariff.tariffId)} v${b.tariff.version}</td><td>${e(b.when)}</td><td class="n price">${e(b.price)}</td></tr>`,
  )
  .join('\n')}
</table>`;

  const lineRows = bill.lineItems.map(
    (item, i) =>
      `<tr class="line" data-line="${i}"><td>${swatch(colors.get(item.label))}${e(item.label)}</td><td>${e(item.tariffId)} v${item.tariffVersion}</td><td class="n energy">${formatKwh(item.energyWh)} kWh</td><td class="n price">${formatPrice(item.priceMicroPerKwh, bill.currency)} ${e(unit)}/kWh</td><td class="n amount">${money(item.amountMinor)}</td></tr>`,
  );
  const standingRows = bill.standingCharge.byVersion.map(
    (part, i) =>
      `<tr class="standing" data-part="${i}"><td>Standing charge</td><td>${e(part.tariffId)} v${part.version}</td><td class="n days">${formatDays(part.seconds)}</td><td class="n price">${formatPrice(part.microPerDay, bill.currency)} ${e(unit)}/day</td><td class="n amount">${money(part.amountMinor)}</td></tr>`,
  );
  const taxRows = (
    bill.taxBases.length > 0
      ? bill.taxBases
      : [{ tariffId: '', version: 0, taxBasisPoints: bill.taxBasisPoints, taxableMinor: bill.subtotalMinor }]
  ).map(
    (basis) =>
      `<tr class="taxBasis"><td>Tax</td><td>${basis.tariffId ? `${e(basis.tariffId)} v${basis.version}` : ''}</td><td class="n taxable">on ${money(basis.taxableMinor)}</td><td class="n rate">${formatPercent(basis.taxBasisPoints)} %</td><td></td></tr>`,
  );

  const usageChart = renderCategoryChart({
    title: 'Energy per day, by band',
    subtitle: `${formatKwh(bill.energyWh)} kWh in all (days in UTC)`,
    categories: usage.days,
    xName: 'day (UTC)',
    yName: 'kWh per day',
    kind: 'stackedBars',
    height: 380,
    series: inLegendOrder([...usage.byLabel], colors).map(([label, values]): CategorySeries => ({
      name: label,
      color: colors.get(label),
      values: values.map((wh) => wh / 1000),
    })),
  });
  const priceChart =
    prices.length > 0
      ? renderCategoryChart({
          title: 'Unit price per period, by band',
          subtitle: `${unit}/kWh; the price in force when each period starts`,
          categories: prices.map((p) => p.periodStart.slice(0, 16).replace('T', ' ')),
          xName: 'period start (UTC)',
          yName: `${unit}/kWh`,
          kind: 'steps',
          height: 340,
          series: priceSeries(prices, bill.currency, colors),
        })
      : '<p class="muted">Tiered tariff: the price depends on the energy used so far in the month; see the bands and lines.</p>';

  const history = billHistory(bill)
    .map(
      (h) =>
        `<tr class="event"><td>${e(formatDateTime(h.at))}</td><td>${e(h.event)}</td><td>${e(h.detail)}</td></tr>`,
    )
    .join('\n');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${e(heading)} · ${e(bill.distributorMspId)}</title>
<style>
${STYLE}
</style></head><body>
<h1>${e(heading)}</h1>
<p class="sub">From ${e(bill.distributorMspId)} · bill <code>${e(bill.billId)}</code> · issued ${e(formatDate(bill.issuedAt))}</p>
<dl class="summary">
${summary.map(([term, value]) => `<dt>${e(term)}</dt><dd>${value}</dd>`).join('\n')}
</dl>
<h2>Tariff bands</h2>
${bandTable}
<h2>Usage</h2>
${usageChart}
<h2>Unit prices</h2>
${priceChart}
<h2>Charges</h2>
<table class="charges"><tr><th>Item</th><th>Tariff</th><th class="n">Energy / time</th><th class="n">Unit price</th><th class="n">Amount</th></tr>
${[...lineRows, ...standingRows].join('\n')}
<tr class="subtotal"><td>Subtotal</td><td></td><td></td><td></td><td class="n amount">${money(bill.subtotalMinor)}</td></tr>
${taxRows.join('\n')}
<tr class="tax"><td>Tax in all</td><td></td><td></td><td></td><td class="n amount">${money(bill.taxMinor)}</td></tr>
<tr class="total"><td>Total</td><td></td><td></td><td></td><td class="n amount">${money(bill.totalMinor)}</td></tr>
</table>
<p class="muted">Each line's amount is its energy in kWh times its unit price in ${e(unit)}/kWh (the standing charge: days times
${e(unit)}/day), rounded half up to a whole minor unit. Amounts accrue as running totals over the calendar month (UTC), so a
bill that starts after the 1st can differ from that product by at most one minor unit; bills for adjacent periods always add up
to one bill for the whole.</p>
<h2>History</h2>
<table class="history"><tr><th>When</th><th>What</th><th>Details</th></tr>
${history}
</table>
<h2>Check this bill yourself</h2>
<p>It was computed on the ledger from ${bill.readingCount} encrypted readings (digest <code>${e(bill.readingsDigest.slice(0, 16))}…</code>).
Recompute it from the ledger with your own session key:</p>
<pre><code class="verify">${e(verifyCommand(bill.billId, invocation))}</code></pre>
<p class="muted">It prints <code>OK: bill ${e(bill.billId)} matches the ledger</code>, or every figure that differs (exit code 1).</p>
</body></html>
`;
}

/**
 * One step line per label, in the currency's price unit. A line holds its value to the period where the next
 * label starts, so the steps join up across band changes.
 */
function priceSeries(prices: PeriodPrice[], currency: string, colors: Map<string, string>): CategorySeries[] {
  const scale = 10 ** priceUnit(currency).scaleDigits;
  const labels = inLegendOrder(
    [...new Set(prices.map((p) => p.label))].map((label) => [label] as const),
    colors,
  ).map(([label]) => label);
  return labels.map((label) => ({
    name: label,
    color: colors.get(label),
    values: prices.map((p, i) => {
      if (p.label === label) return p.priceMicroPerKwh / scale;
      const previous = i > 0 ? prices[i - 1] : undefined;
      return previous?.label === label ? previous.priceMicroPerKwh / scale : null;
    }),
  }));
}
