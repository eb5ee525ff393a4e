import fc from 'fast-check';
import {
  type BillComputation,
  type BilledReading,
  type BillInput,
  type TariffPricing,
  type TariffRecord,
  BillingError,
  computeBill,
  isoSeconds,
  runningTotalsSince,
  WEEKDAYS,
} from '@smartmeter/domain';

/** The billing rules of computeBill.ts: running totals per accounting month, standing charge, tax, estimates. */
const HALF_HOUR = 1800;
const epoch = (iso: string): number => Date.parse(iso) / 1000;

function tariff(overrides: Partial<TariffRecord> = {}): TariffRecord {
  return {
    docType: 'tariff',
    distributorMspId: 'Distributor1MSP',
    tariffId: 'plan',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    publishedAt: '2026-01-01T00:00:00Z',
    currency: 'GBP',
    utcOffsetMinutes: 0,
    standingChargeMicroPerDay: 0,
    taxBasisPoints: 0,
    pricing: { kind: 'flat', priceMicroPerKwh: 10_000_000 },
    ...overrides,
  };
}

const reading = (
  periodStart: string,
  energyWh: number,
  quality: BilledReading['quality'] = 'measured',
): BilledReading => ({ periodStart, energyWh, quality, ciphertext: `c-${periodStart}` });

/** A ledger of readings and a tariff, billed like the chaincode bills: the month's earlier readings included. */
interface Ledger {
  readings: BilledReading[];
  versions: TariffRecord[];
  subscriptionStart?: string;
  subscriptionEnd?: string;
  signals?: Record<string, number>;
}

function billOf(ledger: Ledger, periodFrom: string, periodTo: string): BillComputation {
  const since = runningTotalsSince(periodFrom);
  const input: BillInput = {
    periodFrom,
    periodTo,
    intervalSeconds: HALF_HOUR,
    subscriptionStart: ledger.subscriptionStart ?? '2026-01-01T00:00:00Z',
    subscriptionEnd: ledger.subscriptionEnd,
    readings: ledger.readings.filter((r) => r.periodStart >= periodFrom && r.periodStart < periodTo),
    priorReadings: ledger.readings.filter((r) => r.periodStart >= since && r.periodStart < periodFrom),
    tariffVersions: ledger.versions,
    signals: ledger.signals ?? {},
  };
  return computeBill(input);
}

/** The bills over adjacent periods [cuts[0], cuts[1]), [cuts[1], cuts[2]), … */
function billsOver(ledger: Ledger, cuts: string[]): BillComputation[] {
  return cuts.slice(1).map((to, i) => billOf(ledger, cuts[i], to));
}

const sum = (bills: BillComputation[], amount: (bill: BillComputation) => number): number =>
  bills.reduce((total, bill) => total + amount(bill), 0);

