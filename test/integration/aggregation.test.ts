import { newSessionKey, periodSecrets, splitReading, type GridShare } from '@smartmeter/crypto';
import {
  buildDayFilters,
  type AggregationFiltersRecord,
  type FaultyMeterRecord,
  type GridShareRecord,
} from '@smartmeter/domain';
import { connectAsync } from 'mqtt';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AggregationClient } from '../../client/src/contracts/AggregationClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { certificateOf, channelHeight, validTransactionsBy } from '../support/attacker';
import {
  onboardAggregateMeters as onboardAggregate,
  writeAggregateBundles,
  type AggregateHousehold,
} from '../support/aggregate';
import { CHAINCODE, Gateways, isoSeconds as iso, rejection } from '../support/chaincode';
import { CHANNEL, D1, HOUSEHOLDS, enrollSubscriber } from '../support/household';
import { meterctl, meterctlJson } from '../support/meterctl';
import { MeterSimProcess } from '../support/meterSim';
import { eventually, networkHome, repoDir } from '../support/network';

/**
 * Issue 16 on the real network: 20 meters in aggregate mode publish a simulated day of shares over MQTT to the
 * broker `up` started; the aggregator `up` started submits and closes the rounds; the ledger re-verifies them.
 */
const PERIOD = 900;
const DAY = 86_400;
const METERS = 20;
const FAULTY = 2;
/** The faulty meters stop after this many periods of the day: the last two rounds lack them. */
const FAULTY_PERIODS = 94;

const run = `${Date.now().toString(36).slice(-5)}${randomBytes(2).toString('hex')}`;
const REGION = `north/agg${run}`;
// Yesterday (UTC): a whole day in the past, within the two days a share may take to reach the ledger.
const dayStart = Math.floor(Date.now() / 1000 / DAY) * DAY - DAY;
const day = iso(dayStart).slice(0, 10);
const periodStart = (k: number) => dayStart + k * PERIOD;

const execFileAsync = promisify(execFile);
const gateways = new Gateways();
const work = mkdtempSync(join(tmpdir(), 'aggregation-it-'));
const keystore = join(work, 'keystore');
const profilePath = (org: string) => join(networkHome, 'profiles', `${org}.json`);
const d1 = ['-p', profilePath('distributor1'), '--keystore', keystore];
const authority = ['-p', profilePath('authority'), '-c', CHANNEL];
const brokerCa = join(networkHome, 'orgs', 'distributor1', 'msp', 'cacerts', 'ca.pem');
const aggregatorLog = join(networkHome, 'logs', 'aggregator.distributor1.log');
const running: MeterSimProcess[] = [];

const meters: AggregateHousehold[] = [];
const networkFile = (...parts: string[]) => join(networkHome, ...parts);
const as = (org: string, identity?: string) =>
  new AggregationClient(chaincodeChannel(gateways.gateway(org, identity), CHANNEL, CHAINCODE));

/** What meter-sim's synthetic household (seeded with the meter id) measures in period k. */
function generated(meterId: string, k: number): number {
  return new HouseholdSource({ seed: meterId, utility: 'electricity', utcOffsetMinutes: 0 }).measure(
    periodStart(k),
    PERIOD,
  ).quantity;
}

/** Aggregate-mode households in `region`, approved from the start of the test day. */
function onboardAggregateMeters(
  region: string,
  count: number,
  prefix: string,
): Promise<AggregateHousehold[]> {
  return onboardAggregate({
    gateways,
    distributorArgs: d1,
    region,
    count,
    prefix,
    startSeconds: dayStart,
    periodSeconds: PERIOD,
  });
}

const writeBundles = writeAggregateBundles;

function meterSim(
  bundleDir: string,
  stateDir: string,
  until: number,
  from = dayStart,
  mqttUrl = 'mqtts://127.0.0.1:8883',
): MeterSimProcess {
  const child = new MeterSimProcess([
    '--bundle-dir',
    bundleDir,
    '--state-dir',
    stateDir,
    '--from',
    iso(from),
    '--until',
    iso(until),
    '--speed',
    '1000000',
    '--mqtt-url',
    mqttUrl,
    '--mqtt-ca',
    brokerCa,
  ]);
  running.push(child);
  return child;
}

