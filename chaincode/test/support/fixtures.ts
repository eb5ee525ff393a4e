import {
  encryptReading,
  newOrgKeyPair,
  newSessionKey,
  pairingProof,
  type OrgKeyPair,
  type ReadingPayload,
} from '@smartmeter/crypto';
import type { Context } from 'fabric-contract-api';
import { buildSubscriptionRequest } from '../../../client/src/subscriptionRequest';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { MeasurementContract } from '../../src/contracts/MeasurementContract';
import { OrgKeyContract } from '../../src/contracts/OrgKeyContract';
import { BillingContract } from '../../src/contracts/BillingContract';
import { PersonalDataContract } from '../../src/contracts/PersonalDataContract';
import { PricingContract } from '../../src/contracts/PricingContract';
import { SubscriptionContract } from '../../src/contracts/SubscriptionContract';
import { MemoryLedger, type FakeIdentity, type TestCertificate, type TxOptions } from './memoryContext';

export const D1 = 'Distributor1MSP';
export const D2 = 'Distributor2MSP';
export const AUTHORITY = 'AuthorityMSP';
/** Each distributor's households and meters come from their own MSP (see support/topology.ts). */
export const H1 = 'Distributor1HouseholdsMSP';
export const H2 = 'Distributor2HouseholdsMSP';

export const id = {
  d1Operator: { mspId: D1, attributes: { role: 'operator' } },
  d1Admin: { mspId: D1, attributes: { 'hf.Type': 'admin' } },
  d2Operator: { mspId: D2, attributes: { role: 'operator' } },
  d1ConfigAdmin: { mspId: D1, attributes: { role: 'config-admin' } },
  d2ConfigAdmin: { mspId: D2, attributes: { role: 'config-admin' } },
  auditor: { mspId: AUTHORITY, attributes: { role: 'auditor' } },
  authorityAdmin: { mspId: AUTHORITY, attributes: { 'hf.Type': 'admin' } },
  subscriber: (
    subscriberId = 'hh-001',
    mspId = H1,
    certificate: TestCertificate = 'key-a',
  ): FakeIdentity => ({
    mspId,
    attributes: { role: 'subscriber', subscriberId },
    certificate,
  }),
  meter: (meterId = 'MTR-001', mspId = H1, certificate: TestCertificate = 'key-b'): FakeIdentity => ({
    mspId,
    attributes: { role: 'meter', meterId },
    certificate,
  }),
  noRole: { mspId: D1 },
} as const;

export const contracts = {
  orgKey: new OrgKeyContract(),
  subscription: new SubscriptionContract(),
  measurement: new MeasurementContract(),
  personalData: new PersonalDataContract(),
  pricing: new PricingContract(),
  billing: new BillingContract(),
};

/** Approval used by the fixtures: half-hour readings from 36 hours before the ledger clock's start. */
export const approval = {
  intervalSeconds: 1800,
  tariffId: 'tou-2026',
  regionCode: 'north/d3/c12',
  startDate: '2026-01-14T00:00:00Z',
};

export const payload: ReadingPayload = {
  energyWh: 420,
  utility: 'electricity',
  unit: 'Wh',
  quality: 'measured',
};

/** A ledger on which Distributor1 and the authority have published their encryption keys. */
export class World {
  readonly ledger = new MemoryLedger();
  readonly orgKeys: Record<string, OrgKeyPair> = {};

  static async create(): Promise<World> {
    const world = new World();
    await world.publishKey(id.d1Operator, D1);
    await world.publishKey(id.auditor, AUTHORITY);
    return world;
  }

  async publishKey(identity: FakeIdentity, mspId: string): Promise<void> {
    this.orgKeys[mspId] = newOrgKeyPair();
    await this.run(identity, (ctx) => contracts.orgKey.PublishOrgKey(ctx, this.orgKeys[mspId].publicKeyPem));
  }

  run<T>(identity: FakeIdentity, fn: (ctx: Context) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.ledger.invoke(identity, fn, options);
  }

  /** The JSON a subscriber sends with RequestSubscription, for a session key and meter. */
  requestJson(sessionKey: Buffer, meterId = 'MTR-001', overrides: Record<string, unknown> = {}): string {
    const request = buildSubscriptionRequest({
      distributorMspId: D1,
      meterId,
      requestedPlan: 'residential-tou',
      sessionKey,
      recipients: [D1, AUTHORITY].map((mspId) => ({
        mspId,
        version: 1,
        publicKeyPem: this.orgKeys[mspId].publicKeyPem,
      })),
    });
    return JSON.stringify({ ...JSON.parse(request), ...overrides });
  }

