import { HTMLElement, parse as parseHtml } from 'node-html-parser';
import {
  BILL_REPORT_KIND,
  computeBill,
  isoSeconds,
  type BilledReading,
  type BillReportDay,
  type BillReportDocument,
  type BillReportPeriod,
  type PeriodPriceSource,
} from '@smartmeter/domain';
import { packBillReport, sealBillReport, newOrgKeyPair } from '@smartmeter/crypto';
import {
  aggregateBillReportJson,
  formatPeriodAmount,
  renderAggregateBillReport,
} from '../src/aggregateBillReport';
import { tariffRecord } from './commands/support/fixtures';
import { parseSvg, svgBars, svgTexts } from './support/svg';

/*
 * What the page shows, converted from the report document:
 *   energy      energyWh / 1000                      "12.345 kWh"
 *   unit price  priceMicroPerKwh / 1 000 000         "30.12" in the p/kWh column   (GBP: pence)
 *   amount      amountNanoMinor / 10^9, 4 decimals   "9.0360" in the p column (rounded half up)
 *   bill        amountMinor / 100                    "82.57 GBP"
 */

const FROM = Date.parse('2026-11-01T00:00:00Z') / 1000;
const PERIOD = 900;
const BASE_PRICE = 20_000_000;
/** A dynamic tariff: the authority's signals, 20 p/kWh without one; 53.35 p/day; 5 % tax. */
const TARIFF = tariffRecord({
  tariffId: 'dyn-2026',
  standingChargeMicroPerDay: 53_350_000,
  taxBasisPoints: 500,
  pricing: { kind: 'dynamic', basePriceMicroPerKwh: BASE_PRICE },
});
const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const PEAK_PRICE = 30_120_000;
const OFF_PEAK_PRICE = 11_760_000;
/** A time-of-use tariff (UTC): peak 07:00-23:00 at 30.12 p/kWh, off-peak 11.76; 53.35 p/day; 5 % tax. */
const TIME_OF_USE = tariffRecord({
  tariffId: 'tou-2026',
  standingChargeMicroPerDay: 53_350_000,
  taxBasisPoints: 500,
  pricing: {
    kind: 'timeOfUse',
    bands: [
      { name: 'peak', days: [...EVERY_DAY], startMinute: 420, endMinute: 1380, priceMicroPerKwh: PEAK_PRICE },
      {
        name: 'off-peak',
        days: [...EVERY_DAY],
        startMinute: 1380,
        endMinute: 420,
        priceMicroPerKwh: OFF_PEAK_PRICE,
      },
    ],
  },
});

interface Scenario {
  days: number;
  /** Indexes of the periods without shares. */
  missing: number[];
  thresholdWhPerDay?: number;
  /**
   * dynamic (default): the dynamic tariff, a signal for every period but every 24th (the base price there);
   * signalled: the dynamic tariff with a signal for every period; timeOfUse: the time-of-use tariff, no signals.
   */
  pricing?: 'dynamic' | 'signalled' | 'timeOfUse';
}

/** Energy of period i, in Wh; the price signal of period i (none every 24th), its source and regional load. */
const energyAt = (i: number) => 40 + ((i * 37) % 260);
function signalAt(
  i: number,
  pricing: Scenario['pricing'],
): { price: number; source: PeriodPriceSource; loadWh?: string } | undefined {
  if (pricing === 'timeOfUse' || (pricing !== 'signalled' && i % 24 === 5)) return undefined;
  if (i % 50 === 7) return { price: 35_500_000, source: 'override' };
  const loadWh = 1_800_000 + ((i * 7919) % 900_000);
  return { price: 12_000_000 + Math.floor(loadWh / 100) * 10, source: 'policy', loadWh: String(loadWh) };
}

/** The price of period i: its signal's; else its band's (TIME_OF_USE, whose local time is UTC), or the base price. */
function priceAt(i: number, signal: { price: number } | undefined, pricing: Scenario['pricing']): number {
  if (signal) return signal.price;
  if (pricing !== 'timeOfUse') return BASE_PRICE;
  const minute = ((i * PERIOD) / 60) % 1440;
  return minute >= 420 && minute < 1380 ? PEAK_PRICE : OFF_PEAK_PRICE;
}

