import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  PricePolicyLimits,
  averagePowerW,
  policyPrice,
  policyRegionsFor,
  validatePricePolicy,
  type PricePolicyBand,
  type PricePolicyDefinition,
} from '@smartmeter/domain';

/**
 * The authority's price policy (domain/src/pricePolicy.ts): P = ⌊load × 3600 / periodSeconds⌋ W, the band with
 * fromW ≤ P < toW, raw = base + ⌊slope × (P − fromW) / 1000⌋, price = min(cap, max(floor, raw)).
 */
const HOUR = 3600; // with one-hour periods, P is the load in Wh: the boundaries below are exact
const QUARTER = 900;

const policy: PricePolicyDefinition = {
  regionCode: 'north',
  effectiveFrom: '2026-01-01T00:00:00Z',
  bands: [
    { fromW: 0, toW: 100_000, basePriceMicroPerKwh: 10_000_000, slopeMicroPerKwhPerKw: 0 },
    { fromW: 100_000, toW: 500_000, basePriceMicroPerKwh: 12_000_000, slopeMicroPerKwhPerKw: 15_000 },
    { fromW: 500_000, toW: null, basePriceMicroPerKwh: 20_000_000, slopeMicroPerKwhPerKw: 40_000 },
  ],
  floorMicroPerKwh: 5_000_000,
  capMicroPerKwh: 60_000_000,
};

/** The policy with some of its fields replaced (or removed with undefined), as untyped input. */
function variant(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...policy, bands: policy.bands.map((b) => ({ ...b })), ...changes };
}
function withBand(index: number, changes: Partial<Record<keyof PricePolicyBand | 'name', unknown>>) {
  return variant({ bands: policy.bands.map((b, i) => (i === index ? { ...b, ...changes } : { ...b })) });
}

