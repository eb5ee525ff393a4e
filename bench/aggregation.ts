/**
 * Benchmark (not a test) of the aggregate privacy mode (docs/aggregation.md). Two parts:
 *  1. the chaincode's cost per share in-process (MemoryLedger): SubmitShares, with the signature and BF1 check
 *     apart, against the cost per reading of Measurement:SubmitReadings measured in the same run;
 *  2. on the running network (`./test-network.sh up`): shares/s from the broker through the aggregator `up`
 *     started to closed rounds on the ledger, against the same shares submitted straight to the ledger in the
 *     same run (the ledger's own ceiling for shares), with the aggregator's CPU per share and its RSS.
 * `npm run bench:aggregation`; BENCH_AGG_METERS (default 200), BENCH_AGG_PERIODS (default 6), BENCH_AGG_NETWORK=0
 * for part 1 only.
 */
// The chaincode reads the network's topology as its server gets it (unit tests set the same).
import '../chaincode/test/support/topology';
import {
  bloomFilterHas,
  newSessionKey,
  parseGridShare,
  periodSecrets,
  splitReading,
  verifyShareSignature,
  type BloomFilterJson,
  type GridShare,
} from '@smartmeter/crypto';
import { buildDayFilters, isoSeconds, type AggregateMeter } from '@smartmeter/domain';
import { connectAsync } from 'mqtt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AggregationContract } from '../chaincode/src/contracts/AggregationContract';
import { MeasurementContract } from '../chaincode/src/contracts/MeasurementContract';
import { id, World, reading } from '../chaincode/test/support/fixtures';
import { MemoryLedger } from '../chaincode/test/support/memoryContext';
import { AggregationClient } from '../client/src/contracts/AggregationClient';
import { chaincodeChannel } from '../client/src/contracts/invoke';
import { Gateways } from '../test/support/chaincode';
import { CHANNEL } from '../test/support/household';
import { CHAINCODE, networkHome, nodeEndpoint, recordedPid } from '../test/support/network';
import { inBatches } from './support/fleet';
import { cpuShares, cpuSnapshot } from './support/procStats';

const METERS = Number(process.env.BENCH_AGG_METERS ?? 200);
const PERIODS = Number(process.env.BENCH_AGG_PERIODS ?? 6);
const PERIOD = 900;
const DAY = 86_400;
const BATCH = 200;
const aggregator = { mspId: 'Distributor1MSP', attributes: { role: 'aggregator' } };

function meterKeys(count: number): AggregateMeter[] {
  return Array.from({ length: count }, (_, i) => ({ meterId: `bench-${i}`, sessionKey: newSessionKey() }));
}

function sharesFor(meters: AggregateMeter[], region: string, start: number): GridShare[] {
  const sentAt = isoSeconds(start + PERIOD + 30);
  return meters.flatMap((meter, i) =>
    splitReading({
      wattHours: 100 + i,
      secrets: periodSecrets(meter.sessionKey, start),
      region,
      sentAt: [sentAt, sentAt],
    }),
  );
}

function microsPer(count: number, fn: () => void): number {
  const began = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - began) / 1000 / count;
}

