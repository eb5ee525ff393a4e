import {
  WEEKDAYS,
  type TariffDefinition,
  type TariffPricing,
  type Tier,
  type TimeOfUseBand,
  type Weekday,
} from '../tariffs';
import { UTILITIES, type Utility } from '@smartmeter/crypto';
import { gasConversionErrors, type GasConversion } from '../utilityUnits';

/**
 * Checks a tariff definition field by field and returns every problem at once ("field: what is wrong"),
 * so that a distributor fixing a tariff file sees all of them. Pure: used by the chaincode and the client.
 */
const MINUTES_PER_DAY = 1440;
const MAX_PRICE = 100_000_000_000; // 100,000 minor units per kWh: far above any real tariff
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

type Raw = Record<string, unknown>;

export function validateTariffDefinition(value: unknown): { tariff?: TariffDefinition; errors: string[] } {
  const errors: string[] = [];
  const raw = asObject(value);
  if (!raw) return { errors: ['tariff: must be a JSON object'] };
  const allowed = [
    'tariffId',
    'effectiveFrom',
    'currency',
    'utcOffsetMinutes',
    'standingChargeMicroPerDay',
    'taxBasisPoints',
    'pricing',
    'feedbackThresholdWhPerDay',
    'utility',
    'gasConversion',
  ];
  for (const field of Object.keys(raw)) if (!allowed.includes(field)) errors.push(`${field}: unknown field`);

  if (typeof raw.tariffId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(raw.tariffId)) {
    errors.push("tariffId: 1-64 letters, digits, '.', '_' or '-'");
  }
  if (
    typeof raw.effectiveFrom !== 'string' ||
    !ISO_SECONDS.test(raw.effectiveFrom) ||
    Number.isNaN(Date.parse(raw.effectiveFrom))
  ) {
    errors.push('effectiveFrom: an ISO 8601 UTC time with seconds, like 2026-01-01T00:00:00Z');
  }
  if (typeof raw.currency !== 'string' || !/^[A-Z]{3}$/.test(raw.currency))
    errors.push('currency: a 3-letter ISO 4217 code such as GBP');
  integer(errors, raw, 'utcOffsetMinutes', -840, 840);
  if (Number.isInteger(raw.utcOffsetMinutes) && (raw.utcOffsetMinutes as number) % 15 !== 0) {
    errors.push('utcOffsetMinutes: a multiple of 15 minutes');
  }
  integer(errors, raw, 'standingChargeMicroPerDay', 0, MAX_PRICE);
  integer(errors, raw, 'taxBasisPoints', 0, 10_000);
  optionalInteger(errors, raw, 'feedbackThresholdWhPerDay', 1, 10_000_000);
  const pricing = validatePricing(raw.pricing, errors);
  const metering = validateMetering(raw, errors);
  if (errors.length > 0 || !pricing) return { errors };
  return {
    errors,
    tariff: {
      tariffId: raw.tariffId as string,
      effectiveFrom: raw.effectiveFrom as string,
      currency: raw.currency as string,
      utcOffsetMinutes: raw.utcOffsetMinutes as number,
      standingChargeMicroPerDay: raw.standingChargeMicroPerDay as number,
      taxBasisPoints: raw.taxBasisPoints as number,
      pricing,
      ...optionalField<number>(raw, 'feedbackThresholdWhPerDay'),
      ...metering,
    },
  };
}

/**
 * The utility a tariff prices (absent: electricity) and, for gas only, the conversion of litres to kWh that
 * its prices are per. A water tariff's prices are per m³.
 */
