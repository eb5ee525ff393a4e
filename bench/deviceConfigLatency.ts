/**
 * Benchmark (not a test): how long a device configuration takes from publication to being applied (issue 19),
 * on the running network, for one meter and for a group of 100, against the IoT protocol paper's 0.8 s per
 * update. Each meter has its own CA identity, subscription, pairing and device key; meter-sim runs them all in
 * one process, reading its configuration every BENCH_CONFIG_POLL_SECONDS (default 1). The configuration
 * administrator seals an urgent configuration for each target's device key and publishes it in one
 * transaction; a meter's latency is from just before that submission to its `config.applied` line, which it
 * logs once its acknowledgement is committed. The baseline, measured in the same run, is one System:Ping
 * transaction (endorse, order, commit): the figures are also given as multiples of it.
 * Needs `./test-network.sh up`. `npm run bench:device-config`.
 */
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalConfigBytes,
  configHash,
  deviceConfigContext,
  isoSeconds,
  MAX_CONFIG_TARGETS,
  sealConfigForDevice,
  type DeviceConfig,
} from '@smartmeter/domain';
import { DeviceConfigClient } from '../client/src/contracts/DeviceConfigClient';
import { chaincodeChannel } from '../client/src/contracts/invoke';
import { Gateways, submitJson } from '../test/support/chaincode';
import { AUTHORITY, CHANNEL, D1 } from '../test/support/household';
import { MeterSimProcess } from '../test/support/meterSim';
import { CHAINCODE } from '../test/support/network';
import { prepareFleet, writeFleetBundles, type BenchMeter } from './support/fleet';
import { latencySummary } from './support/report';

const runs = (process.env.BENCH_CONFIG_DEVICES ?? '1,100').split(',').map(Number);
const pollSeconds = Number(process.env.BENCH_CONFIG_POLL_SECONDS ?? '1');
const PAPER_SECONDS = 0.8;
const HALF_HOUR = 1800;

interface RunResult {
  devices: number;
  latencies: number[];
}

async function pingBaseline(gateways: Gateways): Promise<number> {
  const system = gateways.gateway('distributor1').getNetwork(CHANNEL).getContract(CHAINCODE, 'System');
  const samples: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = Date.now();
    await submitJson(system, 'Ping', `device-config baseline ${i}`);
    samples.push(Date.now() - started);
  }
  return latencySummary(samples).p50;
}

/**
 * Publishes one urgent configuration for the meters, each at its next version, and waits for each to log it
 * applied; returns each meter's latency in milliseconds.
 */
async function publishAndWait(
  configs: DeviceConfigClient,
  meterSim: MeterSimProcess,
  meters: BenchMeter[],
  versions: Map<string, number>,
  round: number,
): Promise<number[]> {
  const config: DeviceConfig = {
    schemaVersion: 1,
    maxJitterSeconds: 10 + round,
    display: { message: `bench ${round}` },
  };
  const targets = [];
  for (const meter of meters) {
    const version = (versions.get(meter.meterId) ?? 0) + 1;
    versions.set(meter.meterId, version);
    const key = await configs.deviceKey(meter.meterId);
    const sealed = sealConfigForDevice(
      config,
      key.publicKeyPem,
      deviceConfigContext(CHANNEL, meter.meterId, version),
    );
    targets.push({ meterId: meter.meterId, version, sealed: sealed.toString('base64') });
  }
  // Latency counts from the first publication; a group larger than a transaction may carry goes in several.
  const publishedAt = Date.now();
  for (let i = 0; i < targets.length; i += MAX_CONFIG_TARGETS) {
    await configs.publish(
      {
        targets: targets.slice(i, i + MAX_CONFIG_TARGETS),
        priority: 'urgent',
        schemaVersion: 1,
        configHash: configHash(config),
      },
      canonicalConfigBytes(config),
      [D1, AUTHORITY],
    );
  }
  const applied = await Promise.all(
    targets.map(({ meterId, version }) =>
      meterSim.waitFor(
        (e) => e.event === 'config.applied' && e.meterId === meterId && e.version === version,
        180_000,
      ),
    ),
  );
  return applied.map((event) => Date.parse(event.time) - publishedAt);
}

