/**
 * The authority's price policy: a period's price as a deterministic integer function of its regional load, so
 * that the chaincode can derive every dynamic price from the on-chain load and anyone can recompute it.
 *
 * The formula (README "Dynamic prices"):
 *   P     = ⌊load_Wh × 3600 / periodSeconds⌋        the region's average power over the period, in W
 *   band  = the band with fromW ≤ P < toW             (bands cover [0, ∞) without gaps or overlaps)
 *   raw   = band.basePriceMicroPerKwh + ⌊band.slopeMicroPerKwhPerKw × (P − band.fromW) / 1000⌋
 *   price = min(cap, max(floor, raw))                 micro-minor units per kWh
 * A flat price is one band with slope 0; steps are bands with slope 0; a slope above a target load is two bands.
 * Integers only (BigInt where products can exceed 2^53). A negative load (possible only in a corrupt round) is
 * priced at P = 0.
 */

export interface PricePolicyBand {
  /** Inclusive lower bound of the band, average regional power in W. The first band starts at 0. */
  fromW: number;
  /** Exclusive upper bound; null for the last band. Equal to the next band's fromW (no gaps). */
  toW: number | null;
  basePriceMicroPerKwh: number;
  /** Added per kW of average power above fromW, micro-minor units per kWh per kW (rounded down). */
  slopeMicroPerKwhPerKw: number;
}

/** What the authority publishes for a region. */
export interface PricePolicyDefinition {
  /** A grid area path; the policy also prices its sub-areas that have no policy of their own. */
  regionCode: string;
  /** When this version starts to apply (periods starting at or after it). */
  effectiveFrom: string;
  bands: PricePolicyBand[];
  floorMicroPerKwh: number;
  capMicroPerKwh: number;
}

export interface PricePolicyRecord extends PricePolicyDefinition {
  docType: 'pricePolicy';
  version: number;
  publishedAt: string;
}

export interface PricePolicyPointer {
  docType: 'pricePolicyPointer';
  regionCode: string;
  version: number;
}

export const PricePolicyLimits = {
  maxBands: 16,
  /** 1,000,000 minor units per kWh (10,000 GBP/kWh): far above any real price, well inside 2^53. */
  maxPriceMicroPerKwh: 1_000_000_000_000,
  maxSlopeMicroPerKwhPerKw: 1_000_000_000,
  /** 1 TW: no region comes near. */
  maxPowerW: 1_000_000_000_000,
} as const;

const POLICY_FIELDS = ['regionCode', 'effectiveFrom', 'bands', 'floorMicroPerKwh', 'capMicroPerKwh'];
const BAND_FIELDS = ['fromW', 'toW', 'basePriceMicroPerKwh', 'slopeMicroPerKwhPerKw'];
const REGION = /^[a-z0-9-]{1,16}(\/[a-z0-9-]{1,16}){0,5}$/;
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A real calendar time (Date.parse rolls 30 February over to 2 March: only a real one round-trips), 5-minute aligned. */
function isPolicyTime(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_SECONDS.test(value)) return false;
  const millis = Date.parse(value);
  return (
    !Number.isNaN(millis) &&
    new Date(millis).toISOString().replace('.000Z', 'Z') === value &&
    (millis / 1000) % 300 === 0
  );
}

/** Validates a policy; every error names its field. Nothing is returned when there is any error. */
export function validatePricePolicy(raw: unknown): { policy?: PricePolicyDefinition; errors: string[] } {
  const errors: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: ['the policy must be a JSON object'] };
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!POLICY_FIELDS.includes(key))
      errors.push(`${key}: unknown field (allowed: ${POLICY_FIELDS.join(', ')})`);
  if (typeof input.regionCode !== 'string' || !REGION.test(input.regionCode))
    errors.push('regionCode: must be a grid area path such as north/d3');
  if (!isPolicyTime(input.effectiveFrom))
    errors.push(
      'effectiveFrom: must be an ISO 8601 UTC time on a 5-minute boundary, e.g. 2026-01-01T00:00:00Z',
    );
  const floor = integerField(
    errors,
    'floorMicroPerKwh',
    input.floorMicroPerKwh,
    PricePolicyLimits.maxPriceMicroPerKwh,
  );
  const cap = integerField(
    errors,
    'capMicroPerKwh',
    input.capMicroPerKwh,
    PricePolicyLimits.maxPriceMicroPerKwh,
  );
  if (floor !== undefined && cap !== undefined && floor > cap)
    errors.push(`capMicroPerKwh: must be at least floorMicroPerKwh (${floor})`);
  const bands = validateBands(errors, input.bands);
  if (errors.length > 0 || !bands) return { errors };
  return {
    policy: {
      regionCode: input.regionCode as string,
      effectiveFrom: input.effectiveFrom as string,
      bands,
      // Both are numbers here: an undefined one pushed an error.
      floorMicroPerKwh: floor as number,
      capMicroPerKwh: cap as number,
    },
    errors,
  };
}

