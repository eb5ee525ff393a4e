import { newSessionKey, periodSecrets, splitReading, type GridShare } from '@smartmeter/crypto';
import {
  buildDayFilters,
  findMissingMeters,
  isoSeconds,
  type AggregateMeter,
  type AggregationFiltersRecord,
  type AggregationRoundRecord,
  type DayFilterSet,
} from '@smartmeter/domain';
import { AggregationContract } from '../src/contracts/AggregationContract';
import { D1, id, parse } from './support/fixtures';
import { MemoryLedger, type FakeIdentity } from './support/memoryContext';

const aggregation = new AggregationContract();
const aggregator: FakeIdentity = { mspId: D1, attributes: { role: 'aggregator' } };
const REGION = 'north/d3';
const DAY = '2026-01-15';
const PERIOD = 900;
const dayStart = Date.parse(`${DAY}T00:00:00Z`) / 1000;

/** Period k of the test day, and a transaction time 5 minutes after it ended. */
const periodStart = (k: number) => dayStart + k * PERIOD;
const afterPeriod = (k: number, seconds = 300) => new Date((periodStart(k) + PERIOD + seconds) * 1000);

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
  await publishSet(ledger, buildDayFilters({ regionCode: REGION, day: DAY, periodSeconds: PERIOD, meters }));
  return { ledger, meters };
}

