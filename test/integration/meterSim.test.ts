import { decryptReading, openPersonalData, sealPersonalData } from '@smartmeter/crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingRecord } from '@smartmeter/domain';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { Gateways, isoSeconds as iso } from '../support/chaincode';
import { CHANNEL, HOUSEHOLDS, onboardHousehold, type OnboardedHousehold } from '../support/household';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { meterctlJson } from '../support/meterctl';
import { meterSimPath, MeterSimProcess } from '../support/meterSim';
import { CHAINCODE, networkHome, profile, testNetwork } from '../support/network';
import { chaincodeChannel } from '../../client/src/contracts/invoke';

const execFileAsync = promisify(execFile);

/** Issue 6 on the real network: the meter process pairs, reports at speed, survives outages, stops at the end. */
const HALF_HOUR = 1800;
const HOUR = 3600;
const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

describe('meter-sim on northgrid', () => {
  // Two days back, six-hour aligned: the simulated days lie in the past, where the ledger accepts them.
  const start = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - 2 * 86_400;
  const personalData = Buffer.from('{"name":"R. Household","address":"1 Grid Lane"}');
  const dir = mkdtempSync(join(tmpdir(), 'meter-sim-it-'));
  const bundlePath = join(dir, 'pair-bundle.json');
  const stateDir = join(dir, 'state');
  let household: OnboardedHousehold;
  let measurements: MeasurementClient;
  const running: MeterSimProcess[] = [];

  const meterSim = (...args: string[]) => {
    const child = new MeterSimProcess([
      '--bundle',
      bundlePath,
      '--state-dir',
      stateDir,
      '--refresh',
      '1',
      ...args,
    ]);
    running.push(child);
    return child;
  };
  const onLedger = (fromHour: number, toHour: number): Promise<ReadingRecord[]> =>
    measurements.all(household.subscriptionId, iso(start + fromHour * HOUR), iso(start + toHour * HOUR));
  const periodsOf = (fromHour: number, toHour: number) =>
    Array.from({ length: (toHour - fromHour) * 2 }, (_, i) => iso(start + fromHour * HOUR + i * HALF_HOUR));
  const committedAfter = async (child: MeterSimProcess, count: number) =>
    child.waitFor(() => child.committed().length >= count);

  beforeAll(async () => {
    household = await onboardHousehold(gateways, 'msim', start, { pair: false });
    const households = profile(HOUSEHOLDS);
    const bundle = buildPairBundle({
      profile: households,
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      meterId: household.meter,
      meterIdentity: households.identities[household.meter],
      sessionKey: household.sessionKey,
      sealedPersonalData: sealPersonalData(personalData, household.sessionKey, household.subscriptionId),
    });
    writeSecretFile(bundlePath, JSON.stringify(bundle));
    measurements = new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
  });

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((child) => child.exited));
  });

  it('when it runs a simulated day at speed then it pairs and every half hour is on the ledger once, decrypting to what it generated', async () => {
    const meter = meterSim('--speed', '20000', '--until', iso(start + 24 * HOUR));
    expect(await meter.exited).toEqual({ code: 0, signal: null });

    expect(meter.events.some((e) => e.event === 'meter.paired')).toBe(true);
    const readings = await onLedger(0, 24);
    expect(readings.map((r) => r.periodStart)).toEqual(periodsOf(0, 24));
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    const source = new HouseholdSource({
      seed: household.meter,
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
      expect(decryptReading(reading, household.sessionKey, slot)).toEqual({
        energyWh: source.measure(Date.parse(reading.periodStart) / 1000, HALF_HOUR).quantity,
        utility: 'electricity',
        unit: 'Wh',
        quality: 'measured',
      });
    }
    expect(meter.committed().map((e) => e.periodStart)).toEqual(periodsOf(0, 24));
    expect(meter.events.at(-1)).toMatchObject({ event: 'summary', generated: 48, committed: 48, dropped: 0 });

    // The personal data stays sealed on the meter, for the household to hand over on a granted request.
    const sealedFile = join(stateDir, household.subscriptionId, 'personal-data.sealed');
    expect(statSync(sealedFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(sealedFile).includes('Grid Lane')).toBe(false);
    expect(
      openPersonalData(readFileSync(sealedFile), household.sessionKey, household.subscriptionId),
    ).toEqual(personalData);
  });

  it('when the meter is stopped with SIGTERM and later killed with SIGKILL then the restarts leave no gap and no duplicate', async () => {
    const until = ['--speed', '2000', '--until', iso(start + 30 * HOUR)];
    const first = meterSim(...until);
    await committedAfter(first, 2);
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.events.some((e) => e.event === 'meter.stopped')).toBe(true);

    const second = meterSim(...until);
    await committedAfter(second, 2);
    second.kill('SIGKILL');
    expect((await second.exited).signal).toBe('SIGKILL');

    const third = meterSim(...until);
    expect(await third.exited).toEqual({ code: 0, signal: null });
    const readings = await onLedger(24, 30);
    expect(readings.map((r) => r.periodStart)).toEqual(periodsOf(24, 30));
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => 49 + i));
    const missing = await measurements.missing(household.subscriptionId, iso(start), iso(start + 30 * HOUR));
    expect(missing).toMatchObject({ expected: 60, missing: [] });
  });

  it('when the peer is down for a while then readings wait in the outbox and drain in order, in batches, when it is back', async () => {
    const meter = meterSim('--speed', '1000', '--until', iso(start + 36 * HOUR));
    await committedAfter(meter, 2);
    await testNetwork('stop', 'peer0.distributor1');
    try {
      await meter.waitFor((e) => e.event === 'ledger.unreachable');
      // At 1000× a half hour passes in 1.8 s: let a backlog of several periods build up.
      await new Promise((resolve) => setTimeout(resolve, 12_000));
    } finally {
      await testNetwork('start', 'peer0.distributor1');
    }
    expect(await meter.exited).toEqual({ code: 0, signal: null });
    expect(meter.events.some((e) => e.event === 'ledger.reachable')).toBe(true);
    const committed = meter.committed();
    expect(committed.map((e) => e.periodStart)).toEqual(periodsOf(30, 36).slice(-committed.length));
    expect(Math.max(...committed.map((e) => e.batch ?? 0))).toBeGreaterThan(3);
    const readings = await onLedger(30, 36);
    expect(readings.map((r) => r.periodStart)).toEqual(periodsOf(30, 36));
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => 61 + i));
  });

  it('when the household ends the subscription then the meter reports up to the end and stops by itself', async () => {
    // No --until: the meter would run on into the present; the end (in the past) must stop it.
    const meter = meterSim('--speed', '500');
    await committedAfter(meter, 2);
    const lastEnd = Date.parse(meter.committed().at(-1)?.periodStart as string) / 1000 + HALF_HOUR;
    const end = lastEnd + 2 * HOUR;
    const subscriptions = chaincodeChannel(
      gateways.gateway(HOUSEHOLDS, household.subscriber),
      CHANNEL,
      CHAINCODE,
    );
    await new SubscriptionClient(subscriptions).end(household.subscriptionId, 'moving out', iso(end));

    expect(await meter.exited).toEqual({ code: 0, signal: null });
    expect(meter.events.some((e) => e.event === 'subscription.ended')).toBe(true);
    const readings = await onLedger(36, 96);
    expect(readings.at(-1)?.periodStart).toBe(iso(end - HALF_HOUR));
    expect(readings.map((r) => r.periodStart)).toEqual(periodsOf(36, (end - start) / HOUR));
  });
});

