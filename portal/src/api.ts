/**
 * The portal's JSON API as the pages see it: the server's routes answer with these shapes, and the browser code
 * imports them as types only. Ledger records keep their domain types (BillRecord, SubscriptionRecord, ...).
 *
 * Every error is { error: ApiError } with an HTTP status that follows the code (see errors.ts).
 */
import type {
  AccessRequestRecord,
  BillRecord,
  FaultyMeterRecord,
  PriceSignalRecord,
  SubscriptionRecord,
  TariffRecord,
  WalletRecord,
} from '@smartmeter/domain';

export type Party = 'household' | 'distributor' | 'authority';

export interface ApiError {
  /** Stable: a chaincode code (FORBIDDEN, NOT_FOUND, CONFLICT, ...) or one of the portal's (PortalCode). */
  code: string;
  message: string;
  /** The peer that refused, "address (MSP)", when a peer did. */
  peer?: string;
  /** Schema errors: one per field, "body/reason: must NOT have fewer than 1 characters". */
  fields?: string[];
}

/** GET /api/session (and POST /api/login's answer). */
export interface SessionInfo {
  party: Party;
  org: string;
  mspId: string;
  identity: string;
  channel: string;
  /** Send it as the x-csrf-token header with every POST. */
  csrfToken: string;
  /** Whether the authority's reporting database is configured (the authority pages need it). */
  reportDb: boolean;
}

export type Bucket = 'hour' | 'day' | 'month';

/** One bucket of decrypted readings: quantity in the readings' unit (Wh for electricity, L for gas and water). */
export interface ConsumptionBucket {
  start: string;
  quantity: number;
  readings: number;
}

/** GET /api/subscriptions/:id/consumption: decrypted in the server's process with the caller's own key. */
export interface ConsumptionView {
  subscriptionId: string;
  from: string;
  to: string;
  bucket: Bucket;
  unit: string;
  buckets: ConsumptionBucket[];
  total: { quantity: number; readings: number };
  /** Readings that do not decrypt in their slot (counted, never shown as consumption). */
  undecryptable: number;
  /** The cost of [from, costTo) as a bill of it would be computed; null with why when it cannot be. */
  cost: { currency: string; totalMinor: number; energyWh: number; costTo: string } | null;
  costNote?: string;
}

/** GET /api/subscriptions/:id/completeness. */
export interface CompletenessView {
  subscriptionId: string;
  from: string;
  to: string;
  expected: number;
  present: number;
  missing: string[];
  invalid: number;
}

/** GET /api/subscriptions/:id/tariff: the version in force now, and the region's price signals of [from, to). */
export interface TariffView {
  tariff: TariffRecord;
  signals: PriceSignalRecord[];
}

/** GET /api/bills/:id/verification: `bill verify`'s answer. */
export interface BillVerificationView {
  billId: string;
  ok: boolean;
  differences: string[];
  notes: string[];
}

/** GET /api/subscriptions/:id/grant-check (distributor, before approving). */
export interface GrantCheckView {
  ok: true;
  subscriptionId: string;
  mspId: string;
  orgKeyVersion: number;
  keyId: string;
}

/** GET /api/subscriptions/:id/wallet. */
export interface WalletView {
  wallet: WalletRecord;
}

/** GET /api/reports/load: a region's load from the reporting DB, buckets of fewer households suppressed. */
export interface LoadPoint {
  periodStart: string;
  energyWh: number | null;
  households: number;
  readingCount: number;
  suppressed: boolean;
}

/** GET /api/reports/regions: every region's load over [from, to), for the grid of regions. */
export interface RegionLoad {
  regionCode: string;
  energyWh: number | null;
  households: number;
  suppressed: boolean;
}

/** GET /api/reports/subscriptions?by=status|region|distributor. */
export interface GroupCount {
  group: string;
  subscriptions: number;
}

/** GET /api/reports/missing-readings. */
export interface MissingReadingsRow {
  subscriptionId: string;
  channel: string;
  regionCode: string;
  expected: number;
  received: number;
  missing: number;
  lastPeriodStart: string | null;
}

/** GET /api/reports/access-log: who asked for whose personal data, why, and what the household decided. */
export interface AccessLogRow {
  requestId: string;
  subscriptionId: string;
  requesterMspId: string;
  reason: string;
  status: string;
  requestedAt: string;
  decidedAt?: string;
}

/** One server-sent event on GET /api/events (event name "ledger"). */
export interface LedgerEvent {
  /** A chaincode event name (BillIssued, ReadingsSubmitted, ...). */
  name: string;
  subscriptionId?: string;
  billId?: string;
  requestId?: string;
  txId?: string;
  blockNumber?: string;
}

export type {
  AccessRequestRecord,
  BillRecord,
  FaultyMeterRecord,
  PriceSignalRecord,
  SubscriptionRecord,
  TariffRecord,
  WalletRecord,
};
