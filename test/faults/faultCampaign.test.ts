import { decryptReading } from '@smartmeter/crypto';
import { ErrorCode, type ReadingRecord } from '@smartmeter/domain';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareFleet, writeFleetBundles, type BenchMeter } from '../../bench/support/fleet';
import { AggregationClient } from '../../client/src/contracts/AggregationClient';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { Keystore, writeSecretFile } from '../../client/src/keystore';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { onboardAggregateMeters, writeAggregateBundles, type AggregateHousehold } from '../support/aggregate';
import { Gateways, isoSeconds as iso } from '../support/chaincode';
import {
  bftLeader,
  bftLeaderIds,
  killNode,
  ordererHead,
  orderers,
  OutboxWatcher,
  peerHead,
  restartNode,
  type ChainHead,
} from '../support/faults';
import { AUTHORITY, CHANNEL, D1, INTERVAL, publishOrgKeys } from '../support/household';
import { meterctlPath, meterctlJson } from '../support/meterctl';
import { MeterSimProcess, type LogEvent } from '../support/meterSim';
import { CHAINCODE, eventually, networkHome, ordererChannelInfo, profile, repoDir } from '../support/network';
import {
  CommitTimeline,
  faultRecord,
  faultTable,
  OutboxSampler,
  writeCampaignReport,
  type FaultRecord,
} from './support/campaign';

/**
 * Issue 21: a fleet of meters submits continuously while, one after another, the network's parts fail; then
 * every period is on the ledger exactly once, every node holds the same chain, and the reporting database
 * equals a fresh sync. Each fault's numbers go to .test-results/faults.json and a table.
 */
const METERS = Number(process.env.FAULTS_METERS ?? 50);
/**
 * Simulated seconds per real second: each meter reports a half hour every 1800 / SPEED s, so 50 meters offer
 * 25 transactions a second, about a fifth of the network's measured ceiling (README, throughput).
 */
const SPEED = Number(process.env.FAULTS_SPEED ?? 900);
/** How long each fault lasts, in seconds. */
const HOLD_S = Number(process.env.FAULTS_HOLD_SECONDS ?? 20);
/** The leader's fault lasts longer: a view change takes RequestComplainTimeout plus the change itself. */
const LEADER_HOLD_S = Number(process.env.FAULTS_LEADER_HOLD_SECONDS ?? 60);
/** A transaction already endorsed and sent when the fault hit may still commit this long after it. */
const IN_FLIGHT_MS = 6000;
const resultsDir = join(repoDir, '.test-results');

const run = Date.now().toString(36);
// Ten days back, six-hour aligned: a ten-minute campaign covers about six simulated days, all in the past.
const start = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - 10 * 86_400;
const work = mkdtempSync(join(tmpdir(), 'fault-campaign-'));
const bundleDir = join(work, 'bundles');
const stateDir = join(work, 'state');
const authorityKeystore = join(work, 'authority-keystore');
const reportDb = `faults_${run}`;

// The aggregate mode's part: a few meters of a region of their own send a simulated day of shares over MQTT.
const AGGREGATE_METERS = 5;
const PERIOD = 900;
const DAY = 86_400;
/** A simulated day in about 100 s: a period's shares every second or so. */
const AGGREGATE_SPEED = 864;
// Yesterday (UTC): a whole day in the past, within the two days a share may take to reach the ledger.
const dayStart = Math.floor(Date.now() / 1000 / DAY) * DAY - DAY;
const region = `north/fagg${run.slice(-5)}`;
const distributorArgs = [
  '-p',
  join(networkHome, 'profiles', 'distributor1.json'),
  '-k',
  join(work, 'd1-keystore'),
];
const brokerCa = join(networkHome, 'orgs', 'distributor1', 'msp', 'cacerts', 'ca.pem');

