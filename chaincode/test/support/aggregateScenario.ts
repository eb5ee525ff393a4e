import {
  newOrgKeyPair,
  newSessionKey,
  periodSecrets,
  splitReading,
  type GridShare,
} from '@smartmeter/crypto';
import {
  aggregateBillLookups,
  buildDayFilters,
  computeAggregateBill,
  findMissingMeters,
  isoSeconds,
  runningTotalsSince,
  type AggregateBill,
  type AggregateMeter,
  type AggregationRoundRecord,
  type GridShareRecord,
  type PricePolicyDefinition,
  type PriceSignalRecord,
  type SubscriptionRecord,
  type TariffRecord,
} from '@smartmeter/domain';
import { buildSubscriptionRequest } from '../../../client/src/subscriptionRequest';
import { AggregationContract } from '../../src/contracts/AggregationContract';
import { D1, World, approval, contracts, id, parse, type Household } from './fixtures';
import type { FakeIdentity, TxOptions } from './memoryContext';

/**
 * A world with an `aggregate` subscription among six aggregate meters, its rounds in every state, and what the
 * distributor computes from the shares: shared by the aggregate billing and aggregate prepaid tests.
 */
const { billing, pricing, subscription: subscriptions } = contracts;
export const aggregation = new AggregationContract();
export const aggregator: FakeIdentity = { mspId: D1, attributes: { role: 'aggregator' } };
export const REGION = 'north/d3';
export const DAY = '2026-01-15';
export const PERIOD = 900;
export const dayStart = Date.parse(`${DAY}T00:00:00Z`) / 1000;
export const periodStart = (k: number) => dayStart + k * PERIOD;
export const at = (k: number) => isoSeconds(periodStart(k));
export const afterPeriod = (k: number, seconds = 300) => new Date((periodStart(k) + PERIOD + seconds) * 1000);
export const beforeTheDay = { time: new Date('2026-01-14T12:00:00Z') };
export const CID = `bafk${'abcdefghijklmnopqrstuvwxyz234567'.repeat(2).slice(0, 55)}`;

export const terms = { intervalSeconds: PERIOD, regionCode: REGION, startDate: at(0) };
export const dynamicTariff = {
  tariffId: approval.tariffId,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 50_000_000,
  taxBasisPoints: 500,
  pricing: { kind: 'dynamic', basePriceMicroPerKwh: 20_000_000 },
  feedbackThresholdWhPerDay: 8_000,
};
export const northPolicy: PricePolicyDefinition = {
  regionCode: 'north',
  effectiveFrom: '2026-01-01T00:00:00Z',
  bands: [
    { fromW: 0, toW: 20_000, basePriceMicroPerKwh: 10_000_000, slopeMicroPerKwhPerKw: 0 },
    { fromW: 20_000, toW: null, basePriceMicroPerKwh: 12_000_000, slopeMicroPerKwhPerKw: 250_000 },
  ],
  floorMicroPerKwh: 5_000_000,
  capMicroPerKwh: 40_000_000,
};
/** The household's readings of periods 0..8; the five other meters use 1001..1005 Wh. */
export const HOUSE = [500, 0, 1234, 77, 640, 910, 300, 420, 333];
export const othersWh = (i: number) => 1000 + i;

export function aggregateRequest(
  world: World,
  sessionKey: Buffer,
  extra: Record<string, unknown> = {},
): string {
  const request = buildSubscriptionRequest({
    distributorMspId: D1,
    meterId: 'MTR-001',
    requestedPlan: 'residential-dynamic',
    sessionKey,
    privacyMode: 'aggregate',
    recipients: [{ mspId: D1, version: 1, publicKeyPem: world.orgKeys[D1].publicKeyPem }],
  });
  return JSON.stringify({ ...(JSON.parse(request) as object), ...extra });
}

export interface Scenario {
  world: World;
  household: Household;
  meters: AggregateMeter[];
  subscription: SubscriptionRecord;
}

export function sharesOf(meter: AggregateMeter, k: number, wattHours: number): [GridShare, GridShare] {
  const sentAt = isoSeconds(periodStart(k) + PERIOD + 30);
  return splitReading({
    wattHours,
    secrets: periodSecrets(meter.sessionKey, periodStart(k)),
    region: REGION,
    sentAt: [sentAt, sentAt],
  });
}

/**
 * An active aggregate subscription of north/d3 from 00:00 on the 15th, billed by a dynamic tariff, among six
 * aggregate meters, with a price policy on `north`. Rounds: 0-5 COMPLETE; 6 open; 7 FAULT (MTR-5 silent);
 * 8 RESOLVED without a load (MTR-4 and MTR-5 silent: 4 meters counted).
 */