function validateBands(errors: string[], value: unknown): PricePolicyBand[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > PricePolicyLimits.maxBands) {
    errors.push(`bands: must be an array of 1 to ${PricePolicyLimits.maxBands} bands`);
    return undefined;
  }
  const bands: PricePolicyBand[] = [];
  const before = errors.length;
  value.forEach((item, index) => {
    const where = `bands[${index}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push(`${where}: must be an object`);
      return;
    }
    const band = item as Record<string, unknown>;
    for (const key of Object.keys(band))
      if (!BAND_FIELDS.includes(key))
        errors.push(`${where}.${key}: unknown field (allowed: ${BAND_FIELDS.join(', ')})`);
    const fromW = integerField(errors, `${where}.fromW`, band.fromW, PricePolicyLimits.maxPowerW);
    const last = index === value.length - 1;
    let toW: number | null | undefined;
    if (last) {
      if (band.toW !== null) errors.push(`${where}.toW: the last band must be open-ended (toW: null)`);
      toW = null;
    } else {
      toW = integerField(errors, `${where}.toW`, band.toW, PricePolicyLimits.maxPowerW);
    }
    const base = integerField(
      errors,
      `${where}.basePriceMicroPerKwh`,
      band.basePriceMicroPerKwh,
      PricePolicyLimits.maxPriceMicroPerKwh,
    );
    const slope = integerField(
      errors,
      `${where}.slopeMicroPerKwhPerKw`,
      band.slopeMicroPerKwhPerKw,
      PricePolicyLimits.maxSlopeMicroPerKwhPerKw,
    );
    if (fromW === undefined || toW === undefined || base === undefined || slope === undefined) return;
    if (toW !== null && toW <= fromW) errors.push(`${where}.toW: must be above fromW (${fromW})`);
    bands.push({ fromW, toW, basePriceMicroPerKwh: base, slopeMicroPerKwhPerKw: slope });
  });
  if (errors.length > before) return undefined;
  if (bands[0].fromW !== 0) errors.push('bands[0].fromW: the first band must start at 0 W');
  for (let i = 1; i < bands.length; i++) {
    const previous = bands[i - 1].toW as number;
    if (bands[i].fromW > previous)
      errors.push(
        `bands[${i}].fromW: a gap from ${previous} W to ${bands[i].fromW} W (each band starts where the previous ends)`,
      );
    else if (bands[i].fromW < previous)
      errors.push(`bands[${i}].fromW: overlaps bands[${i - 1}] (which ends at ${previous} W)`);
  }
  return errors.length > before ? undefined : bands;
}

function integerField(errors: string[], name: string, value: unknown, max: number): number | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    errors.push(`${name}: must be a whole number from 0 to ${max}`);
    return undefined;
  }
  return value;
}

/** The region's average power over a period, in W, rounded down; 0 for a negative load. */
export function averagePowerW(loadWh: bigint, periodSeconds: number): number {
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds <= 0)
    throw new Error('periodSeconds must be positive');
  if (loadWh <= 0n) return 0;
  const power = (loadWh * 3600n) / BigInt(periodSeconds);
  const max = BigInt(PricePolicyLimits.maxPowerW);
  return Number(power > max ? max : power);
}

/** The price of a period with this regional load under the policy (see the formula above). */
export function policyPrice(policy: PricePolicyDefinition, loadWh: bigint, periodSeconds: number): number {
  const power = averagePowerW(loadWh, periodSeconds);
  const band = policy.bands.find((b) => b.fromW <= power && (b.toW === null || power < b.toW));
  if (!band) throw new Error(`the policy has no band for ${power} W`);
  const raw =
    BigInt(band.basePriceMicroPerKwh) +
    (BigInt(band.slopeMicroPerKwhPerKw) * BigInt(power - band.fromW)) / 1000n;
  const floor = BigInt(policy.floorMicroPerKwh);
  const cap = BigInt(policy.capMicroPerKwh);
  return Number(raw < floor ? floor : raw > cap ? cap : raw);
}

/** The grid areas whose policy may price a region, most specific first: north/d3/c1, north/d3, north. */
export function policyRegionsFor(regionCode: string): string[] {
  const parts = regionCode.split('/');
  return parts.map((_, index) => parts.slice(0, parts.length - index).join('/'));
}
