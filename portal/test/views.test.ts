import { recomputeBill, type CostEvidence } from '@smartmeter/client/dist/billVerify';
import type { DecryptedReading } from '@smartmeter/client/dist/commands/readings';
import type { LoadRow } from '@smartmeter/client/dist/reporting/reports';
import { newOrgKeyPair, newSessionKey } from '@smartmeter/crypto';
import type { ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import {
  APPROVAL,
  billEvidence,
  CHANNEL,
  householdSubscription,
  orgKeyInKeystore,
  readingRecords,
  subscriptionRecord,
  tariffRecord,
} from '../../client/test/commands/support/fixtures';
import type { TestWorld } from '../../client/test/commands/support/world';
import type { Bucket } from '../src/api';
import { regionTotal } from '../src/routes/reports';
import { bucketReadings, bucketStart, completenessView, consumptionView } from '../src/views';
import { globalsOf, worldOf } from './support/parties';

const DAY = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' };

/** 48 half-hours of 1 November: 100 and 150 Wh in turn, 250 Wh an hour, 6 kWh the day. */
const HALF_HOURS = Array.from({ length: 48 }, (_, i) => (i % 2 === 0 ? 100 : 150));

describe('bucketStart', () => {
  it.each<[string, Bucket, string]>([
    ['2026-11-15T10:30:00Z', 'hour', '2026-11-15T10:00:00Z'],
    ['2026-11-15T10:00:00Z', 'hour', '2026-11-15T10:00:00Z'],
    ['2026-11-15T23:59:59Z', 'hour', '2026-11-15T23:00:00Z'],
    ['2026-11-15T23:30:00Z', 'day', '2026-11-15T00:00:00Z'],
    ['2026-11-16T00:00:00Z', 'day', '2026-11-16T00:00:00Z'],
    ['2028-02-29T12:00:00Z', 'day', '2028-02-29T00:00:00Z'],
    ['2026-12-31T23:30:00Z', 'month', '2026-12-01T00:00:00Z'],
    ['2027-01-01T00:00:00Z', 'month', '2027-01-01T00:00:00Z'],
  ])('when a period starts at %s then its %s bucket starts at %s (UTC)', (periodStart, bucket, start) => {
    expect(bucketStart(periodStart, bucket)).toBe(start);
  });
});

function decrypted(periodStart: string, energyWh?: number): DecryptedReading {
  const base = { periodStart, sequence: 1, submittedAt: '2026-11-16T00:00:00Z', txId: 'tx' };
  return energyWh === undefined
    ? { ...base, error: 'does not decrypt in its slot' }
    : { ...base, payload: { energyWh, utility: 'electricity', unit: 'Wh', quality: 'measured' } };
}

describe('bucketReadings', () => {
  it('when readings are summed by hour then each hour holds its sum and count, in time order, without undecrypted ones', () => {
    const readings = [
      decrypted('2026-11-15T11:00:00Z', 40),
      decrypted('2026-11-15T10:30:00Z', 25),
      decrypted('2026-11-15T10:00:00Z', 10),
      decrypted('2026-11-15T11:30:00Z'),
    ];

    expect(bucketReadings(readings, 'hour')).toEqual([
      { start: '2026-11-15T10:00:00Z', quantity: 35, readings: 2 },
      { start: '2026-11-15T11:00:00Z', quantity: 40, readings: 1 },
    ]);
  });

  it('when readings of two months are summed by month then each month holds its own', () => {
    const readings = [decrypted('2026-11-30T23:30:00Z', 7), decrypted('2026-12-01T00:00:00Z', 5)];

    expect(bucketReadings(readings, 'month')).toEqual([
      { start: '2026-11-01T00:00:00Z', quantity: 7, readings: 1 },
      { start: '2026-12-01T00:00:00Z', quantity: 5, readings: 1 },
    ]);
  });
});

/** The household's ledger: its subscription, these readings (by range, as the peer answers) and the flat tariff. */
function ledgerOf(world: TestWorld, subscription: SubscriptionRecord, readings: ReadingRecord[]): void {
  world.clients = {
    subscriptions: { get: async () => subscription },
    measurements: {
      all: async (_id, from, to) => readings.filter((r) => r.periodStart >= from && r.periodStart < to),
    },
    pricing: { tariffHistory: async () => [tariffRecord()], signals: async () => [] },
  };
}

/** A household (its session key in its keystore) with an approved subscription. */
function householdWorld(overrides: Partial<SubscriptionRecord> = {}) {
  const world = worldOf('household');
  const { sessionKey, subscription } = householdSubscription(world.keystore, {
    status: 'ACTIVE',
    approval: APPROVAL,
    ...overrides,
  });
  return { world, sessionKey, subscription, deps: () => world.deps(globalsOf('household')) };
}

/** What a bill of [periodFrom, periodTo) computes from these readings (billVerify, as bill verify does). */
function billOf(
  subscription: SubscriptionRecord,
  readings: ReadingRecord[],
  sessionKey: Buffer,
  period: { periodFrom: string; periodTo: string },
) {
  const evidence: CostEvidence = {
    channel: CHANNEL,
    subscription,
    bill: period,
    readings: readings.filter((r) => r.periodStart >= period.periodFrom && r.periodStart < period.periodTo),
    tariffVersions: [tariffRecord()],
    signals: [],
  };
  return recomputeBill(evidence, sessionKey);
}

describe('consumptionView', () => {
  it("when a household's day is read by hour then each hour sums its two half-hours and the total is the day's energy", async () => {
    const { world, sessionKey, subscription, deps } = householdWorld();
    ledgerOf(world, subscription, readingRecords(subscription, sessionKey, HALF_HOURS));

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'hour' });

    expect(view.buckets).toHaveLength(24);
    expect(view.buckets[0]).toEqual({ start: '2026-11-01T00:00:00Z', quantity: 250, readings: 2 });
    expect(view.buckets[23]).toEqual({ start: '2026-11-01T23:00:00Z', quantity: 250, readings: 2 });
    expect(view.buckets.every((b) => b.quantity === 250 && b.readings === 2)).toBe(true);
    expect(view).toMatchObject({
      subscriptionId: subscription.subscriptionId,
      ...DAY,
      bucket: 'hour',
      unit: 'Wh',
      total: { quantity: HALF_HOURS.reduce((sum, e) => sum + e, 0), readings: 48 },
      undecryptable: 0,
    });
  });

  it("when the day has ended then its cost is the day's bill: 6 kWh at 25 p/kWh, a 50 p standing charge, 5 % tax = 2.10 GBP", async () => {
    const { world, sessionKey, subscription, deps } = householdWorld();
    ledgerOf(world, subscription, readingRecords(subscription, sessionKey, HALF_HOURS));
    const { bill } = billEvidence(sessionKey, HALF_HOURS);

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'day' });

    expect(view.buckets).toEqual([{ start: DAY.from, quantity: 6000, readings: 48 }]);
    expect(view.cost).toEqual({ currency: 'GBP', totalMinor: 210, energyWh: 6000, costTo: DAY.to });
    expect(view.cost).toMatchObject({ totalMinor: bill.totalMinor, energyWh: bill.energyWh });
    expect(view.costNote).toBeUndefined();
  });

  it('when a reading was encrypted under another key then it is counted undecryptable, not consumed, and the cost sets it aside as the bill does', async () => {
    const { world, sessionKey, subscription, deps } = householdWorld();
    const readings = [
      ...readingRecords(subscription, sessionKey, HALF_HOURS).slice(0, 47),
      readingRecords(subscription, newSessionKey(), HALF_HOURS)[47],
    ];
    ledgerOf(world, subscription, readings);

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'hour' });
    const bill = billOf(subscription, readings, sessionKey, { periodFrom: DAY.from, periodTo: DAY.to });

    expect(view.undecryptable).toBe(1);
    expect(view.total).toEqual({ quantity: 6000 - 150, readings: 47 });
    expect(view.buckets[23]).toEqual({ start: '2026-11-01T23:00:00Z', quantity: 100, readings: 1 });
    expect(view.cost).toEqual({
      currency: 'GBP',
      totalMinor: bill.totalMinor,
      energyWh: 5850,
      costTo: DAY.to,
    });
  });

  it('when the range has not ended yet then the cost covers the periods that have, up to the last ended one', async () => {
    const { world, sessionKey, subscription, deps } = householdWorld();
    const readings = readingRecords(subscription, sessionKey, HALF_HOURS);
    ledgerOf(world, subscription, readings);
    world.now = new Date('2026-11-01T12:10:00Z');
    const noon = '2026-11-01T12:00:00Z';

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'day' });
    const bill = billOf(subscription, readings, sessionKey, { periodFrom: DAY.from, periodTo: noon });

    expect(view.cost).toEqual({ currency: 'GBP', totalMinor: bill.totalMinor, energyWh: 3000, costTo: noon });
  });

  it('when no period of the range has ended yet then the cost is null and says so', async () => {
    const { world, sessionKey, subscription, deps } = householdWorld();
    ledgerOf(world, subscription, readingRecords(subscription, sessionKey, HALF_HOURS));
    world.now = new Date('2026-11-01T00:20:00Z');

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'day' });

    expect(view).toMatchObject({ cost: null, costNote: 'no period of the range has ended yet' });
  });

  it('when the subscription is aggregate then consumption is shown, the cost is null with a note, and no tariff is read', async () => {
    const { world, sessionKey, subscription, deps } = householdWorld({ privacyMode: 'aggregate' });
    ledgerOf(world, subscription, readingRecords(subscription, sessionKey, HALF_HOURS));

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'day' });

    expect(view.total).toEqual({ quantity: 6000, readings: 48 });
    expect(view).toMatchObject({
      cost: null,
      costNote: 'an aggregate subscription is priced from its shares: see its bills',
    });
    expect(world.methodsCalled()).toEqual(['subscriptions.get', 'measurements.all']);
  });

  it('when the subscription is not approved then the cost is null and says so', async () => {
    const { world, subscription, deps } = householdWorld({ status: 'REQUESTED', approval: undefined });
    ledgerOf(world, subscription, []);

    const view = await consumptionView(deps(), subscription.subscriptionId, { ...DAY, bucket: 'day' });

    expect(view).toMatchObject({ buckets: [], cost: null, costNote: 'the subscription is not approved' });
  });
});