/** Part 1: chaincode time per share and per reading, in-process. */
async function chaincodeCosts(): Promise<void> {
  const region = 'north/bench';
  const day = '2026-01-15';
  const dayStart = Date.parse(`${day}T00:00:00Z`) / 1000;
  const meters = meterKeys(100);
  const ledger = new MemoryLedger();
  const contract = new AggregationContract();
  const set = buildDayFilters({ regionCode: region, day, periodSeconds: PERIOD, meters });
  const time = { time: new Date(dayStart * 1000) };
  await ledger.invoke(
    id.d1Operator,
    (ctx) => contract.PublishFilters(ctx, JSON.stringify(set.filters)),
    time,
  );
  for (const [part, bf1] of set.bf1Parts.entries()) {
    await ledger.invoke(
      id.d1Operator,
      (ctx) => contract.PublishBf1Part(ctx, region, day, String(part), JSON.stringify(bf1)),
      time,
    );
  }
  const periods = 4;
  const batches = Array.from({ length: periods }, (_, k) => sharesFor(meters, region, dayStart + k * PERIOD));
  const submitted = process.hrtime.bigint();
  for (const [k, shares] of batches.entries()) {
    const start = dayStart + k * PERIOD;
    const time = new Date((start + PERIOD + 300) * 1000);
    const batch = (chunk: GridShare[]) =>
      JSON.stringify({ regionCode: region, periodStart: isoSeconds(start), shares: chunk });
    for (let i = 0; i < shares.length; i += BATCH) {
      const chunk = shares.slice(i, i + BATCH);
      await ledger.invoke(aggregator, (ctx) => contract.SubmitShares(ctx, batch(chunk)), { time });
    }
  }
  const shareCount = batches.flat().length;
  const perShare = Number(process.hrtime.bigint() - submitted) / 1000 / shareCount;
  const closeBegan = process.hrtime.bigint();
  await ledger.invoke(aggregator, (ctx) => contract.CloseRound(ctx, region, isoSeconds(dayStart)), {
    time: new Date((dayStart + PERIOD + 600) * 1000),
  });
  const closeMs = Number(process.hrtime.bigint() - closeBegan) / 1e6;

  const sample = batches[0];
  const bf1 = set.bf1Parts[0] as BloomFilterJson;
  const verifyUs = microsPer(sample.length, () => {
    sample.forEach((s) => verifyShareSignature(s));
  });
  const bf1Us = microsPer(sample.length, () => {
    sample.forEach((s) => bloomFilterHas(bf1, s.prid));
  });
  const parseUs = microsPer(sample.length, () => {
    sample.forEach((s) => parseGridShare({ ...s }));
  });

  // Baseline in the same run: a household's reading in disclosed mode, batches of 96 (Measurement:SubmitReadings).
  const world = await World.create();
  const measurement = new MeasurementContract();
  const households = await Promise.all(
    Array.from({ length: 4 }, (_, i) => world.active({ subscriberId: `hh-${i}`, meterId: `MTR-${i}` })),
  );
  const readingsBegan = process.hrtime.bigint();
  let readingCount = 0;
  for (const household of households) {
    const items = Array.from({ length: 48 }, (_, n) => reading(household, n));
    readingCount += items.length;
    await world.run(household.meter, (ctx) => measurement.SubmitReadings(ctx, JSON.stringify(items)));
  }
  const perReading = Number(process.hrtime.bigint() - readingsBegan) / 1000 / readingCount;

  console.log('1. chaincode, in-process (MemoryLedger), one core');
  console.log(
    `   SubmitShares          ${perShare.toFixed(0).padStart(6)} µs/share   (${shareCount} shares in batches of ${BATCH})`,
  );
  console.log(`     of which signature  ${verifyUs.toFixed(0).padStart(6)} µs/share`);
  console.log(`     of which BF1        ${bf1Us.toFixed(0).padStart(6)} µs/share`);
  console.log(`     of which parsing    ${parseUs.toFixed(0).padStart(6)} µs/share`);
  console.log(
    `   CloseRound            ${closeMs.toFixed(1).padStart(6)} ms for ${meters.length * 2} shares`,
  );
  console.log(`   SubmitReadings (baseline) ${perReading.toFixed(0).padStart(4)} µs/reading`);
  console.log(
    `   ratio: a household-period costs ${((2 * perShare) / perReading).toFixed(2)}× in aggregate mode (2 shares) what it costs disclosed (1 reading)`,
  );
}

