import { newOrgKeyPair, sealPersonalData } from '@smartmeter/crypto';
import {
  canonicalConfigBytes,
  configHash,
  deviceConfigContext,
  sealConfigForDevice,
  type DeviceConfig,
  type DeviceConfigVersionStatus,
  type DeviceHealthRecord,
  type ReadingRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceConfigClient } from '../../client/src/contracts/DeviceConfigClient';
import { DeviceHealthClient } from '../../client/src/contracts/DeviceHealthClient';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { channelHeight, peerChaincode, type UserMsp } from '../support/attacker';
import { Gateways, isoSeconds as iso, rejection } from '../support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  HOUSEHOLDS,
  onboardHousehold,
  type OnboardedHousehold,
} from '../support/household';
import { meterctl, meterctlJson } from '../support/meterctl';
import { MeterSimProcess } from '../support/meterSim';
import { CHAINCODE, networkHome, profile } from '../support/network';

/**
 * Issue 19 on the real network: an urgent configuration with a new reading interval reaches a group of three
 * meters run by meter-sim; each applies it and acknowledges it, and their later readings follow the new
 * interval; a corrupted configuration is refused by the meter and the refusal is on the ledger; outsiders
 * (an operator, another meter, a household) are refused and change nothing; meters report their health and a
 * stopped one raises device-silent.
 */
const HALF_HOUR = 1800;
const QUARTER = 900;
const HOURS = 12;
const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

const run = Date.now().toString(36);
const region = `north/cfg${run}`;
const distributor1 = join(networkHome, 'profiles', 'distributor1.json');
const asConfigAdmin = ['-p', distributor1, '-i', 'config-admin'];
const d1Operator: UserMsp = { org: 'distributor1', mspId: D1, name: 'operator' };
const interval900: DeviceConfig = { schemaVersion: 1, readingIntervalSeconds: QUARTER, maxJitterSeconds: 0 };