describe('completenessView', () => {
  it('when periods are missing and one reading does not open then expected, present, missing and invalid say so', async () => {
    const world = worldOf('distributor');
    const sessionKey = newSessionKey();
    const subscription = subscriptionRecord(
      sessionKey,
      [
        { mspId: 'Distributor1MSP', publicKeyPem: orgKeyInKeystore(world.keystore, 'Distributor1MSP') },
        { mspId: 'AuthorityMSP', publicKeyPem: newOrgKeyPair().publicKeyPem },
      ],
      { status: 'ACTIVE', approval: APPROVAL },
    );
    const missing = ['2026-11-01T10:00:00Z', '2026-11-01T10:30:00Z'];
    const present = readingRecords(subscription, sessionKey, HALF_HOURS).filter(
      (r) => !missing.includes(r.periodStart),
    );
    const underOtherKey = readingRecords(subscription, newSessionKey(), HALF_HOURS)[47];
    const readings = [...present.slice(0, -1), underOtherKey];
    world.clients = {
      subscriptions: { get: async () => subscription },
      measurements: {
        missing: async (subscriptionId, from, to) => ({ subscriptionId, from, to, expected: 48, missing }),
        all: async () => readings,
      },
    };

    const view = await completenessView(world.deps(), subscription.subscriptionId, DAY);

    expect(view).toEqual({
      subscriptionId: subscription.subscriptionId,
      ...DAY,
      expected: 48,
      present: 46,
      missing,
      invalid: 1,
    });
  });
});