const gateways = new Gateways();
const timeline = new CommitTimeline('reading.committed');
const watcher = new OutboxWatcher(stateDir);
const sampler = new OutboxSampler([watcher]);
const shareTimeline = new CommitTimeline('shares.published');
const shareWatcher = new OutboxWatcher(join(work, 'aggregate-state'), 'shares.jsonl');
const shareSampler = new OutboxSampler([shareWatcher]);
// One more meter keeps its outbox on a small tmpfs of its own, which the campaign fills up.
const diskDir = join(work, 'small-disk');
const diskBundleDir = join(work, 'small-disk-bundles');
const diskTimeline = new CommitTimeline('reading.committed');
const diskWatcher = new OutboxWatcher(diskDir);
const diskSampler = new OutboxSampler([diskWatcher]);
let diskMeter: MeterSimProcess | undefined;
let aggregateMeters: AggregateHousehold[] = [];
let aggregateFleet: MeterSimProcess | undefined;
const records: FaultRecord[] = [];
const meterProcesses: MeterSimProcess[] = [];
let meters: BenchMeter[] = [];
let fleet: MeterSimProcess;
interface Follower {
  child: ChildProcessWithoutNullStreams;
  stderr: string;
  exited: Promise<number | null>;
}
let follower: Follower | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves at the next reading the process commits from now on. */
function nextCommit(child: MeterSimProcess): Promise<void> {
  return new Promise((resolve) => {
    child.onEvent((event) => {
      if (event.event === 'reading.committed') resolve();
    });
  });
}

/** The meters, all in one meter-sim process as on a concentrator: each with its own identity and outbox. */
function startFleet(extra: string[] = ['--speed', String(SPEED)]): MeterSimProcess {
  const child = new MeterSimProcess([
    '--bundle-dir',
    bundleDir,
    '--state-dir',
    stateDir,
    '--refresh',
    '5',
    '--max-jitter',
    '30',
    ...extra,
  ]);
  child.onEvent((event) => {
    timeline.record(event);
  });
  meterProcesses.push(child);
  return child;
}

/** The aggregate-mode meters: a simulated day of shares to the broker `up` started. */
function startAggregateFleet(): MeterSimProcess {
  const child = new MeterSimProcess([
    '--bundle-dir',
    join(work, 'aggregate-bundles'),
    '--state-dir',
    join(work, 'aggregate-state'),
    '--from',
    iso(dayStart),
    '--until',
    iso(dayStart + DAY),
    '--speed',
    String(AGGREGATE_SPEED),
    '--mqtt-url',
    'mqtts://127.0.0.1:8883',
    '--mqtt-ca',
    brokerCa,
  ]);
  child.onEvent((event) => {
    shareTimeline.record(event);
  });
  meterProcesses.push(child);
  return child;
}

async function onboardAggregateFleet(): Promise<void> {
  aggregateMeters = await onboardAggregateMeters({
    gateways,
    distributorArgs,
    region,
    count: AGGREGATE_METERS,
    prefix: `fagg${run}`,
    startSeconds: dayStart,
    periodSeconds: PERIOD,
  });
  await meterctlJson([
    ...distributorArgs,
    'grid',
    'publish-filters',
    '--region',
    region,
    '--day',
    iso(dayStart).slice(0, 10),
  ]);
  writeAggregateBundles(join(work, 'aggregate-bundles'), aggregateMeters);
}

/** meterctl report sync --follow as the authority, into a database of its own, for the whole campaign. */
function startFollower(): Follower {
  const child = spawn(
    'node',
    [
      meterctlPath,
      '-p',
      join(networkHome, 'profiles', 'authority.json'),
      '-k',
      authorityKeystore,
      'report',
      'sync',
      '--follow',
      '--db-name',
      reportDb,
      '--progress-every',
      '50',
    ],
    { env: { ...process.env, METERCTL_PROFILE: '', REPORT_DB_URL: '' } },
  );
  const state = { child, stderr: '', exited: new Promise<number | null>((r) => child.on('close', r)) };
  child.stderr.on('data', (chunk) => (state.stderr += String(chunk)));
  child.stdout.resume();
  return state;
}

async function writeBundles(): Promise<void> {
  const orgKeys = await publishOrgKeys(gateways);
  // The authority's key for the reporting database, where meterctl keeps it (0600).
  writeSecretFile(
    new Keystore(authorityKeystore).orgKeyPath(CHANNEL, AUTHORITY, orgKeys.versions[AUTHORITY]),
    orgKeys.orgKeys[AUTHORITY].privateKeyPem,
  );
  meters = await prepareFleet(gateways, {
    count: METERS + 1,
    intervalSeconds: INTERVAL,
    startSeconds: start,
    pair: false,
    orgKeys,
    regionCode: `north/faults${run.slice(-5)}`,
  });
  mkdirSync(bundleDir, { recursive: true });
  mkdirSync(diskBundleDir, { recursive: true });
  const campaign = '{"name":"fault campaign"}';
  writeFleetBundles(bundleDir, meters.slice(0, METERS), campaign);
  writeFleetBundles(diskBundleDir, meters.slice(METERS), campaign);
}

