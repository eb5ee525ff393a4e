/**
 * Benchmark (not a test): throughput of the running network against its own ceiling, in one run.
 *
 * 1. the ceiling: System:Ping (one key write) at rising concurrency until it stops rising;
 * 2. SubmitReading, one reading per transaction, at a quarter, half and all of the fleet;
 * 3. SubmitReadings in batches (24, 48, 96 readings) with the whole fleet;
 * 4. single readings at half the saturating load (rate-limited), for the latency goal.
 *
 * Prints a table (tx/s, readings/s, p50/p95/p99 submit→commit latency, failures by cause, CPU share of every
 * network process), the ratios to the ceiling, ledger bytes per reading; writes JSON and an SVG chart to
 * .bench-results/. Needs `./test-network.sh up`. `npm run bench:throughput`.
 *
 * Environment: BENCH_METERS (60), BENCH_SECONDS per round (15), BENCH_WARMUP seconds (3),
 * BENCH_PING_LEVELS (4,8,16,32,64,128), BENCH_BATCH_SIZES (24,48,96).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Gateways } from '../test/support/chaincode';
import { CHANNEL, HOUSEHOLDS } from '../test/support/household';
import { networkHome, profile, repoDir } from '../test/support/network';
import { prepareFleet } from './support/fleet';
import { LoadFleet, type RoundSpec } from './support/load';
import { cpuShares, cpuSnapshot, diskSnapshot } from './support/procStats';
import { formatCapacity, modeCapacity } from './support/capacity';
import { formatTable, latencySummary, throughputChart, type RoundReport } from './support/report';

const INTERVAL_SECONDS = 900;
const GATEWAY_PEER = 'peer0.distributor1';
/** The authority's peer host endorses and validates every transaction of both channels: the busiest host. */
const AUTHORITY_HOST = { peer: 'peer0.authority', chaincode: 'cc.authority' };

const numbers = (value: string | undefined, fallback: number[]): number[] =>
  value === undefined || value === '' ? fallback : value.split(',').map(Number);
const settings = {
  meters: Number(process.env.BENCH_METERS ?? 60),
  seconds: Number(process.env.BENCH_SECONDS ?? 15),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 3),
  pingLevels: numbers(process.env.BENCH_PING_LEVELS, [4, 8, 16, 32, 64, 128]),
  batchSizes: numbers(process.env.BENCH_BATCH_SIZES, [24, 48, 96]),
};

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Runs a round and turns what it measured into a report row, with CPU and disk around it. */
async function measure(fleet: LoadFleet, spec: RoundSpec): Promise<RoundReport> {
  say(
    `round ${spec.name}: ${spec.concurrency} in flight${spec.rateTxPerSecond ? `, ${spec.rateTxPerSecond.toFixed(0)} tx/s offered` : ''} …`,
  );
  const diskBefore = diskSnapshot(GATEWAY_PEER, CHANNEL);
  const cpuTimer = new Promise<{
    before: ReturnType<typeof cpuSnapshot>;
    after: ReturnType<typeof cpuSnapshot>;
  }>((resolve) => {
    setTimeout(() => {
      const before = cpuSnapshot();
      setTimeout(() => {
        resolve({ before, after: cpuSnapshot() });
      }, spec.seconds * 1000);
    }, spec.warmupSeconds * 1000);
  });
  const [outcome, cpu] = await Promise.all([fleet.run(spec), cpuTimer]);
  const diskAfter = diskSnapshot(GATEWAY_PEER, CHANNEL);
  const perReading = (bytes: number) =>
    outcome.readingsAllRound > 0 ? bytes / outcome.readingsAllRound : undefined;
  const report: RoundReport = {
    name: spec.name,
    kind: spec.kind,
    concurrency: spec.concurrency,
    batchSize: spec.batchSize,
    offeredTxPerSecond: spec.rateTxPerSecond,
    txPerSecond: outcome.committed / outcome.windowSeconds,
    readingsPerSecond: outcome.readings / outcome.windowSeconds,
    latencyMs: latencySummary(outcome.latenciesMs),
    failures: outcome.failures,
    reEndorsed: outcome.reEndorsed,
    foundCommitted: outcome.foundCommitted,
    cpu: cpuShares(cpu.before, cpu.after),
    ledgerBytesPerReading:
      spec.kind === 'ping' ? undefined : perReading(diskAfter.blockBytes - diskBefore.blockBytes),
    stateBytesPerReading:
      spec.kind === 'ping' ? undefined : perReading(diskAfter.stateBytes - diskBefore.stateBytes),
  };
  say(
    `  ${report.txPerSecond.toFixed(1)} tx/s, ${report.readingsPerSecond.toFixed(0)} readings/s, p95 ${(report.latencyMs.p95 / 1000).toFixed(2)} s`,
  );
  return report;
}