/** The header, then each BF1 part, as AggregationClient.publishFilters does. */
async function publishSet(ledger: MemoryLedger, set: DayFilterSet, as: FakeIdentity = id.d1Operator) {
  const time = new Date(`${DAY}T00:00:00Z`);
  await ledger.invoke(as, (ctx) => aggregation.PublishFilters(ctx, JSON.stringify(set.filters)), { time });
  for (const [part, bf1] of set.bf1Parts.entries()) {
    await ledger.invoke(
      as,
      (ctx) =>
        aggregation.PublishBf1Part(
          ctx,
          set.filters.regionCode,
          set.filters.day,
          String(part),
          JSON.stringify(bf1),
        ),
      { time },
    );
  }
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

function batchJson(k: number, shares: GridShare[]): string {
  return JSON.stringify({ regionCode: REGION, periodStart: isoSeconds(periodStart(k)), shares });
}

async function submit(region: Region, k: number, shares: GridShare[], as: FakeIdentity = aggregator) {
  return region.ledger.invoke(as, (ctx) => aggregation.SubmitShares(ctx, batchJson(k, shares)), {
    time: afterPeriod(k),
  });
}

async function close(region: Region, k: number): Promise<AggregationRoundRecord> {
  return parse(
    await region.ledger.invoke(
      aggregator,
      (ctx) => aggregation.CloseRound(ctx, REGION, isoSeconds(periodStart(k))),
      { time: afterPeriod(k, 400) },
    ),
  );
}

describe('Aggregation contract', () => {
  it('a round where every meter reported is COMPLETE, and its load is exactly the sum of the readings', async () => {
    const region = await regionWithFilters(5);
    const readings = [120, 0, 987, 45, 3];
    const shares = region.meters.flatMap((meter, i) => sharesOf(meter, 3, readings[i]));
    expect(parse(await submit(region, 3, shares))).toEqual(
      expect.objectContaining({ stored: 10, duplicates: 0 }),
    );
    const round = await close(region, 3);
    expect(round.status).toBe('COMPLETE');
    expect(round.shareCount).toBe(10);
    expect(round.load).toBe(String(readings.reduce((a, b) => a + b, 0)));
  });

  it('a resent share is stored once; the same PRID with another value is CONFLICT and stores nothing', async () => {
    const region = await regionWithFilters();
    const [first, second] = sharesOf(region.meters[0], 5, 300);
    await submit(region, 5, [first]);
    expect(parse(await submit(region, 5, [first, second]))).toEqual(
      expect.objectContaining({ stored: 1, duplicates: 1 }),
    );
    const [other] = sharesOf(region.meters[0], 5, 999);
    const before = region.ledger.dump();
    await expect(submit(region, 5, [other])).rejects.toThrow(/^CONFLICT: /);
    expect(region.ledger.dump()).toEqual(before);
  });

  it('a missing meter makes the round FAULT without a load; the distributor names it and the load becomes exact', async () => {
    const region = await regionWithFilters(7);
    const readings = [100, 200, 300, 400, 500, 600, 700];
    // MTR-1 sends nothing, MTR-3 only its first share; the five others both.
    const complete = [0, 2, 4, 5, 6];
    const lone = sharesOf(region.meters[3], 7, readings[3])[0];
    const shares = [...complete.flatMap((i) => sharesOf(region.meters[i], 7, readings[i])), lone];
    await submit(region, 7, shares);
    const round = await close(region, 7);
    expect(round.status).toBe('FAULT');
    expect(round.load).toBeUndefined();

    const resolution = findMissingMeters({
      regionCode: REGION,
      periodStartSeconds: periodStart(7),
      meters: region.meters,
      storedPrids: shares.map((s) => s.prid),
    });
    expect(resolution.missingMeters).toEqual(['MTR-1', 'MTR-3']);
    expect(resolution.excludedPrids).toEqual([lone.prid]);
    const resolved = parse<AggregationRoundRecord>(
      await region.ledger.invoke(
        id.d1Operator,
        (ctx) => aggregation.ResolveRound(ctx, JSON.stringify(resolution)),
        {
          time: afterPeriod(7, 900),
        },
      ),
    );
    expect(resolved.status).toBe('RESOLVED');
    expect(resolved.load).toBe(String(complete.reduce((sum, i) => sum + readings[i], 0)));
    const findings = parse<{ meterId: string }[]>(
      await region.ledger.invoke(id.auditor, (ctx) => aggregation.ListFaultyMeters(ctx, D1)),
    );
    expect(findings.map((f) => f.meterId)).toEqual(['MTR-1', 'MTR-3']);
  });

  it('a resolution that would leave fewer than 5 meters in the sum shows no load (it would be a household’s)', async () => {
    const region = await regionWithFilters(5);
    const shares = [0, 1, 2, 3].flatMap((i) => sharesOf(region.meters[i], 9, 100 * (i + 1)));
    await submit(region, 9, shares);
    expect((await close(region, 9)).status).toBe('FAULT');
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
    expect(resolved.status).toBe('RESOLVED');
    expect(resolved.resolution?.missingMeters).toEqual(['MTR-4']);
    expect(resolved.load).toBeUndefined();
  });

  it('an altered, forged or misplaced share fails endorsement and the ledger does not change', async () => {
    const region = await regionWithFilters();
    const [good] = sharesOf(region.meters[0], 2, 500);
    const outsider = sharesOf({ meterId: 'X', sessionKey: newSessionKey() }, 2, 500)[0];
    const before = region.ledger.dump();
    await expect(submit(region, 2, [{ ...good, value: String(BigInt(good.value) + 1n) }])).rejects.toThrow(
      /^FORBIDDEN: .*signature/,
    );
    await expect(submit(region, 2, [outsider])).rejects.toThrow(/^FORBIDDEN: .*not in BF1/);
    await expect(submit(region, 3, [good])).rejects.toThrow(/^INVALID_ARGUMENT: .*belongs to round/);
    await expect(submit(region, 2, [{ ...good, sentAt: isoSeconds(periodStart(2) + 60) }])).rejects.toThrow(
      /^INVALID_ARGUMENT: .*before its period ended/,
    );
    await expect(submit(region, 2, [{ ...good, extra: 1 } as GridShare])).rejects.toThrow(
      /^INVALID_ARGUMENT: /,
    );
    await expect(
      submit(
        region,
        2,
        Array.from({ length: 201 }, () => good),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: a batch holds at most 200/);
    expect(region.ledger.dump()).toEqual(before);
  });

  it('only the aggregator submits and closes; a round closes once; filters are published once, by an operator', async () => {
    const region = await regionWithFilters();
    const shares = sharesOf(region.meters[0], 1, 10);
    await expect(submit(region, 1, shares, id.d1Operator)).rejects.toThrow(/^FORBIDDEN: /);
    await expect(submit(region, 1, shares, id.auditor)).rejects.toThrow(/^FORBIDDEN: /);
    await submit(region, 1, shares);
    await close(region, 1);
    await expect(close(region, 1)).rejects.toThrow(/^CONFLICT: .*already closed/);
    await expect(submit(region, 1, shares)).rejects.toThrow(/^CONFLICT: .*closed/);

    const set = buildDayFilters({
      regionCode: REGION,
      day: DAY,
      periodSeconds: PERIOD,
      meters: region.meters,
    });
    const publish = (as: FakeIdentity) =>
      region.ledger.invoke(as, (ctx) => aggregation.PublishFilters(ctx, JSON.stringify(set.filters)), {
        time: new Date(`${DAY}T01:00:00Z`),
      });
    const publishPart = (as: FakeIdentity) =>
      region.ledger.invoke(
        as,
        (ctx) => aggregation.PublishBf1Part(ctx, REGION, DAY, '0', JSON.stringify(set.bf1Parts[0])),
        { time: new Date(`${DAY}T01:00:00Z`) },
      );
    await expect(publishPart(id.d1Operator)).rejects.toThrow(/^ALREADY_EXISTS: BF1 part 0/);
    await expect(publishPart(id.d2Operator)).rejects.toThrow(/^FORBIDDEN: /);
    await expect(publish(id.d1Operator)).rejects.toThrow(/^ALREADY_EXISTS: /);
    await expect(publish(id.auditor)).rejects.toThrow(/^FORBIDDEN: /);
    await expect(publish(aggregator)).rejects.toThrow(/^FORBIDDEN: /);
  });

  it('a mask sum from the authority, or a resolution of a COMPLETE round, is refused', async () => {
    const region = await regionWithFilters();
    await submit(
      region,
      4,
      region.meters.flatMap((meter) => sharesOf(meter, 4, 10)),
    );
    expect((await close(region, 4)).status).toBe('COMPLETE');
    const resolution = JSON.stringify({
      regionCode: REGION,
      periodStart: isoSeconds(periodStart(4)),
      missingMeters: [],
      excludedPrids: [],
      correctedMaskSum: '0',
    });
    await expect(
      region.ledger.invoke(id.auditor, (ctx) => aggregation.ResolveRound(ctx, resolution)),
    ).rejects.toThrow(/^FORBIDDEN: /);
    await expect(
      region.ledger.invoke(id.d1Operator, (ctx) => aggregation.ResolveRound(ctx, resolution)),
    ).rejects.toThrow(/^CONFLICT: .*COMPLETE/);
  });

  it('bad filters are refused with the field named, and a part that is not BF1-shaped too', async () => {
    const ledger = new MemoryLedger();
    const meters = Array.from({ length: 5 }, (_, i) => ({ meterId: `M${i}`, sessionKey: newSessionKey() }));
    const set = buildDayFilters({ regionCode: REGION, day: DAY, periodSeconds: PERIOD, meters });
    const time = { time: new Date(`${DAY}T00:00:00Z`) };
    const publish = (value: object) =>
      ledger.invoke(id.d1Operator, (ctx) => aggregation.PublishFilters(ctx, JSON.stringify(value)), time);
    await expect(publish({ ...set.filters, maskSums: set.filters.maskSums.slice(1) })).rejects.toThrow(
      /maskSums/,
    );
    await expect(publish({ ...set.filters, periodSeconds: 700 })).rejects.toThrow(/periodSeconds/);
    await expect(publish({ ...set.filters, periodsPerPart: 7 })).rejects.toThrow(
      /periodsPerPart must divide/,
    );
    await expect(publish({ ...set.filters, bf2: { nonsense: true } })).rejects.toThrow(
      /^INVALID_ARGUMENT: bf2/,
    );
    await expect(publish({ ...set.filters, day: '2026-13-40' })).rejects.toThrow(/day/);
    await expect(publish({ ...set.filters, meterCount: 4 })).rejects.toThrow(
      /meterCount must be an integer from 5/,
    );
    await expect(publish({ ...set.filters, bf1: set.bf1Parts[0] })).rejects.toThrow(
      /unknown field\(s\): bf1/,
    );
    expect(ledger.dump()).toEqual([]);
    const stored = parse<AggregationFiltersRecord>(await publish(set.filters));
    expect(stored.meterCount).toBe(5);
    const part = (index: string, bf1: unknown) =>
      ledger.invoke(
        id.d1Operator,
        (ctx) => aggregation.PublishBf1Part(ctx, REGION, DAY, index, JSON.stringify(bf1)),
        time,
      );
    await expect(part('1', set.bf1Parts[0])).rejects.toThrow(
      /^INVALID_ARGUMENT: part must be an integer from 0 to 0/,
    );
    await expect(part('0', { v: 1 })).rejects.toThrow(/^INVALID_ARGUMENT: bf1/);
    // No share of a period whose BF1 part is not published gets in.
    const [share] = sharesOf(meters[0], 0, 5);
    await expect(
      ledger.invoke(aggregator, (ctx) => aggregation.SubmitShares(ctx, batchJson(0, [share])), {
        time: afterPeriod(0),
      }),
    ).rejects.toThrow(/^NOT_FOUND: BF1 part 0/);
  });

  it('a region too big for one transaction gets BF1 in parts, and each share is checked against its own part', async () => {
    const meters = Array.from({ length: 120 }, (_, i) => ({
      meterId: `MTR-${i}`,
      sessionKey: newSessionKey(),
    }));
    const set = buildDayFilters({ regionCode: REGION, day: DAY, periodSeconds: PERIOD, meters });
    expect(set.bf1Parts.length).toBeGreaterThan(1);
    for (const bf1 of set.bf1Parts) expect(JSON.stringify(bf1).length).toBeLessThan(200 * 1024);
    const ledger = new MemoryLedger();
    await publishSet(ledger, set);
    const region = { ledger, meters };
    const last = 96 - 1;
    const shares = meters.slice(0, 2).flatMap((meter) => sharesOf(meter, last, 7));
    expect(parse(await submit(region, last, shares))).toEqual(expect.objectContaining({ stored: 4 }));
  });
});
