import {
  gasConversionErrors,
  gasLitresToWh,
  litresAsCubicMetres,
  UK_GAS_VOLUME_CORRECTION_PPM,
  UnitConversionError,
  waterChargeMicro,
} from '../src';

const ukGas = { calorificValueKjPerM3: 39_500, volumeCorrectionPpm: UK_GAS_VOLUME_CORRECTION_PPM };

describe('gas volume to energy', () => {
  it('converts as a UK bill does: 1 m³ at 39.5 MJ/m³ and 1.02264 is 11.2207 kWh', () => {
    // 1 × 1.02264 × 39.5 / 3.6 = 11.22063... kWh
    expect(gasLitresToWh(1000, ukGas)).toBe(11_221);
  });

  it('converts a month of a typical household (120 m³) to 1,346.5 kWh', () => {
    // 120 × 1.02264 × 39.5 / 3.6 = 1346.476 kWh
    expect(gasLitresToWh(120_000, ukGas)).toBe(1_346_476);
  });

  it('rounds half up once over the volume', () => {
    // 1 litre = 11.2206... Wh → 11; 3 litres = 33.66 → 34
    expect(gasLitresToWh(1, ukGas)).toBe(11);
    expect(gasLitresToWh(3, ukGas)).toBe(34);
    expect(gasLitresToWh(0, ukGas)).toBe(0);
  });

  it('is exact for volumes beyond 2^53 / (ppm × cv) thanks to integer arithmetic', () => {
    expect(gasLitresToWh(1_000_000_000, ukGas)).toBe(11_220_633_333);
  });

  it('refuses negative or fractional volumes and implausible conversions, by field', () => {
    expect(() => gasLitresToWh(-1, ukGas)).toThrow(UnitConversionError);
    expect(() => gasLitresToWh(1.5, ukGas)).toThrow(/non-negative integer of litres/);
    expect(gasConversionErrors({ calorificValueKjPerM3: 39.5, volumeCorrectionPpm: 1.02264 })).toEqual([
      expect.stringMatching(/^calorificValueKjPerM3: /),
      expect.stringMatching(/^volumeCorrectionPpm: /),
    ]);
    expect(gasConversionErrors(ukGas)).toEqual([]);
    try {
      gasLitresToWh(10, { ...ukGas, calorificValueKjPerM3: 500 });
      throw new Error('expected a refusal');
    } catch (err) {
      expect((err as UnitConversionError).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('water', () => {
  it('charges per m³: 12.345 m³ at £2.1234/m³ is 2,621.3373 p', () => {
    expect(waterChargeMicro(12_345, 212_340_000)).toBe(2_621_337_300);
  });

  it('rounds half up to a micro-minor unit', () => {
    // 1 litre at 1,501 micro/m³ = 1.501 → 2; at 1,499 → 1
    expect(waterChargeMicro(1, 1_501)).toBe(2);
    expect(waterChargeMicro(1, 1_499)).toBe(1);
  });

  it('shows litres as m³ with three decimals', () => {
    expect(litresAsCubicMetres(12_345)).toBe('12.345');
    expect(litresAsCubicMetres(7)).toBe('0.007');
  });

  it('refuses a negative price', () => {
    expect(() => waterChargeMicro(1, -1)).toThrow(/priceMicroPerM3/);
  });
});