/** A tmpfs of 256 KiB for the small-disk meter's state (the campaign runs as root, as CI does). */
function mountSmallDisk(): void {
  mkdirSync(diskDir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', diskDir]);
  } catch (err) {
    throw new Error(`the disk-full fault needs a tmpfs (mount as root): ${String(err)}`);
  }
}

function unmountSmallDisk(): void {
  try {
    execFileSync('umount', [diskDir]);
  } catch {
    // not mounted
  }
}

/** Fills the small disk up to its last block with one file; removing that file frees the space again. */
function fillSmallDisk(): string {
  const filler = join(diskDir, 'filler');
  const { bavail, bsize } = statfsSync(diskDir);
  writeFileSync(filler, Buffer.alloc(bavail * bsize));
  return filler;
}

function startDiskMeter(extra: string[] = ['--speed', String(SPEED)]): MeterSimProcess {
  const child = new MeterSimProcess([
    '--bundle-dir',
    diskBundleDir,
    '--state-dir',
    diskDir,
    '--refresh',
    '5',
    ...extra,
  ]);
  child.onEvent((event) => {
    diskTimeline.record(event);
  });
  meterProcesses.push(child);
  return child;
}

/** Every orderer of both channels at one height: the cluster is whole again. */
async function orderersLevel(): Promise<void> {
  for (const channel of ['northgrid', 'southgrid']) {
    await eventually(
      () => Promise.all(orderers().map(async (o) => (await ordererChannelInfo(o, channel)).height)),
      (heights) => heights.every((h) => h === heights[0]),
      150_000,
      `every orderer of ${channel} at the same height`,
    );
  }
}

/** Commits (or whatever the timeline counts) are flowing: at least `count` after `sinceMs`. */
async function commitsFlow(sinceMs: number, on = timeline, count = 20, timeoutMs = 240_000): Promise<void> {
  await eventually(
    () => Promise.resolve(on.committedBetween(sinceMs, Date.now() + 1)),
    (n) => n >= count,
    timeoutMs,
    `${count} readings committing after ${new Date(sinceMs).toISOString()}`,
  );
}

interface Fault {
  name: string;
  /** A fault that stops new deliveries but lets what was already taken through (a full disk): checked by the test. */
  drainsWhatWasTaken?: boolean;
  /** Whether the fault stops what `watch` counts (commits, or published shares) until it is repaired. */
  blocksCommits: boolean;
  inject: () => Promise<void>;
  repair: () => Promise<void>;
  /** Waits until the network is whole again after the repair (nodes caught up); commits flowing is always waited for. */
  whole?: () => Promise<void>;
  /** How long the fault lasts before it is repaired (default HOLD_S). */
  holdSeconds?: number;
  /** What the fault is measured on: the readings (default), or the aggregate meters' shares. */
  watch?: Watch;
}

interface Watch {
  timeline: CommitTimeline;
  sampler: OutboxSampler;
  /** The warning the meters give while they cannot deliver. */
  outageEvent: string;
  /** A blocking fault of this length leaves at least this many things waiting. */
  minimumWaited: number;
}

const readingsWatch = (): Watch => ({
  timeline,
  sampler,
  outageEvent: 'ledger.unreachable',
  minimumWaited: METERS,
});
const sharesWatch = (): Watch => ({
  timeline: shareTimeline,
  sampler: shareSampler,
  outageEvent: 'broker.unreachable',
  minimumWaited: AGGREGATE_METERS,
});

