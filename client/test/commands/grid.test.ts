import {
  bf2Entry,
  bloomFilterHas,
  periodSecrets,
  splitReading,
  sumPrids,
  type BloomFilterJson,
} from '@smartmeter/crypto';
import {
  gridShareRecordOf,
  type AggregationRoundRecord,
  type DayFilterSet,
  type GridShareRecord,
  type RoundResolutionInput,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { subscriptionRecord } from './support/fixtures';
import { TestWorld } from './support/world';

const REGION = 'north/d3';
const DAY = '2026-11-14';
const dayStart = Date.parse(`${DAY}T00:00:00Z`) / 1000;

/** Aggregate subscriptions whose session keys are in the world's keystore (as the distributor's would unwrap). */
function aggregateSubscriptions(
  world: TestWorld,
  count: number,
  intervalSeconds = 900,
  first = 0,
): SubscriptionRecord[] {
  return Array.from({ length: count }, (_, n) => {
    const i = first + n;
    const stored = world.keystore.newSessionKey(`meter-${i}`);
    return subscriptionRecord(Buffer.from(stored.key, 'hex'), [], {
      subscriptionId: `sub_${i}`,
      meterId: `mtr-${i}`,
      status: 'ACTIVE',
      privacyMode: 'aggregate',
      approval: {
        intervalSeconds,
        tariffId: 'tou',
        regionCode: REGION,
        startDate: '2026-11-01T00:00:00Z',
        approvedAt: '2026-11-01T00:00:00Z',
      },
    });
  });
}

function keyOf(world: TestWorld, i: number): Buffer {
  return Buffer.from(world.keystore.sessionKey(`meter-${i}`).key, 'hex');
}

describe('meterctl grid', () => {
  it('publish-filters builds BF1, BF2 and the mask sums from the region’s aggregate meters and prints what it published', async () => {
    const world = new TestWorld();
    const subscriptions = aggregateSubscriptions(world, 3);
    const other = { ...subscriptions[0], subscriptionId: 'sub_x', privacyMode: 'disclosed' as const };
    const published: DayFilterSet[] = [];
    world.clients.subscriptions = { all: jest.fn(async () => [...subscriptions, other]) };
    world.clients.aggregation = {
      publishFilters: jest.fn(
        async (set: DayFilterSet, onPart?: (published: number, parts: number) => void) => {
          published.push(set);
          onPart?.(1, 1);
          return {
            ...set.filters,
            docType: 'aggregationFilters' as const,
            distributorMspId: 'Distributor1MSP',
            publishedAt: '',
          };
        },
      ),
    };

    const result = await world.run('grid', 'publish-filters', '--region', REGION, '--day', DAY);

    expect(result).toEqual({
      code: 0,
      stderr: `deriving 3 meters' pseudonyms and masks for ${DAY}\npublished BF1 part 1 of 1\n`,
      stdout: `published the filters of ${REGION} for ${DAY}: 3 meters, 96 periods of 900 s, BF1 in 1 part(s)\n`,
    });
    const [{ filters, bf1Parts }] = published;
    expect(filters.periodsPerPart).toBe(96);
    const start = dayStart + 40 * 900;
    const secrets = [0, 1, 2].map((i) => periodSecrets(keyOf(world, i), start));
    for (const s of secrets) {
      expect(bloomFilterHas(bf1Parts[0] as BloomFilterJson, s.first.prid)).toBe(true);
      expect(bloomFilterHas(bf1Parts[0] as BloomFilterJson, s.second.prid)).toBe(true);
    }
    const pridSum = sumPrids(secrets.flatMap((s) => [s.first.prid, s.second.prid]));
    expect(bloomFilterHas(filters.bf2 as BloomFilterJson, bf2Entry(secrets[0].periodStart, pridSum))).toBe(
      true,
    );
    const z = secrets.reduce((sum, s) => sum + s.firstMask + s.secondMask, 0n);
    expect(filters.maskSums[40]).toBe(z.toString());
  });

  it('publish-filters refuses a region whose meters report at different intervals (exit 2) and publishes nothing', async () => {
    const world = new TestWorld();
    const subscriptions = aggregateSubscriptions(world, 1, 900);
    const [halfHourly] = aggregateSubscriptions(world, 1, 1800, 1);
    world.clients.subscriptions = { all: jest.fn(async () => [...subscriptions, halfHourly]) };

    const result = await world.run('grid', 'publish-filters', '--region', REGION, '--day', DAY);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/report at different intervals \(900, 1800 s\)/);
    expect(world.methodsCalled()).toEqual(['subscriptions.all']);
  });

  it('a bad --day or --region is a usage error before any connection', async () => {
    const world = new TestWorld();
    const bad = await world.run('grid', 'publish-filters', '--region', REGION, '--day', '14.11.2026');
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --day must be a UTC date YYYY-MM-DD (got 14.11.2026)\n',
    });
    const region = await world.run('grid', 'faults', '--region', 'North', '--day', DAY);
    expect(region.code).toBe(2);
    expect(world.connections).toBe(0);
  });

  it('faults names the meter that sent nothing, alerts about it and resolves the round with the corrected mask sum', async () => {
    const world = new TestWorld();
    const subscriptions = aggregateSubscriptions(world, 3);
    const k = 10;
    const start = dayStart + k * 900;
    const periodStart = new Date(start * 1000).toISOString().replace('.000Z', 'Z');
    // mtr-1 sent nothing; mtr-0 and mtr-2 both their shares.
    const stored: GridShareRecord[] = [0, 2].flatMap((i) =>
      splitReading({
        wattHours: 100,
        secrets: periodSecrets(keyOf(world, i), start),
        region: REGION,
        sentAt: [periodStart, periodStart],
      }).map(gridShareRecordOf),
    );
    const fault: AggregationRoundRecord = {
      docType: 'aggregationRound',
      regionCode: REGION,
      periodStart,
      periodSeconds: 900,
      distributorMspId: 'Distributor1MSP',
      status: 'FAULT',
      shareCount: 4,
      expectedShares: 6,
      shareSum: '0',
      pridSum: '00',
      closedAt: periodStart,
    };
    const resolutions: RoundResolutionInput[] = [];
    world.clients.subscriptions = { all: jest.fn(async () => subscriptions) };
    world.clients.aggregation = {
      rounds: jest.fn(async () => [
        fault,
        { ...fault, periodStart: '2026-11-14T00:00:00Z', status: 'COMPLETE' as const },
      ]),
      shares: jest.fn(async () => stored),
      resolveRound: jest.fn(async (resolution: RoundResolutionInput) => {
        resolutions.push(resolution);
        return {
          ...fault,
          status: 'RESOLVED' as const,
          load: '200',
          resolution: { ...resolution, resolvedAt: '' },
        };
      }),
    };

    const result = await world.run('grid', 'faults', '--region', REGION, '--day', DAY);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `ALERT: meter mtr-1 did not report ${REGION} ${periodStart}: investigate it\n`,
    );
    expect(result.stdout).toMatch(/RESOLVED\s+4\/6\s+0\.200\s+mtr-1/);
    const secrets = [0, 2].map((i) => periodSecrets(keyOf(world, i), start));
    expect(resolutions).toEqual([
      {
        regionCode: REGION,
        periodStart,
        missingMeters: ['mtr-1'],
        excludedPrids: [],
        correctedMaskSum: secrets.reduce((sum, s) => sum + s.firstMask + s.secondMask, 0n).toString(),
      },
    ]);
  });
});