export async function scenario(): Promise<Scenario> {
  const world = await World.create();
  await world.run(
    id.d1Operator,
    (ctx) => pricing.PublishTariff(ctx, JSON.stringify(dynamicTariff)),
    beforeTheDay,
  );
  await world.run(
    id.auditor,
    (ctx) => pricing.PublishPricePolicy(ctx, JSON.stringify(northPolicy)),
    beforeTheDay,
  );
  const sessionKey = newSessionKey();
  const requested = parse<SubscriptionRecord>(
    await world.run(id.subscriber(), (ctx) =>
      subscriptions.RequestSubscription(
        ctx,
        aggregateRequest(world, sessionKey, { householdPublicKeyPem: newOrgKeyPair().publicKeyPem }),
      ),
    ),
  );
  const household: Household = {
    sessionKey,
    subscriber: id.subscriber(),
    meter: id.meter('MTR-001'),
    subscriptionId: requested.subscriptionId,
    meterId: 'MTR-001',
  };
  await world.approve(household, terms);

  const meters: AggregateMeter[] = [
    { meterId: 'MTR-001', sessionKey },
    ...[1, 2, 3, 4, 5].map((i) => ({ meterId: `MTR-${i}`, sessionKey: newSessionKey() })),
  ];
  const set = buildDayFilters({ regionCode: REGION, day: DAY, periodSeconds: PERIOD, meters });
  const dayTime = { time: new Date(`${DAY}T00:00:00Z`) };
  await world.run(
    id.d1Operator,
    (ctx) => aggregation.PublishFilters(ctx, JSON.stringify(set.filters)),
    dayTime,
  );
  for (const [part, bf1] of set.bf1Parts.entries())
    await world.run(
      id.d1Operator,
      (ctx) => aggregation.PublishBf1Part(ctx, REGION, DAY, String(part), JSON.stringify(bf1)),
      dayTime,
    );

  const report = async (k: number, silent: number[] = []) => {
    const shares = meters.flatMap((meter, i) =>
      silent.includes(i) ? [] : sharesOf(meter, k, i === 0 ? HOUSE[k] : othersWh(i)),
    );
    await submitShares(world, k, shares);
    return shares;
  };
  const close = (k: number) => closeRound(world, k);
  for (const k of [0, 1, 2, 3, 4, 5]) {
    await report(k);
    expect((await close(k)).status).toBe('COMPLETE');
  }
  await report(6);
  await report(7, [5]);
  expect((await close(7)).status).toBe('FAULT');
  const eight = await report(8, [4, 5]);
  expect((await close(8)).status).toBe('FAULT');
  await resolve(
    world,
    meters,
    8,
    eight.map((share) => share.prid),
  );
  return { world, household, meters, subscription: await world.subscription(household.subscriptionId) };
}

export async function submitShares(
  world: World,
  k: number,
  shares: GridShare[],
  options = { time: afterPeriod(k) },
) {
  const batch = JSON.stringify({ regionCode: REGION, periodStart: at(k), shares });
  await world.run(aggregator, (ctx) => aggregation.SubmitShares(ctx, batch), options);
}

export async function closeRound(world: World, k: number): Promise<AggregationRoundRecord> {
  return parse(
    await world.run(aggregator, (ctx) => aggregation.CloseRound(ctx, REGION, at(k)), {
      time: afterPeriod(k, 400),
    }),
  );
}

export async function resolve(world: World, meters: AggregateMeter[], k: number, storedPrids: string[]) {
  const resolution = findMissingMeters({
    regionCode: REGION,
    periodStartSeconds: periodStart(k),
    meters,
    storedPrids,
  });
  return parse<AggregationRoundRecord>(
    await world.run(id.d1Operator, (ctx) => aggregation.ResolveRound(ctx, JSON.stringify(resolution)), {
      time: afterPeriod(k, 900),
    }),
  );
}

/** What the distributor does before recording: reads the evidence and computes the bill (client/src/aggregateBilling.ts). */
export async function computed(s: Scenario, from: string, to: string) {
  const { world, subscription } = s;
  const schedule = subscription.approval as NonNullable<SubscriptionRecord['approval']>;
  const lookups = aggregateBillLookups(s.household.sessionKey, schedule, from, to);
  const shares = parse<GridShareRecord[]>(
    await world.run(id.d1Operator, (ctx) => aggregation.GetShares(ctx, REGION, JSON.stringify(lookups))),
  );
  const tariffVersions = parse<TariffRecord[]>(
    await world.run(id.d1Operator, (ctx) => pricing.GetTariffHistory(ctx, D1, approval.tariffId)),
  );
  const signals = parse<PriceSignalRecord[]>(
    await world.run(id.d1Operator, (ctx) =>
      pricing.GetPriceSignals(ctx, REGION, runningTotalsSince(from), to),
    ),
  );
  const evidence = { periodFrom: from, periodTo: to, schedule, shares, tariffVersions, signals };
  return { bill: computeAggregateBill(s.household.sessionKey, evidence), signals };
}

export function claimOf(s: Scenario, from: string, to: string, bill: AggregateBill) {
  return {
    subscriptionId: s.household.subscriptionId,
    periodFrom: from,
    periodTo: to,
    computation: bill.ledger,
    aggregate: {
      sharesDigest: bill.ledger.readingsDigest,
      report: { cid: CID, sha256: 'ab'.repeat(32), bytes: 4096 },
    },
  };
}

export const record = (s: Scenario, claim: object, who: FakeIdentity = id.d1Operator, options?: TxOptions) =>
  s.world.run(who, (ctx) => billing.RecordAggregateBill(ctx, JSON.stringify(claim)), options);

export async function genuineClaim(s: Scenario, from = at(0), to = at(4)) {
  const { bill } = await computed(s, from, to);
  return { bill, claim: claimOf(s, from, to, bill) };
}
