import type { SubscriptionRecord, WalletRecord } from '@smartmeter/domain';
import type { BatchResult, ReadingSubmission } from '@smartmeter/client/dist/contracts/MeasurementClient';
import { PAIR_BUNDLE_FORMAT, type PairBundle } from '@smartmeter/client/dist/pairBundle';
import { keyIdOf, periodSecrets, type GridShare } from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../src/log';
import type { MeterLedger } from '../../src/meter';
import type { SharePublisher } from '../../src/publisher';
import { refusalError } from './memoryMeterLedger';

export const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** A publish as the fake broker saw it. */
export interface Sent {
  topic: string;
  payload: string;
  /** The fake clock when it was published, epoch seconds. */
  atSeconds: number;
}

/**
 * The broker, faked: records every publish with the moment it happened and acknowledges at once, or holds
 * the acknowledgements back (`autoAck = false`) until ack() — or until disconnect(), which fails them.
 */
export class FakePublisher implements SharePublisher {
  autoAck = true;
  /** Unset: the reporter's own limit. */
  maxInFlight: number | undefined;
  readonly sent: Sent[] = [];
  private up = true;
  private readonly unacked: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly nowMs: () => number = Date.now) {}

  get connected(): boolean {
    return this.up;
  }

  publish(topic: string, payload: string): Promise<void> {
    if (!this.up) return Promise.reject(new Error('not connected to the broker'));
    this.sent.push({ topic, payload, atSeconds: Math.floor(this.nowMs() / 1000) });
    return new Promise((resolve, reject) => {
      if (this.autoAck) queueMicrotask(resolve);
      else this.unacked.push({ resolve, reject });
    });
  }

  /** Acknowledges the first n held publishes (all by default). */
  ack(n = this.unacked.length): void {
    for (const entry of this.unacked.splice(0, n)) entry.resolve();
  }

  disconnect(): void {
    this.up = false;
    for (const entry of this.unacked.splice(0)) entry.reject(new Error('connection closed'));
    this.listeners.forEach((listener) => {
      listener();
    });
  }

  reconnect(): void {
    this.up = true;
    this.listeners.forEach((listener) => {
      listener();
    });
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    this.up = false;
    for (const entry of this.unacked.splice(0)) entry.reject(new Error('closed'));
    return Promise.resolve();
  }

  shares(): GridShare[] {
    return this.sent.map((sent) => JSON.parse(sent.payload) as GridShare);
  }
}

/** rc' + rc'' − H3(z) − H3(z'): the reading, for a meter's two shares of a period. */
export function unmasked(sessionKey: Buffer, shares: readonly GridShare[]): bigint {
  const secrets = periodSecrets(sessionKey, Date.parse(shares[0].periodStart) / 1000);
  const sum = shares.reduce((total, share) => total + BigInt(share.value), 0n);
  return sum - secrets.firstMask - secrets.secondMask;
}

/** The ledger an aggregate meter sees: its ACTIVE subscription; pairing and readings are refused, and counted. */
export class AggregateLedger implements MeterLedger {
  confirmPairingCalls = 0;
  submitReadingsCalls = 0;
  walletOfCalls = 0;

  constructor(public record: SubscriptionRecord) {}

  getSubscription(): Promise<SubscriptionRecord> {
    return Promise.resolve(this.record);
  }

  confirmPairing(): Promise<SubscriptionRecord> {
    this.confirmPairingCalls += 1;
    return Promise.reject(refusalError('CONFLICT: the meter of an aggregate subscription does not pair'));
  }

  submitReadings(readings: ReadingSubmission[]): Promise<BatchResult> {
    this.submitReadingsCalls += readings.length;
    return Promise.reject(refusalError('CONFLICT: an aggregate subscription takes no readings'));
  }

  /** The wallet of a prepaid aggregate subscription (undefined: not prepaid); reads are counted. */
  wallet: WalletRecord | undefined;

  walletOf(): Promise<WalletRecord | undefined> {
    this.walletOfCalls += 1;
    return Promise.resolve(this.wallet);
  }
}

export interface AggregateHousehold {
  sessionKey: Buffer;
  bundle: PairBundle;
  record: SubscriptionRecord;
}

/** A household in aggregate mode, approved (and so ACTIVE) from `startSeconds`, half-hourly in north/d3. */
export function aggregateHousehold(
  n: number,
  startSeconds: number,
  intervalSeconds = 1800,
): AggregateHousehold {
  const sessionKey = randomBytes(32);
  const keyId = keyIdOf(sessionKey);
  const subscriptionId = `sub_${n.toString().padStart(24, '0')}`;
  const meterId = `mtr-agg-${n}`;
  const record: SubscriptionRecord = {
    docType: 'subscription',
    subscriptionId,
    channel: 'northgrid',
    distributorMspId: 'Distributor1MSP',
    subscriberId: `hh-${n}`,
    meterId,
    requestedPlan: 'flat',
    keyId,
    keyGrants: [],
    privacyMode: 'aggregate',
    pairingCommitment: '0'.repeat(64),
    subscriberKeyFingerprint: '0'.repeat(64),
    status: 'ACTIVE',
    requestedAt: iso(startSeconds - 86_400),
    updatedAt: iso(startSeconds - 86_400),
    approval: {
      intervalSeconds,
      tariffId: 'tariff-1',
      regionCode: 'north/d3',
      startDate: iso(startSeconds),
      approvedAt: iso(startSeconds - 86_400),
    },
  };
  const bundle: PairBundle = {
    format: PAIR_BUNDLE_FORMAT,
    channel: 'northgrid',
    chaincodeName: 'smartmeter',
    mspId: 'Distributor1MSP',
    subscriptionId,
    meterId,
    peer: { endpoint: 'memory', hostAlias: 'memory', tlsRootCertPem: '' },
    sessionKey: { keyId, keyHex: sessionKey.toString('hex') },
    createdAt: '2026-01-01T00:00:00Z',
  };
  return { sessionKey, bundle, record };
}

export function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: (level, event, message, fields) =>
      lines.push(`${level} ${event} ${message} ${JSON.stringify(fields ?? {})}`),
  };
}
