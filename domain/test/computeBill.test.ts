import fc from 'fast-check';
import {
  type TariffPricing,
  type TariffRecord,
  BillingError,
  computeBill,
  type BillInput,
  type BilledReading,
} from '@smartmeter/domain';

const DAY = '2026-03-02'; // a Monday
function tariff(pricing: TariffPricing, overrides: Partial<TariffRecord> = {}): TariffRecord {
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
    pricing,
    ...overrides,
  };
}
const at = (
  time: string,
  energyWh: number,
  quality: BilledReading['quality'] = 'measured',
): BilledReading => ({
  periodStart: time,
  energyWh,
  quality,
  ciphertext: `c-${time}`,
});
function input(
  readings: BilledReading[],
  versions: TariffRecord[],
  overrides: Partial<BillInput> = {},
): BillInput {
  return {
    periodFrom: `${DAY}T00:00:00Z`,
    periodTo: '2026-03-03T00:00:00Z',
    intervalSeconds: 1800,
    subscriptionStart: '2026-01-01T00:00:00Z',
    readings,
    priorReadings: [],
    tariffVersions: versions,
    signals: {},
    ...overrides,
  };
}
const flat = tariff({ kind: 'flat', priceMicroPerKwh: 11_760_000 }); // 11.76 p/kWh
const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const tou = tariff({
  kind: 'timeOfUse',
  bands: [
    { name: 'peak', days: [...weekdays], startMinute: 420, endMinute: 1380, priceMicroPerKwh: 30_000_000 },
    {
      name: 'off-peak',
      days: [...weekdays],
      startMinute: 1380,
      endMinute: 420,
      priceMicroPerKwh: 10_000_000,
    },
    { name: 'weekend', days: ['sat', 'sun'], startMinute: 0, endMinute: 1440, priceMicroPerKwh: 15_000_000 },
  ],
});

