import { newSessionKey, periodSecrets, splitReading, type GridShare } from '@smartmeter/crypto';
import {
  EventName,
  averagePowerW,
  buildDayFilters,
  findMissingMeters,
  gridShareRecordOf,
  isoSeconds,
  policyPrice,
  shareLookupsFor,
  type AggregateMeter,
  type AggregationRoundRecord,
  type GridShareRecord,
  type PricePolicyDefinition,
  type PricePolicyRecord,
  type PriceSignalRecord,
} from '@smartmeter/domain';
import { AggregationContract, MAX_SHARE_LOOKUPS } from '../src/contracts/AggregationContract';
import { PricingContract } from '../src/contracts/PricingContract';
import { AUTHORITY, D1, id, parse } from './support/fixtures';
import { MemoryLedger, type FakeIdentity } from './support/memoryContext';

/**
 * Dynamic prices from the regional load (issue 17): the authority's price policy, and the price signal the
 * chaincode derives from it when a round gets its load (CloseRound, ResolveRound). Also Aggregation:GetShares.
 */
const aggregation = new AggregationContract();
const pricing = new PricingContract();
const aggregator: FakeIdentity = { mspId: D1, attributes: { role: 'aggregator' } };
const REGION = 'north/d3';
const DAY = '2026-01-15';
const PERIOD = 900;
const dayStart = Date.parse(`${DAY}T00:00:00Z`) / 1000;
const periodStart = (k: number) => dayStart + k * PERIOD;
const startIso = (k: number) => isoSeconds(periodStart(k));
const afterPeriod = (k: number, seconds = 300) => new Date((periodStart(k) + PERIOD + seconds) * 1000);
/** The authority publishes its policies the day before. */
const policyTime = { time: new Date('2026-01-14T12:00:00Z') };

const northPolicy: PricePolicyDefinition = {
  regionCode: 'north',
  effectiveFrom: '2026-01-01T00:00:00Z',
  bands: [
    { fromW: 0, toW: 20_000, basePriceMicroPerKwh: 10_000_000, slopeMicroPerKwhPerKw: 0 },
    { fromW: 20_000, toW: null, basePriceMicroPerKwh: 12_000_000, slopeMicroPerKwhPerKw: 250_000 },
  ],
  floorMicroPerKwh: 5_000_000,
  capMicroPerKwh: 40_000_000,
};
/** Five meters' readings: 8001 Wh in 15 minutes is 32 004 W, priced 12 + ⌊250 000 × 12 004 / 1000⌋ = 15.001 p. */
const READINGS = [1200, 800, 3000, 450, 2551];
const LOAD = READINGS.reduce((a, b) => a + b, 0);

interface Region {
  ledger: MemoryLedger;
  meters: AggregateMeter[];
}

async function regionWithFilters(meterCount = 5): Promise<Region> {
  const ledger = new MemoryLedger();
  const meters = Array.from({ length: meterCount }, (_, i) => ({
    meterId: `MTR-${i}`,
    sessionKey: newSessionKey(),
  }));
  const set = buildDayFilters({ regionCode: REGION, day: DAY, periodSeconds: PERIOD, meters });
  const time = { time: new Date(`${DAY}T00:00:00Z`) };
  await ledger.invoke(
    id.d1Operator,
    (ctx) => aggregation.PublishFilters(ctx, JSON.stringify(set.filters)),
    time,
  );
  for (const [part, bf1] of set.bf1Parts.entries()) {
    await ledger.invoke(
      id.d1Operator,
      (ctx) => aggregation.PublishBf1Part(ctx, REGION, DAY, String(part), JSON.stringify(bf1)),
      time,
    );
  }
  return { ledger, meters };
}

function sharesOf(meter: AggregateMeter, k: number, wattHours: number): [GridShare, GridShare] {
  const sentAt = isoSeconds(periodStart(k) + PERIOD + 30);
  return splitReading({
    wattHours,
    secrets: periodSecrets(meter.sessionKey, periodStart(k)),
    region: REGION,
    sentAt: [sentAt, sentAt],
  });
}