/** A report document as the distributor builds it: the bill by computeBill, every period priced exactly. */
function reportDocument(scenario: Scenario): BillReportDocument {
  const count = (scenario.days * 86_400) / PERIOD;
  const periodFrom = isoSeconds(FROM);
  const periodTo = isoSeconds(FROM + scenario.days * 86_400);
  const missing = new Set(scenario.missing);
  const readings: BilledReading[] = [];
  const signals: Record<string, number> = {};
  const periods: BillReportPeriod[] = [];
  for (let i = 0; i < count; i += 1) {
    const periodStart = isoSeconds(FROM + i * PERIOD);
    const signal = signalAt(i, scenario.pricing);
    if (signal) signals[periodStart] = signal.price;
    const price = priceAt(i, signal, scenario.pricing);
    const energyWh = missing.has(i) ? null : energyAt(i);
    if (energyWh !== null) readings.push({ periodStart, energyWh, quality: 'measured', ciphertext: `s${i}` });
    periods.push({
      periodStart,
      energyWh,
      priceMicroPerKwh: price,
      priceSource: signal?.source ?? 'base',
      ...(signal?.loadWh === undefined ? {} : { regionalLoadWh: signal.loadWh }),
      amountNanoMinor: (BigInt(energyWh ?? 0) * BigInt(price)).toString(),
    });
  }
  const bill = computeBill({
    periodFrom,
    periodTo,
    intervalSeconds: PERIOD,
    subscriptionStart: '2026-10-01T00:00:00Z',
    readings,
    priorReadings: [],
    tariffVersions: [scenario.pricing === 'timeOfUse' ? TIME_OF_USE : TARIFF],
    signals,
  });
  const days: BillReportDay[] = [];
  for (let d = 0; d < scenario.days; d += 1) {
    const day = periods.slice((d * 86_400) / PERIOD, ((d + 1) * 86_400) / PERIOD);
    days.push({
      day: day[0].periodStart.slice(0, 10),
      energyWh: day.reduce((sum, p) => sum + (p.energyWh ?? 0), 0),
      amountNanoMinor: day.reduce((sum, p) => sum + BigInt(p.amountNanoMinor), 0n).toString(),
      missingPeriods: day.filter((p) => p.energyWh === null).length,
    });
  }
  const average = Math.floor(bill.energyWh / scenario.days);
  return {
    v: 1,
    kind: BILL_REPORT_KIND,
    channel: 'northgrid',
    subscriptionId: 'sub_0123456789abcdef01234567',
    meterId: 'meter-17',
    regionCode: 'north/d1',
    distributorMspId: 'Distributor1MSP',
    periodFrom,
    periodTo,
    periodSeconds: PERIOD,
    bill,
    periods,
    days,
    ...(scenario.thresholdWhPerDay === undefined
      ? {}
      : {
          feedback: {
            thresholdWhPerDay: scenario.thresholdWhPerDay,
            averageWhPerDay: average,
            verdict: average <= scenario.thresholdWhPerDay ? 'below-threshold' : 'above-threshold',
          },
        }),
    generatedAt: '2026-11-03T01:00:00Z',
  };
}

/** A decimal as the page prints it, times 10^digits, exactly: ("30.12", 6) → 30 120 000. */
function scaled(text: string, digits: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`not a decimal: "${text}"`);
  const [, whole, fraction = ''] = match;
  if (fraction.length > digits) throw new Error(`more than ${digits} decimals: "${text}"`);
  return BigInt(whole) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
}

/** "82.57 GBP" → 8257 (minor units). */
function money(element: HTMLElement | null): bigint {
  const match = /^(\d+\.\d{2}) GBP$/.exec(element?.text.trim() ?? '');
  if (!match) throw new Error(`not an amount: "${element?.text ?? ''}"`);
  return scaled(match[1], 2);
}

