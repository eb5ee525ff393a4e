/**
 * Benchmark (not a test): meter-sim's cost on the running network, as built for the Raspberry Pi
 * (meter-sim/dist-pi/meter-sim.js): CPU time per reading and the process's peak RSS, for one meter and for
 * 100 meters in one process. Each meter has its own CA identity, subscription and session key, pairs itself and
 * reports simulated days at full speed. Needs `./test-network.sh up`. `npm run bench:meter-sim`.
 * BENCH_PRIVACY=aggregate: the meters are in aggregate mode instead (one day of 15-minute periods, two shares
 * each over MQTT to the broker `up` started; the ledger takes a share at most 2 days after its period).
 */
import { sealPersonalData } from '@smartmeter/crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeSecretFile } from '../client/src/keystore';
import { buildPairBundle } from '../client/src/pairBundle';
import { Gateways, isoSeconds } from '../test/support/chaincode';
import { CHANNEL, HOUSEHOLDS, INTERVAL } from '../test/support/household';
import { profile, repoDir } from '../test/support/network';
import { AggregationLimits, buildDayFilters } from '@smartmeter/domain';
import { AggregationClient } from '../client/src/contracts/AggregationClient';
import { chaincodeChannel } from '../client/src/contracts/invoke';
import { CHAINCODE, networkHome, nodeEndpoint } from '../test/support/network';
import { prepareFleet } from './support/fleet';

const brokerCa = join(networkHome, 'orgs', 'distributor1', 'msp', 'cacerts', 'ca.pem');

const execFileAsync = promisify(execFile);
const aggregate = process.env.BENCH_PRIVACY === 'aggregate';
const AGGREGATE_INTERVAL = 900;
const runs = (process.env.BENCH_METERS ?? '1,100').split(',').map(Number);
const DAYS: Record<number, number> = { 1: 7 };
const bundleBinary = join(repoDir, 'meter-sim', 'dist-pi', 'meter-sim.js');
/** Node flags for the meter process; the default is what the systemd unit uses on the Pi. */
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--lite-mode --single-threaded')
  .split(' ')
  .filter((flag) => flag !== '');

interface Summary {
  generated: number;
  committed: number;
  sharesPublished?: number;
  transactions: number;
  cpuMs: number;
  maxRssMb: number;
  outcomes: string;
}

async function prepareMeters(gateways: Gateways, count: number, start: number, dir: string): Promise<void> {
  // meter-sim pairs its meters itself.
  const regionCode = `north/bsim${Date.now().toString(36).slice(-6)}`;
  const meters = await prepareFleet(gateways, {
    count,
    intervalSeconds: aggregate ? AGGREGATE_INTERVAL : INTERVAL,
    startSeconds: start,
    pair: false,
    ...(aggregate ? { privacyMode: 'aggregate' as const, regionCode } : {}),
  });
  if (aggregate && count >= AggregationLimits.minMetersPerLoad) {
    // So that the aggregator accepts the shares (a region of fewer meters gets no filters).
    const operator = new AggregationClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    await operator.publishFilters(
      buildDayFilters({
        regionCode,
        day: isoSeconds(start).slice(0, 10),
        periodSeconds: AGGREGATE_INTERVAL,
        meters,
      }),
    );
  }
  const households = profile(HOUSEHOLDS);
  for (const meter of meters) {
    const bundle = buildPairBundle({
      profile: households,
      channel: CHANNEL,
      subscriptionId: meter.subscriptionId,
      meterId: meter.meterId,
      meterIdentity: { certPath: meter.certPath, keyPath: meter.keyPath },
      sessionKey: meter.sessionKey,
      ...(aggregate ? { privacyMode: 'aggregate' as const } : {}),
      sealedPersonalData: sealPersonalData(
        Buffer.from('{"name":"bench"}'),
        meter.sessionKey,
        meter.subscriptionId,
      ),
    });
    writeSecretFile(join(dir, `${meter.meterId}.json`), JSON.stringify(bundle));
  }
}

async function main(): Promise<void> {
  console.log(
    `meter-sim benchmark: the Pi bundle on the running network (BFT ordering), full speed, node ${nodeFlags.join(' ')}, ${aggregate ? 'aggregate mode (shares over MQTT; transactions = 0)' : 'disclosed mode'}`,
  );
  console.log('meters  days  readings  transactions  wall s  cpu s  cpu ms/reading  max RSS MB');
  for (const meters of runs) {
    const gateways = new Gateways();
    const days = aggregate ? 1 : (DAYS[meters] ?? 1);
    const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - (aggregate ? 1 : days + 1) * 86_400;
    const dir = mkdtempSync(join(tmpdir(), `bench-meter-sim-${meters}-`));
    const bundles = join(dir, 'bundles');
    mkdirSync(bundles);
    try {
      await prepareMeters(gateways, meters, start, bundles);
    } finally {
      gateways.closeAll();
    }
    const began = Date.now();
    const { stdout, stderr } = await execFileAsync(
      'node',
      [
        ...nodeFlags,
        bundleBinary,
        'run',
        '--bundle-dir',
        bundles,
        '--meters',
        String(meters),
        '--state-dir',
        join(dir, 'state'),
        '--speed',
        '1000000',
        '--until',
        isoSeconds(start + days * 86_400),
        '--json-logs',
        '--refresh',
        '5',
        ...(aggregate ? ['--mqtt-url', `mqtts://${nodeEndpoint('broker')}`, '--mqtt-ca', brokerCa] : []),
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const wall = (Date.now() - began) / 1000;
    if (process.env.BENCH_SHOW_STDERR) process.stderr.write(stderr);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Summary;
    const perDay = aggregate ? 86_400 / AGGREGATE_INTERVAL : 48;
    const delivered = aggregate ? (summary.sharesPublished ?? 0) / 2 : summary.committed;
    if (delivered !== meters * days * perDay) {
      throw new Error(
        `expected ${meters * days * perDay} readings ${aggregate ? 'published as shares' : 'on the ledger'}, meter-sim reports ${delivered} (${summary.outcomes})`,
      );
    }
    console.log(
      [
        String(meters).padStart(6),
        String(days).padStart(5),
        String(summary.generated).padStart(9),
        String(summary.transactions).padStart(13),
        wall.toFixed(1).padStart(7),
        (summary.cpuMs / 1000).toFixed(2).padStart(6),
        (summary.cpuMs / summary.generated).toFixed(2).padStart(15),
        summary.maxRssMb.toFixed(1).padStart(11),
      ].join(' '),
    );
  }
  console.log(
    'cpu: user + system time of the meter-sim process, start-up and pairing included, divided by readings.',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