describe('validatePricePolicy', () => {
  it('when the policy is valid then it is returned unchanged, without errors', () => {
    expect(validatePricePolicy(variant({}))).toEqual({ policy, errors: [] });
  });

  it('when the shipped example policy is validated then it passes', () => {
    const example: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'examples', 'price-policies', 'north.json'), 'utf8'),
    );
    expect(validatePricePolicy(example).errors).toEqual([]);
  });

  it('when there is one flat band from 0 W, open-ended, then it is valid', () => {
    const flat = variant({
      bands: [{ fromW: 0, toW: null, basePriceMicroPerKwh: 7, slopeMicroPerKwhPerKw: 0 }],
      floorMicroPerKwh: 0,
      capMicroPerKwh: 7,
    });
    expect(validatePricePolicy(flat).errors).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a gap between bands', withBand(1, { fromW: 100_001 }), /^bands\[1\]\.fromW: a gap from 100000 W/],
    ['an overlap', withBand(1, { fromW: 99_999 }), /^bands\[1\]\.fromW: overlaps bands\[0\]/],
    ['a first band not starting at 0', withBand(0, { fromW: 1 }), /^bands\[0\]\.fromW: the first band/],
    ['a last band with a toW', withBand(2, { toW: 900_000 }), /^bands\[2\]\.toW: .*open-ended/],
    ['a last band without toW', withBand(2, { toW: undefined }), /^bands\[2\]\.toW: .*open-ended/],
    ['a band that ends where it starts', withBand(0, { toW: 0 }), /^bands\[0\]\.toW: must be above fromW/],
    ['a middle band with toW null', withBand(1, { toW: null }), /^bands\[1\]\.toW: must be a whole number/],
    [
      'a negative base price',
      withBand(0, { basePriceMicroPerKwh: -1 }),
      /^bands\[0\]\.basePriceMicroPerKwh: must be a whole number from 0/,
    ],
    [
      'a non-integer slope',
      withBand(1, { slopeMicroPerKwhPerKw: 1.5 }),
      /^bands\[1\]\.slopeMicroPerKwhPerKw: must be a whole number/,
    ],
    [
      'a slope above the limit',
      withBand(1, { slopeMicroPerKwhPerKw: PricePolicyLimits.maxSlopeMicroPerKwhPerKw + 1 }),
      /^bands\[1\]\.slopeMicroPerKwhPerKw: must be a whole number from 0 to 1000000000$/,
    ],
    [
      'a toW above the largest power',
      withBand(1, { toW: PricePolicyLimits.maxPowerW + 1 }),
      /^bands\[1\]\.toW: must be a whole number from 0 to 1000000000000$/,
    ],
    ['a price given as a string', withBand(0, { basePriceMicroPerKwh: '10' }), /^bands\[0\]\.basePrice/],
    [
      'a cap above the largest price',
      variant({ capMicroPerKwh: PricePolicyLimits.maxPriceMicroPerKwh + 1 }),
      /^capMicroPerKwh: must be a whole number from 0 to 1000000000000$/,
    ],
    ['a negative floor', variant({ floorMicroPerKwh: -5 }), /^floorMicroPerKwh: must be a whole number/],
    [
      'a floor above the cap',
      variant({ floorMicroPerKwh: 60_000_001 }),
      /^capMicroPerKwh: must be at least floorMicroPerKwh \(60000001\)/,
    ],
    ['an unknown field', variant({ currency: 'GBP' }), /^currency: unknown field/],
    ['an unknown band field', withBand(0, { name: 'night' }), /^bands\[0\]\.name: unknown field/],
    ['an upper-case region', variant({ regionCode: 'North/D3' }), /^regionCode: /],
    ['an empty region', variant({ regionCode: '' }), /^regionCode: /],
    ['a region with an empty area', variant({ regionCode: 'north//d3' }), /^regionCode: /],
    ['a region seven areas deep', variant({ regionCode: 'a/b/c/d/e/f/g' }), /^regionCode: /],
    ['no region', variant({ regionCode: undefined }), /^regionCode: /],
    [
      'effectiveFrom off a 5-minute boundary',
      variant({ effectiveFrom: '2026-01-01T00:01:00Z' }),
      /^effectiveFrom: .*5-minute boundary/,
    ],
    [
      'effectiveFrom with milliseconds',
      variant({ effectiveFrom: '2026-01-01T00:00:00.000Z' }),
      /^effectiveFrom: /,
    ],
    [
      'effectiveFrom with an offset',
      variant({ effectiveFrom: '2026-01-01T01:00:00+01:00' }),
      /^effectiveFrom/,
    ],
    ['no bands', variant({ bands: [] }), /^bands: must be an array of 1 to 16 bands/],
    [
      '17 bands',
      variant({
        bands: Array.from({ length: 17 }, (_, i) => ({
          fromW: i * 10,
          toW: i === 16 ? null : (i + 1) * 10,
          basePriceMicroPerKwh: 1,
          slopeMicroPerKwhPerKw: 0,
        })),
      }),
      /^bands: must be an array of 1 to 16 bands/,
    ],
    ['a band that is no object', variant({ bands: [7] }), /^bands\[0\]: must be an object/],
  ])('when the policy has %s then it is refused, naming the field', (_label, raw, message) => {
    const result = validatePricePolicy(raw);
    expect(result.policy).toBeUndefined();
    expect(result.errors).toEqual([expect.stringMatching(message)]);
  });

  it('when effectiveFrom is no real calendar time (30 February) then it is refused', () => {
    // The chaincode's parseIsoSeconds refuses this time; the policy's own validation should too, since
    // policyInForce compares effectiveFrom as text: "2026-02-30T00:00:00Z" would be in force from 1 March.
    const result = validatePricePolicy(variant({ effectiveFrom: '2026-02-30T00:00:00Z' }));
    expect(result.errors).toEqual([expect.stringMatching(/^effectiveFrom: /)]);
  });

  it('when several fields are wrong then every error is reported at once', () => {
    const raw = {
      ...variant({ regionCode: 'North', effectiveFrom: '2026-01-01T00:00:30Z', extra: true }),
      floorMicroPerKwh: 2.5,
      bands: [
        { fromW: 0, toW: 100, basePriceMicroPerKwh: -1, slopeMicroPerKwhPerKw: 0 },
        { fromW: 100, toW: 7, basePriceMicroPerKwh: 1, slopeMicroPerKwhPerKw: 0, colour: 'red' },
      ],
    };
    const { policy: accepted, errors } = validatePricePolicy(raw);
    expect(accepted).toBeUndefined();
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^extra: unknown field/),
        expect.stringMatching(/^regionCode: /),
        expect.stringMatching(/^effectiveFrom: /),
        expect.stringMatching(/^floorMicroPerKwh: /),
        expect.stringMatching(/^bands\[0\]\.basePriceMicroPerKwh: /),
        expect.stringMatching(/^bands\[1\]\.colour: unknown field/),
        expect.stringMatching(/^bands\[1\]\.toW: .*open-ended/),
      ]),
    );
    expect(errors).toHaveLength(7);
  });

  it.each([null, [], 'policy', 42])('when the policy is %p then it must be a JSON object', (raw) => {
    expect(validatePricePolicy(raw)).toEqual({ errors: ['the policy must be a JSON object'] });
  });
});

