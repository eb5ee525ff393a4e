/**
 * Ledger record shapes, roles, statuses and event names. Import-free so that the client can `import type`
 * them: one source of truth. Times are ISO 8601 UTC with seconds precision ("2026-01-15T10:00:00Z"), which is
 * fixed-width and sorts in time order inside composite keys.
 */
import type { Utility } from '@smartmeter/crypto';
import type { PrivacyMode } from './aggregation';

/** Values of the `role` attribute that Fabric CA puts into enrollment certificates. */
export const ROLES = ['operator', 'auditor', 'subscriber', 'meter', 'aggregator', 'config-admin'] as const;
export type Role = (typeof ROLES)[number];

/** A grid area path: up to six segments of lowercase letters, digits and '-', e.g. north/d3/c12. */
export const REGION_CODE_PATTERN = /^[a-z0-9-]{1,16}(\/[a-z0-9-]{1,16}){0,5}$/;

/** Written by System.Ping: a smoke-test record proving that a submit reached the ledger. */
export interface PingRecord {
  docType: 'ping';
  /** The id of the transaction that wrote the record. */
  pingId: string;
  message: string;
  /** MSP id of the submitter. */
  submitterMspId: string;
  /** Transaction timestamp. */
  recordedAt: string;
}

export interface ChaincodeVersion {
  name: string;
  version: string;
}

/** One published version of an organization's P-256 encryption public key. */
export interface OrgKeyRecord {
  docType: 'orgKey';
  mspId: string;
  version: number;
  publicKeyPem: string;
  /** SHA-256 of the uncompressed public point, hex. */
  fingerprint: string;
  publishedAt: string;
  /** Role of the publisher: admin, operator or auditor. */
  publishedByRole: string;
}

/** Which version of an organization's key is current. */
export interface OrgKeyPointer {
  docType: 'orgKeyPointer';
  mspId: string;
  version: number;
}

/** ECIES-wrapped session key (see @smartmeter/crypto keyWrap). */
export interface WrappedKeyRecord {
  version: number;
  ephemeralPublicKey: string;
  nonce: string;
  ciphertext: string;
}

/** The session key wrapped for one organization, with the version of that organization's key used. */
export interface KeyGrant {
  mspId: string;
  orgKeyVersion: number;
  wrappedKey: WrappedKeyRecord;
}

/**
 * The JSON argument of Subscription:RequestSubscription: pseudonymous ids, the session key's id, the key wrapped
 * for the distributor and for the authority, and the commitment the meter will later open. Nothing personal.
 */
export interface SubscriptionRequest {
  distributorMspId: string;
  meterId: string;
  requestedPlan: string;
  keyId: string;
  pairingCommitment: string;
  keyGrants: KeyGrant[];
  /**
   * disclosed (the default): the key is wrapped for the distributor and the authority, and the meter submits
   * sealed readings. aggregate: wrapped for the distributor only; the meter sends pseudonymous shares instead.
   */
  privacyMode?: PrivacyMode;
  /**
   * The household's own P-256 encryption public key (SPKI PEM), for which the distributor seals its bill reports.
   * Required in aggregate mode (its bills come with a sealed report), optional in disclosed mode.
   */
  householdPublicKeyPem?: string;
  /** What the meter measures (default electricity): its readings must say the same, its tariff must price it. */
  utility?: Utility;
}

export type SubscriptionStatus = 'REQUESTED' | 'APPROVED' | 'REJECTED' | 'ACTIVE' | 'ENDED';

export interface SubscriptionApproval {
  /** Seconds between readings; the meter reports one reading per interval. */
  intervalSeconds: number;
  tariffId: string;
  /** Grid area, e.g. north/d3/c12. */
  regionCode: string;
  /** First period start; aligned to the interval. */
  startDate: string;
  approvedAt: string;
  /**
   * Changes of the reading interval, oldest first; `intervalSeconds` is the latest. See api/periods.ts for
   * how periods follow from these.
   */
  intervalChanges?: IntervalChange[];
}