function validateMetering(raw: Raw, errors: string[]): { utility?: Utility; gasConversion?: GasConversion } {
  if (raw.utility === undefined && raw.gasConversion === undefined) return {};
  const utility = UTILITIES.find((known) => known === raw.utility);
  if (raw.utility !== undefined && !utility) {
    errors.push(`utility: one of ${UTILITIES.join(', ')}`);
    return {};
  }
  const priced = utility ?? 'electricity';
  if (priced !== 'gas') {
    if (raw.gasConversion !== undefined)
      errors.push(`gasConversion: only a gas tariff converts volume to energy, this one prices ${priced}`);
    return utility ? { utility } : {};
  }
  const conversion = asObject(raw.gasConversion);
  if (!conversion) {
    errors.push(
      'gasConversion: a gas tariff needs { calorificValueKjPerM3, volumeCorrectionPpm }, e.g. { "calorificValueKjPerM3": 39500, "volumeCorrectionPpm": 1022640 }',
    );
    return {};
  }
  for (const field of Object.keys(conversion))
    if (field !== 'calorificValueKjPerM3' && field !== 'volumeCorrectionPpm')
      errors.push(`gasConversion.${field}: unknown field`);
  const candidate = conversion as unknown as GasConversion;
  const problems = gasConversionErrors(candidate);
  for (const problem of problems) errors.push(`gasConversion.${problem}`);
  if (problems.length > 0) return {};
  return {
    utility: 'gas',
    gasConversion: {
      calorificValueKjPerM3: candidate.calorificValueKjPerM3,
      volumeCorrectionPpm: candidate.volumeCorrectionPpm,
    },
  };
}

function validatePricing(value: unknown, errors: string[]): TariffPricing | undefined {
  const raw = asObject(value);
  if (!raw) {
    errors.push('pricing: an object with kind flat, timeOfUse, tiered or dynamic');
    return undefined;
  }
  switch (raw.kind) {
    case 'flat':
      onlyFields(errors, 'pricing', raw, ['kind', 'priceMicroPerKwh']);
      return price(errors, raw, 'priceMicroPerKwh', 'pricing.')
        ? { kind: 'flat', priceMicroPerKwh: raw.priceMicroPerKwh as number }
        : undefined;
    case 'dynamic':
      onlyFields(errors, 'pricing', raw, ['kind', 'basePriceMicroPerKwh']);
      return price(errors, raw, 'basePriceMicroPerKwh', 'pricing.')
        ? { kind: 'dynamic', basePriceMicroPerKwh: raw.basePriceMicroPerKwh as number }
        : undefined;
    case 'tiered':
      onlyFields(errors, 'pricing', raw, ['kind', 'tiers']);
      return validateTiers(raw.tiers, errors);
    case 'timeOfUse':
      onlyFields(errors, 'pricing', raw, ['kind', 'bands']);
      return validateBands(raw.bands, errors);
    default:
      errors.push('pricing.kind: one of flat, timeOfUse, tiered, dynamic');
      return undefined;
  }
}

function validateTiers(value: unknown, errors: string[]): TariffPricing | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 10) {
    errors.push('pricing.tiers: 1 to 10 tiers');
    return undefined;
  }
  const tiers: Tier[] = [];
  let previous = 0;
  value.forEach((item, index) => {
    const where = `pricing.tiers[${index}].`;
    const raw = asObject(item);
    if (!raw) return errors.push(`${where.slice(0, -1)}: an object`);
    const last = index === value.length - 1;
    if (last && raw.upToWh !== null)
      errors.push(`${where}upToWh: null for the last tier (it has no upper bound)`);
    if (!last) {
      if (!Number.isSafeInteger(raw.upToWh) || (raw.upToWh as number) <= previous) {
        errors.push(`${where}upToWh: a whole number of Wh above the previous tier's (${previous})`);
      } else previous = raw.upToWh as number;
    }
    if (price(errors, raw, 'priceMicroPerKwh', where)) {
      tiers.push({
        upToWh: last ? null : (raw.upToWh as number),
        priceMicroPerKwh: raw.priceMicroPerKwh as number,
      });
    }
  });
  return tiers.length === value.length ? { kind: 'tiered', tiers } : undefined;
}