async function submit(region: Region, k: number, shares: GridShare[]): Promise<void> {
  const batch = JSON.stringify({ regionCode: REGION, periodStart: startIso(k), shares });
  await region.ledger.invoke(aggregator, (ctx) => aggregation.SubmitShares(ctx, batch), {
    time: afterPeriod(k),
  });
}

/** Every meter reports period k (READINGS, then 100 Wh for further meters). */
async function allReport(region: Region, k: number): Promise<GridShare[]> {
  const shares = region.meters.flatMap((meter, i) => sharesOf(meter, k, READINGS[i] ?? 100));
  await submit(region, k, shares);
  return shares;
}

async function close(region: Region, k: number): Promise<AggregationRoundRecord> {
  return parse(
    await region.ledger.invoke(aggregator, (ctx) => aggregation.CloseRound(ctx, REGION, startIso(k)), {
      time: afterPeriod(k, 400),
    }),
  );
}

const publishPolicy = (ledger: MemoryLedger, who: FakeIdentity, body: object, time = policyTime) =>
  ledger.invoke(who, (ctx) => pricing.PublishPricePolicy(ctx, JSON.stringify(body)), time);

async function signalsOf(ledger: MemoryLedger, from = 0, to = 96): Promise<PriceSignalRecord[]> {
  return parse(
    await ledger.invoke(id.auditor, (ctx) =>
      pricing.GetPriceSignals(ctx, REGION, startIso(from), startIso(to)),
    ),
  );
}

describe('Pricing:PublishPricePolicy', () => {
  it('when the auditor publishes a policy then version 1 is stored, announced and in the history', async () => {
    const ledger = new MemoryLedger();
    const record = parse<PricePolicyRecord>(await publishPolicy(ledger, id.auditor, northPolicy));
    expect(record).toEqual({
      ...northPolicy,
      docType: 'pricePolicy',
      version: 1,
      publishedAt: '2026-01-14T12:00:00Z',
    });
    expect(ledger.events.at(-1)).toEqual({
      name: EventName.PricePolicyPublished,
      payload: JSON.stringify({ regionCode: 'north', version: 1 }),
    });
    const history = parse<PricePolicyRecord[]>(
      await ledger.invoke(id.d1Operator, (ctx) => pricing.GetPricePolicyHistory(ctx, 'north')),
    );
    expect(history).toEqual([record]);
    // The history is the region's own: a sub-area without a policy of its own has none.
    expect(await ledger.invoke(id.auditor, (ctx) => pricing.GetPricePolicyHistory(ctx, REGION))).toBe('[]');
  });

  it.each([
    ['an operator', id.d1Operator],
    ['a household', id.subscriber()],
    ['the aggregator', aggregator],
    ['the authority’s admin', id.authorityAdmin],
  ])('when %s publishes a policy then it is FORBIDDEN and nothing is stored', async (_label, who) => {
    const ledger = new MemoryLedger();
    await expect(publishPolicy(ledger, who, northPolicy)).rejects.toThrow(
      /^FORBIDDEN: price policies come from the authority's auditor/,
    );
    expect(ledger.dump()).toEqual([]);
    expect(ledger.events).toEqual([]);
  });

  it.each<[string, object, RegExp]>([
    [
      'a gap between bands',
      { ...northPolicy, bands: [northPolicy.bands[0], { ...northPolicy.bands[1], fromW: 25_000 }] },
      /bands\[1\]\.fromW: a gap/,
    ],
    [
      'a floor above the cap',
      { ...northPolicy, floorMicroPerKwh: 50_000_000 },
      /capMicroPerKwh: must be at least/,
    ],
    ['an unknown field', { ...northPolicy, currency: 'GBP' }, /currency: unknown field/],
    ['a bad region', { ...northPolicy, regionCode: 'North' }, /regionCode: /],
  ])(
    'when the policy has %s then it is INVALID_ARGUMENT naming the field, and nothing is stored',
    async (_l, body, message) => {
      const ledger = new MemoryLedger();
      const error = publishPolicy(ledger, id.auditor, body);
      await expect(error).rejects.toThrow(/^INVALID_ARGUMENT: the price policy is invalid: /);
      await expect(error).rejects.toThrow(message);
      expect(ledger.dump()).toEqual([]);
    },
  );

  it('when the policy is not JSON then it is INVALID_ARGUMENT', async () => {
    const ledger = new MemoryLedger();
    await expect(
      ledger.invoke(id.auditor, (ctx) => pricing.PublishPricePolicy(ctx, '{"regionCode":')),
    ).rejects.toThrow(/^INVALID_ARGUMENT: /);
    expect(ledger.dump()).toEqual([]);
  });

  it('when version 2 would take effect in the past then it is CONFLICT and nothing changes; from now on it is version 2', async () => {
    const ledger = new MemoryLedger();
    await publishPolicy(ledger, id.auditor, northPolicy);
    const before = ledger.dump();
    const at = { time: new Date('2026-01-14T13:00:00Z') };
    for (const effectiveFrom of ['2026-01-14T12:55:00Z', '2026-01-01T00:00:00Z', '2025-12-01T00:00:00Z']) {
      await expect(publishPolicy(ledger, id.auditor, { ...northPolicy, effectiveFrom }, at)).rejects.toThrow(
        /^CONFLICT: version 2 of the price policy of north must take effect from now on and after version 1/,
      );
    }
    expect(ledger.dump()).toEqual(before);
    const v2 = parse<PricePolicyRecord>(
      await publishPolicy(ledger, id.auditor, { ...northPolicy, effectiveFrom: '2026-01-15T01:00:00Z' }, at),
    );
    expect(v2.version).toBe(2);
    const history = parse<PricePolicyRecord[]>(
      await ledger.invoke(id.auditor, (ctx) => pricing.GetPricePolicyHistory(ctx, 'north')),
    );
    expect(history.map((p) => [p.version, p.effectiveFrom])).toEqual([
      [1, '2026-01-01T00:00:00Z'],
      [2, '2026-01-15T01:00:00Z'],
    ]);
  });
});