describe('averagePowerW', () => {
  it.each<[bigint, number, number]>([
    [2501n, QUARTER, 10_004],
    [2500n, QUARTER, 10_000],
    [1n, 7, 514], // 3600 / 7 = 514.28… rounded down
    [1n, 3601, 0],
    [0n, QUARTER, 0],
    [-5n, QUARTER, 0],
    [123_456n, HOUR, 123_456],
  ])('when %s Wh are used over %s s then the average power is %s W', (load, seconds, watts) => {
    expect(averagePowerW(load, seconds)).toBe(watts);
  });

  it('when the load is huge then the power stops at the limit, exactly', () => {
    expect(averagePowerW(2n ** 60n, QUARTER)).toBe(PricePolicyLimits.maxPowerW);
    // One below the limit: ⌊(4·10^12 − 1) × 3600 / 14 400⌋ = 10^12 − 1 (a product above 2^53).
    expect(averagePowerW(4n * 10n ** 12n - 1n, 4 * HOUR)).toBe(PricePolicyLimits.maxPowerW - 1);
  });

  it.each([0, -900, 1.5, Number.NaN])('when the period is %p s then it is an error', (seconds) => {
    expect(() => averagePowerW(1n, seconds)).toThrow(/periodSeconds must be positive/);
  });
});

