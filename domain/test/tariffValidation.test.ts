import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateTariffDefinition } from '@smartmeter/domain';

const base = {
  tariffId: 'tou-2026',
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 53_350_000,
  taxBasisPoints: 500,
  pricing: { kind: 'flat', priceMicroPerKwh: 11_760_000 },
};
const all = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const band = (name: string, startMinute: number, endMinute: number, days = all) => ({
  name,
  days,
  startMinute,
  endMinute,
  priceMicroPerKwh: 10_000_000,
});
const errorsOf = (value: unknown) => validateTariffDefinition(value).errors;

describe('tariff validation', () => {
  it.each([
    ['flat', { kind: 'flat', priceMicroPerKwh: 11_760_000 }],
    ['dynamic', { kind: 'dynamic', basePriceMicroPerKwh: 20_000_000 }],
    [
      'tiered',
      {
        kind: 'tiered',
        tiers: [
          { upToWh: 100_000, priceMicroPerKwh: 1 },
          { upToWh: null, priceMicroPerKwh: 2 },
        ],
      },
    ],
    [
      'time-of-use with a band across midnight',
      { kind: 'timeOfUse', bands: [band('day', 420, 1380), band('night', 1380, 420)] },
    ],
  ])('when a %s tariff is well formed then it is accepted', (_label, pricing) => {
    const result = validateTariffDefinition({ ...base, pricing });
    expect(result.errors).toEqual([]);
    expect(result.tariff?.pricing).toEqual(pricing);
  });

  it('when bands leave a gap then the first uncovered minute is named', () => {
    expect(
      errorsOf({
        ...base,
        pricing: { kind: 'timeOfUse', bands: [band('day', 420, 1380), band('night', 0, 420)] },
      }),
    ).toEqual(['pricing.bands: no band covers sun at 23:00']);
  });

  it('when bands overlap then the overlap is named', () => {
    expect(
      errorsOf({
        ...base,
        pricing: { kind: 'timeOfUse', bands: [band('day', 0, 1440), band('evening', 1080, 1320, ['mon'])] },
      }),
    ).toEqual(['pricing.bands: evening overlaps day on mon at 18:00']);
  });

  it('when a weekday has no band at all then it is a gap', () => {
    expect(
      errorsOf({
        ...base,
        pricing: { kind: 'timeOfUse', bands: [band('week', 0, 1440, ['mon', 'tue', 'wed', 'thu', 'fri'])] },
      }),
    ).toEqual(['pricing.bands: no band covers sun at 00:00']);
  });

  it('when several fields are wrong then every problem is reported at once, by field', () => {
    const errors = errorsOf({
      ...base,
      currency: 'pounds',
      taxBasisPoints: -1,
      standingChargeMicroPerDay: 0.5,
      colour: 'red',
      pricing: { kind: 'flat', priceMicroPerKwh: -3 },
    });
    expect(errors).toEqual([
      'colour: unknown field',
      'currency: a 3-letter ISO 4217 code such as GBP',
      'standingChargeMicroPerDay: a whole number from 0 to 100000000000',
      'taxBasisPoints: a whole number from 0 to 10000',
      'pricing.priceMicroPerKwh: a whole, non-negative number of micro-minor units per kWh (e.g. 11760000 for 11.76 p/kWh)',
    ]);
  });

  it.each([
    [
      'a price as a decimal string (wrong units)',
      { kind: 'flat', priceMicroPerKwh: '11.76' },
      /priceMicroPerKwh: a whole/,
    ],
    ['an unknown kind', { kind: 'seasonal' }, /pricing.kind: one of/],
    [
      'tiers that do not increase',
      {
        kind: 'tiered',
        tiers: [
          { upToWh: 500, priceMicroPerKwh: 1 },
          { upToWh: 400, priceMicroPerKwh: 1 },
          { upToWh: null, priceMicroPerKwh: 1 },
        ],
      },
      /tiers\[1\]\.upToWh: a whole number of Wh above the previous tier's \(500\)/,
    ],
    [
      'a last tier with an upper bound',
      { kind: 'tiered', tiers: [{ upToWh: 500, priceMicroPerKwh: 1 }] },
      /tiers\[0\]\.upToWh: null for the last tier/,
    ],
    [
      'a band that starts where it ends',
      { kind: 'timeOfUse', bands: [band('x', 60, 60)] },
      /endMinute: differs from startMinute/,
    ],
    [
      'a band on an unknown day',
      { kind: 'timeOfUse', bands: [band('x', 0, 1440, ['funday'])] },
      /days: a list of/,
    ],
  ])('when pricing has %s then it is refused', (_label, pricing, message) => {
    expect(errorsOf({ ...base, pricing }).join('\n')).toMatch(message);
  });

  it('when the UTC offset is not a whole quarter hour then it is refused', () => {
    expect(errorsOf({ ...base, utcOffsetMinutes: 50 })).toEqual([
      'utcOffsetMinutes: a multiple of 15 minutes',
    ]);
  });
});

describe('example tariffs', () => {
  it('when examples/tariffs/time-of-use.json is validated then it is a valid tariff', () => {
    const path = join(__dirname, '..', '..', 'examples', 'tariffs', 'time-of-use.json');
    expect(validateTariffDefinition(JSON.parse(readFileSync(path, 'utf8'))).errors).toEqual([]);
  });
});