const roundsOfDay = (client = as('authority')) => client.rounds(REGION, iso(dayStart), iso(dayStart + DAY));

describe('aggregate mode on northgrid: 20 meters, one region, a simulated day', () => {
  let heightBefore = 0;

  beforeAll(async () => {
    heightBefore = await channelHeight(gateways.gateway('authority'), CHANNEL);
    meters.push(...(await onboardAggregateMeters(REGION, METERS, `agg${run}`)));
  }, 300_000);

  afterAll(() => {
    for (const child of running) child.kill('SIGKILL');
    gateways.closeAll();
  });

  it('the distributor publishes the day filters from its meters keys (meterctl grid publish-filters)', async () => {
    const filters = await meterctlJson<AggregationFiltersRecord>([
      ...d1,
      'grid',
      'publish-filters',
      '--region',
      REGION,
      '--day',
      day,
    ]);
    expect(filters.meterCount).toBe(METERS);
    expect(filters.periodSeconds).toBe(PERIOD);
    expect(filters.maskSums).toHaveLength(DAY / PERIOD);
    const again = await meterctl([...d1, 'grid', 'publish-filters', '--region', REGION, '--day', day]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/ALREADY_EXISTS/);
  });

  it('the aggregator drops a malformed message and a forged share from the broker, and keeps running', async () => {
    const outsider = splitReading({
      wattHours: 100,
      secrets: periodSecrets(newSessionKey(), periodStart(0)),
      region: REGION,
      sentAt: [iso(periodStart(1)), iso(periodStart(1))],
    })[0];
    const client = await connectAsync('mqtts://127.0.0.1:8883', { ca: readFileSync(brokerCa), clean: true });
    await client.publishAsync(`grid/${REGION}/shares`, '{"v":1,"not":"a share"', { qos: 1 });
    await client.publishAsync(`grid/${REGION}/shares`, JSON.stringify(outsider), { qos: 1 });
    await client.endAsync();
    await eventually(
      () => Promise.resolve(readFileSync(aggregatorLog, 'utf8')),
      (log) => /"reason":"MALFORMED"/.test(log) && /"reason":"NOT_IN_BF1"/.test(log),
      30_000,
      'the aggregator logging both drops',
    );
  });

  it('every meter reports: its rounds are COMPLETE and each load is exactly the sum of what the meters measured', async () => {
    writeBundles(join(work, 'bundles'), meters.slice(0, METERS - FAULTY));
    writeBundles(join(work, 'faulty'), meters.slice(METERS - FAULTY));
    const healthy = meterSim(join(work, 'bundles'), join(work, 'state'), dayStart + DAY);
    const faulty = meterSim(join(work, 'faulty'), join(work, 'faulty-state'), periodStart(FAULTY_PERIODS));
    expect((await healthy.exited).code).toBe(0);
    expect((await faulty.exited).code).toBe(0);

    const rounds = await eventually(
      () => roundsOfDay(),
      (closed) => closed.length === DAY / PERIOD,
      360_000,
      'all rounds of the day closing',
    );
    for (const [k, round] of rounds.entries()) {
      expect(round.periodStart).toBe(iso(periodStart(k)));
      const reporting = k < FAULTY_PERIODS ? meters : meters.slice(0, METERS - FAULTY);
      if (k < FAULTY_PERIODS) {
        expect(round.status).toBe('COMPLETE');
        const expected = reporting.reduce((sum, m) => sum + generated(m.meterId, k), 0);
        expect(round.load).toBe(String(expected));
      } else {
        expect(round.status).toBe('FAULT');
        expect(round.load).toBeUndefined();
        expect(round.shareCount).toBe(2 * (METERS - FAULTY));
      }
    }
  }, 600_000);

  it("meterctl grid faults names exactly the switched-off meters and periods, and Z' makes those loads exact", async () => {
    const result = await meterctl([...d1, '--json', 'grid', 'faults', '--region', REGION, '--day', day]);
    expect(result.code).toBe(0);
    const alerts = result.stderr.split('\n').filter((line) => line.startsWith('ALERT'));
    const expectedAlerts = meters
      .slice(METERS - FAULTY)
      .flatMap((m) => [FAULTY_PERIODS, FAULTY_PERIODS + 1].map((k) => `${m.meterId} ${iso(periodStart(k))}`));
    expect(
      alerts.map((line) => /meter (\S+) did not report \S+ (\S+):/.exec(line)?.slice(1).join(' ')).sort(),
    ).toEqual(expectedAlerts.sort());
    const rounds = await roundsOfDay();
    for (const k of [FAULTY_PERIODS, FAULTY_PERIODS + 1]) {
      const round = rounds[k];
      expect(round.status).toBe('RESOLVED');
      const expected = meters.slice(0, METERS - FAULTY).reduce((sum, m) => sum + generated(m.meterId, k), 0);
      expect(round.load).toBe(String(expected));
      expect(round.resolution?.missingMeters).toEqual(
        meters
          .slice(METERS - FAULTY)
          .map((m) => m.meterId)
          .sort(),
      );
    }
    const findings = await as('authority').faultyMeters(D1);
    const ours = findings.filter((f: FaultyMeterRecord) => f.regionCode === REGION);
    expect(ours.map((f) => `${f.meterId} ${f.periodStart}`).sort()).toEqual(expectedAlerts.sort());

    const table = await meterctl([
      ...authority,
      'grid',
      'rounds',
      '--region',
      REGION,
      '--from',
      day,
      '--to',
      iso(dayStart + DAY),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n').filter((line) => / COMPLETE /.test(line))).toHaveLength(FAULTY_PERIODS);
    expect(table.stdout.split('\n').filter((line) => / RESOLVED /.test(line))).toHaveLength(2);
  }, 120_000);

  it('the authority reports the regional load from the reporting database (report sync, report load), no key needed', async () => {
    await meterctlJson([...authority, 'report', 'sync']);
    const rows = await meterctlJson<{ periodStart: string; energyWh: number | null; households: number }[]>([
      ...authority,
      'report',
      'load',
      '--region',
      REGION,
      '--from',
      iso(dayStart),
      '--to',
      iso(dayStart + DAY),
      '--interval',
      String(PERIOD),
    ]);
    expect(rows).toHaveLength(DAY / PERIOD);
    for (const [k, row] of rows.entries()) {
      const reporting = k < FAULTY_PERIODS ? meters : meters.slice(0, METERS - FAULTY);
      expect(row.households).toBe(reporting.length);
      expect(row.energyWh).toBe(reporting.reduce((sum, m) => sum + generated(m.meterId, k), 0));
    }
  }, 180_000);

  it('the authority holds no key, no share names a subscription, and nothing repeats across periods (unlinkability)', async () => {
    const auditor = as('authority');
    for (const household of meters) {
      const record = await new SubscriptionClient(
        chaincodeChannel(gateways.gateway('authority'), CHANNEL, CHAINCODE),
      ).get(household.subscriptionId);
      expect(record.keyGrants.map((grant) => grant.mspId)).toEqual([D1]);
      expect(record.meterKeyFingerprint).toBeUndefined();
    }
    const shares: GridShareRecord[] = [];
    for (let k = 0; k < DAY / PERIOD; k++)
      shares.push(...(await auditor.shares(REGION, iso(periodStart(k)))));
    expect(shares).toHaveLength(2 * METERS * FAULTY_PERIODS + 2 * (METERS - FAULTY) * 2);
    const ids = new Set(meters.flatMap((m) => [m.subscriptionId, m.meterId]));
    for (const share of shares) {
      expect(Object.keys(share).sort()).toEqual(
        ['docType', 'periodStart', 'prid', 'regionCode', 'sentAt', 'signature', 'value'].sort(),
      );
      expect(
        JSON.stringify(share)
          .split(/[^A-Za-z0-9_-]+/)
          .some((token) => ids.has(token)),
      ).toBe(false);
    }
    expect(new Set(shares.map((s) => s.prid)).size).toBe(shares.length);
    expect(new Set(shares.map((s) => s.value)).size).toBe(shares.length);
    expect(new Set(shares.map((s) => s.signature)).size).toBe(shares.length);
    // The meters transacted with nothing: no valid transaction since the test began carries a meter's certificate.
    for (const household of meters.slice(0, 3)) {
      const cert = certificateOf({
        org: HOUSEHOLDS,
        mspId: 'Distributor1HouseholdsMSP',
        name: household.meterId,
      });
      expect(await validTransactionsBy(gateways.gateway('authority'), CHANNEL, heightBefore, cert)).toEqual(
        [],
      );
    }
  }, 180_000);
});

describe('a dishonest aggregator and outsiders, on the real network', () => {
  const region = `north/bad${run}`;
  const households = [0, 1, 2, 3, 4].map((i) => ({ meterId: `bad${run}-${i}`, sessionKey: newSessionKey() }));
  const k = 8;
  const sharesOf = () =>
    households.flatMap((m, i) =>
      splitReading({
        wattHours: 100 * (i + 1),
        secrets: periodSecrets(m.sessionKey, periodStart(k)),
        region,
        sentAt: [iso(periodStart(k + 1) + 10), iso(periodStart(k + 1) + 50)],
      }),
    );
  const batch = (shares: GridShare[]) => ({ regionCode: region, periodStart: iso(periodStart(k)), shares });

  const outsider = `bad${run}-hh`;

  beforeAll(async () => {
    await enrollSubscriber(outsider);
    const filters = buildDayFilters({ regionCode: region, day, periodSeconds: PERIOD, meters: households });
    await as('distributor1').publishFilters(filters);
  }, 60_000);

  afterAll(() => {
    gateways.closeAll();
  });

  it('an altered share, a forged one, or one from a household is refused and the round stays empty', async () => {
    const aggregator = as('distributor1', 'aggregator');
    const [first, ...rest] = sharesOf();
    const altered = { ...first, value: String(BigInt(first.value) - 1000n) };
    expect(await rejection(aggregator.submitShares(batch([altered, ...rest])))).toMatch(
      /FORBIDDEN: .*signature/,
    );
    const forged = splitReading({
      wattHours: 1,
      secrets: periodSecrets(newSessionKey(), periodStart(k)),
      region,
      sentAt: [iso(periodStart(k + 1)), iso(periodStart(k + 1))],
    })[0];
    expect(await rejection(aggregator.submitShares(batch([forged])))).toMatch(/FORBIDDEN: .*not in BF1/);
    const household = new AggregationClient(
      chaincodeChannel(gateways.gateway(HOUSEHOLDS, outsider), CHANNEL, CHAINCODE),
    );
    expect(await rejection(household.submitShares(batch(sharesOf())))).toMatch(
      /FORBIDDEN: SubmitShares needs the aggregator/,
    );
    expect(await rejection(household.shares(region, iso(periodStart(k))))).toMatch(/FORBIDDEN/);
    expect(await rejection(as('distributor1').submitShares(batch(sharesOf())))).toMatch(/FORBIDDEN/);
    expect(await as('authority').shares(region, iso(periodStart(k)))).toEqual([]);
    expect(await rejection(as('authority').round(region, iso(periodStart(k))))).toMatch(/NOT_FOUND/);
  }, 120_000);

  it('an aggregator that drops a share cannot hide it: the round closes as FAULT, once', async () => {
    const aggregator = as('distributor1', 'aggregator');
    const shares = sharesOf();
    await aggregator.submitShares(batch(shares.slice(0, -1)));
    const round = await aggregator.closeRound(region, iso(periodStart(k)));
    expect(round.status).toBe('FAULT');
    expect(round.load).toBeUndefined();
    expect(await rejection(aggregator.closeRound(region, iso(periodStart(k))))).toMatch(
      /CONFLICT: .*already closed/,
    );
    expect(await rejection(aggregator.submitShares(batch(shares.slice(-1))))).toMatch(/CONFLICT: .*closed/);
    expect((await as('authority').shares(region, iso(periodStart(k)))).length).toBe(shares.length - 1);
  }, 120_000);

  it('filters from the authority, and a mask sum from the authority, are refused', async () => {
    const filters = buildDayFilters({
      regionCode: `${region}x`,
      day,
      periodSeconds: PERIOD,
      meters: households,
    });
    expect(await rejection(as('authority').publishFilters(filters))).toMatch(/FORBIDDEN: PublishFilters/);
    expect(
      await rejection(
        as('authority').resolveRound({
          regionCode: region,
          periodStart: iso(periodStart(k)),
          missingMeters: [],
          excludedPrids: [],
          correctedMaskSum: '0',
        }),
      ),
    ).toMatch(/FORBIDDEN: ResolveRound/);
    expect((await as('authority').round(region, iso(periodStart(k)))).status).toBe('FAULT');
  }, 60_000);
});

describe('aggregate mode through Eclipse Mosquitto (MQTT_URL) instead of the embedded broker', () => {
  const region = `north/mq${run}`;
  const mosquittoDir = join(work, 'mosquitto');
  const brokerTls = networkFile('orgs', 'distributor1', 'nodes', 'broker', 'tls');
  const passwordFile = networkFile('orgs', 'distributor1', 'secrets', 'mqtt-aggregator');
  const url = 'mqtts://127.0.0.1:18883';
  const first = 40;
  const periods = 8;
  let households: AggregateHousehold[] = [];
  let aggregator: ChildProcess | undefined;
  let aggregatorOutput = '';

  beforeAll(async () => {
    await execFileAsync('bash', [
      join(repoDir, 'aggregator', 'scripts', 'mosquitto.sh'),
      'start',
      mosquittoDir,
      '--cert',
      join(brokerTls, 'cert.pem'),
      '--key',
      join(brokerTls, 'key.pem'),
      '--password-file',
      passwordFile,
      '--port',
      '18883',
    ]);
    // A second aggregator, for this region only, reading from Mosquitto.
    aggregator = spawn('node', [
      join(repoDir, 'aggregator', 'dist', 'bin.js'),
      'run',
      '--mqtt-url',
      url,
      '--mqtt-ca',
      brokerCa,
      '--password-file',
      passwordFile,
      '--name',
      `mq-${run}`,
      '--state-dir',
      join(work, 'mq-aggregator'),
      '--profile',
      profilePath('distributor1'),
      '--identity',
      'aggregator',
      '--channel',
      CHANNEL,
      '--regions',
      region,
      '--collect-seconds',
      '10',
    ]);
    aggregator.stdout?.on('data', (chunk) => (aggregatorOutput += String(chunk)));
    aggregator.stderr?.on('data', (chunk) => (aggregatorOutput += String(chunk)));
    households = await onboardAggregateMeters(region, 5, `mq${run}`);
    await meterctlJson([...d1, 'grid', 'publish-filters', '--region', region, '--day', day]);
  }, 300_000);

  afterAll(async () => {
    aggregator?.kill('SIGTERM');
    await execFileAsync('bash', [
      join(repoDir, 'aggregator', 'scripts', 'mosquitto.sh'),
      'stop',
      mosquittoDir,
    ]).catch(() => undefined);
    gateways.closeAll();
  });

  it('five meters publish eight periods to Mosquitto and every round is COMPLETE with its exact load', async () => {
    writeBundles(join(work, 'mq-bundles'), households);
    const meterRun = meterSim(
      join(work, 'mq-bundles'),
      join(work, 'mq-state'),
      periodStart(first + periods),
      periodStart(first),
      url,
    );
    expect((await meterRun.exited).code).toBe(0);
    const rounds = await eventually(
      () => as('authority').rounds(region, iso(dayStart), iso(dayStart + DAY)),
      (closed) => closed.length === periods,
      120_000,
      `the Mosquitto aggregator closing ${periods} rounds (its output: ${aggregatorOutput.slice(-2000)})`,
    );
    for (const [n, round] of rounds.entries()) {
      const k = first + n;
      expect(round.periodStart).toBe(iso(periodStart(k)));
      expect(round.status).toBe('COMPLETE');
      expect(round.load).toBe(String(households.reduce((sum, m) => sum + generated(m.meterId, k), 0)));
    }
  }, 300_000);
});