describe('policyPrice', () => {
  const at = (watts: number) => policyPrice(policy, BigInt(watts), HOUR);

  it('when the power is one below a band’s toW then the lower band prices it; at toW the upper band does', () => {
    expect(at(99_999)).toBe(10_000_000);
    expect(at(100_000)).toBe(12_000_000);
    // 12 + ⌊15 000 × 399 999 / 1000⌋ = 12 000 000 + 5 999 985
    expect(at(499_999)).toBe(17_999_985);
    expect(at(500_000)).toBe(20_000_000);
    expect(at(0)).toBe(10_000_000);
  });

  it('when the slope gives a fraction of a micro-unit then it is rounded down', () => {
    const sloped: PricePolicyDefinition = {
      ...policy,
      bands: [{ fromW: 0, toW: null, basePriceMicroPerKwh: 1_000, slopeMicroPerKwhPerKw: 7 }],
      floorMicroPerKwh: 0,
      capMicroPerKwh: PricePolicyLimits.maxPriceMicroPerKwh,
    };
    const price = (watts: number) => policyPrice(sloped, BigInt(watts), HOUR);
    expect(price(142)).toBe(1_000); // 7 × 142 / 1000 = 0.994
    expect(price(143)).toBe(1_001); // 1.001
    expect(price(285)).toBe(1_001); // 1.995
    expect(price(286)).toBe(1_002); // 2.002
  });

  it('when the raw price is below the floor or above the cap then it is clamped', () => {
    const floored: PricePolicyDefinition = { ...policy, floorMicroPerKwh: 11_000_000 };
    expect(policyPrice(floored, 50_000n, HOUR)).toBe(11_000_000);
    expect(policyPrice(floored, 100_000n, HOUR)).toBe(12_000_000);
    // 20 000 000 + 40 000 × (P − 500 000) / 1000 reaches the cap of 60 000 000 at P = 1 500 000.
    expect(at(1_499_999)).toBe(59_999_960);
    expect(at(1_500_000)).toBe(60_000_000);
    expect(at(1_500_001)).toBe(60_000_000);
    expect(at(900_000_000)).toBe(60_000_000);
  });

  it('when the load is negative then it is priced as 0 W', () => {
    expect(policyPrice(policy, -1n, QUARTER)).toBe(policyPrice(policy, 0n, QUARTER));
    expect(policyPrice({ ...policy, floorMicroPerKwh: 10_500_000 }, -(10n ** 15n), QUARTER)).toBe(10_500_000);
  });

  it('when the load is 2^60 Wh then the price is the cap, exactly, with the largest slope too', () => {
    expect(policyPrice(policy, 2n ** 60n, QUARTER)).toBe(60_000_000);
    const steep: PricePolicyDefinition = {
      ...policy,
      bands: [
        {
          fromW: 0,
          toW: null,
          basePriceMicroPerKwh: 0,
          slopeMicroPerKwhPerKw: PricePolicyLimits.maxSlopeMicroPerKwhPerKw,
        },
      ],
      floorMicroPerKwh: 0,
      capMicroPerKwh: PricePolicyLimits.maxPriceMicroPerKwh,
    };
    // 10^9 × 10^12 / 1000 = 10^18 is far above 2^53; clamped to the cap without passing through a float.
    expect(policyPrice(steep, 2n ** 60n, QUARTER)).toBe(PricePolicyLimits.maxPriceMicroPerKwh);
    // Just below the cap: 10^9 × 999 999 / 1000 = 999 999 000 000.
    expect(policyPrice(steep, 999_999n, HOUR)).toBe(999_999_000_000);
  });

  it('when a 15-minute load is given then it is priced at its average power: 2501 Wh = 10 004 W', () => {
    const sloped: PricePolicyDefinition = {
      ...policy,
      bands: [
        { fromW: 0, toW: 10_000, basePriceMicroPerKwh: 1_000_000, slopeMicroPerKwhPerKw: 0 },
        { fromW: 10_000, toW: null, basePriceMicroPerKwh: 2_000_000, slopeMicroPerKwhPerKw: 1_000_000 },
      ],
      floorMicroPerKwh: 0,
    };
    // 2 000 000 + 1 000 000 × 4 / 1000
    expect(policyPrice(sloped, 2501n, QUARTER)).toBe(2_004_000);
    expect(policyPrice(sloped, 2499n, QUARTER)).toBe(1_000_000); // 9996 W
  });

  describe('properties', () => {
    /** Valid policies: 1 to 5 bands over ascending boundaries, any prices and slopes, floor ≤ cap. */
    const policyArb: fc.Arbitrary<PricePolicyDefinition> = fc
      .record({
        cuts: fc.uniqueArray(fc.integer({ min: 1, max: 5_000_000 }), { maxLength: 4 }),
        prices: fc.array(fc.integer({ min: 0, max: 100_000_000 }), { minLength: 5, maxLength: 5 }),
        slopes: fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 5, maxLength: 5 }),
        limits: fc.tuple(fc.integer({ min: 0, max: 200_000_000 }), fc.integer({ min: 0, max: 200_000_000 })),
      })
      .map(({ cuts, prices, slopes, limits }) => {
        const bounds = [0, ...[...cuts].sort((a, b) => a - b)];
        return {
          regionCode: 'north/d3',
          effectiveFrom: '2026-01-01T00:00:00Z',
          bands: bounds.map((fromW, i) => ({
            fromW,
            toW: bounds[i + 1] ?? null,
            basePriceMicroPerKwh: prices[i],
            slopeMicroPerKwhPerKw: slopes[i],
          })),
          floorMicroPerKwh: Math.min(...limits),
          capMicroPerKwh: Math.max(...limits),
        };
      });
    const loadArb = fc.bigInt({ min: -1000n, max: 2n ** 62n });
    const periodArb = fc.constantFrom(300, 600, 900, 1800, 3600, 86_400);

    it('when any valid policy is validated then it passes', () => {
      fc.assert(
        fc.property(policyArb, (p) => {
          expect(validatePricePolicy(p).errors).toEqual([]);
        }),
      );
    });

    it('when the same policy and load are priced twice then the price is the same, within [floor, cap], an integer', () => {
      fc.assert(
        fc.property(policyArb, loadArb, periodArb, (p, load, seconds) => {
          const price = policyPrice(p, load, seconds);
          expect(policyPrice(structuredClone(p), load, seconds)).toBe(price);
          expect(Number.isSafeInteger(price)).toBe(true);
          expect(price).toBeGreaterThanOrEqual(p.floorMicroPerKwh);
          expect(price).toBeLessThanOrEqual(p.capMicroPerKwh);
        }),
      );
    });

    it('when priced then the price is the formula, recomputed here with BigInt', () => {
      fc.assert(
        fc.property(policyArb, loadArb, periodArb, (p, load, seconds) => {
          let power = load <= 0n ? 0n : (load * 3600n) / BigInt(seconds);
          if (power > BigInt(PricePolicyLimits.maxPowerW)) power = BigInt(PricePolicyLimits.maxPowerW);
          const band = [...p.bands].reverse().find((b) => BigInt(b.fromW) <= power) as PricePolicyBand;
          const raw =
            BigInt(band.basePriceMicroPerKwh) +
            (BigInt(band.slopeMicroPerKwhPerKw) * (power - BigInt(band.fromW))) / 1000n;
          const clamped =
            raw < BigInt(p.floorMicroPerKwh)
              ? p.floorMicroPerKwh
              : raw > BigInt(p.capMicroPerKwh)
                ? p.capMicroPerKwh
                : Number(raw);
          expect(averagePowerW(load, seconds)).toBe(Number(power));
          expect(policyPrice(p, load, seconds)).toBe(clamped);
        }),
      );
    });

    it('when two loads fall in the same band then the larger is never cheaper (slopes are ≥ 0)', () => {
      fc.assert(
        fc.property(policyArb, fc.nat({ max: 5_000_000 }), fc.nat({ max: 5_000_000 }), (p, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const bandOf = (w: number) =>
            p.bands.findIndex((x) => x.fromW <= w && (x.toW === null || w < x.toW));
          fc.pre(bandOf(low) === bandOf(high));
          expect(policyPrice(p, BigInt(high), HOUR)).toBeGreaterThanOrEqual(
            policyPrice(p, BigInt(low), HOUR),
          );
        }),
      );
    });
  });
});

describe('policyRegionsFor', () => {
  it('when a region is three areas deep then its policy areas are it and its enclosing areas, most specific first', () => {
    expect(policyRegionsFor('north/d3/c1')).toEqual(['north/d3/c1', 'north/d3', 'north']);
    expect(policyRegionsFor('north')).toEqual(['north']);
  });
});