describe('standing charge', () => {
  const twoPencePerDay: Ledger = {
    readings: [],
    versions: [tariff({ standingChargeMicroPerDay: 2_000_000 })],
  };

  it('when 2026-11-20 is split over 3 bills then they pay the day once: 1 + 0 + 1 = 2 minor units', () => {
    const bills = billsOver(twoPencePerDay, [
      '2026-11-20T00:00:00Z',
      '2026-11-20T08:00:00Z',
      '2026-11-20T16:00:00Z',
      '2026-11-21T00:00:00Z',
    ]);
    expect(bills.map((b) => b.standingCharge.amountMinor)).toEqual([1, 0, 1]);
    expect(bills.map((b) => b.standingCharge.seconds)).toEqual([28_800, 28_800, 28_800]);
    expect(billOf(twoPencePerDay, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z').standingCharge).toEqual({
      days: 1,
      seconds: 86_400,
      amountMinor: 2,
      byVersion: [{ tariffId: 'plan', version: 1, microPerDay: 2_000_000, seconds: 86_400, amountMinor: 2 }],
    });
  });

  it('when a bill covers part of a day then it pays that share of the daily charge, rounded as a running total', () => {
    const ledger: Ledger = { readings: [], versions: [tariff({ standingChargeMicroPerDay: 53_350_000 })] };
    // 8 hours of 53.35 p from the 1st: 17.783 → 18.
    expect(billOf(ledger, '2026-03-01T00:00:00Z', '2026-03-01T08:00:00Z').standingCharge.amountMinor).toBe(
      18,
    );
    // The next 8 hours: 35.567 → 36, minus 18.
    expect(billOf(ledger, '2026-03-01T08:00:00Z', '2026-03-01T16:00:00Z').standingCharge.amountMinor).toBe(
      18,
    );
    // A whole month of 31 days pays 31 × 53.35 = 1653.85 → 1654, however it is split.
    expect(billOf(ledger, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z').standingCharge.amountMinor).toBe(
      1654,
    );
  });

  it('when the subscription ends inside the bill then the standing charge stops at the end', () => {
    const ledger: Ledger = { ...twoPencePerDay, subscriptionEnd: '2026-11-20T12:00:00Z' };
    expect(billOf(ledger, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z').standingCharge).toMatchObject({
      days: 1,
      seconds: 43_200,
      amountMinor: 1,
    });
  });

  it('when the daily charge changes with a new version then each second accrues at the version in force', () => {
    const ledger: Ledger = {
      readings: [],
      versions: [
        tariff({ standingChargeMicroPerDay: 10_000_000 }),
        tariff({ version: 2, effectiveFrom: '2026-11-20T12:00:00Z', standingChargeMicroPerDay: 30_000_000 }),
      ],
    };
    const bill = billOf(ledger, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z');
    expect(bill.standingCharge.byVersion).toEqual([
      { tariffId: 'plan', version: 1, microPerDay: 10_000_000, seconds: 43_200, amountMinor: 5 },
      { tariffId: 'plan', version: 2, microPerDay: 30_000_000, seconds: 43_200, amountMinor: 15 },
    ]);
    expect(bill.standingCharge.amountMinor).toBe(20);
  });
});

describe('tax', () => {
  it('when tariff versions change inside the period then each amount is taxed at the rate of the version it accrued under', () => {
    const ledger: Ledger = {
      readings: [reading('2026-11-20T10:00:00Z', 10_000), reading('2026-11-20T14:00:00Z', 10_000)],
      versions: [
        tariff({ taxBasisPoints: 500, standingChargeMicroPerDay: 20_000_000 }),
        tariff({
          version: 2,
          effectiveFrom: '2026-11-20T12:00:00Z',
          taxBasisPoints: 2000,
          standingChargeMicroPerDay: 20_000_000,
        }),
      ],
    };
    const bill = billOf(ledger, '2026-11-01T00:00:00Z', '2026-11-21T00:00:00Z');
    // v1: 100 (line) + 19.5 days × 20 = 390 standing; v2: 100 (line) + 0.5 day × 20 = 10 standing.
    expect(bill.taxBases).toEqual([
      { tariffId: 'plan', version: 1, taxBasisPoints: 500, taxableMinor: 490 },
      { tariffId: 'plan', version: 2, taxBasisPoints: 2000, taxableMinor: 110 },
    ]);
    // 5 % of 490 + 20 % of 110 = 24.5 + 22 = 46.5 → 47 (a bill from the 1st is rounded once).
    expect(bill.taxMinor).toBe(47);
    expect(bill.taxBasisPoints).toBe(500);
    expect(bill.totalMinor).toBe(600 + 47);
    expect(bill.tariffVersions).toEqual([
      { tariffId: 'plan', version: 1 },
      { tariffId: 'plan', version: 2 },
    ]);
  });

  it('when a month is split into daily bills then their taxes add up to the tax of the whole month', () => {
    const ledger: Ledger = {
      readings: Array.from({ length: 30 }, (_, day) =>
        reading(isoSeconds(epoch('2026-11-01T18:00:00Z') + day * 86_400), 333 + day),
      ),
      versions: [tariff({ taxBasisPoints: 500, standingChargeMicroPerDay: 53_350_000 })],
    };
    const days = Array.from({ length: 31 }, (_, day) =>
      isoSeconds(epoch('2026-11-01T00:00:00Z') + day * 86_400),
    );
    const daily = billsOver(ledger, days);
    const month = billOf(ledger, days[0], days[30]);
    expect(sum(daily, (b) => b.taxMinor)).toBe(month.taxMinor);
    expect(sum(daily, (b) => b.totalMinor)).toBe(month.totalMinor);
    // One bill for the month: tax on its subtotal, rounded once.
    expect(month.taxMinor).toBe(Math.round(month.subtotalMinor * 0.05));
  });
});

describe('running totals', () => {
  const tiered: TariffPricing = {
    kind: 'tiered',
    tiers: [
      { upToWh: 1000, priceMicroPerKwh: 10_000_000 },
      { upToWh: null, priceMicroPerKwh: 20_000_000 },
    ],
  };

  it('when a bill starts after the 1st then tiers continue from the month’s earlier readings', () => {
    const ledger: Ledger = {
      readings: [reading('2026-11-10T00:00:00Z', 800), reading('2026-11-20T00:00:00Z', 600)],
      versions: [tariff({ pricing: tiered })],
    };
    const bill = billOf(ledger, '2026-11-15T00:00:00Z', '2026-11-25T00:00:00Z');
    expect(bill.lineItems.map((l) => [l.label, l.energyWh])).toEqual([
      ['tier 1', 200],
      ['tier 2', 400],
    ]);
    expect(bill.energyWh).toBe(600);
    expect(bill.readingCount).toBe(1);
    expect(bill.runningTotals).toEqual({
      since: '2026-11-01T00:00:00Z',
      priorReadingCount: 1,
      priorReadingsDigest: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
    });
  });

  it('when a bill crosses the 1st then tiers and rounding restart there', () => {
    const ledger: Ledger = {
      readings: [reading('2026-11-30T12:00:00Z', 1500), reading('2026-12-01T12:00:00Z', 1500)],
      versions: [tariff({ pricing: tiered })],
    };
    const bill = billOf(ledger, '2026-11-30T00:00:00Z', '2026-12-02T00:00:00Z');
    expect(bill.lineItems.map((l) => [l.label, l.energyWh, l.amountMinor])).toEqual([
      ['tier 1', 2000, 20],
      ['tier 2', 1000, 20],
    ]);
    expect(bill.runningTotals.since).toBe('2026-11-01T00:00:00Z');
  });

  it('when amounts of a third of a minor unit accrue over three bills then each bill pays the rounded running total', () => {
    // 100 Wh at 3.333333 p/kWh = 0.333 p a reading.
    const ledger: Ledger = {
      readings: ['00:00', '00:30', '01:00'].map((t) => reading(`2026-11-20T${t}:00Z`, 100)),
      versions: [tariff({ pricing: { kind: 'flat', priceMicroPerKwh: 3_333_333 } })],
    };
    const cuts = [
      '2026-11-20T00:00:00Z',
      '2026-11-20T00:30:00Z',
      '2026-11-20T01:00:00Z',
      '2026-11-20T01:30:00Z',
    ];
    expect(billsOver(ledger, cuts).map((b) => b.lineItems[0].amountMinor)).toEqual([0, 1, 0]);
    expect(billOf(ledger, cuts[0], cuts[3]).lineItems[0].amountMinor).toBe(1);
  });

  it('when a prior reading lies outside the month before the bill then it is a BillingError', () => {
    const input: BillInput = {
      periodFrom: '2026-11-15T00:00:00Z',
      periodTo: '2026-11-16T00:00:00Z',
      intervalSeconds: HALF_HOUR,
      subscriptionStart: '2026-01-01T00:00:00Z',
      readings: [],
      priorReadings: [reading('2026-10-31T23:30:00Z', 1)],
      tariffVersions: [tariff()],
      signals: {},
    };
    expect(() => computeBill(input)).toThrow(
      new BillingError('reading 2026-10-31T23:30:00Z lies outside the month before the bill'),
    );
  });
});

describe('estimated readings', () => {
  it('when readings are estimated then they are billed like measured ones and counted with their energy and periods', () => {
    const ledger: Ledger = {
      readings: [
        reading('2026-11-20T00:00:00Z', 400),
        reading('2026-11-20T00:30:00Z', 250, 'estimated'),
        reading('2026-11-20T01:00:00Z', 350, 'estimated'),
      ],
      versions: [tariff()],
    };
    const bill = billOf(ledger, '2026-11-20T00:00:00Z', '2026-11-20T01:30:00Z');
    expect(bill).toMatchObject({
      energyWh: 1000,
      readingCount: 3,
      estimatedReadings: 2,
      estimatedEnergyWh: 600,
      estimatedPeriods: ['2026-11-20T00:30:00Z', '2026-11-20T01:00:00Z'],
    });
    expect(bill.lineItems.map((l) => [l.energyWh, l.amountMinor])).toEqual([[1000, 10]]);
  });

  it('when a reading has no known quality then it is a BillingError', () => {
    const odd = { ...reading('2026-11-20T00:00:00Z', 1), quality: 'guessed' } as unknown as BilledReading;
    expect(() =>
      billOf({ readings: [odd], versions: [tariff()] }, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'),
    ).toThrow(/invalid quality/);
  });
});

describe('splitting a period into bills', () => {
  // A ledger from 2026-03-29 to 2026-04-03 (across the 1st), billed from 2026-03-30: earlier readings count.
  const LEDGER_FROM = epoch('2026-03-29T00:00:00Z');
  const BILL_FROM = epoch('2026-03-30T00:00:00Z');
  const SLOTS = 8 * 48; // 2026-03-30 .. 2026-04-07
  const slotIso = (slot: number): string => isoSeconds(BILL_FROM + slot * HALF_HOUR);
  const priceArb = fc.integer({ min: 0, max: 60_000_000 });
  const pricingArb: fc.Arbitrary<TariffPricing> = fc.oneof(
    priceArb.map((p) => ({ kind: 'flat' as const, priceMicroPerKwh: p })),
    priceArb.map((p) => ({ kind: 'dynamic' as const, basePriceMicroPerKwh: p })),
    fc.tuple(fc.integer({ min: 1, max: 20_000 }), priceArb, priceArb).map(([upTo, a, b]) => ({
      kind: 'tiered' as const,
      tiers: [
        { upToWh: upTo, priceMicroPerKwh: a },
        { upToWh: null, priceMicroPerKwh: b },
      ],
    })),
    fc.tuple(priceArb, priceArb, fc.integer({ min: 1, max: 1439 })).map(([a, b, minute]) => ({
      kind: 'timeOfUse' as const,
      bands: [
        { name: 'day', days: [...WEEKDAYS], startMinute: 0, endMinute: minute, priceMicroPerKwh: a },
        { name: 'night', days: [...WEEKDAYS], startMinute: minute, endMinute: 1440, priceMicroPerKwh: b },
      ],
    })),
  );
  const versionArb = fc.record({
    pricing: pricingArb,
    standingChargeMicroPerDay: fc.integer({ min: 0, max: 100_000_000 }),
    taxBasisPoints: fc.integer({ min: 0, max: 3_000 }),
    utcOffsetMinutes: fc.integer({ min: -720, max: 720 }),
  });
  /** 1 to 3 versions; the later ones take effect at random half hours of the ledger. */
  const versionsArb = fc
    .tuple(versionArb, fc.array(fc.tuple(versionArb, fc.integer({ min: -48, max: SLOTS })), { maxLength: 2 }))
    .map(([first, later]) => [
      tariff(first),
      ...later
        .map(([terms, slot]) => ({ terms, slot }))
        .sort((a, b) => a.slot - b.slot)
        .map(({ terms, slot }, i) => tariff({ ...terms, version: i + 2, effectiveFrom: slotIso(slot) })),
    ]);
  const readingsArb = fc
    .uniqueArray(
      fc.record({
        slot: fc.integer({ min: -48, max: SLOTS - 1 }),
        energyWh: fc.integer({ min: 0, max: 4_000 }),
        estimated: fc.boolean(),
      }),
      { selector: (r) => r.slot, maxLength: 200 },
    )
    .map((rows) =>
      rows.map((r) =>
        reading(
          isoSeconds(BILL_FROM + r.slot * HALF_HOUR),
          r.energyWh,
          r.estimated ? 'estimated' : 'measured',
        ),
      ),
    );
  const signalsArb = fc
    .array(fc.tuple(fc.integer({ min: -48, max: SLOTS - 1 }), priceArb), { maxLength: 40 })
    .map((pairs) => Object.fromEntries(pairs.map(([slot, price]) => [slotIso(slot), price])));
  /** 0 to 4 distinct cut points inside the period: 1 to 5 adjacent bills. */
  const cutsArb = fc.uniqueArray(fc.integer({ min: 1, max: SLOTS - 1 }), { maxLength: 4 });
  const endArb = fc.option(fc.integer({ min: 1, max: SLOTS }), { nil: undefined });

  it('when a period is split into 1 to 5 adjacent bills then standing charges, energy charges, taxes and totals add up to the unsplit bill’s', () => {
    fc.assert(
      fc.property(
        versionsArb,
        readingsArb,
        signalsArb,
        cutsArb,
        endArb,
        (versions, all, signals, cuts, end) => {
          const subscriptionEnd = end === undefined ? undefined : slotIso(end);
          const ledger: Ledger = {
            versions,
            signals,
            subscriptionStart: isoSeconds(LEDGER_FROM),
            subscriptionEnd,
            readings: all.filter((r) => subscriptionEnd === undefined || r.periodStart < subscriptionEnd),
          };
          const points = [0, ...[...cuts].sort((a, b) => a - b), SLOTS].map(slotIso);
          const whole = billOf(ledger, points[0], points[points.length - 1]);
          const parts = billsOver(ledger, points);
          const energyCharges = (b: BillComputation) => b.lineItems.reduce((s, l) => s + l.amountMinor, 0);

          expect(sum(parts, (b) => b.standingCharge.amountMinor)).toBe(whole.standingCharge.amountMinor);
          expect(sum(parts, (b) => b.standingCharge.seconds)).toBe(whole.standingCharge.seconds);
          expect(sum(parts, energyCharges)).toBe(energyCharges(whole));
          expect(sum(parts, (b) => b.taxMinor)).toBe(whole.taxMinor);
          expect(sum(parts, (b) => b.totalMinor)).toBe(whole.totalMinor);
          expect(sum(parts, (b) => b.energyWh)).toBe(whole.energyWh);
          expect(sum(parts, (b) => b.estimatedReadings)).toBe(whole.estimatedReadings);
          expect(sum(parts, (b) => b.estimatedEnergyWh)).toBe(whole.estimatedEnergyWh);
          // Line by line, too: each (version, label, price) line adds up.
          const byLine = (bills: BillComputation[]) => {
            const lines = new Map<string, [number, number]>();
            for (const line of bills.flatMap((b) => b.lineItems)) {
              const key = `${line.tariffVersion}/${line.label}/${line.priceMicroPerKwh}`;
              const [wh, minor] = lines.get(key) ?? [0, 0];
              lines.set(key, [wh + line.energyWh, minor + line.amountMinor]);
            }
            return new Map([...lines].sort(([a], [b]) => (a < b ? -1 : 1)));
          };
          expect(byLine(parts)).toEqual(byLine([whole]));
          for (const bill of parts) {
            expect(bill.lineItems.every((l) => l.amountMinor >= 0)).toBe(true);
            expect(bill.totalMinor).toBe(bill.subtotalMinor + bill.taxMinor);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
