import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTMLElement, NodeType, parse, type Node } from 'node-html-parser';
import { roundHalfUp, type BillRecord, type TariffRecord } from '@smartmeter/domain';
import { dailyUsage, formatPrice, periodPrices, renderBillHtml, verifyCommand } from '../src/billReport';
import { recomputeBill, type BillEvidence } from '../src/billVerify';
import { GRID, SERIES_COLORS } from '../src/charts';
import {
  APPROVAL,
  CHANNEL,
  householdSubscription,
  readingRecords,
  tariffRecord,
} from './commands/support/fixtures';
import { householdsProfile, TestWorld } from './commands/support/world';
import { leftAxis, parseSvg, svgBars, svgLinePoints, svgTexts } from './support/svg';

/*
 * What the page shows, converted from the bill JSON as billReport.ts documents it:
 *   energy      energyWh / 1000                         "12.345 kWh"
 *   unit price  priceMicroPerKwh / 1 000 000             "30.12 p/kWh"   (GBP: pence)
 *   standing    microPerDay / 1 000 000 per day          "53.35 p/day", days = seconds / 86 400
 *   amounts     amountMinor / 100                        "82.57 GBP"
 *   tax rate    basis points / 100                       "5 %"
 */

const BILL_ID = 'bill_0123456789abcdef01234567';

/** The README's example time-of-use tariff: peak 07:00-23:00 at 30.12 p/kWh, off-peak 11.76, 53.35 p/day, 5 % tax. */
function timeOfUse(overrides: Partial<TariffRecord> = {}): TariffRecord {
  return tariffRecord({
    tariffId: 'tou-2026',
    standingChargeMicroPerDay: 53_350_000,
    taxBasisPoints: 500,
    pricing: {
      kind: 'timeOfUse',
      bands: [
        {
          name: 'peak',
          days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
          startMinute: 420,
          endMinute: 1380,
          priceMicroPerKwh: 30_120_000,
        },
        {
          name: 'off-peak',
          days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
          startMinute: 1380,
          endMinute: 420,
          priceMicroPerKwh: 11_760_000,
        },
      ],
    },
    ...overrides,
  });
}

/** Half-hourly energies that vary, in Wh. */
const energies = (count: number) => Array.from({ length: count }, (_, i) => 150 + ((i * 37) % 400));

interface Scenario {
  tariff: TariffRecord;
  /** Readings from 2026-11-01T00:00Z; the first `prior` are the month's readings before the bill. */
  readings: number;
  prior?: number;
  periodFrom: string;
  periodTo: string;
}

/** A household's bill with its evidence, computed by the bill function, disputed, resolved and paid. */
function billWorld(scenario: Scenario) {
  const world = new TestWorld();
  world.profile = householdsProfile(world.dir);
  const { sessionKey, subscription } = householdSubscription(world.keystore, {
    status: 'ACTIVE',
    approval: { ...APPROVAL, tariffId: scenario.tariff.tariffId },
  });
  const readings = readingRecords(subscription, sessionKey, energies(scenario.readings));
  const prior = scenario.prior ?? 0;
  const shell: Omit<BillRecord, keyof ReturnType<typeof recomputeBill>> = {
    docType: 'bill',
    billId: BILL_ID,
    subscriptionId: subscription.subscriptionId,
    distributorMspId: 'Distributor1MSP',
    periodFrom: scenario.periodFrom,
    periodTo: scenario.periodTo,
    status: 'PAID',
    issuedAt: '2026-11-03T01:00:00Z',
    dispute: { reason: 'line "peak" looks high', disputedAt: '2026-11-04T09:00:00Z' },
    resolution: { outcome: 'REJECTED', note: 'readings verified', resolvedAt: '2026-11-05T10:00:00Z' },
  };
  const unbilled: BillEvidence = {
    channel: CHANNEL,
    subscription,
    readings: readings.slice(prior),
    priorReadings: readings.slice(0, prior),
    priorSignals: [],
    tariffVersions: [scenario.tariff],
    signals: [],
    bill: shell as BillRecord,
  };
  const computed = recomputeBill(unbilled, sessionKey);
  const bill: BillRecord = {
    ...shell,
    ...computed,
    payment: { amountMinor: computed.totalMinor, reference: 'INV-1', paidAt: '2026-11-06T12:00:00Z' },
  };
  const evidence: BillEvidence = { ...unbilled, bill };
  world.clients = {
    billing: { get: async () => bill },
    subscriptions: { get: async () => subscription },
    billEvidence: async () => evidence,
  };
  const profilePath = world.file('households1.json', '{}');
  return { world, evidence, bill, sessionKey, profilePath };
}