/** Injects one fault under load, holds it, repairs it, waits for recovery, and records its numbers. */
async function underLoad(fault: Fault): Promise<{ injected: number; repaired: number; record: FaultRecord }> {
  const watch = fault.watch ?? readingsWatch();
  const troublesBefore = watch.timeline.troubles.length;
  watch.sampler.start();
  const injected = Date.now();
  await fault.inject();
  await sleep((fault.holdSeconds ?? HOLD_S) * 1000);
  const repaired = Date.now();
  await fault.repair();
  await commitsFlow(repaired, watch.timeline, fault.watch ? AGGREGATE_METERS : 20);
  await fault.whole?.();
  const recovered = Date.now();
  watch.sampler.stop();
  const record = faultRecord(fault.name, fault.blocksCommits, watch.timeline, watch.sampler, {
    injected,
    repaired,
    recovered,
  });
  records.push(record);
  if (fault.blocksCommits && !fault.drainsWhatWasTaken) {
    // Delivery failed, and the meters said so and kept what they measured: nothing got through during the cut.
    expect(watch.timeline.committedBetween(injected + IN_FLIGHT_MS, repaired)).toBe(0);
    expect(watch.timeline.troubles.slice(troublesBefore).map((e) => e.event)).toContain(watch.outageEvent);
    expect(record.readingsWaited).toBeGreaterThan(watch.minimumWaited);
  } else if (fault.drainsWhatWasTaken) {
    expect(watch.timeline.troubles.slice(troublesBefore).map((e) => e.event)).toContain(watch.outageEvent);
  } else {
    // The fault does not stop delivery (one faulty orderer of four: ordering goes on, after a view change
    // when it was the leader).
    expect(watch.timeline.committedBetween(injected, repaired)).toBeGreaterThan(0);
  }
  // Whatever the fault was, the disclosed fleet's readings flow again (they are what every later fault loads).
  if (fault.watch) await commitsFlow(repaired, timeline, 20);
  return { injected, repaired, record };
}

const killAndRestart = (node: string, blocksCommits: boolean, whole?: () => Promise<void>): Fault => ({
  name: `${node} killed (SIGKILL), restarted`,
  blocksCommits,
  inject: () => killNode(node),
  repair: () => restartNode(node),
  whole,
});

afterAll(async () => {
  for (const child of meterProcesses) child.kill('SIGKILL');
  follower?.child.kill('SIGKILL');
  await Promise.all(meterProcesses.map((child) => child.exited));
  unmountSmallDisk();
  gateways.closeAll();
  // Leave the network whole for whatever runs next.
  for (const node of [
    'orderer1',
    'orderer2',
    'orderer3',
    'orderer4',
    'peer0.authority',
    'cc.distributor1',
    'reportdb',
  ])
    await restartNode(node).catch(() => undefined);
  if (records.length > 0) {
    const table = faultTable(records);
    writeCampaignReport(
      resultsDir,
      { meters: METERS, speed: SPEED, holdSeconds: HOLD_S, faults: records },
      table,
    );
    process.stdout.write(
      `\nFault campaign, ${METERS} meters at ${SPEED}x, each fault held ${HOLD_S} s:\n${table}\n`,
    );
  }
}, 300_000);