/** From `effectiveFrom` on (a boundary of the old and the new interval), readings come every `intervalSeconds`. */
export interface IntervalChange {
  effectiveFrom: string;
  intervalSeconds: number;
  previousIntervalSeconds: number;
  changedAt: string;
}

export interface SubscriptionEnd {
  reason: string;
  /** Readings for periods starting at or after this time are refused. */
  effectiveAt: string;
  endedAt: string;
  endedByRole: Role;
}

/** A household's subscription: pseudonymous ids only, never names, addresses or other personal data. */
export interface SubscriptionRecord {
  docType: 'subscription';
  subscriptionId: string;
  channel: string;
  distributorMspId: string;
  /** Pseudonym from the subscriber's certificate attribute subscriberId. */
  subscriberId: string;
  meterId: string;
  requestedPlan: string;
  /** Id of the current session key (first 16 bytes of its SHA-256, hex). */
  keyId: string;
  /** The session key wrapped for the distributor and (disclosed mode only) for the authority. */
  keyGrants: KeyGrant[];
  /** Absent on subscriptions made before the mode existed: those are disclosed. */
  privacyMode?: PrivacyMode;
  /**
   * What the meter measures, in clear (it says no more than the subscription itself). Absent on subscriptions
   * made before utilities existed: those are electricity. Read it with utilityOf.
   */
  utility?: Utility;
  /** The household's encryption public key (SPKI PEM) its bill reports are sealed for, and its fingerprint. */
  householdPublicKeyPem?: string;
  householdKeyFingerprint?: string;
  /** SHA-256 of the pairing proof the meter must reveal, hex. */
  pairingCommitment: string;
  /**
   * The household's key: SHA-256 of the public key of the certificate that requested the subscription (or of
   * the one the household rebound it to). Every household action must come from a certificate with this key.
   */
  subscriberKeyFingerprint: string;
  /** The meter's key, bound when the meter pairs: later readings must come from a certificate with this key. */
  meterKeyFingerprint?: string;
  /** Keys the household moved the subscription to (RebindKey), oldest first. */
  keyRebinds?: KeyRebind[];
  status: SubscriptionStatus;
  requestedAt: string;
  updatedAt: string;
  approval?: SubscriptionApproval;
  rejection?: { reason: string; rejectedAt: string };
  pairedAt?: string;
  end?: SubscriptionEnd;
}

/** The household moved its own or its meter's binding to a new certificate key, signed with its current key. */
export interface KeyRebind {
  party: 'subscriber' | 'meter';
  previousFingerprint: string | null;
  fingerprint: string;
  reboundAt: string;
}

/** A session key in use: it belongs to one subscription and may not be requested again. */
export interface SessionKeyRecord {
  docType: 'sessionKey';
  keyId: string;
  subscriptionId: string;
}

/** A session key that may no longer be used for new readings or subscriptions. */
export interface RetiredKeyRecord {
  docType: 'retiredKey';
  keyId: string;
  subscriptionId: string;
  retiredAt: string;
}

/** One encrypted reading; the slot (subscription, periodStart) is its identity. */
export interface ReadingRecord {
  docType: 'reading';
  subscriptionId: string;
  sequence: number;
  periodStart: string;
  /** AES-256-GCM ciphertext and tag, base64; AAD = channel|subscriptionId|sequence|periodStart. */
  ciphertext: string;
  nonce: string;
  keyId: string;
  submittedAt: string;
  txId: string;
}

/** Where a subscription's accepted readings have got to: readings must advance both fields. */
export interface ReadingCursorRecord {
  docType: 'readingCursor';
  subscriptionId: string;
  lastSequence: number;
  lastPeriodStart: string;
  readingCount: number;
}

export type AccessRequestStatus = 'PENDING' | 'GRANTED' | 'DENIED';

