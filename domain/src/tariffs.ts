/**
 * Tariffs, price signals and bills. Import-free like records.ts.
 *
 * Units: energy in watt-hours (Wh); prices in micro-minor units per kWh (millionths of a penny or cent, so
 * 11.76 p/kWh is 11_760_000); standing charges in micro-minor units per day; amounts in minor units (pence,
 * cents). Tax in basis points (2000 = 20 %).
 *
 * Rounding rule (the only one): each line item's amount is computed exactly and rounded half up to a whole
 * minor unit; the standing charge likewise; tax is the subtotal (lines + standing charge) times the basis
 * points, rounded half up. The total is subtotal + tax, so the lines always add up to the total.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TimeOfUseBand {
  name: string;
  days: Weekday[];
  /** Minute of the local day the band starts (inclusive), 0-1439. */
  startMinute: number;
  /** Minute of the local day the band ends (exclusive), 1-1440; below startMinute the band wraps past midnight. */
  endMinute: number;
  priceMicroPerKwh: number;
}

export interface Tier {
  /** Cumulative energy over the billing period up to which this tier applies; null for the last tier. */
  upToWh: number | null;
  priceMicroPerKwh: number;
}

export type TariffPricing =
  | { kind: 'flat'; priceMicroPerKwh: number }
  | { kind: 'timeOfUse'; bands: TimeOfUseBand[] }
  | { kind: 'tiered'; tiers: Tier[] }
  /** Follows the authority's price signals for the subscription's region; basePriceMicroPerKwh otherwise. */
  | { kind: 'dynamic'; basePriceMicroPerKwh: number };

/** What a distributor publishes. */
export interface TariffDefinition {
  tariffId: string;
  /** When this version starts to apply (period starts at or after it). */
  effectiveFrom: string;
  /** ISO 4217 code, e.g. GBP. */
  currency: string;
  /** Fixed offset of local time from UTC, in minutes: bands and days are in this local time, all year. */
  utcOffsetMinutes: number;
  standingChargeMicroPerDay: number;
  taxBasisPoints: number;
  pricing: TariffPricing;
}

export interface TariffRecord extends TariffDefinition {
  docType: 'tariff';
  distributorMspId: string;
  version: number;
  publishedAt: string;
}

/** Which version of a distributor's tariff is current. */
export interface TariffPointer {
  docType: 'tariffPointer';
  distributorMspId: string;
  tariffId: string;
  version: number;
}

export interface PriceSignalRecord {
  docType: 'priceSignal';
  regionCode: string;
  periodStart: string;
  priceMicroPerKwh: number;
  publishedAt: string;
}

export interface BillLineItem {
  /** Band name, tier label ("tier 1"), "flat", "signal" or "base". */
  label: string;
  tariffId: string;
  tariffVersion: number;
  energyWh: number;
  priceMicroPerKwh: number;
  amountMinor: number;
}

export type BillStatus = 'ISSUED' | 'DISPUTED' | 'RESOLVED' | 'PAID';

/** What the pure bill function computes from readings and tariffs. */
export interface BillComputation {
  currency: string;
  lineItems: BillLineItem[];
  /** Sum over the billed days of each day's standing charge (the version in force at the day's start). */
  standingCharge: { days: number; totalMicro: number; amountMinor: number };
  subtotalMinor: number;
  taxBasisPoints: number;
  taxMinor: number;
  totalMinor: number;
  energyWh: number;
  readingCount: number;
  expectedReadings: number;
  /**
   * Readings on the ledger that are not billed because they do not decrypt in their slot (or decrypt to no
   * valid reading): listed like missing periods, each with the code INVALID_READING, so a bad ciphertext never
   * blocks billing and both parties see it.
   */
  invalidReadings: InvalidReading[];
  /** Period starts without a reading: billed on measured energy only, never estimated. */
  missingPeriods: string[];
  /** SHA-256 over the ordered ciphertexts that were billed, hex. */
  readingsDigest: string;
  tariffVersions: { tariffId: string; version: number }[];
}

export interface InvalidReading {
  periodStart: string;
  code: 'INVALID_READING';
  reason: string;
}

export interface BillRecord extends BillComputation {
  docType: 'bill';
  billId: string;
  subscriptionId: string;
  distributorMspId: string;
  periodFrom: string;
  periodTo: string;
  status: BillStatus;
  issuedAt: string;
  dispute?: { reason: string; disputedAt: string };
  resolution?: { outcome: 'UPHELD' | 'REJECTED'; note: string; resolvedAt: string };
  payment?: { amountMinor: number; reference: string; paidAt: string };
}