function validateBands(value: unknown, errors: string[]): TariffPricing | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 48) {
    errors.push('pricing.bands: 1 to 48 bands');
    return undefined;
  }
  const bands: TimeOfUseBand[] = [];
  value.forEach((item, index) => {
    const where = `pricing.bands[${index}].`;
    const raw = asObject(item);
    if (!raw) return errors.push(`${where.slice(0, -1)}: an object`);
    const before = errors.length;
    if (typeof raw.name !== 'string' || !/^[A-Za-z0-9 ._-]{1,32}$/.test(raw.name))
      errors.push(`${where}name: 1-32 letters, digits, spaces`);
    if (
      !Array.isArray(raw.days) ||
      raw.days.length === 0 ||
      !raw.days.every((d) => (WEEKDAYS as readonly unknown[]).includes(d))
    ) {
      errors.push(`${where}days: a list of ${WEEKDAYS.join(', ')}`);
    }
    integer(errors, raw, 'startMinute', 0, MINUTES_PER_DAY - 1, where);
    integer(errors, raw, 'endMinute', 1, MINUTES_PER_DAY, where);
    if (raw.startMinute === raw.endMinute) errors.push(`${where}endMinute: differs from startMinute`);
    price(errors, raw, 'priceMicroPerKwh', where);
    if (errors.length === before) {
      bands.push({
        name: raw.name as string,
        days: raw.days as Weekday[],
        startMinute: raw.startMinute as number,
        endMinute: raw.endMinute as number,
        priceMicroPerKwh: raw.priceMicroPerKwh as number,
      });
    }
  });
  if (bands.length !== value.length) return undefined;
  const coverageErrors = checkCoverage(bands);
  errors.push(...coverageErrors);
  return coverageErrors.length === 0 ? { kind: 'timeOfUse', bands } : undefined;
}

/** Every minute of every weekday must fall in exactly one band: no gaps, no overlaps. */
function checkCoverage(bands: TimeOfUseBand[]): string[] {
  const errors: string[] = [];
  for (const day of WEEKDAYS) {
    const owner = new Array<string | null>(MINUTES_PER_DAY).fill(null);
    for (const band of bands.filter((b) => b.days.includes(day))) {
      for (const minute of bandMinutes(band)) {
        if (owner[minute] !== null) {
          errors.push(`pricing.bands: ${band.name} overlaps ${owner[minute]} on ${day} at ${clock(minute)}`);
          return errors;
        }
        owner[minute] = band.name;
      }
    }
    const gap = owner.indexOf(null);
    if (gap >= 0) {
      errors.push(`pricing.bands: no band covers ${day} at ${clock(gap)}`);
      return errors;
    }
  }
  return errors;
}

/** The minutes of its day a band covers: [start, end), or [start, 1440) and [0, end) when it wraps. */
export function bandMinutes(band: TimeOfUseBand): number[] {
  const minutes: number[] = [];
  if (band.startMinute < band.endMinute) {
    for (let m = band.startMinute; m < band.endMinute; m++) minutes.push(m);
  } else {
    for (let m = band.startMinute; m < MINUTES_PER_DAY; m++) minutes.push(m);
    for (let m = 0; m < band.endMinute; m++) minutes.push(m);
  }
  return minutes;
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function asObject(value: unknown): Raw | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : null;
}

/** { field: value } when the field is given, {} otherwise (so that absent fields stay absent). */
function optionalField<T>(raw: Raw, field: string): Record<string, T> {
  return raw[field] === undefined ? {} : { [field]: raw[field] as T };
}

function optionalInteger(errors: string[], raw: Raw, field: string, min: number, max: number): void {
  if (raw[field] !== undefined) integer(errors, raw, field, min, max);
}

function integer(errors: string[], raw: Raw, field: string, min: number, max: number, where = ''): boolean {
  const value = raw[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    errors.push(`${where}${field}: a whole number from ${min} to ${max}`);
    return false;
  }
  return true;
}

function price(errors: string[], raw: Raw, field: string, where: string): boolean {
  const value = raw[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_PRICE) {
    errors.push(
      `${where}${field}: a whole, non-negative number of micro-minor units per kWh (e.g. 11760000 for 11.76 p/kWh)`,
    );
    return false;
  }
  return true;
}

function onlyFields(errors: string[], where: string, raw: Raw, allowed: string[]): void {
  for (const field of Object.keys(raw))
    if (!allowed.includes(field)) errors.push(`${where}.${field}: unknown field`);
}