/** An HTML page as a browser reads it: the contents of <pre> are elements too (the parser's default keeps them text). */
function parse(html: string): HTMLElement {
  return parseHtml(html, { blockTextElements: { script: true, noscript: true, style: true } });
}

/** Half up to a multiple of `step`, as integers. */
const roundHalfUp = (value: bigint, step: bigint) => (value * 2n + step) / (step * 2n);
/** 10^-9 minor units per minor unit (Wh × micro-minor/kWh). */
const NANO = 10n ** 9n;
/** Σ of the periods' exact amounts (10^-9 minor units) and of their energy (Wh). */
const exactOf = (periods: BillReportPeriod[]) =>
  periods.reduce((sum, p) => sum + BigInt(p.amountNanoMinor), 0n);
const energyOf = (periods: BillReportPeriod[]) => periods.reduce((sum, p) => sum + (p.energyWh ?? 0), 0);
/** The lines of the energy table as the page shows them: label, tariff, kWh, unit price, amount. */
const lineRows = (page: HTMLElement) =>
  page.querySelectorAll('details.lines tbody tr').map((r) => r.querySelectorAll('td').map((td) => td.text));

const TWO_DAYS: Scenario = { days: 2, missing: [40, 41, 150], thresholdWhPerDay: 20_000 };