describe('policy prices when a round gets its load', () => {
  it('when a COMPLETE round closes under a policy of an enclosing area then its price signal is the policy price of its load', async () => {
    const region = await regionWithFilters();
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    await allReport(region, 3);
    const round = await close(region, 3);
    expect(round).toMatchObject({ status: 'COMPLETE', load: String(LOAD) });

    const expectedPrice = policyPrice(northPolicy, BigInt(LOAD), PERIOD);
    expect(expectedPrice).toBe(15_001_000);
    const signals = await signalsOf(region.ledger);
    expect(signals).toEqual([
      {
        docType: 'priceSignal',
        regionCode: REGION,
        periodStart: startIso(3),
        priceMicroPerKwh: expectedPrice,
        publishedAt: round.closedAt,
        source: 'policy',
        policy: {
          policyRegionCode: 'north',
          policyVersion: 1,
          loadWh: round.load,
          periodSeconds: PERIOD,
          averagePowerW: averagePowerW(BigInt(LOAD), PERIOD),
          priceMicroPerKwh: expectedPrice,
        },
      },
    ]);
    expect(signals[0].policy?.averagePowerW).toBe(32_004);
    const event = region.ledger.events.at(-1);
    expect(event?.name).toBe(EventName.AggregationRoundClosed);
    expect(parse<object>(event?.payload ?? '')).toEqual({
      regionCode: REGION,
      periodStart: startIso(3),
      status: 'COMPLETE',
      priceMicroPerKwh: expectedPrice,
      priceSource: 'policy',
    });
  });

  it('when the round’s own area has a policy too then the most specific policy prices it', async () => {
    const region = await regionWithFilters();
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    const d3Policy = {
      ...northPolicy,
      regionCode: REGION,
      bands: [{ fromW: 0, toW: null, basePriceMicroPerKwh: 9_000_000, slopeMicroPerKwhPerKw: 0 }],
    };
    await publishPolicy(region.ledger, id.auditor, d3Policy);
    await allReport(region, 1);
    await close(region, 1);
    const [signal] = await signalsOf(region.ledger);
    expect(signal).toMatchObject({
      priceMicroPerKwh: 9_000_000,
      source: 'policy',
      policy: { policyRegionCode: REGION, policyVersion: 1 },
    });
  });

  it('when version 2 takes effect later then rounds before it keep version 1’s price and later ones get version 2’s', async () => {
    const region = await regionWithFilters();
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    const v2 = { ...northPolicy, effectiveFrom: startIso(4), floorMicroPerKwh: 20_000_000 };
    await publishPolicy(region.ledger, id.auditor, v2, { time: new Date('2026-01-14T13:00:00Z') });
    for (const k of [3, 4]) {
      await allReport(region, k);
      await close(region, k);
    }
    const signals = await signalsOf(region.ledger);
    expect(signals.map((s) => [s.periodStart, s.policy?.policyVersion, s.priceMicroPerKwh])).toEqual([
      [startIso(3), 1, 15_001_000],
      [startIso(4), 2, 20_000_000],
    ]);
  });

  it('when a manual signal was published before the round closed then it keeps its price and becomes an override', async () => {
    const region = await regionWithFilters();
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    await region.ledger.invoke(
      id.auditor,
      (ctx) =>
        pricing.PublishPriceSignals(
          ctx,
          REGION,
          JSON.stringify([{ periodStart: startIso(2), priceMicroPerKwh: 7_000_000 }]),
        ),
      policyTime,
    );
    expect((await signalsOf(region.ledger))[0]).toMatchObject({
      source: 'manual',
      priceMicroPerKwh: 7_000_000,
    });
    await allReport(region, 2);
    await close(region, 2);
    const signals = await signalsOf(region.ledger);
    expect(signals).toEqual([
      {
        docType: 'priceSignal',
        regionCode: REGION,
        periodStart: startIso(2),
        priceMicroPerKwh: 7_000_000,
        publishedAt: '2026-01-14T12:00:00Z',
        source: 'override',
        policy: expect.objectContaining({
          loadWh: String(LOAD),
          priceMicroPerKwh: policyPrice(northPolicy, BigInt(LOAD), PERIOD),
        }) as object,
      },
    ]);
    expect(parse<object>(region.ledger.events.at(-1)?.payload ?? '')).toMatchObject({
      priceMicroPerKwh: 7_000_000,
      priceSource: 'override',
    });
  });

  it('when a round is FAULT then it gets no price; resolved with 5 meters counted, it gets the policy price of its load', async () => {
    const region = await regionWithFilters(6);
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    // MTR-5 does not report: 5 meters of 6.
    const shares = region.meters.slice(0, 5).flatMap((meter, i) => sharesOf(meter, 7, READINGS[i]));
    await submit(region, 7, shares);
    expect((await close(region, 7)).status).toBe('FAULT');
    expect(await signalsOf(region.ledger)).toEqual([]);
    expect(parse<object>(region.ledger.events.at(-1)?.payload ?? '')).not.toHaveProperty('priceSource');

    const resolution = findMissingMeters({
      regionCode: REGION,
      periodStartSeconds: periodStart(7),
      meters: region.meters,
      storedPrids: shares.map((s) => s.prid),
    });
    const resolved = parse<AggregationRoundRecord>(
      await region.ledger.invoke(
        id.d1Operator,
        (ctx) => aggregation.ResolveRound(ctx, JSON.stringify(resolution)),
        {
          time: afterPeriod(7, 900),
        },
      ),
    );
    expect(resolved).toMatchObject({ status: 'RESOLVED', load: String(LOAD) });
    const [signal] = await signalsOf(region.ledger);
    expect(signal).toMatchObject({
      periodStart: startIso(7),
      priceMicroPerKwh: 15_001_000,
      publishedAt: resolved.resolution?.resolvedAt,
      source: 'policy',
      policy: { loadWh: String(LOAD), policyRegionCode: 'north', policyVersion: 1 },
    });
    expect(region.ledger.events.at(-1)?.name).toBe(EventName.AggregationRoundResolved);
    expect(parse<object>(region.ledger.events.at(-1)?.payload ?? '')).toMatchObject({
      priceMicroPerKwh: 15_001_000,
      priceSource: 'policy',
    });
  });

  it('when a resolution counts fewer than 5 meters then the round shows no load and gets no price', async () => {
    const region = await regionWithFilters(5);
    await publishPolicy(region.ledger, id.auditor, northPolicy);
    const shares = region.meters.slice(0, 4).flatMap((meter, i) => sharesOf(meter, 9, READINGS[i]));
    await submit(region, 9, shares);
    await close(region, 9);
    const resolution = findMissingMeters({
      regionCode: REGION,
      periodStartSeconds: periodStart(9),
      meters: region.meters,
      storedPrids: shares.map((s) => s.prid),
    });
    const resolved = parse<AggregationRoundRecord>(
      await region.ledger.invoke(
        id.d1Operator,
        (ctx) => aggregation.ResolveRound(ctx, JSON.stringify(resolution)),
        {
          time: afterPeriod(9, 900),
        },
      ),
    );
    expect(resolved.load).toBeUndefined();
    expect(await signalsOf(region.ledger)).toEqual([]);
  });

  it('when there is no policy then a COMPLETE round writes no price signal', async () => {
    const region = await regionWithFilters();
    await allReport(region, 0);
    const before = region.ledger.state.size;
    expect((await close(region, 0)).status).toBe('COMPLETE');
    expect(await signalsOf(region.ledger)).toEqual([]);
    expect(region.ledger.state.size).toBe(before + 1); // the round only
    expect(parse<object>(region.ledger.events.at(-1)?.payload ?? '')).toEqual({
      regionCode: REGION,
      periodStart: startIso(0),
      status: 'COMPLETE',
    });
  });

  it('when the only policy takes effect after the period then the round gets no price', async () => {
    const region = await regionWithFilters();
    await publishPolicy(region.ledger, id.auditor, { ...northPolicy, effectiveFrom: '2026-01-16T00:00:00Z' });
    await allReport(region, 0);
    await close(region, 0);
    expect(await signalsOf(region.ledger)).toEqual([]);
  });
});