describe('device configuration for a group of meters', () => {
  // Twelve hours back, six-hour aligned: at --speed 500 the meters report them in about 90 seconds.
  const start = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - HOURS * 3600;
  const end = start + HOURS * 3600;
  const dir = mkdtempSync(join(tmpdir(), 'device-config-it-'));
  const bundles = join(dir, 'bundles');
  const meters: OnboardedHousehold[] = [];
  let meterSim: MeterSimProcess;
  /** When the meter-sim process ended: the health test waits until its last report is old enough. */
  let exitedAtMs: Promise<number>;
  const configs = () =>
    new DeviceConfigClient(
      chaincodeChannel(gateways.gateway('distributor1', 'config-admin'), CHANNEL, CHAINCODE),
    );
  const statusOf = async (meterId: string) =>
    meterctlJson<DeviceConfigVersionStatus[]>([...asConfigAdmin, 'device', 'config', 'status', meterId]);

  beforeAll(async () => {
    mkdirSync(bundles, { mode: 0o700 });
    for (let i = 0; i < 3; i += 1) {
      const household = await onboardHousehold(gateways, `cfg${i}`, start, {
        pair: false,
        regionCode: region,
      });
      meters.push(household);
      const households = profile(HOUSEHOLDS);
      const bundle = buildPairBundle({
        profile: households,
        channel: CHANNEL,
        subscriptionId: household.subscriptionId,
        meterId: household.meter,
        meterIdentity: households.identities[household.meter],
        sessionKey: household.sessionKey,
        sealedPersonalData: sealPersonalData(
          Buffer.from('{}'),
          household.sessionKey,
          household.subscriptionId,
        ),
      });
      writeSecretFile(join(bundles, `${household.meter}.json`), JSON.stringify(bundle));
    }
    meterSim = new MeterSimProcess([
      '--bundle-dir',
      bundles,
      '--state-dir',
      join(dir, 'state'),
      '--speed',
      '500',
      '--until',
      iso(end),
      '--refresh',
      '1',
      '--config-poll-seconds',
      '1',
      '--health-seconds',
      '2',
      '--max-jitter',
      '0',
    ]);
    exitedAtMs = meterSim.exited.then(() => Date.now());
    await Promise.all(
      meters.map((m) =>
        meterSim.waitFor((e) => e.event === 'config.key-registered' && e.meterId === m.meter),
      ),
    );
  }, 300_000);

  afterAll(async () => {
    meterSim.kill('SIGKILL');
    await meterSim.exited;
  });

  it('refuses a configuration file that fails the schema, by field, before anything is sent', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schemaVersion: 1, readingIntervalSeconds: 700, colour: 'blue' }));
    const result = await meterctl([
      ...asConfigAdmin,
      'device',
      'config',
      'publish',
      '--file',
      bad,
      '--region',
      region,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/readingIntervalSeconds: one of 300, 600, 900, 1800, 3600/);
    expect(result.stderr).toMatch(/colour: unknown field/);
    for (const m of meters) {
      const status = await meterctl([...asConfigAdmin, 'device', 'config', 'status', m.meter]);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/NOT_FOUND: no configuration has been published for meter/);
    }
  });

  it('an urgent new reading interval reaches the group: each meter applies and acknowledges it, and reads every 15 minutes from then on', async () => {
    const file = join(dir, 'interval.json');
    writeFileSync(file, JSON.stringify(interval900));
    const published = await meterctlJson<{ meterId: string; version: number }[]>([
      ...asConfigAdmin,
      'device',
      'config',
      'publish',
      '--file',
      file,
      '--region',
      region,
      '--priority',
      'urgent',
    ]);
    expect(published.map((p) => [p.meterId, p.version]).sort()).toEqual(
      meters.map((m) => [m.meter, 1]).sort(),
    );

    for (const m of meters) {
      await meterSim.waitFor((e) => e.event === 'config.applied' && e.meterId === m.meter && e.version === 1);
    }
    const subscriptions = new SubscriptionClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    for (const m of meters) {
      expect(await statusOf(m.meter)).toEqual([
        expect.objectContaining({
          meterId: m.meter,
          version: 1,
          priority: 'urgent',
          state: 'APPLIED',
          configHash: configHash(interval900),
        }),
      ]);
      const subscription: SubscriptionRecord = await subscriptions.get(m.subscriptionId);
      expect(subscription.approval?.intervalChanges?.[0]).toMatchObject({
        intervalSeconds: QUARTER,
        previousIntervalSeconds: HALF_HOUR,
      });
    }
  }, 300_000);

  it('a corrupted configuration is refused by the meter, and the refusal with its reason is on the ledger', async () => {
    const target = meters[0];
    // A configuration administrator's tool gone wrong: version 2 sealed for a key that is not the meter's.
    const corrupted: DeviceConfig = { schemaVersion: 1, maxJitterSeconds: 30 };
    const sealed = sealConfigForDevice(
      corrupted,
      newOrgKeyPair().publicKeyPem,
      deviceConfigContext(CHANNEL, target.meter, 2),
    );
    await configs().publish(
      {
        targets: [{ meterId: target.meter, version: 2, sealed: sealed.toString('base64') }],
        priority: 'security',
        schemaVersion: 1,
        configHash: configHash(corrupted),
      },
      canonicalConfigBytes(corrupted),
      [D1, AUTHORITY],
    );
    const refused = await meterSim.waitFor((e) => e.event === 'config.refused' && e.meterId === target.meter);
    expect(refused.message).toMatch(/^refused configuration version 2: UNREADABLE: /);
    const history = await meterctlJson<{ version: number; state: string; reason?: string }[]>([
      ...asConfigAdmin,
      'device',
      'config',
      'history',
      target.meter,
    ]);
    expect(history.map((h) => [h.version, h.state])).toEqual([
      [1, 'APPLIED'],
      [2, 'FAILED'],
    ]);
    expect(history[1].reason).toMatch(/^UNREADABLE: /);
  }, 300_000);

  it('when the run ends, every period is on the ledger: half hours before the change, quarter hours after', async () => {
    expect(await meterSim.exited).toEqual({ code: 0, signal: null });
    const measurements = new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const subscriptions = new SubscriptionClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    for (const m of meters) {
      const subscription: SubscriptionRecord = await subscriptions.get(m.subscriptionId);
      const from = Date.parse(subscription.approval?.intervalChanges?.[0]?.effectiveFrom ?? '') / 1000;
      expect(from).toBeGreaterThan(start);
      expect(from).toBeLessThan(end);
      const readings: ReadingRecord[] = await measurements.all(m.subscriptionId, iso(start), iso(end));
      const expected = [
        ...Array.from({ length: (from - start) / HALF_HOUR }, (_, i) => iso(start + i * HALF_HOUR)),
        ...Array.from({ length: (end - from) / QUARTER }, (_, i) => iso(from + i * QUARTER)),
      ];
      expect(readings.map((r) => r.periodStart)).toEqual(expected);
      expect((await measurements.missing(m.subscriptionId, iso(start), iso(end))).missing).toEqual([]);
    }
  }, 300_000);

  it('outsiders are refused and change nothing: an operator publishing, a replayed version, another meter acknowledging, a household reading', async () => {
    const [a, b] = meters;
    const auditor = gateways.gateway('authority');
    const height = await channelHeight(auditor, CHANNEL);
    const before = await meterctlJson<unknown[]>([...asConfigAdmin, 'device', 'config', 'history', a.meter]);
    const key = await configs().deviceKey(a.meter);
    const replay = {
      targets: [
        {
          meterId: a.meter,
          version: 1,
          sealed: sealConfigForDevice(
            interval900,
            key.publicKeyPem,
            deviceConfigContext(CHANNEL, a.meter, 1),
          ).toString('base64'),
        },
      ],
      priority: 'urgent',
      schemaVersion: 1,
      configHash: configHash(interval900),
    };
    const viaCli = await peerChaincode(
      d1Operator,
      'distributor1',
      'invoke',
      CHANNEL,
      'DeviceConfig:PublishDeviceConfig',
      [JSON.stringify({ ...replay, targets: [{ ...replay.targets[0], version: 3 }] })],
      { config: canonicalConfigBytes(interval900).toString('base64') },
    );
    expect(viaCli.code).not.toBe(0);
    expect(viaCli.output).toMatch(/FORBIDDEN: .*config/i);

    expect(
      await rejection(
        configs().publish(
          replay as Parameters<DeviceConfigClient['publish']>[0],
          canonicalConfigBytes(interval900),
          [D1, AUTHORITY],
        ),
      ),
    ).toMatch(/CONFLICT/);

    const otherMeter = new DeviceConfigClient(
      chaincodeChannel(gateways.gateway(HOUSEHOLDS, b.meter), CHANNEL, CHAINCODE),
    );
    expect(await rejection(otherMeter.acknowledge(a.meter, 1, 'delivered'))).toMatch(/FORBIDDEN/);

    const household = new DeviceConfigClient(
      chaincodeChannel(gateways.gateway(HOUSEHOLDS, a.subscriber), CHANNEL, CHAINCODE),
    );
    expect(await rejection(household.history(a.meter, D1))).toMatch(/FORBIDDEN/);

    expect(await meterctlJson<unknown[]>([...asConfigAdmin, 'device', 'config', 'history', a.meter])).toEqual(
      before,
    );
    expect(await channelHeight(auditor, CHANNEL)).toBe(height);
  });

  it('health is refused to outsiders and only the paired meter reports it: another meter, a household, another distributor change nothing', async () => {
    const [a, b] = meters;
    const auditor = gateways.gateway('authority');
    const height = await channelHeight(auditor, CHANNEL);
    const health = (who: ReturnType<Gateways['gateway']>): DeviceHealthClient =>
      new DeviceHealthClient(chaincodeChannel(who, CHANNEL, CHAINCODE));
    const before = await health(gateways.gateway('distributor1')).all(D1);
    const forged = { batteryPermille: 1000, freeDiskBytes: 1, freeMemoryBytes: 1, uptimeSeconds: 1 };
    // Another meter of the same households org reports for a's subscription.
    expect(
      await rejection(health(gateways.gateway(HOUSEHOLDS, b.meter)).report(a.subscriptionId, forged)),
    ).toMatch(/FORBIDDEN: only the paired meter of/);
    // The household reads its meter's telemetry: not for it.
    expect(await rejection(health(gateways.gateway(HOUSEHOLDS, a.subscriber)).get(D1, a.meter))).toMatch(
      /FORBIDDEN: device health of Distributor1MSP is for its operators/,
    );
    // The operator forges a report with Fabric's peer CLI, and Distributor2's operator lists Distributor1's.
    const viaCli = await peerChaincode(
      d1Operator,
      'distributor1',
      'invoke',
      CHANNEL,
      'DeviceHealth:ReportDeviceHealth',
      [a.subscriptionId, JSON.stringify(forged)],
    );
    expect(viaCli.code).not.toBe(0);
    expect(viaCli.output).toMatch(/FORBIDDEN: only the paired meter of/);
    const otherDistributor: UserMsp = { org: 'distributor2', mspId: 'Distributor2MSP', name: 'operator' };
    const listed = await peerChaincode(
      otherDistributor,
      'distributor1',
      'query',
      CHANNEL,
      'DeviceHealth:ListDeviceHealth',
      [D1],
    );
    // Distributor2 is no member of northgrid: the channel refuses it before the chaincode runs.
    expect(listed.code).not.toBe(0);
    expect(listed.output).toMatch(/access denied: channel \[northgrid\] creator org unknown/);

    expect(await health(gateways.gateway('distributor1')).all(D1)).toEqual(before);
    expect(await channelHeight(auditor, CHANNEL)).toBe(height);
  });

  it('meters report their health; once they stop, device health raises device-silent for each', async () => {
    // The meters stopped when their run ended; wait until their last report is more than 2 seconds old.
    const stoppedAt = await exitedAtMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 3_500 - Date.now())));
    const health = await meterctlJson<{
      devices: { meterId: string; health?: DeviceHealthRecord }[];
      alerts: { meterId: string; silent: string }[];
    }>(['-p', distributor1, 'device', 'health', ...meters.map((m) => m.meter), '--silent-after', '2s']);
    expect(health.devices.map((d) => d.meterId).sort()).toEqual(meters.map((m) => m.meter).sort());
    for (const device of health.devices) {
      expect(device.health?.batteryPermille).toBeGreaterThan(0);
      expect(device.health?.freeDiskBytes).toBeGreaterThan(0);
      expect(device.health?.freeMemoryBytes).toBeGreaterThan(0);
      // No report after the process ended (reportedAt has seconds precision).
      expect(Date.parse(device.health?.reportedAt ?? '')).toBeLessThanOrEqual(stoppedAt);
    }
    expect(health.alerts.map((a) => [a.meterId, a.silent]).sort()).toEqual(
      meters.map((m) => [m.meter, 'health and readings']).sort(),
    );
    const lenient = await meterctlJson<{ alerts: unknown[] }>([
      '-p',
      distributor1,
      'device',
      'health',
      ...meters.map((m) => m.meter),
      '--silent-after',
      '1d',
    ]);
    expect(lenient.alerts).toEqual([]);
  });
});