describe('meter-sim enroll: the meter makes its own key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meter-enroll-'));
  const stateDir = join(dir, 'state');
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const meterId = `enr-${run}`;
  let household: OnboardedHousehold;
  let secret = '';
  const bundlePath = join(dir, 'bundle.json');
  const enroll = (withSecret: string) =>
    execFileAsync(
      'node',
      [meterSimPath, 'enroll', '--bundle', bundlePath, '--state-dir', stateDir, '--enrollment-id', meterId],
      { env: { ...process.env, METER_SIM_ENROLLMENT_SECRET: withSecret } },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: unknown) => {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      },
    );

  beforeAll(async () => {
    const start = Math.floor(Date.now() / 1000 / 1800) * 1800 - 3600;
    household = await onboardHousehold(gateways, 'enr', start, { pair: false });
    // The distributor registers the meter under an enrollment id of its own (the helper enrolled one already).
    secret = (
      await meterctlJson<{ secret: string }>([
        '-p',
        join(networkHome, 'profiles', 'distributor1.json'),
        'identity',
        'register',
        meterId,
        '--role',
        'meter',
        '--meter-id',
        household.meter,
      ])
    ).secret;
    const bundle = buildPairBundle({
      profile: profile(HOUSEHOLDS),
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      meterId: household.meter,
      sessionKey: household.sessionKey,
    });
    writeSecretFile(bundlePath, JSON.stringify({ ...bundle }));
  });

  it('when the bundle carries no identity then it holds no private key, and check says the meter must enroll', async () => {
    expect(readFileSync(bundlePath, 'utf8')).not.toMatch(/PRIVATE KEY/);
    const checked = await execFileAsync('node', [
      meterSimPath,
      'check',
      '--bundle',
      bundlePath,
      '--state-dir',
      stateDir,
    ]).catch((e: unknown) => e);
    expect((checked as { code: number }).code).toBe(2);
    expect((checked as { stderr: string }).stderr).toContain('has not enrolled yet');
  });

  it('when the secret is wrong then the CA refuses (exit 1) and nothing is written', async () => {
    const refused = await enroll('not-the-secret');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^meter-sim: the CA ca-households1 refused the enrollment of /);
    expect(() => statSync(join(stateDir, 'identity', household.meter, 'key.pem'))).toThrow();
  });

  it('when the secret is right then the key (0600) and certificate are made on the meter, and a second enroll is refused', async () => {
    const byName = await enroll(secret);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(
      new RegExp(`^enrolled meter ${household.meter} at ca-households1: .*key\\.pem \\(0600\\)\\n$`),
    );
    expect(statSync(join(stateDir, 'identity', household.meter, 'key.pem')).mode & 0o777).toBe(0o600);
    const checked = await execFileAsync('node', [
      meterSimPath,
      'check',
      '--bundle',
      bundlePath,
      '--state-dir',
      stateDir,
    ]);
    expect(checked.stdout).toMatch(new RegExp(`^ok: meter ${household.meter} `));
    const again = await enroll(secret);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is enrolled already/);
  });

  it('when the self-enrolled meter runs then it pairs and its readings commit', async () => {
    const meter = new MeterSimProcess([
      '--bundle',
      bundlePath,
      '--state-dir',
      stateDir,
      '--speed',
      '100000',
      '--until',
      iso(Math.floor(Date.now() / 1000 / 1800) * 1800),
    ]);
    expect(await meter.exited).toEqual({ code: 0, signal: null });
    expect(meter.events.some((e) => e.event === 'meter.paired')).toBe(true);
    expect(meter.committed().length).toBeGreaterThanOrEqual(1);
  });
});