  /** The JSON of an aggregate-mode request: the session key wrapped for the distributor (or `recipients`) only. */
  aggregateRequestJson(sessionKey: Buffer, recipients: string[] = [D1]): string {
    return buildSubscriptionRequest({
      distributorMspId: D1,
      meterId: 'MTR-001',
      requestedPlan: 'residential-tou',
      sessionKey,
      privacyMode: 'aggregate',
      householdPublicKeyPem: newOrgKeyPair().publicKeyPem,
      recipients: recipients.map((mspId) => ({
        mspId,
        version: 1,
        publicKeyPem: this.orgKeys[mspId].publicKeyPem,
      })),
    });
  }

  /** An aggregate-mode household, approved (and so active: aggregate meters do not pair). */
  async aggregateApproved(): Promise<Household> {
    const sessionKey = newSessionKey();
    const requested = parse<SubscriptionRecord>(
      await this.run(id.subscriber(), (ctx) =>
        contracts.subscription.RequestSubscription(ctx, this.aggregateRequestJson(sessionKey)),
      ),
    );
    const household: Household = {
      sessionKey,
      subscriber: id.subscriber(),
      meter: id.meter(),
      subscriptionId: requested.subscriptionId,
      meterId: 'MTR-001',
    };
    await this.approve(household);
    return household;
  }

  async requested(options: { subscriberId?: string; meterId?: string } = {}): Promise<Household> {
    const sessionKey = newSessionKey();
    const subscriber = id.subscriber(options.subscriberId);
    const meterId = options.meterId ?? 'MTR-001';
    const record = parse<SubscriptionRecord>(
      await this.run(subscriber, (ctx) =>
        contracts.subscription.RequestSubscription(ctx, this.requestJson(sessionKey, meterId)),
      ),
    );
    return {
      sessionKey,
      subscriber,
      meter: id.meter(meterId),
      subscriptionId: record.subscriptionId,
      meterId,
    };
  }

  async approved(options: { subscriberId?: string; meterId?: string } = {}): Promise<Household> {
    const household = await this.requested(options);
    await this.approve(household);
    return household;
  }

  /** Distributor1's operator approves, with the fixtures' terms unless others are given. */
  async approve(
    household: Household,
    terms: Partial<typeof approval> = {},
    options?: TxOptions,
  ): Promise<void> {
    await this.run(
      id.d1Operator,
      (ctx) =>
        contracts.subscription.ApproveSubscription(
          ctx,
          household.subscriptionId,
          JSON.stringify({ ...approval, ...terms }),
        ),
      options,
    );
  }

  async active(options: { subscriberId?: string; meterId?: string } = {}): Promise<Household> {
    const household = await this.approved(options);
    await this.run(household.meter, (ctx) =>
      contracts.subscription.ConfirmPairing(
        ctx,
        household.subscriptionId,
        pairingProof(household.sessionKey, household.meterId),
      ),
    );
    return household;
  }

  async subscription(subscriptionId: string): Promise<SubscriptionRecord> {
    return parse(
      await this.run(id.auditor, (ctx) => contracts.subscription.GetSubscription(ctx, subscriptionId)),
    );
  }
}

export interface Household {
  sessionKey: Buffer;
  subscriber: FakeIdentity;
  meter: FakeIdentity;
  subscriptionId: string;
  meterId: string;
}

/** Period start n half-hours after the fixtures' start date. */
export function period(n: number): string {
  return new Date(Date.parse(approval.startDate) + n * 1800_000).toISOString().replace('.000Z', 'Z');
}

/** The submission a meter makes for slot n (sequence n + 1) of a household. */
export function reading(household: Household, n: number, energyWh = 420, channel = 'northgrid') {
  const slot = { channel, subscriptionId: household.subscriptionId, sequence: n + 1, periodStart: period(n) };
  const encrypted = encryptReading({ ...payload, energyWh }, household.sessionKey, slot);
  return {
    subscriptionId: slot.subscriptionId,
    sequence: slot.sequence,
    periodStart: slot.periodStart,
    ...encrypted,
  };
}

export function parse<T>(json: string): T {
  return JSON.parse(json) as T;
}