describe('Aggregation:GetShares', () => {
  const schedule = { startDate: `${DAY}T00:00:00Z`, intervalSeconds: PERIOD };
  const getShares = (region: Region, who: FakeIdentity, lookups: unknown, regionCode = REGION) =>
    region.ledger.invoke(who, (ctx) => aggregation.GetShares(ctx, regionCode, JSON.stringify(lookups)));

  async function regionWithShares(): Promise<{ region: Region; stored: GridShare[] }> {
    const region = await regionWithFilters();
    const stored = [...(await allReport(region, 4)), ...(await allReport(region, 5))];
    return { region, stored };
  }

  it.each([
    ['an operator', id.d1Operator],
    ['a household', id.subscriber()],
    ['the auditor', id.auditor],
    ['the aggregator', aggregator],
  ])(
    'when %s asks for one meter’s PRIDs then it gets exactly the shares stored under them',
    async (_label, who) => {
      const { region, stored } = await regionWithShares();
      const meter = region.meters[2];
      const lookups = shareLookupsFor(meter.sessionKey, schedule, periodStart(3), periodStart(6));
      expect(lookups.map((l) => l.periodStart)).toEqual([startIso(3), startIso(4), startIso(5)]);
      const found = parse<GridShareRecord[]>(await getShares(region, who, lookups));
      const mine = stored.filter((s) => lookups.some((l) => l.prids.includes(s.prid))).map(gridShareRecordOf);
      expect(mine).toHaveLength(4); // periods 4 and 5; period 3 has no shares
      const byPrid = (a: GridShareRecord, b: GridShareRecord) => (a.prid < b.prid ? -1 : 1);
      expect([...found].sort(byPrid)).toEqual([...mine].sort(byPrid));
      expect(found).toHaveLength(4);
    },
  );

  it('when one PRID of a period is asked for then only its share comes back; under another region, none', async () => {
    const { region, stored } = await regionWithShares();
    const [lookup] = shareLookupsFor(region.meters[0].sessionKey, schedule, periodStart(4), periodStart(5));
    const one = parse<GridShareRecord[]>(
      await getShares(region, id.d1Operator, [{ periodStart: lookup.periodStart, prids: [lookup.prids[1]] }]),
    );
    expect(one).toEqual([gridShareRecordOf(stored.find((s) => s.prid === lookup.prids[1]) as GridShare)]);
    expect(await getShares(region, id.d1Operator, [lookup], 'north/d4')).toBe('[]');
    // The PRIDs of one period under another period's start find nothing.
    expect(await getShares(region, id.d1Operator, [{ ...lookup, periodStart: startIso(5) }])).toBe('[]');
  });

  it('when 1000 lookups are sent then they are answered; 1001 or none are INVALID_ARGUMENT', async () => {
    const { region } = await regionWithShares();
    const lookups = shareLookupsFor(
      region.meters[0].sessionKey,
      schedule,
      periodStart(0),
      periodStart(0) + 1001 * PERIOD,
    );
    expect(lookups).toHaveLength(1001);
    expect(MAX_SHARE_LOOKUPS).toBe(1000);
    const found = parse<GridShareRecord[]>(await getShares(region, id.d1Operator, lookups.slice(0, 1000)));
    expect(found).toHaveLength(4);
    await expect(
      getShares(
        region,
        id.d1Operator,
        lookups.map((l) => ({ periodStart: l.periodStart, prids: [l.prids[0]] })),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: send 1 to 1000 lookups at a time \(got 1001\)/);
    await expect(getShares(region, id.d1Operator, [])).rejects.toThrow(/^INVALID_ARGUMENT: send 1 to 1000/);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a PRID that is no hex',
      [{ periodStart: startIso(4), prids: ['xyz'] }],
      /lookups\[0\]\.prids\[0\] must be a PRID/,
    ],
    [
      'three PRIDs',
      [{ periodStart: startIso(4), prids: ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)] }],
      /one or two/,
    ],
    ['no PRIDs', [{ periodStart: startIso(4), prids: [] }], /one or two/],
    [
      'an unknown field',
      [{ periodStart: startIso(4), prids: ['a'.repeat(64)], meterId: 'MTR-0' }],
      /meterId/,
    ],
    ['a bad time', [{ periodStart: '2026-01-15', prids: ['a'.repeat(64)] }], /lookups\[0\]\.periodStart/],
  ])('when a lookup has %s then it is INVALID_ARGUMENT', async (_label, lookups, message) => {
    const { region } = await regionWithShares();
    const error = getShares(region, id.d1Operator, lookups);
    await expect(error).rejects.toThrow(/^INVALID_ARGUMENT: /);
    await expect(error).rejects.toThrow(message);
  });

  it.each([
    ['a meter', id.meter('MTR-0')],
    ['an identity without a role', id.noRole],
    [
      'a "subscriber" from the distributor’s own MSP',
      { mspId: D1, attributes: { role: 'subscriber', subscriberId: 'hh-001' } },
    ],
    ['the authority’s admin', { mspId: AUTHORITY, attributes: { 'hf.Type': 'admin' } }],
  ])('when %s asks for shares then it is FORBIDDEN', async (_label, who) => {
    const { region } = await regionWithShares();
    const lookups = shareLookupsFor(region.meters[0].sessionKey, schedule, periodStart(4), periodStart(5));
    await expect(getShares(region, who, lookups)).rejects.toThrow(
      /^FORBIDDEN: GetShares needs a grid role or a household/,
    );
  });
});