/** A decimal as the page prints it, times 10^digits, exactly: ("30.12", 6) → 30 120 000. */
function scaled(text: string, digits: number): number {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: "${text}"`);
  const [, whole, fraction = ''] = match;
  if (fraction.length > digits) throw new Error(`more than ${digits} decimals: "${text}"`);
  return Number(BigInt(whole) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0'));
}

/** "12.345 kWh" → { value: "12.345", unit: "kWh" }. */
function quantity(element: HTMLElement | null): { value: string; unit: string } {
  const text = element?.text.trim() ?? '';
  const match = /^(?:on )?(\d+(?:\.\d+)?) (\S+)$/.exec(text);
  if (!match) throw new Error(`not a quantity: "${text}"`);
  return { value: match[1], unit: match[2] };
}

function cell(row: HTMLElement, selector: string): { value: string; unit: string } {
  return quantity(row.querySelector(selector));
}

/** An HTML page as a browser reads it: the contents of <pre> are elements too (the parser's default keeps them text). */
function parsePage(html: string): HTMLElement {
  return parse(html, { blockTextElements: { script: true, noscript: true, style: true } });
}

/** The page's texts outside its charts and style, one per line (so that table cells stay apart). */
function pageText(page: HTMLElement): string {
  const texts: string[] = [];
  const walk = (node: Node): void => {
    if (node instanceof HTMLElement && ['svg', 'style', 'title'].includes(node.rawTagName)) return;
    if (node.nodeType === NodeType.TEXT_NODE) texts.push(node.text);
    for (const child of node.childNodes) walk(child);
  };
  walk(page);
  return texts.join('\n');
}

const NOVEMBER = { readings: 96, periodFrom: '2026-11-01T00:00:00Z', periodTo: '2026-11-03T00:00:00Z' };
const INVOCATION = {
  profilePath: '/home/h/p/households1.json',
  keystoreDir: '/home/h/.hh',
  identity: 'hh-17',
  channel: 'northgrid',
};

describe('the bill page', () => {
  const { evidence, bill, sessionKey } = billWorld({ tariff: timeOfUse(), ...NOVEMBER });
  const html = renderBillHtml(evidence, sessionKey, INVOCATION);
  const page = parsePage(html);

  it('when rendered then every line shows its energy in kWh, its price in p/kWh and its amount, and they multiply', () => {
    const rows = page.querySelectorAll('table.charges tr.line');

    expect(rows).toHaveLength(bill.lineItems.length);
    expect(bill.lineItems.map((l) => l.label).sort()).toEqual(['off-peak', 'peak']);
    bill.lineItems.forEach((item, i) => {
      const energy = cell(rows[i], 'td.energy');
      const price = cell(rows[i], 'td.price');
      const amount = cell(rows[i], 'td.amount');
      expect([energy.unit, price.unit, amount.unit]).toEqual(['kWh', 'p/kWh', 'GBP']);
      expect(scaled(energy.value, 3)).toBe(item.energyWh);
      expect(scaled(price.value, 6)).toBe(item.priceMicroPerKwh);
      expect(scaled(amount.value, 2)).toBe(item.amountMinor);
      // kWh × p/kWh = p, rounded half up: 10^3 × 10^6 of the printed digits is 10^9 per penny.
      expect(
        roundHalfUp(BigInt(scaled(energy.value, 3)) * BigInt(scaled(price.value, 6)), 1_000_000_000n),
      ).toBe(scaled(amount.value, 2));
    });
    expect(page.querySelector('tr[data-line] td')?.text).toMatch(/peak/);
    expect(formatPrice(30_120_000, 'GBP')).toBe('30.12');
  });

  it('when rendered then the standing charge shows its days, its price per day and its amount', () => {
    const rows = page.querySelectorAll('table.charges tr.standing');

    expect(rows).toHaveLength(bill.standingCharge.byVersion.length);
    bill.standingCharge.byVersion.forEach((part, i) => {
      const days = cell(rows[i], 'td.days');
      const price = cell(rows[i], 'td.price');
      const amount = cell(rows[i], 'td.amount');
      expect([days.unit, price.unit, amount.unit]).toEqual(['days', 'p/day', 'GBP']);
      expect(Number(days.value) * 86_400).toBe(part.seconds);
      expect(scaled(price.value, 6)).toBe(part.microPerDay);
      expect(scaled(amount.value, 2)).toBe(part.amountMinor);
      expect(roundHalfUp(BigInt(days.value) * BigInt(scaled(price.value, 6)), 1_000_000n)).toBe(
        part.amountMinor,
      );
    });
    expect(quantity(page.querySelector('[data-field="standingPerDay"]'))).toEqual({
      value: '53.35',
      unit: 'p/day',
    });
  });

  it('when rendered then subtotal, tax and total equal the bill and add up', () => {
    const amount = (selector: string) => scaled(cell(page, `table.charges ${selector} td.amount`).value, 2);
    const bases = page.querySelectorAll('table.charges tr.taxBasis');
    const lines = page.querySelectorAll('table.charges tr.line, table.charges tr.standing');

    expect(amount('tr.subtotal')).toBe(bill.subtotalMinor);
    expect(amount('tr.tax')).toBe(bill.taxMinor);
    expect(amount('tr.total')).toBe(bill.totalMinor);
    expect(bases).toHaveLength(bill.taxBases.length);
    bill.taxBases.forEach((basis, i) => {
      expect(cell(bases[i], 'td.rate')).toEqual({ value: '5', unit: '%' });
      expect(scaled(cell(bases[i], 'td.rate').value, 2)).toBe(basis.taxBasisPoints);
      expect(scaled(cell(bases[i], 'td.taxable').value, 2)).toBe(basis.taxableMinor);
    });
    const sum = lines.reduce((total, row) => total + scaled(cell(row, 'td.amount').value, 2), 0);
    expect(sum).toBe(amount('tr.subtotal'));
    expect(roundHalfUp(BigInt(amount('tr.subtotal')) * 500n, 10_000n)).toBe(amount('tr.tax'));
    expect(amount('tr.subtotal') + amount('tr.tax')).toBe(amount('tr.total'));
    expect(scaled(quantity(page.querySelector('[data-field="total"]')).value, 2)).toBe(bill.totalMinor);
    expect(scaled(quantity(page.querySelector('[data-field="energy"]')).value, 3)).toBe(bill.energyWh);
  });

  it('when rendered then every number with a unit outside the charts is one of the bill JSON, converted', () => {
    const kwh = new Set([bill.energyWh, ...bill.lineItems.map((l) => l.energyWh)]);
    const pricesMicro = new Set(bill.lineItems.map((l) => l.priceMicroPerKwh));
    const perDay = new Set(bill.standingCharge.byVersion.map((p) => p.microPerDay));
    const minor = new Set([
      bill.subtotalMinor,
      bill.taxMinor,
      bill.totalMinor,
      bill.standingCharge.amountMinor,
      ...bill.lineItems.map((l) => l.amountMinor),
      ...bill.standingCharge.byVersion.map((p) => p.amountMinor),
      ...bill.taxBases.map((b) => b.taxableMinor),
    ]);
    // The one constant: how pence make a pound.
    const text = pageText(page).replace('100 p = 1 GBP', '');
    const found = [...text.matchAll(/(\d+(?:\.\d+)?) (kWh|p\/kWh|p\/day|GBP|%)(?![\w/])/g)];

    expect(found.length).toBeGreaterThanOrEqual(20);
    for (const [, value, unit] of found) {
      if (unit === 'kWh') expect(kwh).toContain(scaled(value, 3));
      if (unit === 'p/kWh') expect(pricesMicro).toContain(scaled(value, 6));
      if (unit === 'p/day') expect(perDay).toContain(scaled(value, 6));
      if (unit === 'GBP') expect(minor).toContain(scaled(value, 2));
      if (unit === '%') expect(value).toBe('5');
    }
    // One energy unit, prices in pence: no Wh and no GBP/kWh anywhere, charts included.
    expect(page.text).not.toMatch(/\bWh\b/);
    expect(html).not.toContain('GBP/kWh');
  });

  it('when rendered then the title is human, the id stays visible and the header has the issue date', () => {
    expect(page.querySelector('title')?.text).toBe(
      'Electricity bill, 1 Nov 2026 – 2 Nov 2026 · Distributor1MSP',
    );
    expect(page.querySelector('h1')?.text).toBe('Electricity bill, 1 Nov 2026 – 2 Nov 2026');
    expect(page.querySelector('[data-field="billId"]')?.text).toBe(BILL_ID);
    expect(page.querySelector('[data-field="issuedAt"]')?.text).toBe('3 Nov 2026 01:00 UTC');
    expect(page.querySelector('[data-field="status"]')?.text).toBe('PAID on 6 Nov 2026');
  });

  it('when rendered then a legend lists each band with its hours and price, in the colour the charts use', () => {
    const bands = page.querySelectorAll('table.bands tr[data-band]');

    expect(bands.map((b) => b.querySelectorAll('td').map((td) => td.text))).toEqual([
      ['peak', 'tou-2026 v1', 'every day, 07:00–23:00 UTC', '30.12 p/kWh'],
      ['off-peak', 'tou-2026 v1', 'every day, 23:00–07:00 UTC', '11.76 p/kWh'],
    ]);
    expect(bands.map((b) => b.querySelector('.swatch')?.getAttribute('style'))).toEqual([
      `background:${SERIES_COLORS[0]}`,
      `background:${SERIES_COLORS[1]}`,
    ]);
  });

  it('when rendered then the usage chart is in kWh per day, its bars adding up to each band', () => {
    const svgs = page.querySelectorAll('svg');
    const usage = parseSvg(svgs[0].toString());
    const texts = svgTexts(usage);
    const axis = leftAxis(texts, GRID.left);
    // The series come in the legend's order: the tariff's bands.
    const usageSeries = page
      .querySelectorAll('table.bands tr[data-band]')
      .map((b) => b.getAttribute('data-band'));

    expect(svgs).toHaveLength(2);
    expect(texts.map((t) => t.text)).toEqual(
      expect.arrayContaining([
        'Energy per day, by band',
        'kWh per day',
        'peak',
        'off-peak',
        '2026-11-01',
        '2026-11-02',
      ]),
    );
    expect(axis.ticks.length).toBeGreaterThanOrEqual(4);
    for (const item of bill.lineItems) {
      const series = usageSeries.indexOf(item.label);
      const bars = svgBars(usage).filter((b) => b.series === series);
      const kwh = bars.reduce(
        (sum, bar) => sum + axis.valueAt(bar.bottom - bar.height) - axis.valueAt(bar.bottom),
        0,
      );
      expect(bars).toHaveLength(2);
      expect(kwh).toBeCloseTo(item.energyWh / 1000, 0);
    }
  });

  it('when rendered then the price chart steps between the bands at their prices in p/kWh', () => {
    const price = parseSvg(page.querySelectorAll('svg')[1].toString());
    const texts = svgTexts(price);
    const axis = leftAxis(texts, GRID.left);
    const levels = (color: string) => [
      ...new Set(svgLinePoints(price, color).map((p) => axis.valueAt(p.y).toFixed(1))),
    ];

    expect(texts.map((t) => t.text)).toEqual(
      expect.arrayContaining(['Unit price per period, by band', 'p/kWh']),
    );
    expect(levels(SERIES_COLORS[0])).toEqual(['30.1']);
    expect(levels(SERIES_COLORS[1])).toEqual(['11.8']);
    expect(periodPrices(evidence)).toHaveLength(96);
  });

  it('when rendered then the history lists issue, dispute, resolution and payment in order', () => {
    const events = page
      .querySelectorAll('table.history tr.event')
      .map((r) => r.querySelectorAll('td').map((td) => td.text));

    expect(events).toEqual([
      [
        '3 Nov 2026 01:00 UTC',
        'issued',
        `by Distributor1MSP, total ${(bill.totalMinor / 100).toFixed(2)} GBP`,
      ],
      ['4 Nov 2026 09:00 UTC', 'disputed by the household', 'line "peak" looks high'],
      ['5 Nov 2026 10:00 UTC', 'dispute rejected: the bill stands', 'readings verified'],
      ['6 Nov 2026 12:00 UTC', 'paid', `${(bill.totalMinor / 100).toFixed(2)} GBP, reference INV-1`],
    ]);
  });

  it('when rendered then the page has no scripts and loads nothing', () => {
    expect(page.querySelectorAll('script')).toHaveLength(0);
    expect(html).not.toMatch(/\b(?:src|href)=/);
  });
});

describe('meterctl bill report', () => {
  it('when the household writes the page then its verify command works as printed', async () => {
    const { world, profilePath } = billWorld({ tariff: timeOfUse(), ...NOVEMBER });
    const out = join(world.dir, 'bill.html');

    const report = await world.run(
      '-p',
      profilePath,
      '-k',
      world.keystore.dir,
      '-i',
      'hh-17',
      'bill',
      'report',
      BILL_ID,
      '--html',
      out,
    );
    const command = parsePage(readFileSync(out, 'utf8')).querySelector('code.verify')?.text ?? '';
    const [program, ...args] = command.split(' ');
    const verify = await world.run(...args);

    expect(report).toEqual({ code: 0, stdout: '', stderr: `wrote ${out}\n` });
    expect(command).toBe(
      `meterctl -p ${profilePath} -k ${world.keystore.dir} -i hh-17 -c northgrid bill verify ${BILL_ID}`,
    );
    expect(program).toBe('meterctl');
    expect(verify).toEqual({ code: 0, stderr: '', stdout: `OK: bill ${BILL_ID} matches the ledger\n` });
  });

  it('when a path needs quoting or a key was named then the command quotes it and names the key', () => {
    expect(verifyCommand(BILL_ID, { ...INVOCATION, keystoreDir: "/home/o'neil/my keys", key: 'home' })).toBe(
      `meterctl -p /home/h/p/households1.json -k '/home/o'\\''neil/my keys' -i hh-17 -c northgrid bill verify ${BILL_ID} --key home`,
    );
  });
});

