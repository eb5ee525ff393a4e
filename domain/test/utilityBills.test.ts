import { encryptReading, newSessionKey, keyIdOf } from '@smartmeter/crypto';
import {
  BillingError,
  computeBill,
  gasLitresToWh,
  openReadings,
  UK_GAS_VOLUME_CORRECTION_PPM,
  utilityOf,
  validateTariffDefinition,
  type BilledReading,
  type BillInput,
  type TariffRecord,
} from '@smartmeter/domain';

const ukGas = { calorificValueKjPerM3: 39_500, volumeCorrectionPpm: UK_GAS_VOLUME_CORRECTION_PPM };

function tariff(overrides: Partial<TariffRecord>): TariffRecord {
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
    pricing: { kind: 'flat', priceMicroPerKwh: 6_000_000 },
    ...overrides,
  };
}
const gasTariff = tariff({ tariffId: 'gas', utility: 'gas', gasConversion: ukGas }); // 6 p/kWh
const waterTariff = tariff({
  tariffId: 'water',
  utility: 'water',
  pricing: { kind: 'flat', priceMicroPerKwh: 212_340_000 }, // £2.1234 per m³
  standingChargeMicroPerDay: 25_000_000, // 25 p a day
});

/** Half-hourly readings of 2026-03-02 (or the given day) with these quantities. */
function readings(quantities: number[], day = '2026-03-02'): BilledReading[] {
  const start = Date.parse(`${day}T00:00:00Z`) / 1000;
  return quantities.map((q, n) => {
    const periodStart = new Date((start + n * 1800) * 1000).toISOString().replace('.000Z', 'Z');
    return { periodStart, energyWh: q, quality: 'measured', ciphertext: `c-${periodStart}` };
  });
}

function input(overrides: Partial<BillInput>): BillInput {
  return {
    periodFrom: '2026-03-02T00:00:00Z',
    periodTo: '2026-03-03T00:00:00Z',
    intervalSeconds: 1800,
    subscriptionStart: '2026-01-01T00:00:00Z',
    readings: [],
    priorReadings: [],
    tariffVersions: [],
    signals: {},
    ...overrides,
  };
}

describe('gas bills: litres converted to kWh as a utility bill does', () => {
  it('bills the day’s 3 m³ as 33,662 Wh (one rounding over the volume) at 6 p/kWh: 202 p', () => {
    // 48 half hours of 62.5 L on average, unevenly: 3,000 L. 3 × 1.02264 × 39.5 / 3.6 = 33.6619 kWh.
    const litres = Array.from({ length: 48 }, (_, n) => (n % 2 === 0 ? 60 : 65));
    const bill = computeBill(
      input({ utility: 'gas', readings: readings(litres), tariffVersions: [gasTariff] }),
    );
    expect(gasLitresToWh(3_000, ukGas)).toBe(33_662);
    expect(bill.energyWh).toBe(33_662);
    expect(bill.metered).toEqual({ utility: 'gas', litres: 3_000, estimatedLitres: 0 });
    expect(bill.lineItems).toEqual([expect.objectContaining({ energyWh: 33_662, amountMinor: 202 })]);
    expect(bill.totalMinor).toBe(202); // 33.662 kWh × 6 p = 201.97 p
  });

  it('converts the running volume from the 1st, so a bill after the 1st prices what the whole month would', () => {
    const month = readings(Array.from({ length: 48 }, () => 7));
    const secondDay = readings(
      Array.from({ length: 48 }, () => 7),
      '2026-03-03',
    );
    const whole = computeBill(
      input({
        utility: 'gas',
        periodFrom: '2026-03-02T00:00:00Z',
        periodTo: '2026-03-04T00:00:00Z',
        readings: [...month, ...secondDay],
        tariffVersions: [gasTariff],
        subscriptionStart: '2026-03-02T00:00:00Z',
      }),
    );
    const first = computeBill(
      input({
        utility: 'gas',
        readings: month,
        tariffVersions: [gasTariff],
        subscriptionStart: '2026-03-02T00:00:00Z',
      }),
    );
    const second = computeBill(
      input({
        utility: 'gas',
        periodFrom: '2026-03-03T00:00:00Z',
        periodTo: '2026-03-04T00:00:00Z',
        readings: secondDay,
        priorReadings: month.filter((r) => r.periodStart >= '2026-03-01T00:00:00Z'),
        tariffVersions: [gasTariff],
        subscriptionStart: '2026-03-02T00:00:00Z',
      }),
    );
    // 7 L a half hour is 78.5 Wh: per-period rounding would give 79 × 96 = 7,584 Wh; the running volume gives
    // gasLitresToWh(672) = 7,540 Wh, split 3,770 + 3,770 between the two days.
    expect(whole.energyWh).toBe(gasLitresToWh(672, ukGas));
    expect(whole.energyWh).toBe(7_540);
    expect([first.energyWh, second.energyWh]).toEqual([3_770, 3_770]);
    expect(first.totalMinor + second.totalMinor).toBe(whole.totalMinor);
  });

  it('refuses a gas tariff for an electricity subscription, and one without its conversion', () => {
    expect(() => computeBill(input({ readings: readings([100]), tariffVersions: [gasTariff] }))).toThrow(
      new BillingError('tariff gas version 1 prices gas; the subscription meters electricity'),
    );
    const noConversion: TariffRecord = { ...gasTariff, gasConversion: undefined };
    expect(() =>
      computeBill(input({ utility: 'gas', readings: readings([100]), tariffVersions: [noConversion] })),
    ).toThrow(new BillingError('gas tariff gas version 1 has no gasConversion'));
  });
});