describe('the bill report page of an aggregate subscription', () => {
  const doc = reportDocument(TWO_DAYS);
  const html = renderAggregateBillReport(doc);
  const page = parse(html);
  const bill = doc.bill;

  it('when rendered then the charges show the energy, the standing charge, the tax and the total of the bill', () => {
    const amount = (row: string) => money(page.querySelector(`table.charges tr.${row} td.amount`));
    const energyMinor = bill.lineItems.reduce((sum, l) => sum + l.amountMinor, 0);
    const exact = exactOf(doc.periods);

    expect(bill.missingPeriods).toHaveLength(3);
    // A price per period, yet two lines: one running total for the signal-priced periods, one for the base-priced.
    expect(bill.lineItems.map((l) => [l.label, l.tariffId, l.tariffVersion])).toEqual([
      ['base', 'dyn-2026', 1],
      ['signal', 'dyn-2026', 1],
    ]);
    expect(amount('energy')).toBe(BigInt(energyMinor));
    expect(amount('standing')).toBe(BigInt(bill.standingCharge.amountMinor));
    expect(amount('subtotal')).toBe(BigInt(bill.subtotalMinor));
    expect(amount('tax')).toBe(BigInt(bill.taxMinor));
    expect(amount('total')).toBe(BigInt(bill.totalMinor));
    expect(amount('energy') + amount('standing')).toBe(amount('subtotal'));
    expect(amount('subtotal') + amount('tax')).toBe(amount('total'));
    expect(page.querySelector('table.charges tr.tax td.rate')?.text).toBe('5 %');
    expect(page.querySelector('table.charges tr.energy td.energy')?.text).toBe(
      `${(bill.energyWh / 1000).toFixed(3)} kWh`,
    );
    expect(page.querySelector('table.charges tr.standing td.days')?.text).toBe('2 days');
    expect(page.querySelector('table.charges tr.standing')?.text).toContain('53.35 p/day');
    expect(money(page.querySelector('[data-field="total"]'))).toBe(BigInt(bill.totalMinor));
    expect(
      scaled(page.querySelector('[data-field="exactEnergyAmount"]')?.text.replace(' p', '') ?? '', 4),
    ).toBe(roundHalfUp(exact, 100_000n));
    // Each line is its periods' exact sum rounded half up once: within half a penny each of the exact sum.
    const drift = BigInt(energyMinor) * NANO - exact;
    expect((drift < 0n ? -drift : drift) * 2n).toBeLessThanOrEqual(BigInt(bill.lineItems.length) * NANO);
    const charges = page.querySelector('table.charges')?.nextElementSibling?.text.replace(/\s+/g, ' ');
    expect(charges).toContain(
      "The bill's lines add up these exact amounts and are rounded half up once: each line is the exact sum of its periods' amounts",
    );
    expect(charges).toContain(
      'the periods priced by the authority\'s signals make one line per tariff version ("signal", at their energy-weighted average price) and those at the tariff\'s base price another ("base")',
    );
    expect(charges).toContain(
      "The energy amount is the sum of the bill's 2 lines: it differs from the exact sum above by less than one minor unit per line.",
    );
    // Two lines are few enough to list; the signal line at its exact average price (here more than two decimals).
    expect(page.querySelector('details.lines summary')?.text).toBe(
      "The bill's 2 energy lines, one per price, the signal-priced periods one per tariff version at their average price",
    );
    const rows = lineRows(page);
    expect(rows.map(([label, tariff, kwh, , amount]) => [label, tariff, kwh, amount])).toEqual(
      bill.lineItems.map((l) => [
        l.label,
        'dyn-2026 v1',
        (l.energyWh / 1000).toFixed(3),
        (l.amountMinor / 100).toFixed(2),
      ]),
    );
    expect(rows.map((r) => scaled(r[3], 6))).toEqual(bill.lineItems.map((l) => BigInt(l.priceMicroPerKwh)));
    expect(rows[0][3]).toBe('20.00');
    expect(bill.lineItems[1].priceMicroPerKwh % 10_000).not.toBe(0);
  });

  it('when the tariff has a price per band then the lines are listed one per price, each energy × price rounded to a penny', () => {
    const tou = reportDocument({ ...TWO_DAYS, pricing: 'timeOfUse' });
    const page = parse(renderAggregateBillReport(tou));
    const inBand = (price: number) => tou.periods.filter((p) => p.priceMicroPerKwh === price);

    expect(tou.bill.lineItems.map((l) => [l.label, l.priceMicroPerKwh])).toEqual([
      ['off-peak', OFF_PEAK_PRICE],
      ['peak', PEAK_PRICE],
    ]);
    expect(page.querySelector('details.lines summary')?.text).toBe(
      "The bill's 2 energy lines, one per price",
    );
    expect(lineRows(page)).toEqual(
      tou.bill.lineItems.map((l) => [
        l.label,
        'tou-2026 v1',
        (l.energyWh / 1000).toFixed(3),
        (l.priceMicroPerKwh / 1e6).toFixed(2),
        (l.amountMinor / 100).toFixed(2),
      ]),
    );
    for (const l of tou.bill.lineItems) {
      const periods = inBand(l.priceMicroPerKwh);
      // One price: the line's energy × price is exactly its periods' amounts, rounded half up once to a penny.
      expect(l.energyWh).toBe(energyOf(periods));
      expect(BigInt(l.energyWh) * BigInt(l.priceMicroPerKwh)).toBe(exactOf(periods));
      expect(BigInt(l.amountMinor)).toBe(roundHalfUp(BigInt(l.energyWh) * BigInt(l.priceMicroPerKwh), NANO));
    }
    expect(inBand(PEAK_PRICE).length + inBand(OFF_PEAK_PRICE).length).toBe(tou.periods.length);
  });

  it('when rendered then the header names the subscription, meter, region, distributor, period and privacy mode', () => {
    expect(page.querySelector('html')?.getAttribute('lang')).toBe('en');
    expect(page.querySelector('title')?.text).toBe(
      'Electricity bill report, 1 Nov 2026 – 2 Nov 2026 · Distributor1MSP',
    );
    expect(page.querySelector('[data-field="subscriptionId"]')?.text).toBe(doc.subscriptionId);
    expect(page.querySelector('[data-field="meterId"]')?.text).toBe('meter-17');
    expect(page.querySelector('[data-field="regionCode"]')?.text).toBe('north/d1');
    expect(page.querySelector('[data-field="distributor"]')?.text).toBe('Distributor1MSP');
    expect(page.querySelector('p.mode')?.text).toBe(
      "Aggregate privacy mode: computed from your pseudonymous shares; the ledger holds only the totals and this report's hash.",
    );
  });

  it('when rendered then every period shows its energy, price, source, load and amount, and the amounts are energy × price', () => {
    const rows = page
      .querySelectorAll('table.periods tbody tr')
      .filter((r) => !r.querySelector('[scope=rowgroup]'));
    const exact = exactOf(doc.periods);
    const signalled = doc.periods.filter((p) => p.priceSource !== 'base');
    const based = doc.periods.filter((p) => p.priceSource === 'base');
    const [baseLine, signalLine] = bill.lineItems;

    expect(page.querySelector('details.periods table.periods')).not.toBeNull();
    expect(rows).toHaveLength(192);
    expect(page.querySelectorAll('table.periods th[scope=rowgroup]').map((h) => h.text.slice(0, 10))).toEqual(
      ['2026-11-01', '2026-11-02'],
    );
    // The per-period amounts add up exactly to Σ energy × price, and split exactly between the bill's two lines.
    expect(exact).toBe(
      doc.periods.reduce((sum, p) => sum + BigInt(p.energyWh ?? 0) * BigInt(p.priceMicroPerKwh), 0n),
    );
    expect(exactOf(signalled) + exactOf(based)).toBe(exact);
    // The base line: one price, so its energy × price is exactly its periods' amounts.
    expect([baseLine.label, baseLine.priceMicroPerKwh, baseLine.energyWh]).toEqual([
      'base',
      BASE_PRICE,
      energyOf(based),
    ]);
    expect(BigInt(baseLine.energyWh) * BigInt(BASE_PRICE)).toBe(exactOf(based));
    expect(BigInt(baseLine.amountMinor)).toBe(roundHalfUp(exactOf(based), NANO));
    // The signal line: Σ energy × price of its periods rounded half up once, at the energy-weighted average price.
    expect([signalLine.label, signalLine.energyWh]).toEqual(['signal', energyOf(signalled)]);
    expect(BigInt(signalLine.amountMinor)).toBe(roundHalfUp(exactOf(signalled), NANO));
    expect(BigInt(signalLine.priceMicroPerKwh)).toBe(
      roundHalfUp(exactOf(signalled), BigInt(signalLine.energyWh)),
    );
    expect(new Set(signalled.map((p) => p.priceMicroPerKwh)).size).toBeGreaterThan(100);
    // With a signal for every period: one line, the exact sum of all the periods rounded once.
    const allSignalled = reportDocument({ ...TWO_DAYS, pricing: 'signalled' });
    const allExact = exactOf(allSignalled.periods);
    expect(allSignalled.bill.lineItems.map((l) => [l.label, l.energyWh])).toEqual([
      ['signal', allSignalled.bill.energyWh],
    ]);
    expect(BigInt(allSignalled.bill.lineItems[0].amountMinor)).toBe(roundHalfUp(allExact, NANO));
    expect(
      money(
        parse(renderAggregateBillReport(allSignalled)).querySelector('table.charges tr.energy td.amount'),
      ),
    ).toBe(roundHalfUp(allExact, NANO));
    // A line per price, each rounded to a penny, would have drifted from that sum.
    const perPrice = new Map<number, bigint>();
    for (const p of allSignalled.periods)
      perPrice.set(p.priceMicroPerKwh, (perPrice.get(p.priceMicroPerKwh) ?? 0n) + BigInt(p.amountNanoMinor));
    expect([...perPrice.values()].reduce((sum, v) => sum + roundHalfUp(v, NANO), 0n)).not.toBe(
      roundHalfUp(allExact, NANO),
    );
    doc.periods.forEach((period, i) => {
      const [energy, price, source, load, amount] = rows[i].querySelectorAll('td').map((td) => td.text);
      expect(rows[i].querySelector('th')?.text).toBe(period.periodStart.slice(11, 16));
      expect(scaled(price, 6)).toBe(BigInt(period.priceMicroPerKwh));
      expect(source).toBe(period.priceSource);
      expect(load === '' ? undefined : String(scaled(load, 3))).toBe(period.regionalLoadWh);
      if (period.energyWh === null) {
        expect([energy, amount]).toEqual(['missing', 'not billed']);
        expect(rows[i].classNames).toBe('missing');
      } else {
        expect(scaled(energy, 3)).toBe(BigInt(period.energyWh));
        // kWh × p/kWh: 10^3 × 10^6 of the printed digits is 10^9 per penny, shown to 10^-4 p.
        expect(scaled(amount, 4)).toBe(roundHalfUp(scaled(energy, 3) * scaled(price, 6), 100_000n));
      }
    });
    expect(page.querySelectorAll('tr.missing')).toHaveLength(3);
    // No inline styles outside the charts (ECharts styles its SVG texts).
    expect(html.replace(/<svg[\s\S]*?<\/svg>/g, '')).not.toMatch(/\sstyle=/);
    expect(new Set(rows.map((r) => r.querySelectorAll('td')[2].text))).toEqual(
      new Set(['policy', 'override', 'base']),
    );
  });

  it('when periods are missing then the page counts and lists them as not billed, not estimated', () => {
    expect(page.querySelector('[data-field="missingCount"]')?.text).toBe('3');
    expect(page.querySelector('p[data-field="missing"]')?.text).toContain(
      '3 periods missing: not billed, not estimated.',
    );
    expect(page.querySelectorAll('details.missing li').map((li) => li.text)).toEqual([
      '1 Nov 2026 10:00 UTC – 1 Nov 2026 10:30 UTC (2 periods)',
      '2 Nov 2026 13:30 UTC – 2 Nov 2026 13:45 UTC (1 period)',
    ]);
  });

  it('when the tariff has a threshold then the average per day is compared with it and drawn on the day chart', () => {
    const average = Math.floor(bill.energyWh / 2);
    const threshold = `threshold ${(20_000 / 1000).toFixed(3)} kWh/day`;

    expect(average).toBeLessThan(20_000);
    expect(page.querySelector('[data-field="averagePerDay"]')?.text).toBe(
      `${(average / 1000).toFixed(3)} kWh/day`,
    );
    expect(page.querySelector('[data-field="thresholdPerDay"]')?.text).toBe('20.000 kWh/day');
    expect(page.querySelector('[data-field="verdict"]')?.text).toBe(
      'below the threshold: eligible for the incentive',
    );
    expect(svgTexts(parseSvg(page.querySelectorAll('svg')[0].toString())).map((t) => t.text)).toContain(
      threshold,
    );

    const above = parse(renderAggregateBillReport(reportDocument({ ...TWO_DAYS, thresholdWhPerDay: 1000 })));
    expect(above.querySelector('[data-field="verdict"]')?.text).toBe(
      'above the threshold: the penalty notice applies',
    );
    const none = parse(renderAggregateBillReport(reportDocument({ days: 2, missing: [] })));
    expect(none.querySelector('[data-field="verdict"]')).toBeNull();
    expect(none.text).toContain('None: every period of the bill was billed.');
    expect(none.toString()).not.toContain('threshold ');
  });

  it('when rendered then it has two accessible SVG charts: kWh per day and per period with the price, missing ones marked', () => {
    const svgs = page.querySelectorAll('svg');
    const day = parseSvg(svgs[0].toString());
    const period = parseSvg(svgs[1].toString());

    expect(svgs).toHaveLength(2);
    for (const svg of svgs) {
      expect(svg.getAttribute('role')).toBe('img');
      expect(svg.getAttribute('aria-label')?.length).toBeGreaterThan(20);
      expect(svg.querySelector('title')?.text).toBe(svg.getAttribute('aria-label'));
    }
    expect(page.querySelectorAll('figure figcaption')).toHaveLength(2);
    expect(svgTexts(day).map((t) => t.text)).toEqual(
      expect.arrayContaining(['Energy per day', 'kWh per day', '2026-11-01', '2026-11-02']),
    );
    // Both days have missing periods: their bars are the second series, in red.
    expect(svgBars(day).map((b) => b.series)).toEqual([1, 1]);
    expect(svgTexts(day).map((t) => t.text)).toEqual(expect.arrayContaining(['2 missing', '1 missing']));
    expect(svgTexts(period).map((t) => t.text)).toEqual(
      expect.arrayContaining(['Energy and price per period', 'kWh per 15 min', 'p/kWh', 'price (p/kWh)']),
    );
    expect(
      svgBars(period)
        .filter((b) => b.series === 2)
        .map((b) => b.index),
    ).toEqual([40, 41, 150]);
  });

  it('when rendered then the page has no scripts and loads nothing', () => {
    expect(page.querySelectorAll('script')).toHaveLength(0);
    expect(html).not.toMatch(/\b(?:src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    // ECharts clips by fragment (url(#zr…)), nothing else.
    expect(html.replace(/url\(#[\w-]+\)/g, '')).not.toMatch(/url\(/);
  });

  it('when rendered then the verify command is shown, with the bill id once it is known', () => {
    expect(page.querySelector('code.verify')?.text).toBe('meterctl bill verify <billId>');
    expect(page.text).toContain(`meterctl bill list --subscription ${doc.subscriptionId}`);
    const issued = parse(renderAggregateBillReport(doc, { billId: 'bill_0123456789abcdef01234567' }));
    expect(issued.querySelector('[data-field="billId"]')?.text).toBe('bill_0123456789abcdef01234567');
    expect(issued.querySelector('code.verify')?.text).toBe(
      'meterctl bill verify bill_0123456789abcdef01234567',
    );
  });
});

describe('the bill report document', () => {
  const doc = reportDocument(TWO_DAYS);

  it('when written as JSON then it reads back as the same document, with sorted keys and the same bytes for the same document', () => {
    const json = aggregateBillReportJson(doc);
    const reordered = Object.fromEntries(Object.entries(doc).reverse()) as unknown as BillReportDocument;

    expect(JSON.parse(json)).toEqual(doc);
    expect(aggregateBillReportJson(reordered)).toBe(json);
    expect(Object.keys(JSON.parse(json) as object)).toEqual(Object.keys(doc).sort());
    expect(json.endsWith('}\n')).toBe(true);
    expect(json).toContain('\n  "bill": {\n');
  });

  it('when per-period amounts are shown then they are rounded half up to 0.0001 of the minor unit', () => {
    expect(formatPeriodAmount('9036000000', 'GBP')).toBe('9.0360');
    expect(formatPeriodAmount('50000', 'GBP')).toBe('0.0001');
    expect(formatPeriodAmount('49999', 'GBP')).toBe('0.0000');
    expect(formatPeriodAmount('0', 'GBP')).toBe('0.0000');
    expect(formatPeriodAmount('123456789012345678901', 'GBP')).toBe('123456789012.3457');
    // CHF is priced in CHF/kWh: the same 10^-4 rappen, in francs.
    expect(formatPeriodAmount('9036000000', 'CHF')).toBe('0.090360');
  });

  it('when a month of 15-minute periods is reported then the page stays below 512 KiB and the sealed report takes 1 MiB', () => {
    const month = reportDocument({ days: 30, missing: [5, 6, 7, 800, 2000], thresholdWhPerDay: 12_000 });
    const page = renderAggregateBillReport(month);
    const packed = packBillReport({ document: month, html: page });
    const sealed = sealBillReport(packed, newOrgKeyPair().publicKeyPem, {
      channel: month.channel,
      subscriptionId: month.subscriptionId,
      periodFrom: month.periodFrom,
      periodTo: month.periodTo,
    });

    expect(month.periods).toHaveLength(2880);
    expect(page.length).toBeLessThan(512 * 1024);
    // The bill has two lines (signal and base), not one per price: about 1 KB of the document. What is left is
    // the 2880 periods (about 460 KB of JSON) and the page (about 370 KB): some 850 KB packed, above 512 KiB and
    // well below 1 MiB (a few bytes per period more or fewer digits do not change the bucket). 1 MiB sealed.
    expect(month.bill.lineItems.map((l) => l.label)).toEqual(['base', 'signal']);
    expect(JSON.stringify(month.bill).length).toBeLessThan(4 * 1024);
    expect(packed.length).toBeGreaterThan(512 * 1024);
    expect(packed.length).toBeLessThan(1024 * 1024 - 100 * 1024);
    expect(sealed.length).toBe(1024 * 1024);
  });
});
