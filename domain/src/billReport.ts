/**
 * The bill report of an `aggregate` subscription (the BillReport of Oksuz 2024): what the distributor computed
 * from the household's pseudonymous shares, period by period. It is sealed for the household's own encryption
 * key and stored on IPFS; the ledger's bill holds only its totals, the digest of the shares and the report's CID
 * and SHA-256 (see AggregateBillFacts). Import-free apart from types, like records.ts.
 */
import type { BillComputation } from './tariffs';

/** Where a period's price came from (see PriceSignalRecord.source). */
export type PeriodPriceSource = 'policy' | 'override' | 'manual' | 'base';

/** One period of the bill: the household's consumption recovered from its two shares, and its price. */
export interface BillReportPeriod {
  periodStart: string;
  /** Wh; null when the meter's shares of the period are missing (nothing is billed, nothing estimated). */
  energyWh: number | null;
  /** The price the bill applied to the period, micro-minor units per kWh. */
  priceMicroPerKwh: number;
  priceSource: PeriodPriceSource;
  /** The region's load of the period (Wh, decimal string) the policy price came from, when it did. */
  regionalLoadWh?: string;
  /** energyWh × price exactly, in 10^-9 minor units (decimal string); "0" for a missing period. */
  amountNanoMinor: string;
}

/** One UTC day of the bill. */
export interface BillReportDay {
  /** YYYY-MM-DD */
  day: string;
  energyWh: number;
  /** Σ of the day's period amounts, 10^-9 minor units, decimal string. */
  amountNanoMinor: string;
  missingPeriods: number;
}

/**
 * The comparison of the household's average daily use with the tariff's threshold (the paper's incentive or
 * penalty feedback). Informational: it changes no amount on the bill.
 */
export interface BillReportFeedback {
  thresholdWhPerDay: number;
  /** The bill's energy / the days of the bill (rounded down). */
  averageWhPerDay: number;
  verdict: 'below-threshold' | 'above-threshold';
}

export const BILL_REPORT_KIND = 'smartmeter/bill-report';

/** The JSON document of a bill report; the HTML page shows the same. */
export interface BillReportDocument {
  v: 1;
  kind: typeof BILL_REPORT_KIND;
  channel: string;
  subscriptionId: string;
  meterId: string;
  regionCode: string;
  distributorMspId: string;
  periodFrom: string;
  periodTo: string;
  periodSeconds: number;
  /** The full bill computation (line items per price, standing charge, tax, total, missing periods). */
  bill: BillComputation;
  periods: BillReportPeriod[];
  days: BillReportDay[];
  feedback?: BillReportFeedback;
  /** When the distributor generated the report (its clock; not a ledger time). */
  generatedAt: string;
}

/** What an `aggregate` bill on the ledger carries beyond its (redacted) computation. */
export interface AggregateBillFacts {
  /** SHA-256 over the ordered share pairs billed (the same as readingsDigest), hex. */
  sharesDigest: string;
  report: {
    /** The IPFS content identifier of the sealed report (CIDv1). */
    cid: string;
    /** SHA-256 of the sealed report's bytes, hex. */
    sha256: string;
    bytes: number;
  };
}