describe(`faults under load: ${METERS} meters submitting continuously on northgrid`, () => {
  beforeAll(async () => {
    await writeBundles();
    await onboardAggregateFleet();
    mountSmallDisk();
    follower = startFollower();
    fleet = startFleet();
    diskMeter = startDiskMeter();
    await commitsFlow(Date.now() - 600_000, timeline, 3 * METERS, 300_000);
  }, 600_000);

  it('the SmartBFT leader is killed under load: a view change, commits go on, and it catches up after restart', async () => {
    const leader = await bftLeader(CHANNEL);
    // The followers complain about requests the leader does not order after RequestComplainTimeout (20 s,
    // configtx.yaml) and then change the view: the fault lasts long enough to see the new leader commit.
    const { injected, repaired } = await underLoad({
      ...killAndRestart(leader.name, false, orderersLevel),
      holdSeconds: LEADER_HOLD_S,
    });
    expect(timeline.committedBetween(injected + 15_000, repaired)).toBeGreaterThan(0);
    expect((await bftLeader(CHANNEL)).name).not.toBe(leader.name);
  });

  it('a follower orderer is killed under load: commits go on, and it catches up after restart', async () => {
    // One fault of four: only if the other three take part in consensus. The orderer restarted by the test
    // before may be level in height and still not back in the current view; killing another then would be two
    // faults. Wait until every orderer reports the same leader.
    await eventually(
      () => bftLeaderIds(CHANNEL),
      (ids) => Object.values(ids).every((id) => id !== null && id === Object.values(ids)[0]),
      150_000,
      `every orderer of ${CHANNEL} reporting the same SmartBFT leader`,
    );
    const leader = await bftLeader(CHANNEL);
    const follower = orderers().find((o) => o.name !== leader.name);
    await underLoad(killAndRestart(String(follower?.name), false, orderersLevel));
  });

  it('two orderers are killed (no quorum): submissions fail cleanly, readings wait in the outboxes, and all flow once one is back', async () => {
    const leader = await bftLeader(CHANNEL);
    const [first, second] = orderers().filter((o) => o.name !== leader.name);
    await underLoad({
      name: `two orderers (${first.name}, ${second.name}) killed, ${first.name} restarted`,
      blocksCommits: true,
      inject: async () => {
        await killNode(first.name);
        await killNode(second.name);
      },
      repair: () => restartNode(first.name),
    });
    await restartNode(second.name);
    await orderersLevel();
    // SmartBFT takes up to about 140 s to order again after the restart (the table's "resume s"); the
    // campaign reports how long, this test asserts that it does.
  }, 360_000);

  it("the authority's peer is killed: no endorsement, readings wait, and all flow after restart", async () => {
    await underLoad(killAndRestart('peer0.authority', true));
  });

  it("Distributor1's chaincode server is killed: no endorsement, readings wait, and all flow after restart", async () => {
    await underLoad(killAndRestart('cc.distributor1', true));
  });

  it('the reporting database is killed during report sync --follow: the follower waits and catches up', async () => {
    await underLoad(killAndRestart('reportdb', false));
    expect(follower?.child.exitCode).toBeNull();
  });

  it('the MQTT broker is killed (SIGKILL): the meters keep their shares and publish them once it is back', async () => {
    aggregateFleet = startAggregateFleet();
    await commitsFlow(Date.now() - 1000, shareTimeline, 3 * AGGREGATE_METERS, 120_000);
    await underLoad({
      ...killAndRestart('broker', true),
      name: 'MQTT broker killed (SIGKILL), restarted',
      watch: sharesWatch(),
    });
  });

  it('the aggregator is killed (SIGKILL): shares wait for it on the broker and reach the ledger once it is back', async () => {
    const operator = new AggregationClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const sharesOnLedger = async () =>
      (await operator.rounds(region, iso(dayStart), iso(dayStart + DAY))).reduce(
        (n, r) => n + r.shareCount,
        0,
      );
    await underLoad({
      ...killAndRestart('aggregator.distributor1', false),
      name: 'aggregator killed (SIGKILL), restarted',
      watch: sharesWatch(),
    });
    const before = await sharesOnLedger();
    await eventually(sharesOnLedger, (n) => n > before, 120_000, 'the restarted aggregator to submit shares');
  });

  it("a meter's disk fills up: it stops taking readings with a clear error, loses none it had taken, and resumes when space is back", async () => {
    let filler = '';
    let acceptedWhenFull: string[] = [];
    let fullAt = 0;
    const { repaired } = await underLoad({
      name: "a meter's disk full (tmpfs), space freed",
      blocksCommits: true,
      drainsWhatWasTaken: true,
      inject: async () => {
        filler = fillSmallDisk();
        const full = await (diskMeter as MeterSimProcess).waitFor((e) => e.event === 'outbox.full', 60_000);
        fullAt = Date.parse(full.time);
        acceptedWhenFull = [...(diskWatcher.sample().values().next().value ?? [])];
      },
      repair: () => {
        rmSync(filler);
        return Promise.resolve();
      },
      watch: { timeline: diskTimeline, sampler: diskSampler, outageEvent: 'outbox.full', minimumWaited: -1 },
    });
    const full = diskTimeline.troubles.filter((e) => e.event === 'outbox.full');
    expect(full[0]).toMatchObject({ level: 'error', message: expect.stringContaining(diskDir) as string });
    // While the disk was full only readings it had taken before went to the ledger, and every one of them did.
    const committed = diskMeter?.committed() ?? [];
    const whileFull = committed.filter((e) => Date.parse(e.time) > fullAt && Date.parse(e.time) < repaired);
    expect(whileFull.filter((e) => !acceptedWhenFull.includes(String(e.periodStart)))).toEqual([]);
    const periods = new Set(committed.map((e) => e.periodStart));
    expect(acceptedWhenFull.filter((p) => !periods.has(p))).toEqual([]);
  });

  it('the meter process is killed (SIGKILL) mid-batch and restarted: it resumes from its outbox', async () => {
    let inFlightAtKill: string[] = [];
    await underLoad({
      name: 'meter process killed mid-batch (SIGKILL), restarted',
      blocksCommits: false,
      inject: async () => {
        // With 50 meters submitting, transactions are always in flight: the readings in the outboxes at the kill
        // are exactly those (sent or about to be), and the restarted meters must resend them identically.
        // The meters report in step (a period every 2 s), so the kill follows a commit: the rest of that burst
        // is then in flight.
        await nextCommit(fleet);
        fleet.kill('SIGKILL');
        inFlightAtKill = [...watcher.sample()].flatMap(([subscription, periods]) =>
          [...periods].map((p) => `${subscription}@${p}`),
        );
        await fleet.exited;
        fleet = startFleet();
        await commitsFlow(Date.now(), timeline, METERS);
        await nextCommit(fleet);
        fleet.kill('SIGKILL');
        await fleet.exited;
      },
      repair: () => {
        fleet = startFleet();
        return Promise.resolve();
      },
    });
    expect(inFlightAtKill.length).toBeGreaterThan(0);
    // What was in flight at the kill is on the ledger now: no longer waiting in any outbox.
    await eventually(
      () =>
        Promise.resolve(
          [...watcher.sample()].flatMap(([sub, periods]) => [...periods].map((p) => `${sub}@${p}`)),
        ),
      (waiting) => inFlightAtKill.every((reading) => !waiting.includes(reading)),
      60_000,
      'the readings in flight at the kill to commit',
    );
  });

  describe('after the campaign', () => {
    let until = 0;

    beforeAll(async () => {
      // Stop the load, then let every meter report up to the latest period any of them reached, at full speed.
      fleet.kill('SIGTERM');
      diskMeter?.kill('SIGTERM');
      await fleet.exited;
      await diskMeter?.exited;
      const waiting = [...watcher.sample().values(), ...diskWatcher.sample().values()].flatMap((p) => [...p]);
      until = Math.max(latestCommittedPeriodEnd(), ...waiting.map((p) => Date.parse(p) / 1000 + INTERVAL));
      const drain = ['--speed', '1000000', '--until', iso(until)];
      const drained = await Promise.all([startFleet(drain).exited, startDiskMeter(drain).exited]);
      expect(drained).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
    }, 600_000);

    it('every expected period of every subscription is on the ledger exactly once and decrypts to what the meter measured', async () => {
      const measurements = new MeasurementClient(
        chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
      );
      const expected = (until - start) / INTERVAL;
      expect(expected).toBeGreaterThan(48);
      const periods = Array.from({ length: expected }, (_, i) => iso(start + i * INTERVAL));
      for (const meter of meters) {
        const missing = await measurements.missing(meter.subscriptionId, iso(start), iso(until));
        expect(missing).toMatchObject({ expected, missing: [] });
        const readings: ReadingRecord[] = await measurements.all(
          meter.subscriptionId,
          iso(start),
          iso(until),
        );
        expect(readings.map((r) => r.periodStart)).toEqual(periods);
        expect(readings.map((r) => r.sequence)).toEqual(periods.map((_, i) => i + 1));
        const source = new HouseholdSource({
          seed: meter.meterId,
          utility: 'electricity',
          utcOffsetMinutes: 0,
        });
        for (const reading of readings) {
          const slot = {
            channel: CHANNEL,
            subscriptionId: reading.subscriptionId,
            sequence: reading.sequence,
            periodStart: reading.periodStart,
          };
          expect(decryptReading(reading, meter.sessionKey, slot).energyWh).toBe(
            source.measure(Date.parse(reading.periodStart) / 1000, INTERVAL).quantity,
          );
        }
      }
    }, 600_000);

    it("every round of the aggregate meters' day is COMPLETE, its load exactly the sum of what they measured", async () => {
      expect(await aggregateFleet?.exited).toEqual({ code: 0, signal: null });
      const operator = new AggregationClient(
        chaincodeChannel(gateways.gateway('authority'), CHANNEL, CHAINCODE),
      );
      const rounds = await eventually(
        () => operator.rounds(region, iso(dayStart), iso(dayStart + DAY)),
        (closed) => closed.length === DAY / PERIOD,
        400_000,
        'every round of the day closing',
      );
      for (const [k, round] of rounds.entries()) {
        const periodStart = dayStart + k * PERIOD;
        expect(round).toMatchObject({
          periodStart: iso(periodStart),
          status: 'COMPLETE',
          shareCount: 2 * AGGREGATE_METERS,
        });
        const expected = aggregateMeters.reduce(
          (sum, m) =>
            sum +
            new HouseholdSource({ seed: m.meterId, utility: 'electricity', utcOffsetMinutes: 0 }).measure(
              periodStart,
              PERIOD,
            ).quantity,
          0,
        );
        expect(round.load).toBe(String(expected));
      }
    }, 600_000);

    it('no meter saw an error that was not an outage: no reading refused or dropped, no meter failed', () => {
      // A health report or a configuration read that fails during an outage is an outage too (the meter says so
      // and tries again later), as long as the ledger did not refuse it: a refusal carries the ledger's ErrorCode
      // in its code field (outbox.full carries the meter's own OUTBOX_FULL, which is not one).
      const outageKinds = [
        'ledger.unreachable',
        'broker.unreachable',
        'health.unreported',
        'config.unreachable',
      ];
      const ledgerCodes: unknown[] = Object.values(ErrorCode);
      const notAnOutage = (e: LogEvent, kinds: string[]) =>
        !kinds.includes(e.event) || ledgerCodes.includes(e.code);
      const asLine = (e: LogEvent) =>
        `${e.event}${typeof e.code === 'string' ? ` (${e.code})` : ''}: ${e.message}`;
      const unexpected = [...timeline.troubles, ...shareTimeline.troubles].filter((e) =>
        notAnOutage(e, outageKinds),
      );
      expect(unexpected.map(asLine)).toEqual([]);
      // The small-disk meter lives through the same outages, and also said its disk was full; nothing else.
      const unexpectedOnDisk = diskTimeline.troubles.filter((e) =>
        notAnOutage(e, [...outageKinds, 'outbox.full']),
      );
      expect(unexpectedOnDisk.map(asLine)).toEqual([]);
      const summaries = meterProcesses.flatMap((p) => p.events.filter((e) => e.event === 'summary'));
      expect(summaries.filter((s) => s.dropped !== 0).map((s) => s.message)).toEqual([]);
    });

    it('every orderer and peer holds the same chain: same height, same top block', async () => {
      await orderersLevel();
      for (const [channel, org, msp] of [
        ['northgrid', 'distributor1', D1],
        ['southgrid', 'distributor2', 'Distributor2MSP'],
      ]) {
        const heads: ChainHead[] = await eventually(
          async () => [
            await peerHead(org, msp, channel),
            await peerHead('authority', AUTHORITY, channel),
            ...(await Promise.all(orderers().map((o) => ordererHead(o, channel, org, msp)))),
          ],
          (hs) => hs.every((h) => h.height === hs[0].height),
          120_000,
          `every node of ${channel} at one height`,
        );
        const [reference] = heads;
        for (const head of heads) {
          expect({ ...head, node: reference.node }).toEqual(reference);
        }
      }
    }, 300_000);

    it('the reporting database the follower kept through the faults equals a fresh sync from block 0', async () => {
      const fresh = `${reportDb}_fresh`;
      await meterctlJson([
        '-p',
        join(networkHome, 'profiles', 'authority.json'),
        '-k',
        authorityKeystore,
        'report',
        'sync',
        '--db-name',
        fresh,
        '--checkpoint-dir',
        join(work, 'fresh-checkpoints'),
      ]);
      const freshDocs = await allDocs(fresh);
      expect(freshDocs.length).toBeGreaterThan(METERS);
      await eventually(
        () => allDocs(reportDb),
        (docs) => JSON.stringify(docs) === JSON.stringify(freshDocs),
        120_000,
        'the followed database to equal the fresh one',
      );
      expect(follower?.child.exitCode).toBeNull();
    }, 300_000);
  });
});

/** The end of the latest period any meter has on the ledger (by its commit events), epoch seconds. */
function latestCommittedPeriodEnd(): number {
  const periods = meterProcesses.flatMap((p) =>
    p.committed().map((e) => Date.parse(String(e.periodStart)) / 1000),
  );
  return Math.max(start, ...periods) + INTERVAL;
}

/** Every document of a reporting database without its revision, sorted by id. */
async function allDocs(db: string): Promise<unknown[]> {
  const url = profile('authority').reportDbUrl;
  const res = await fetch(`${String(url)}/${db}/_all_docs?include_docs=true`);
  if (!res.ok) throw new Error(`${db}: HTTP ${res.status}`);
  const body = (await res.json()) as { rows: { id: string; doc: Record<string, unknown> }[] };
  return body.rows
    .filter((row) => !row.id.startsWith('_design/'))
    .map(({ doc }) => Object.fromEntries(Object.entries(doc).filter(([key]) => key !== '_rev')));
}