describe('computeBill', () => {
  it('when a flat tariff bills readings then each line is energy × price rounded half up', () => {
    const bill = computeBill(input([at(`${DAY}T00:00:00Z`, 1000), at(`${DAY}T00:30:00Z`, 500)], [flat]));
    // 1500 Wh × 11.76 p/kWh = 17.64 p → 18
    expect(bill.lineItems).toEqual([
      {
        label: 'flat',
        tariffId: 'plan',
        tariffVersion: 1,
        energyWh: 1500,
        priceMicroPerKwh: 11_760_000,
        amountMinor: 18,
      },
    ]);
    expect(bill).toMatchObject({ totalMinor: 18, energyWh: 1500, readingCount: 2, currency: 'GBP' });
  });

  it('when an amount is exactly half a minor unit then it rounds up', () => {
    const half = tariff({ kind: 'flat', priceMicroPerKwh: 500_000 }); // 0.5 p/kWh
    expect(computeBill(input([at(`${DAY}T00:00:00Z`, 1000)], [half])).lineItems[0].amountMinor).toBe(1);
    expect(computeBill(input([at(`${DAY}T00:00:00Z`, 999)], [half])).lineItems[0].amountMinor).toBe(0);
  });

  it.each([
    ['06:30 (before peak)', `${DAY}T06:30:00Z`, 'off-peak'],
    ['07:00 (peak starts, inclusive)', `${DAY}T07:00:00Z`, 'peak'],
    ['22:30 (last peak period)', `${DAY}T22:30:00Z`, 'peak'],
    ['23:00 (peak ends, exclusive)', `${DAY}T23:00:00Z`, 'off-peak'],
    ['00:00 (after midnight, wrapped band)', `${DAY}T00:00:00Z`, 'off-peak'],
    ['Saturday 00:00 (weekday changes)', '2026-03-07T00:00:00Z', 'weekend'],
    ['Friday 23:30', '2026-03-06T23:30:00Z', 'off-peak'],
  ])('when a time-of-use reading starts at %s then it is priced in band %s', (_label, time, band) => {
    const bill = computeBill(
      input([at(time, 100)], [tou], { periodFrom: '2026-03-02T00:00:00Z', periodTo: '2026-03-09T00:00:00Z' }),
    );
    expect(bill.lineItems.map((line) => line.label)).toEqual([band]);
  });

  it('when the tariff has a UTC offset then bands follow local time', () => {
    const local = { ...tou, utcOffsetMinutes: 60 };
    // 06:30Z is 07:30 local: peak
    expect(computeBill(input([at(`${DAY}T06:30:00Z`, 100)], [local])).lineItems[0].label).toBe('peak');
  });

  it('when a reading crosses a tier boundary then its energy is split between the tiers', () => {
    const tiered = tariff({
      kind: 'tiered',
      tiers: [
        { upToWh: 1000, priceMicroPerKwh: 10_000_000 },
        { upToWh: null, priceMicroPerKwh: 20_000_000 },
      ],
    });
    const bill = computeBill(input([at(`${DAY}T00:00:00Z`, 600), at(`${DAY}T00:30:00Z`, 600)], [tiered]));
    expect(bill.lineItems.map((l) => [l.label, l.energyWh, l.amountMinor])).toEqual([
      ['tier 1', 1000, 10],
      ['tier 2', 200, 4],
    ]);
  });

  it('when a dynamic tariff has signals for some periods then those use the signal and the rest the base price', () => {
    const dynamic = tariff({ kind: 'dynamic', basePriceMicroPerKwh: 20_000_000 });
    const bill = computeBill(
      input(
        [at(`${DAY}T00:00:00Z`, 1000), at(`${DAY}T00:30:00Z`, 1000), at(`${DAY}T01:00:00Z`, 1000)],
        [dynamic],
        {
          signals: { [`${DAY}T00:30:00Z`]: 5_000_000, [`${DAY}T01:00:00Z`]: 5_000_000 },
        },
      ),
    );
    expect(bill.lineItems.map((l) => [l.label, l.energyWh, l.priceMicroPerKwh])).toEqual([
      ['base', 1000, 20_000_000],
      ['signal', 2000, 5_000_000],
    ]);
  });

  it('when standing charge and tax apply then the total is lines + standing charge + tax, each a rounded running total', () => {
    const withCharges = tariff(
      { kind: 'flat', priceMicroPerKwh: 11_760_000 },
      { standingChargeMicroPerDay: 53_350_000, taxBasisPoints: 500 },
    );
    const bill = computeBill(
      input([at(`${DAY}T00:00:00Z`, 10_000)], [withCharges], { periodTo: '2026-03-04T00:00:00Z' }),
    );
    // Running totals from 2026-03-01: 160.05 rounded at the end (160) minus 53.35 at the start (53).
    expect(bill.standingCharge).toEqual({
      days: 2,
      seconds: 172_800,
      amountMinor: 107,
      byVersion: [
        { tariffId: 'plan', version: 1, microPerDay: 53_350_000, seconds: 172_800, amountMinor: 107 },
      ],
    });
    expect(bill.subtotalMinor).toBe(118 + 107);
    // Running tax: 5 % of (118 + 160) = 13.9 → 14 at the end, 5 % of 53 = 2.65 → 3 at the start.
    expect(bill.taxMinor).toBe(11);
    expect(bill.taxBases).toEqual([{ tariffId: 'plan', version: 1, taxBasisPoints: 500, taxableMinor: 225 }]);
    expect(bill.totalMinor).toBe(236);
  });

  it('when the tariff changes in the middle of the period then each reading uses the version in force at its start', () => {
    const v2 = tariff(
      { kind: 'flat', priceMicroPerKwh: 20_000_000 },
      { version: 2, effectiveFrom: `${DAY}T12:00:00Z` },
    );
    const bill = computeBill(input([at(`${DAY}T11:30:00Z`, 1000), at(`${DAY}T12:00:00Z`, 1000)], [v2, flat]));
    expect(bill.lineItems.map((l) => [l.tariffVersion, l.energyWh])).toEqual([
      [1, 1000],
      [2, 1000],
    ]);
    expect(bill.tariffVersions).toEqual([
      { tariffId: 'plan', version: 1 },
      { tariffId: 'plan', version: 2 },
    ]);
  });

  it('when periods have no reading then they are listed as missing and not estimated', () => {
    const bill = computeBill(
      input([at(`${DAY}T00:00:00Z`, 100), at(`${DAY}T01:30:00Z`, 100)], [flat], {
        periodTo: `${DAY}T02:00:00Z`,
      }),
    );
    expect(bill.expectedReadings).toBe(4);
    expect(bill.missingPeriods).toEqual([`${DAY}T00:30:00Z`, `${DAY}T01:00:00Z`]);
    expect(bill.energyWh).toBe(200);
  });

  it('when no tariff version is in force yet then billing fails with BillingError', () => {
    const late = tariff({ kind: 'flat', priceMicroPerKwh: 1 }, { effectiveFrom: '2026-04-01T00:00:00Z' });
    expect(() => computeBill(input([at(`${DAY}T00:00:00Z`, 1)], [late]))).toThrow(BillingError);
  });
});