describe('water bills: litres at a price per m³ with a standing charge', () => {
  it('bills 558 L at £2.1234/m³ and a day’s standing charge: 118.49 + 25 = 143 p', () => {
    const litres = Array.from({ length: 48 }, (_, n): number => (n === 14 ? 120 : n % 8 === 0 ? 73 : 0));
    const bill = computeBill(
      input({ utility: 'water', readings: readings(litres), tariffVersions: [waterTariff] }),
    );
    expect(litres.reduce((a, b) => a + b, 0)).toBe(558);
    expect(bill.metered).toEqual({ utility: 'water', litres: 558, estimatedLitres: 0 });
    expect(bill.energyWh).toBe(558); // water bills carry litres where electricity carries Wh
    expect(bill.lineItems).toEqual([expect.objectContaining({ amountMinor: 118 })]); // 0.558 × 212.34 p
    expect(bill.standingCharge.amountMinor).toBe(25);
    expect(bill.totalMinor).toBe(143);
  });

  it('keeps electricity bills as they were: no metered volume', () => {
    const bill = computeBill(input({ readings: readings([100, 200]), tariffVersions: [tariff({})] }));
    expect(bill.metered).toBeUndefined();
    expect(bill.energyWh).toBe(300);
  });
});

describe('tariffs per utility', () => {
  const base = {
    tariffId: 'gas-2027',
    effectiveFrom: '2027-01-01T00:00:00Z',
    currency: 'GBP',
    utcOffsetMinutes: 0,
    standingChargeMicroPerDay: 29_000_000,
    taxBasisPoints: 500,
    pricing: { kind: 'flat', priceMicroPerKwh: 6_240_000 },
  };

  it('accepts a gas tariff with its calorific value and volume correction, and a water tariff without', () => {
    expect(validateTariffDefinition({ ...base, utility: 'gas', gasConversion: ukGas })).toEqual({
      errors: [],
      tariff: { ...base, utility: 'gas', gasConversion: ukGas },
    });
    expect(validateTariffDefinition({ ...base, utility: 'water' }).tariff?.utility).toBe('water');
    expect(validateTariffDefinition(base).tariff?.utility).toBeUndefined();
  });

  it('lists every problem by field: an unknown utility, a missing or implausible conversion, one on water', () => {
    expect(validateTariffDefinition({ ...base, utility: 'steam' }).errors).toEqual([
      'utility: one of electricity, gas, water',
    ]);
    expect(validateTariffDefinition({ ...base, utility: 'gas' }).errors).toEqual([
      'gasConversion: a gas tariff needs { calorificValueKjPerM3, volumeCorrectionPpm }, e.g. { "calorificValueKjPerM3": 39500, "volumeCorrectionPpm": 1022640 }',
    ]);
    expect(
      validateTariffDefinition({
        ...base,
        utility: 'gas',
        gasConversion: { calorificValueKjPerM3: 3_950, volumeCorrectionPpm: 1.02, extra: 1 },
      }).errors,
    ).toEqual([
      'gasConversion.extra: unknown field',
      'gasConversion.calorificValueKjPerM3: must be an integer from 30000 to 50000 kJ/m³',
      'gasConversion.volumeCorrectionPpm: must be an integer from 900000 to 1100000',
    ]);
    expect(validateTariffDefinition({ ...base, utility: 'water', gasConversion: ukGas }).errors).toEqual([
      'gasConversion: only a gas tariff converts volume to energy, this one prices water',
    ]);
  });
});

describe('readings of another utility than the subscription’s', () => {
  it('are set aside as INVALID_READING, never billed', () => {
    const key = newSessionKey();
    const slot = (n: number) => ({
      channel: 'northgrid',
      subscriptionId: 'sub_000000000000000000000001',
      sequence: n + 1,
      periodStart: `2026-03-02T0${n}:00:00Z`,
    });
    const record = (n: number, utility: 'gas' | 'electricity', unit: string) => ({
      docType: 'reading' as const,
      ...slot(n),
      submittedAt: '2026-03-02T09:00:00Z',
      txId: `tx-${n}`,
      ...encryptReading({ energyWh: 40, utility, unit, quality: 'measured' }, key, slot(n)),
    });
    const opened = openReadings(
      [record(1, 'gas', 'L'), record(2, 'electricity', 'Wh')],
      key,
      'northgrid',
      keyIdOf(key),
      'gas',
    );
    expect(opened.billed.map((r) => r.periodStart)).toEqual(['2026-03-02T01:00:00Z']);
    expect(opened.invalid).toEqual([
      {
        periodStart: '2026-03-02T02:00:00Z',
        code: 'INVALID_READING',
        reason: 'is a electricity reading; the subscription meters gas',
      },
    ]);
    expect(utilityOf({})).toBe('electricity');
  });
});