/** A request by a distributor or the authority to see a household's personal data, and its outcome. */
export interface AccessRequestRecord {
  docType: 'accessRequest';
  requestId: string;
  subscriptionId: string;
  requesterMspId: string;
  requesterRole: Role;
  reason: string;
  /**
   * The requester's public key for this request only (P-256, SPKI PEM): the household seals the data for it, so
   * no other organization can open what passes through its peers, and the requester destroys the private key
   * when the data is purged (crypto-shredding every copy left on any disk).
   */
  requestPublicKeyPem: string;
  status: AccessRequestStatus;
  requestedAt: string;
  decidedAt?: string;
  denialReason?: string;
  /** Private data collection that received the data, readable only by the requesting organization. */
  collection?: string;
  /** SHA-256 of the delivered (encrypted) personal data, hex. */
  deliveredHash?: string;
}

/** What the requesting organization finds in its private data collection until the data is purged. */
export interface PersonalDataDelivery {
  docType: 'personalDataDelivery';
  requestId: string;
  subscriptionId: string;
  /**
   * Personal data sealed by the household for the request's public key (see @smartmeter/crypto
   * sealForRecipient, context = request id), padded to a fixed size; base64.
   */
  sealedPersonalData: string;
  deliveredAt: string;
}

export interface Page<T> {
  records: T[];
  /** Pass back to get the next page; empty when there are no more records. */
  bookmark: string;
}

export const EventName = {
  PingRecorded: 'PingRecorded',
  OrgKeyPublished: 'OrgKeyPublished',
  SubscriptionRequested: 'SubscriptionRequested',
  SubscriptionApproved: 'SubscriptionApproved',
  SubscriptionRejected: 'SubscriptionRejected',
  MeterPaired: 'MeterPaired',
  ReadingIntervalChanged: 'ReadingIntervalChanged',
  SubscriptionEnded: 'SubscriptionEnded',
  ReadingSubmitted: 'ReadingSubmitted',
  ReadingsSubmitted: 'ReadingsSubmitted',
  PersonalDataRequested: 'PersonalDataRequested',
  PersonalDataGranted: 'PersonalDataGranted',
  PersonalDataDenied: 'PersonalDataDenied',
  SubscriptionKeyRebound: 'SubscriptionKeyRebound',
  TariffPublished: 'TariffPublished',
  PriceSignalsPublished: 'PriceSignalsPublished',
  PricePolicyPublished: 'PricePolicyPublished',
  BillIssued: 'BillIssued',
  BillDisputed: 'BillDisputed',
  DisputeResolved: 'DisputeResolved',
  BillPaid: 'BillPaid',
  AggregationFiltersPublished: 'AggregationFiltersPublished',
  GridSharesSubmitted: 'GridSharesSubmitted',
  AggregationRoundClosed: 'AggregationRoundClosed',
  AggregationRoundResolved: 'AggregationRoundResolved',
  /** token-erc-20's event: { from, to, value } (from '' for a top-up, to '' for an exhaustion). */
  Transfer: 'Transfer',
  WalletChanged: 'WalletChanged',
  DeviceKeyRegistered: 'DeviceKeyRegistered',
  DeviceConfigPublished: 'DeviceConfigPublished',
  DeviceConfigAcknowledged: 'DeviceConfigAcknowledged',
  DeviceHealthReported: 'DeviceHealthReported',
  AnomalyConfirmed: 'AnomalyConfirmed',
} as const;

export type EventName = (typeof EventName)[keyof typeof EventName];

/** Name of the private data collection through which an organization receives personal data. */
export function personalDataCollection(mspId: string): string {
  return `personalDataFor${mspId}`;
}

/** The utility a subscription meters: electricity unless it says otherwise. */
export function utilityOf(subscription: { utility?: Utility }): Utility {
  return subscription.utility ?? 'electricity';
}