const round = (name: string, kind: RoundSpec['kind'], concurrency: number, batchSize: number): RoundSpec => ({
  name,
  kind,
  concurrency,
  batchSize,
  warmupSeconds: settings.warmupSeconds,
  seconds: settings.seconds,
});

/** Ping at rising concurrency until two levels in a row add less than 5 % to the best so far. */
async function ceiling(fleet: LoadFleet, reports: RoundReport[]): Promise<RoundReport> {
  let best: RoundReport | undefined;
  let flat = 0;
  for (const level of settings.pingLevels) {
    const report = await measure(fleet, round(`Ping ×${level}`, 'ping', level, 0));
    reports.push(report);
    flat = best && report.txPerSecond < best.txPerSecond * 1.05 ? flat + 1 : 0;
    if (!best || report.txPerSecond > best.txPerSecond) best = report;
    if (flat === 2) break;
  }
  if (!best) throw new Error('BENCH_PING_LEVELS is empty');
  return best;
}

/** The ordering service's block cutting as the running network's configtx.yaml (rendered at `up`) sets it. */
function blockCutting(): string {
  const text = readFileSync(join(networkHome, 'config', 'configtx.yaml'), 'utf8');
  const pick = (key: string) => new RegExp(`^\\s*${key}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? 'default';
  return `BatchTimeout ${pick('BatchTimeout')}, MaxMessageCount ${pick('MaxMessageCount')}, SmartBFT RequestBatchMaxInterval ${pick('RequestBatchMaxInterval')}, RequestBatchMaxCount ${pick('RequestBatchMaxCount')}`;
}

async function main(): Promise<void> {
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  say(`throughput benchmark on ${machine}`);
  const now = Math.floor(Date.now() / 1000);
  // Start 44 days back (the backlog limit is 45): room for thousands of 15-minute readings per meter.
  const startSeconds = Math.floor((now - 44 * 86_400) / 86_400) * 86_400;
  const gateways = new Gateways();
  let meters;
  try {
    say(`preparing ${settings.meters} meters (CA identity, subscription, approval, pairing each) …`);
    meters = await prepareFleet(gateways, {
      count: settings.meters,
      intervalSeconds: INTERVAL_SECONDS,
      startSeconds,
      pair: true,
      onReady: (ready, count) => {
        if (ready % 10 === 0 || ready === count) say(`  ${ready}/${count} meters ready`);
      },
    });
  } finally {
    gateways.closeAll();
  }
  // BENCH_CONFIRM_BOTH=0: a meter's next transaction does not wait for the authority's peer (more re-endorsements).
  const confirmAt = process.env.BENCH_CONFIRM_BOTH === '0' ? undefined : profile('authority').peer;
  const fleet = new LoadFleet(
    meters,
    profile(HOUSEHOLDS),
    CHANNEL,
    { startSeconds, intervalSeconds: INTERVAL_SECONDS },
    { confirmAt },
  );
  const reports: RoundReport[] = [];
  try {
    const ping = await ceiling(fleet, reports);
    const quarters = [
      ...new Set([
        Math.max(1, Math.floor(fleet.size / 4)),
        Math.max(1, Math.floor(fleet.size / 2)),
        fleet.size,
      ]),
    ];
    let single: RoundReport | undefined;
    for (const level of quarters) {
      const report = await measure(fleet, round(`SubmitReading ×${level}`, 'single', level, 1));
      reports.push(report);
      if (!single || report.txPerSecond > single.txPerSecond) single = report;
    }
    let batched: RoundReport | undefined;
    for (const size of settings.batchSizes) {
      const report = await measure(fleet, round(`SubmitReadings ${size}/tx`, 'batch', fleet.size, size));
      reports.push(report);
      if (!batched || report.readingsPerSecond > batched.readingsPerSecond) batched = report;
    }
    if (!single || !batched) throw new Error('no reading rounds ran');
    const halfLoad = await measure(fleet, {
      ...round('SubmitReading at half load', 'single', fleet.size, 1),
      rateTxPerSecond: single.txPerSecond / 2,
    });
    reports.push(halfLoad);
    print(machine, reports, { ping, single, batched, halfLoad });
  } finally {
    fleet.close();
  }
}

function print(
  machine: string,
  reports: RoundReport[],
  best: { ping: RoundReport; single: RoundReport; batched: RoundReport; halfLoad: RoundReport },
): void {
  const { ping, single, batched, halfLoad } = best;
  const capacity = [
    modeCapacity('single readings', single, AUTHORITY_HOST),
    modeCapacity(`batches of ${batched.batchSize}`, batched, AUTHORITY_HOST),
  ];
  const ratios = {
    singleToCeiling: single.txPerSecond / ping.txPerSecond,
    batchedToSingleReadings: batched.readingsPerSecond / single.readingsPerSecond,
    batchedReadingsToMillionMeters: batched.readingsPerSecond / (1_000_000 / 900),
  };
  console.log(`Throughput on the running network (${machine}); ${blockCutting()}`);
  console.log('Only committed-VALID transactions count; latency is submit → commit status at the client.\n');
  console.log(formatTable(reports));
  console.log('');
  console.log(`ceiling (best Ping): ${ping.txPerSecond.toFixed(1)} tx/s at ${ping.concurrency} in flight`);
  console.log(
    `single readings: ${single.txPerSecond.toFixed(1)} tx/s = ${(ratios.singleToCeiling * 100).toFixed(0)} % of the ceiling (goal ≥ 90 %)`,
  );
  console.log(
    `batched readings: ${batched.readingsPerSecond.toFixed(0)} readings/s with ${batched.batchSize}/tx = ${ratios.batchedToSingleReadings.toFixed(1)}× the single-reading rate (goal ≥ 20×), ${ratios.batchedReadingsToMillionMeters.toFixed(2)}× the 1M-meter average of 1,111/s (goal ≥ 2.25×)`,
  );
  console.log(
    `half load (${halfLoad.offeredTxPerSecond?.toFixed(0)} tx/s offered): p95 ${(halfLoad.latencyMs.p95 / 1000).toFixed(2)} s`,
  );
  const failures = reports.reduce((sum, r) => sum + Object.values(r.failures).reduce((a, b) => a + b, 0), 0);
  console.log(`failures in all rounds: ${failures}`);
  console.log(
    `\nCapacity model (from this run's figures; peer host = ${AUTHORITY_HOST.peer} + ${AUTHORITY_HOST.chaincode}):`,
  );
  console.log(formatCapacity(capacity));
  const dir = join(repoDir, '.bench-results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const jsonPath = join(dir, `throughput-${stamp}.json`);
  const svgPath = join(dir, `throughput-${stamp}.svg`);
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ machine, blockCutting: blockCutting(), settings, ratios, capacity, rounds: reports }, null, 2)}\n`,
  );
  writeFileSync(svgPath, throughputChart(reports, `Throughput against concurrency (${machine})`));
  console.log(`\nwrote ${jsonPath}\nwrote ${svgPath}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
