import type { ServiceError } from '@grpc/grpc-js';
import { EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { encryptReading, keyIdOf, wrapSessionKey } from '@smartmeter/crypto';
import {
  DEFAULT_METER_POLICY,
  type AccessRequestRecord,
  type BillComputation,
  type BillRecord,
  type OrgKeyRecord,
  type ReadingRecord,
  type SettlementRecord,
  type SubscriptionRecord,
  type TariffRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { recomputeBill, type BillEvidence } from '../../../src/billVerify';
import type { Keystore } from '../../../src/keystore';

export const CHANNEL = 'northgrid';
export const PEER = { address: '127.0.0.1:7051', mspId: 'Distributor1MSP' };

/**
 * A refusal as the gateway reports it: the chaincode's "CODE: text" in the endorsing peer's detail (what
 * errors.ts describeFailure and refusalOf read).
 */
export function chaincodeRefusal(text: string): GatewayError {
  return new EndorseError({
    code: 10,
    details: [{ ...PEER, message: `chaincode response 500, ${text}` }],
    cause: new Error('grpc') as ServiceError,
    message: '10 ABORTED: failed to endorse transaction, see attached details for more info',
    transactionId: 'tx-refused',
  });
}

/** An organization key pair in the keystore, published as version `version` on the channel. */
export function orgKeyInKeystore(keystore: Keystore, mspId: string, version = 1): string {
  const pending = keystore.newPendingOrgKey(CHANNEL, mspId);
  keystore.commitOrgKey(pending.pendingPath, CHANNEL, mspId, version);
  return pending.pair.publicKeyPem;
}

export interface Grant {
  mspId: string;
  publicKeyPem: string;
  version?: number;
}

/** A subscription whose session key is wrapped for each grant (wrappedKey: what is wrapped, default the key). */
export function subscriptionRecord(
  sessionKey: Buffer,
  grants: Grant[],
  overrides: Partial<SubscriptionRecord> = {},
  wrappedKey: Buffer = sessionKey,
): SubscriptionRecord {
  return {
    docType: 'subscription',
    subscriptionId: 'sub_000000000000000000000001',
    channel: CHANNEL,
    distributorMspId: 'Distributor1MSP',
    subscriberId: 'hh-17',
    meterId: 'mtr-42',
    requestedPlan: 'standard',
    keyId: keyIdOf(sessionKey),
    keyGrants: grants.map((grant) => ({
      mspId: grant.mspId,
      orgKeyVersion: grant.version ?? 1,
      wrappedKey: wrapSessionKey(wrappedKey, grant.publicKeyPem),
    })),
    pairingCommitment: 'c0ffee',
    subscriberKeyFingerprint: 'f1f1',
    status: 'REQUESTED',
    requestedAt: '2026-11-01T09:00:00Z',
    updatedAt: '2026-11-01T09:00:00Z',
    ...overrides,
  };
}

/** A household's keystore key and a subscription on it, granted to nobody (the household reads with its own key). */
export function householdSubscription(
  keystore: Keystore,
  overrides: Partial<SubscriptionRecord> = {},
): { sessionKey: Buffer; subscription: SubscriptionRecord } {
  const stored = keystore.newSessionKey('home');
  const sessionKey = Buffer.from(stored.key, 'hex');
  return { sessionKey, subscription: subscriptionRecord(sessionKey, [], overrides) };
}

export const APPROVAL: NonNullable<SubscriptionRecord['approval']> = {
  intervalSeconds: 1800,
  tariffId: 'flat-2026',
  regionCode: 'north/d1',
  startDate: '2026-11-01T00:00:00Z',
  approvedAt: '2026-11-01T09:30:00Z',
};

/** Readings of the subscription encrypted in their slots, one per half hour from 2026-11-01T00:00:00Z. */
export function readingRecords(
  subscription: SubscriptionRecord,
  key: Buffer,
  energies: number[],
): ReadingRecord[] {
  return energies.map((energyWh, i) => {
    const periodStart = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 1_800_000)
      .toISOString()
      .replace('.000Z', 'Z');
    const slot = {
      channel: CHANNEL,
      subscriptionId: subscription.subscriptionId,
      sequence: i + 1,
      periodStart,
    };
    return {
      docType: 'reading',
      ...slot,
      ...encryptReading({ energyWh, utility: 'electricity', unit: 'Wh', quality: 'measured' }, key, slot),
      submittedAt: '2026-11-01T12:00:00Z',
      txId: `tx${i + 1}`,
    };
  });
}

export function orgKeyRecord(overrides: Partial<OrgKeyRecord> = {}): OrgKeyRecord {
  return {
    docType: 'orgKey',
    mspId: 'Distributor1MSP',
    version: 1,
    publicKeyPem: 'PEM',
    fingerprint: '0123456789abcdef0123456789abcdef',
    publishedAt: '2026-11-01T08:00:00Z',
    publishedByRole: 'admin',
    ...overrides,
  };
}

export function tariffRecord(overrides: Partial<TariffRecord> = {}): TariffRecord {
  return {
    docType: 'tariff',
    tariffId: 'flat-2026',
    effectiveFrom: '2026-10-01T00:00:00Z',
    currency: 'GBP',
    utcOffsetMinutes: 0,
    standingChargeMicroPerDay: 50_000_000,
    taxBasisPoints: 500,
    pricing: { kind: 'flat', priceMicroPerKwh: 25_000_000 },
    distributorMspId: 'Distributor1MSP',
    version: 1,
    publishedAt: '2026-10-01T00:00:00Z',
    ...overrides,
  };
}

/** A bill and everything it was computed from, its figures those the household recomputes. */
export function billEvidence(sessionKey: Buffer, energies: number[]): BillEvidence {
  const subscription = subscriptionRecord(sessionKey, [], { status: 'ACTIVE', approval: APPROVAL });
  const readings = readingRecords(subscription, sessionKey, energies);
  // recomputeBill reads only the bill's period: the computed fields are filled in from its result.
  const unbilled = { ...billShell() } as BillRecord;
  const evidence: BillEvidence = {
    channel: CHANNEL,
    subscription,
    readings,
    tariffVersions: [tariffRecord()],
    signals: [],
    bill: unbilled,
  };
  return { ...evidence, bill: { ...unbilled, ...recomputeBill(evidence, sessionKey) } };
}

function billShell(): Omit<BillRecord, keyof BillComputation> {
  return {
    docType: 'bill',
    billId: 'bill_000000000000000000000001',
    subscriptionId: 'sub_000000000000000000000001',
    distributorMspId: 'Distributor1MSP',
    periodFrom: '2026-11-01T00:00:00Z',
    periodTo: '2026-11-02T00:00:00Z',
    status: 'ISSUED',
    issuedAt: '2026-11-02T01:00:00Z',
  };
}

export function accessRequestRecord(overrides: Partial<AccessRequestRecord> = {}): AccessRequestRecord {
  return {
    docType: 'accessRequest',
    requestId: 'par_000000000000000000000001',
    subscriptionId: 'sub_000000000000000000000001',
    requesterMspId: 'AuthorityMSP',
    requesterRole: 'auditor',
    reason: 'fraud case 117',
    requestPublicKeyPem: 'PEM',
    status: 'PENDING',
    requestedAt: '2026-11-10T09:00:00Z',
    ...overrides,
  };
}

/** A prepaid wallet of SUB-like id 1, opened on the 1st of November with the default policy. */
export function walletRecord(overrides: Partial<WalletRecord> = {}): WalletRecord {
  return {
    docType: 'wallet',
    subscriptionId: 'sub_000000000000000000000001',
    channel: CHANNEL,
    distributorMspId: 'Distributor1MSP',
    currency: 'GBP',
    balanceMinor: 1500,
    emergencyCreditMinor: 1000,
    settledUntil: '2026-11-01T00:00:00Z',
    policy: DEFAULT_METER_POLICY,
    supply: 'on',
    supplyReason: 'balance-ok',
    supplyChangedAt: '2026-11-01T00:00:00Z',
    updatedAt: '2026-11-01T00:00:00Z',
    entries: 1,
    ...overrides,
  };
}

/** A settlement of that wallet, priced from readings; tests give the range and figures they need. */
export function settlementRecord(overrides: Partial<SettlementRecord> = {}): SettlementRecord {
  return {
    docType: 'settlement',
    subscriptionId: 'sub_000000000000000000000001',
    periodFrom: '2026-11-01T00:00:00Z',
    periodTo: '2026-11-01T02:00:00Z',
    amountMinor: 0,
    readingCount: 0,
    readingsDigest: '',
    costFrom: '2026-11-01T00:00:00Z',
    costMinor: 0,
    source: 'readings',
    at: '2026-11-01T12:05:00Z',
    txId: 'tx-settle',
    ...overrides,
  };
}
