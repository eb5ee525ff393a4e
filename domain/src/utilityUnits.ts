/**
 * Gas and water quantities as utility bills state them. Meters count gas and water volume in litres (see
 * @smartmeter/crypto UNIT_OF); electricity in watt-hours. Integers only, so the chaincode and a household
 * compute the same number.
 *
 * Gas is billed per kWh, as UK and EU bills do: the metered volume is corrected to standard temperature and
 * pressure (the volume correction factor, 1.02264 in the UK's Gas (Calculation of Thermal Energy) Regulations)
 * and multiplied by the calorific value the transporter publishes for the charging area (about 39–40 MJ/m³):
 *
 *     kWh = m³ × volume correction × calorific value (MJ/m³) ÷ 3.6
 *
 * Here: Wh = litres × correctionPpm × calorificValueKjPerM3 ÷ 3,600,000,000 (litres/1000 = m³, ppm/10⁶ = the
 * factor, kJ/3.6 = Wh), rounded half up once over the whole volume, so converting a bill's total volume and
 * summing per-period conversions may differ by at most the number of periods in Wh; bills convert the total.
 *
 * Water is billed per m³ of volume (a price per m³ plus a standing charge per day), so it needs no conversion
 * beyond litres to m³ for display.
 */
import { roundHalfUp } from './billing/computeBill';
import { ErrorCode } from './errors';

/** A volume or conversion that cannot be billed; `code` is INVALID_ARGUMENT, for clients to match. */
export class UnitConversionError extends Error {
  readonly code = ErrorCode.InvalidArgument;
  constructor(message: string) {
    super(message);
    this.name = 'UnitConversionError';
  }
}

/** The volume correction factor of UK gas bills, in millionths (1.02264). */
export const UK_GAS_VOLUME_CORRECTION_PPM = 1_022_640;

/** What a gas bill needs to turn volume into energy: published by the distributor with its gas tariff. */
export interface GasConversion {
  /** Calorific value of the charging area in kJ per m³ (39.5 MJ/m³ is 39_500). */
  calorificValueKjPerM3: number;
  /** Volume correction factor in millionths (1.02264 is 1_022_640). */
  volumeCorrectionPpm: number;
}

/** Plausible ranges: natural gas is 37.5–43 MJ/m³ in the UK; correction factors are within a few per cent of 1. */
const CALORIFIC_RANGE_KJ = { min: 30_000, max: 50_000 };
const CORRECTION_RANGE_PPM = { min: 900_000, max: 1_100_000 };

/** Every problem of a gas conversion, by field; empty when it is valid. */
export function gasConversionErrors(conversion: GasConversion): string[] {
  const errors: string[] = [];
  const { calorificValueKjPerM3: cv, volumeCorrectionPpm: ppm } = conversion;
  if (!Number.isSafeInteger(cv) || cv < CALORIFIC_RANGE_KJ.min || cv > CALORIFIC_RANGE_KJ.max)
    errors.push(
      `calorificValueKjPerM3: must be an integer from ${CALORIFIC_RANGE_KJ.min} to ${CALORIFIC_RANGE_KJ.max} kJ/m³`,
    );
  if (!Number.isSafeInteger(ppm) || ppm < CORRECTION_RANGE_PPM.min || ppm > CORRECTION_RANGE_PPM.max)
    errors.push(
      `volumeCorrectionPpm: must be an integer from ${CORRECTION_RANGE_PPM.min} to ${CORRECTION_RANGE_PPM.max}`,
    );
  return errors;
}

function requireVolume(litres: number): void {
  if (!Number.isSafeInteger(litres) || litres < 0)
    throw new UnitConversionError(`a volume must be a non-negative integer of litres, got ${litres}`);
}

/** The energy of a metered gas volume in watt-hours, rounded half up. */
export function gasLitresToWh(litres: number, conversion: GasConversion): number {
  requireVolume(litres);
  const errors = gasConversionErrors(conversion);
  if (errors.length > 0) throw new UnitConversionError(errors.join('; '));
  const numerator =
    BigInt(litres) * BigInt(conversion.volumeCorrectionPpm) * BigInt(conversion.calorificValueKjPerM3);
  return roundHalfUp(numerator, 3_600_000_000n);
}

/** A volume in litres as m³ with three decimals, for bills and charts ("12.345 m³"). */
export function litresAsCubicMetres(litres: number): string {
  requireVolume(litres);
  const whole = Math.floor(litres / 1000);
  const rest = String(litres % 1000).padStart(3, '0');
  return `${whole}.${rest}`;
}

/**
 * The charge for a water volume at a price per m³ (micro-minor units per m³, like prices per kWh), in
 * micro-minor units; a bill rounds the running total as for energy.
 */
export function waterChargeMicro(litres: number, priceMicroPerM3: number): number {
  requireVolume(litres);
  if (!Number.isSafeInteger(priceMicroPerM3) || priceMicroPerM3 < 0)
    throw new UnitConversionError('priceMicroPerM3 must be a non-negative integer');
  // litres × price per m³ ÷ 1000, exact, then half up to a whole micro-minor unit.
  return roundHalfUp(BigInt(litres) * BigInt(priceMicroPerM3), 1000n);
}