async function main(): Promise<void> {
  const gateways = new Gateways();
  const dir = mkdtempSync(join(tmpdir(), 'bench-device-config-'));
  const bundles = join(dir, 'bundles');
  mkdirSync(bundles, { mode: 0o700 });
  const count = Math.max(...runs);
  const start = Math.floor(Date.now() / 1000 / HALF_HOUR) * HALF_HOUR - HALF_HOUR;
  let meterSim: MeterSimProcess | undefined;
  try {
    const baselineMs = await pingBaseline(gateways);
    process.stderr.write(`preparing ${count} meters (identity, subscription, approval)...\n`);
    const meters = await prepareFleet(gateways, {
      count,
      intervalSeconds: HALF_HOUR,
      startSeconds: start,
      pair: false,
      onReady: (ready, total) => {
        if (ready % 20 === 0 || ready === total) process.stderr.write(`  ${ready}/${total} meters ready\n`);
      },
    });
    writeFleetBundles(bundles, meters);
    meterSim = new MeterSimProcess([
      '--bundle-dir',
      bundles,
      '--state-dir',
      join(dir, 'state'),
      '--speed',
      '1',
      '--config-poll-seconds',
      String(pollSeconds),
      '--health-seconds',
      '0',
      '--refresh',
      '600',
    ]);
    const sim = meterSim;
    await Promise.all(
      meters.map((m) =>
        sim.waitFor((e) => e.event === 'config.key-registered' && e.meterId === m.meterId, 300_000),
      ),
    );
    process.stderr.write(
      `${count} meters paired and registered their device keys (${isoSeconds(Date.now() / 1000)})\n`,
    );
    const configs = new DeviceConfigClient(
      chaincodeChannel(gateways.gateway('distributor1', 'config-admin'), CHANNEL, CHAINCODE),
    );
    const results: RunResult[] = [];
    const versions = new Map<string, number>();
    for (const [i, devices] of runs.entries()) {
      const latencies = await publishAndWait(configs, sim, meters.slice(0, devices), versions, i + 1);
      results.push({ devices, latencies });
    }
    printReport(results, baselineMs);
  } catch (err) {
    // What the meters said last explains most failures (an acknowledgement refused, a peer unreachable).
    for (const event of meterSim?.events.slice(-15) ?? [])
      process.stderr.write(`  meter-sim: ${JSON.stringify(event)}\n`);
    throw err;
  } finally {
    meterSim?.kill('SIGTERM');
    await meterSim?.exited;
    gateways.closeAll();
  }
}

function printReport(results: RunResult[], baselineMs: number): void {
  const lines = [
    `Device configuration: publish → applied (acknowledged on the ledger), meters reading every ${pollSeconds} s`,
    `baseline: one System:Ping transaction, p50 ${baselineMs} ms (this run)`,
    '',
    'devices   p50 ms   p95 ms   max ms   p50/baseline   p95/baseline   p50/paper (0.8 s)',
  ];
  for (const { devices, latencies } of results) {
    const s = latencySummary(latencies);
    lines.push(
      [
        String(devices).padStart(7),
        String(s.p50).padStart(8),
        String(s.p95).padStart(8),
        String(Math.max(...latencies)).padStart(8),
        (s.p50 / baselineMs).toFixed(2).padStart(14),
        (s.p95 / baselineMs).toFixed(2).padStart(14),
        (s.p50 / (PAPER_SECONDS * 1000)).toFixed(2).padStart(19),
      ].join(' '),
    );
  }
  lines.push(
    '',
    `A meter applies a version at its first read after the publication is committed (on average half a poll,`,
    `${(pollSeconds * 500).toFixed(0)} ms, at most ${pollSeconds * 1000} ms), then commits its acknowledgement: about a poll wait plus two transactions.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  const details = (err as { details?: { address: string; message: string }[] }).details ?? [];
  for (const detail of details) process.stderr.write(`  ${detail.address}: ${detail.message}\n`);
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
