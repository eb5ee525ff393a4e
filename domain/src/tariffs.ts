/**
 * Tariffs, price signals and bills. Type imports only, like records.ts.
 *
 * Utilities: an electricity tariff prices Wh. A gas tariff prices energy too, as utility bills do: the meter's
 * litres become Wh through the tariff's calorific value and volume correction (utilityUnits.ts), so its prices
 * are per kWh. A water tariff prices volume: its "per kWh" prices are per m³ (1,000 L), which is the same
 * arithmetic on litres as on Wh.
 *
 * Units: energy in watt-hours (Wh); prices in micro-minor units per kWh (millionths of a penny or cent, so
 * 11.76 p/kWh is 11_760_000); standing charges in micro-minor units per day; amounts in minor units (pence,
 * cents). Tax in basis points (2000 = 20 %).
 *
 * Rounding rule (the only one): amounts accrue exactly in running totals that restart at 00:00 UTC on the 1st of
 * each month (the accounting month). Each amount on a bill (every line, the standing charge, the tax) is its
 * running total at the bill's end rounded half up to a whole minor unit, minus the same at the bill's start, so
 * splitting a period into adjacent bills never changes any amount's sum. The total is subtotal + tax, so the
 * lines always add up to the total. See billing/computeBill.ts for the rules in full.
 */
import type { Utility } from '@smartmeter/crypto';
import type { AggregateBillFacts } from './billReport';
import type { GasConversion } from './utilityUnits';

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
  /**
   * Energy of the accounting month (from 00:00 UTC on the 1st, whatever the bills) up to which this tier
   * applies; null for the last tier.
   */
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
  /**
   * The daily use the bill report compares the household's average with (the incentive or penalty feedback of
   * Oksuz 2024). Informational: it changes no amount.
   */
  feedbackThresholdWhPerDay?: number;
  /** What the tariff prices (default electricity); only subscriptions of this utility may use it. */
  utility?: Utility;
  /** Required for gas, refused otherwise: how the meter's litres become the kWh the prices are per. */
  gasConversion?: GasConversion;
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
  /**
   * manual (or absent, on signals from before policies): published by the authority with PublishPriceSignals.
   * policy: derived by the chaincode from the period's regional load when its round closed. override: a manual
   * signal that was already there when the round closed; it stays, and `policy` shows what the policy gave.
   */
  source?: 'manual' | 'policy' | 'override';
  policy?: PolicyPriceDerivation;
}

/** How a period's policy price was derived: anyone can recompute it from the round and the policy version. */
export interface PolicyPriceDerivation {
  /** The grid area whose policy applied (the round's region or an enclosing one). */
  policyRegionCode: string;
  policyVersion: number;
  loadWh: string;
  periodSeconds: number;
  averagePowerW: number;
  priceMicroPerKwh: number;
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

/** The standing charge accrued under one tariff version during the bill. */
export interface StandingChargePart {
  tariffId: string;
  version: number;
  microPerDay: number;
  /** Seconds of the bill during which the subscription ran and this version was in force. */
  seconds: number;
  amountMinor: number;
}

/** What the bill's amounts under one tariff version add up to, and the tax rate they bear. */
export interface TaxBasis {
  tariffId: string;
  version: number;
  taxBasisPoints: number;
  /** This version's lines and standing charge on this bill. */
  taxableMinor: number;
}

/** What the pure bill function computes from readings and tariffs. */
export interface BillComputation {
  currency: string;
  lineItems: BillLineItem[];
  /**
   * Accrued per second while the subscription runs, at the daily charge of the version in force at that second.
   * `days` is `seconds` / 86 400 rounded up, for display; `byVersion` adds up to `seconds` and `amountMinor`.
   */
  standingCharge: { days: number; seconds: number; amountMinor: number; byVersion: StandingChargePart[] };
  subtotalMinor: number;
  /** The rate of the version in force at the bill's start; `taxBases` lists every version's rate. */
  taxBasisPoints: number;
  /** Each version's amounts taxed at its own rate, rounded as a running total: see computeBill.ts. */
  taxBases: TaxBasis[];
  taxMinor: number;
  totalMinor: number;
  energyWh: number;
  readingCount: number;
  expectedReadings: number;
  /** Billed readings whose decrypted quality is `estimated` (the meter's estimate, e.g. an LCL `Null`). */
  estimatedReadings: number;
  estimatedEnergyWh: number;
  estimatedPeriods: string[];
  /**
   * Readings on the ledger that are not billed because they do not decrypt in their slot (or decrypt to no
   * valid reading): listed like missing periods, each with the code INVALID_READING, so a bad ciphertext never
   * blocks billing and both parties see it.
   */
  invalidReadings: InvalidReading[];
  /** Period starts without a reading: nothing is billed for them (the bill never estimates; see estimatedReadings). */
  missingPeriods: string[];
  /** SHA-256 over the ordered ciphertexts that were billed, hex. */
  readingsDigest: string;
  /**
   * Where the bill's running totals start (00:00 UTC on the 1st of its first month) and the earlier readings of
   * that month they include (tier position, rounding): their count and the SHA-256 over their ciphertexts.
   */
  runningTotals: { since: string; priorReadingCount: number; priorReadingsDigest: string };
  tariffVersions: { tariffId: string; version: number }[];
  /**
   * Gas and water bills only: the volume the meter measured, in litres. For gas, `energyWh` is that volume
   * converted with each version's calorific value and volume correction; for water, `energyWh` holds litres.
   */
  metered?: { utility: 'gas' | 'water'; litres: number; estimatedLitres: number };
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
  /**
   * `aggregate` subscriptions only: computed by the distributor from the household's shares (the chaincode
   * has no session key in this mode), with the line items redacted (redactForLedger) and the sealed report's
   * CID and hash. Absent on `disclosed` bills, which the chaincode computes itself.
   */
  aggregate?: AggregateBillFacts;
  /**
   * Prepaid subscriptions only: what the wallet's settlements inside the bill's period already paid (exhaustion by
   * the same bill function, so a month's settlements add up to its bill), and what is still due.
   */
  prepaid?: { settlements: number; settledMinor: number; dueMinor: number };
}