describe('computeBill properties', () => {
  const slots = 48;
  const readingsArb = fc
    .array(fc.tuple(fc.integer({ min: 0, max: slots - 1 }), fc.integer({ min: 0, max: 5_000 })), {
      maxLength: slots,
    })
    .map((pairs) => {
      const bySlot = new Map(pairs);
      return [...bySlot].map(([slot, wh]) =>
        at(
          new Date(Date.parse(`${DAY}T00:00:00Z`) + slot * 1_800_000).toISOString().replace('.000Z', 'Z'),
          wh,
        ),
      );
    });
  const priceArb = fc.integer({ min: 0, max: 100_000_000 });
  const pricingArb: fc.Arbitrary<TariffPricing> = fc.oneof(
    priceArb.map((p) => ({ kind: 'flat' as const, priceMicroPerKwh: p })),
    priceArb.map((p) => ({ kind: 'dynamic' as const, basePriceMicroPerKwh: p })),
    fc.tuple(fc.integer({ min: 1, max: 50_000 }), priceArb, priceArb).map(([upTo, a, b]) => ({
      kind: 'tiered' as const,
      tiers: [
        { upToWh: upTo, priceMicroPerKwh: a },
        { upToWh: null, priceMicroPerKwh: b },
      ],
    })),
    fc.constant(tou.pricing),
  );
  const tariffArb = fc
    .tuple(pricingArb, fc.integer({ min: 0, max: 100_000_000 }), fc.integer({ min: 0, max: 3_000 }))
    .map(([pricing, standing, tax]) =>
      tariff(pricing, { standingChargeMicroPerDay: standing, taxBasisPoints: tax }),
    );

  it('the line items, standing charge and tax always add up to the total', () => {
    fc.assert(
      fc.property(readingsArb, tariffArb, (readings, t) => {
        const bill = computeBill(input(readings, [t]));
        const sum =
          bill.lineItems.reduce((s, l) => s + l.amountMinor, 0) +
          bill.standingCharge.amountMinor +
          bill.taxMinor;
        expect(sum).toBe(bill.totalMinor);
      }),
    );
  });

  it('all energy is billed exactly once, however tiers split it', () => {
    fc.assert(
      fc.property(readingsArb, tariffArb, (readings, t) => {
        const bill = computeBill(input(readings, [t]));
        const measured = readings.reduce((s, r) => s + r.energyWh, 0);
        expect(bill.lineItems.reduce((s, l) => s + l.energyWh, 0)).toBe(measured);
        expect(bill.readingCount + bill.missingPeriods.length).toBe(bill.expectedReadings);
      }),
    );
  });

  it('the bill does not depend on the order in which readings were submitted', () => {
    fc.assert(
      fc.property(readingsArb, tariffArb, fc.integer(), (readings, t, seed) => {
        const shuffled = [...readings].sort(
          (a, b) => ((a.energyWh * 31 + seed) % 7) - ((b.energyWh * 31 + seed) % 7),
        );
        expect(computeBill(input(shuffled, [t]))).toEqual(computeBill(input(readings, [t])));
      }),
    );
  });

  it('each line is within half a minor unit of its exact amount', () => {
    fc.assert(
      fc.property(readingsArb, tariffArb, (readings, t) => {
        for (const line of computeBill(input(readings, [t])).lineItems) {
          const exact = (line.energyWh * line.priceMicroPerKwh) / 1e9;
          expect(Math.abs(line.amountMinor - exact)).toBeLessThanOrEqual(0.5 + 1e-9);
        }
      }),
    );
  });
});