function day(periodStart: string, energyWh: number | null, households: number): LoadRow {
  return { periodStart, energyWh, households, readingCount: households * 48, suppressed: energyWh === null };
}

describe('regionTotal', () => {
  it('when some days are suppressed then they add nothing and the region is shown with the others', () => {
    const days = [
      day('2026-11-01T00:00:00Z', 40_000, 6),
      day('2026-11-02T00:00:00Z', null, 2),
      day('2026-11-03T00:00:00Z', 35_000, 5),
    ];

    expect(regionTotal('north/d1', days)).toEqual({
      regionCode: 'north/d1',
      energyWh: 75_000,
      households: 6,
      suppressed: false,
    });
  });

  it('when every day with readings is suppressed then the region is suppressed and shows no energy', () => {
    const days = [
      day('2026-11-01T00:00:00Z', null, 2),
      day('2026-11-02T00:00:00Z', null, 3),
      day('2026-11-03T00:00:00Z', 0, 0),
    ];

    expect(regionTotal('north/d1', days)).toEqual({
      regionCode: 'north/d1',
      energyWh: null,
      households: 3,
      suppressed: true,
    });
  });

  it('when no day has readings then the region shows zero, not suppressed', () => {
    expect(regionTotal('north/d2', [day('2026-11-01T00:00:00Z', 0, 0)])).toEqual({
      regionCode: 'north/d2',
      energyWh: 0,
      households: 0,
      suppressed: false,
    });
  });
});