describe('the bill page for other tariffs', () => {
  it('when a tiered bill starts mid-month then usage per tier counts the month so far, as the bill does', () => {
    const tiered = timeOfUse({
      tariffId: 'tiers-2026',
      pricing: {
        kind: 'tiered',
        tiers: [
          { upToWh: 20_000, priceMicroPerKwh: 20_000_000 },
          { upToWh: null, priceMicroPerKwh: 35_000_000 },
        ],
      },
    });
    const { evidence, bill, sessionKey } = billWorld({
      tariff: tiered,
      readings: 96,
      prior: 48,
      periodFrom: '2026-11-02T00:00:00Z',
      periodTo: '2026-11-03T00:00:00Z',
    });
    const page = parsePage(renderBillHtml(evidence, sessionKey, INVOCATION));
    const usage = dailyUsage(evidence, sessionKey);

    expect(bill.lineItems.map((l) => l.label)).toEqual(['tier 1', 'tier 2']);
    for (const item of bill.lineItems) expect(usage.byLabel.get(item.label)).toEqual([item.energyWh]);
    expect(
      page.querySelectorAll('table.bands tr[data-band]').map((b) => b.querySelectorAll('td')[2].text),
    ).toEqual(['0.000 to 20.000 kWh in the calendar month', 'above 20.000 kWh in the calendar month']);
    expect(page.querySelectorAll('svg')).toHaveLength(1);
    expect(page.text).toContain('Tiered tariff');
    const rows = page.querySelectorAll('table.charges tr.line');
    bill.lineItems.forEach((item, i) => {
      expect(scaled(cell(rows[i], 'td.price').value, 6)).toBe(item.priceMicroPerKwh);
      expect(scaled(cell(rows[i], 'td.amount').value, 2)).toBe(item.amountMinor);
    });
  });

  it('when the currency has no usual minor price unit then prices are in major units per kWh, exactly', () => {
    expect(formatPrice(30_120_000, 'GBP')).toBe('30.12');
    expect(formatPrice(250_000, 'GBP')).toBe('0.25');
    expect(formatPrice(11_760_001, 'EUR')).toBe('11.760001');
    expect(formatPrice(30_120_000, 'CHF')).toBe('0.3012');
    expect(formatPrice(3_000_000, 'JPY')).toBe('3.00');
  });
});