/** Part 2: shares/s through the broker and the aggregator to closed rounds, against direct submission. */
async function networkThroughput(): Promise<void> {
  const gateways = new Gateways();
  try {
    const run = Date.now().toString(36).slice(-6);
    const dayStart = Math.floor(Date.now() / 1000 / DAY) * DAY - DAY;
    const day = isoSeconds(dayStart).slice(0, 10);
    const meters = meterKeys(METERS);
    const operator = new AggregationClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const viaAggregator = `north/bagg${run}`;
    const direct = `north/bdir${run}`;
    for (const region of [viaAggregator, direct]) {
      await operator.publishFilters(
        buildDayFilters({ regionCode: region, day, periodSeconds: PERIOD, meters }),
      );
    }
    const starts = Array.from({ length: PERIODS }, (_, k) => dayStart + (10 + k) * PERIOD);
    const total = METERS * 2 * PERIODS;

    // Baseline: the bench itself submits and closes, 2 rounds at a time (the aggregator's default concurrency).
    const ledger = new AggregationClient(
      chaincodeChannel(gateways.gateway('distributor1', 'aggregator'), CHANNEL, CHAINCODE),
    );
    const directShares = starts.map((start) => sharesFor(meters, direct, start));
    const directBegan = Date.now();
    await inBatches(directShares, 2, async (shares) => {
      for (let i = 0; i < shares.length; i += BATCH) {
        const chunk = shares.slice(i, i + BATCH);
        await ledger.submitShares({ regionCode: direct, periodStart: chunk[0].periodStart, shares: chunk });
      }
      await ledger.closeRound(direct, shares[0].periodStart);
    });
    const directRate = total / ((Date.now() - directBegan) / 1000);

    const viaShares = starts.flatMap((start) => sharesFor(meters, viaAggregator, start));
    const ca = readFileSync(join(networkHome, 'orgs', 'distributor1', 'msp', 'cacerts', 'ca.pem'));
    const before = cpuSnapshot();
    const began = Date.now();
    const publishers = await Promise.all(
      Array.from({ length: 8 }, () => connectAsync(`mqtts://${nodeEndpoint('broker')}`, { ca, clean: true })),
    );
    await Promise.all(
      publishers.map(async (client, p) => {
        for (let i = p; i < viaShares.length; i += publishers.length) {
          await client.publishAsync(`grid/${viaAggregator}/shares`, JSON.stringify(viaShares[i]), { qos: 1 });
        }
      }),
    );
    const published = Date.now();
    await Promise.all(publishers.map((client) => client.endAsync()));
    const operatorView = new AggregationClient(
      chaincodeChannel(gateways.gateway('authority'), CHANNEL, CHAINCODE),
    );
    for (;;) {
      const rounds = await operatorView.rounds(
        viaAggregator,
        isoSeconds(dayStart),
        isoSeconds(dayStart + DAY),
      );
      if (rounds.length === PERIODS) {
        const incomplete = rounds.filter((round) => round.status !== 'COMPLETE');
        if (incomplete.length > 0) throw new Error(`${incomplete.length} rounds are not COMPLETE`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - began) / 1000;
    const cpu = cpuShares(before, cpuSnapshot());
    const aggregatorCpu = cpu['aggregator.distributor1'] as number | undefined;
    const brokerCpu = cpu.broker as number | undefined;
    const rate = total / seconds;
    const pid = recordedPid('aggregator.distributor1');
    const rssMb = pid
      ? Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
      : 0;

    console.log(`2. network: ${METERS} meters × ${PERIODS} periods = ${total} shares (BFT ordering)`);
    console.log(
      `   direct SubmitShares + CloseRound (baseline)  ${directRate.toFixed(0).padStart(6)} shares/s`,
    );
    console.log(
      `   broker → aggregator → ledger                 ${rate.toFixed(0).padStart(6)} shares/s = ${(rate / directRate).toFixed(2)}× the baseline (published in ${((published - began) / 1000).toFixed(1)} s)`,
    );
    console.log(
      `   aggregator CPU ${(((aggregatorCpu ?? 0) * 1000) / total).toFixed(2)} ms/share, peak RSS ${rssMb.toFixed(0)} MB; broker CPU ${(((brokerCpu ?? 0) * 1000) / total).toFixed(2)} ms/share`,
    );
  } finally {
    gateways.closeAll();
  }
}

async function main(): Promise<void> {
  await chaincodeCosts();
  if (process.env.BENCH_AGG_NETWORK !== '0') await networkThroughput();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
