import { newOrgKeyPair, type OrgKeyPair } from '@smartmeter/crypto';
import {
  configHash,
  deviceConfigContext,
  openConfigForDevice,
  sealConfigForDevice,
  type DeviceConfig,
  type DeviceConfigHistoryEntry,
  type DeviceConfigRecord,
  type DeviceConfigVersionStatus,
  type DeviceKeyRecord,
} from '@smartmeter/domain';
import { DeviceConfigContract } from '../src/contracts/DeviceConfigContract';
import { contracts, D1, id, parse, period, reading, World, type Household } from './support/fixtures';
import type { FakeIdentity, TxOptions } from './support/memoryContext';

const deviceConfig = new DeviceConfigContract();
const CHANNEL = 'northgrid';

const config: DeviceConfig = {
  schemaVersion: 1,
  maxJitterSeconds: 120,
  firmwarePin: '2.4.1',
  display: { tariffName: 'Night saver' },
};

interface Device extends Household {
  keys: OrgKeyPair;
}

async function deviceWithKey(world: World, meterId = 'MTR-001', subscriberId = 'hh-001'): Promise<Device> {
  const household = await world.active({ meterId, subscriberId });
  const keys = newOrgKeyPair();
  await world.run(household.meter, (ctx) =>
    deviceConfig.RegisterDeviceKey(ctx, household.subscriptionId, keys.publicKeyPem),
  );
  return { ...household, keys };
}

function target(device: Device, version: number, settings: DeviceConfig = config) {
  const sealed = sealConfigForDevice(
    settings,
    device.keys.publicKeyPem,
    deviceConfigContext(CHANNEL, device.meterId, version),
  );
  return { meterId: device.meterId, version, sealed: sealed.toString('base64') };
}

function publishRequest(targets: ReturnType<typeof target>[], settings: DeviceConfig = config): string {
  return JSON.stringify({ targets, priority: 'urgent', schemaVersion: 1, configHash: configHash(settings) });
}

function withConfig(settings: unknown): TxOptions {
  return { transient: { config: Buffer.from(JSON.stringify(settings)) } };
}

async function publish(
  world: World,
  who: FakeIdentity,
  requestJson: string,
  settings: unknown = config,
): Promise<DeviceConfigRecord[]> {
  return parse(
    await world.run(who, (ctx) => deviceConfig.PublishDeviceConfig(ctx, requestJson), withConfig(settings)),
  );
}

async function ack(
  world: World,
  who: FakeIdentity,
  args: [string, string, string, string, string],
  options?: TxOptions,
  effectiveFrom = '',
): Promise<string> {
  return world.run(who, (ctx) => deviceConfig.AcknowledgeDeviceConfig(ctx, ...args, effectiveFrom), options);
}

/** Runs a refused call and checks that it carries the code and left the ledger exactly as it was. */
async function expectRefused(world: World, call: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const before = world.ledger.dump();
  await expect(call()).rejects.toThrow(pattern);
  expect(world.ledger.dump()).toEqual(before);
}

describe('DeviceConfig: publish, deliver, apply', () => {
  it('when the config-admin publishes and the meter applies then the status goes PUBLISHED → DELIVERED → APPLIED', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const [record] = await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    expect(record).toMatchObject({
      docType: 'deviceConfig',
      distributorMspId: D1,
      meterId: 'MTR-001',
      version: 1,
      priority: 'urgent',
      schemaVersion: 1,
      configHash: configHash(config),
    });
    // The plaintext is nowhere on the ledger: only its hash and the sealed blob.
    expect(world.ledger.dump().join('\n')).not.toContain('Night saver');
    expect(world.ledger.events.at(-1)?.name).toBe('DeviceConfigPublished');

    const latest = parse<DeviceConfigRecord>(
      await world.run(device.meter, (ctx) => deviceConfig.LatestDeviceConfig(ctx, 'MTR-001')),
    );
    const opened = openConfigForDevice(
      latest.sealed,
      device.keys.privateKeyPem,
      deviceConfigContext(CHANNEL, 'MTR-001', latest.version),
      latest.configHash,
    );
    expect(opened).toEqual(config);

    await ack(world, device.meter, ['MTR-001', '1', 'delivered', '', '']);
    const delivered = parse<DeviceConfigVersionStatus>(
      await world.run(id.d1ConfigAdmin, (ctx) => deviceConfig.DeviceConfigStatus(ctx, 'MTR-001', '')),
    );
    expect(delivered.state).toBe('DELIVERED');
    await ack(world, device.meter, ['MTR-001', '1', 'applied', configHash(config), '']);
    const history = parse<DeviceConfigHistoryEntry[]>(
      await world.run(id.auditor, (ctx) => deviceConfig.DeviceConfigHistory(ctx, 'MTR-001', D1)),
    );
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ version: 1, state: 'APPLIED', priority: 'urgent' });
    expect(history[0].acks.map((a) => a.status)).toEqual(['applied', 'delivered']);
    const fleet = parse<DeviceConfigVersionStatus[]>(
      await world.run(id.d1Operator, (ctx) => deviceConfig.ListDeviceConfigStatus(ctx, '')),
    );
    expect(fleet.map((s) => [s.meterId, s.version, s.state])).toEqual([['MTR-001', 1, 'APPLIED']]);
  });

  it('when the meter refuses a version then its state is FAILED with the reason', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await ack(world, device.meter, ['MTR-001', '1', 'refused', '', 'UNREADABLE: does not open']);
    const status = parse<DeviceConfigVersionStatus>(
      await world.run(id.d1Operator, (ctx) => deviceConfig.DeviceConfigStatus(ctx, 'MTR-001', '')),
    );
    expect(status).toMatchObject({ state: 'FAILED', reason: 'UNREADABLE: does not open' });
  });

  it('when an applied config sets another reading interval then the subscription changes at the next boundary', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const faster: DeviceConfig = { schemaVersion: 1, readingIntervalSeconds: 900 };
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1, faster)], faster), faster);
    await ack(world, device.meter, ['MTR-001', '1', 'applied', configHash(faster), ''], withConfig(faster));
    const subscription = await world.subscription(device.subscriptionId);
    expect(subscription.approval?.intervalSeconds).toBe(900);
    const change = subscription.approval?.intervalChanges?.[0];
    expect(change).toMatchObject({ intervalSeconds: 900, previousIntervalSeconds: 1800 });
    expect(Date.parse(change?.effectiveFrom ?? '') % 1_800_000).toBe(0);
  });

  it('when the meter names where it starts the new interval then the change takes effect there, and never before its last reading', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const faster: DeviceConfig = { schemaVersion: 1, readingIntervalSeconds: 900 };
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1, faster)], faster), faster);
    await world.run(device.meter, (ctx) =>
      contracts.measurement.SubmitReadings(ctx, JSON.stringify([0, 1, 2, 3].map((n) => reading(device, n)))),
    );
    // Readings cover periods 0-3 (2 h from the start): a change at period 2 would reinterpret two of them.
    await expectRefused(
      world,
      () =>
        ack(
          world,
          device.meter,
          ['MTR-001', '1', 'applied', configHash(faster), ''],
          withConfig(faster),
          period(2),
        ),
      /^INVALID_ARGUMENT: effectiveFrom must be after the start, after earlier changes and not before/,
    );
    await ack(
      world,
      device.meter,
      ['MTR-001', '1', 'applied', configHash(faster), ''],
      withConfig(faster),
      period(6),
    );
    const subscription = await world.subscription(device.subscriptionId);
    expect(subscription.approval?.intervalChanges).toEqual([
      expect.objectContaining({
        effectiveFrom: period(6),
        intervalSeconds: 900,
        previousIntervalSeconds: 1800,
      }),
    ]);
  });

  it('when a second version is published then both are kept and the latest is version 2', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    const second: DeviceConfig = { schemaVersion: 1, maxJitterSeconds: 30 };
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 2, second)], second), second);
    const history = parse<DeviceConfigHistoryEntry[]>(
      await world.run(id.d1ConfigAdmin, (ctx) => deviceConfig.DeviceConfigHistory(ctx, 'MTR-001', '')),
    );
    expect(history.map((h) => [h.version, h.configHash])).toEqual([
      [1, configHash(config)],
      [2, configHash(second)],
    ]);
  });
});

describe('DeviceConfig: bad input is refused and changes nothing', () => {
  it('when the config fails the schema then it is INVALID_ARGUMENT with every error by field', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const bad = { schemaVersion: 1, readingIntervalSeconds: 700, maxJitterSeconds: 9999, colour: 'red' };
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]), bad),
      /^INVALID_ARGUMENT: the configuration is invalid: colour: unknown field; readingIntervalSeconds: one of 300, 600, 900, 1800, 3600; maxJitterSeconds: an integer from 0 to 600$/,
    );
  });

  it('when configHash is not the hash of the transient config then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const other: DeviceConfig = { schemaVersion: 1, maxJitterSeconds: 1 };
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]), other),
      /^INVALID_ARGUMENT: configHash .* is not the hash of the configuration/,
    );
  });

  it('when a target meter is unknown then it is NOT_FOUND', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const unknown = { ...target(device, 1), meterId: 'MTR-999' };
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1), unknown])),
      /^NOT_FOUND: targets\[1\]: meter MTR-999 has registered no device key with Distributor1MSP/,
    );
  });

  it('when another distributor targets this meter then it is NOT_FOUND, as for an unknown meter', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await expectRefused(
      world,
      () => publish(world, id.d2ConfigAdmin, publishRequest([target(device, 1)])),
      /^NOT_FOUND: targets\[0\]: meter MTR-001 has registered no device key with Distributor2MSP/,
    );
  });

  it.each([
    ['an operator', id.d1Operator],
    ['the org admin', id.d1Admin],
    ['the auditor', id.auditor],
    ['a subscriber', id.subscriber()],
    ['the meter', id.meter()],
  ])('when %s publishes then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await expectRefused(world, () => publish(world, who, publishRequest([target(device, 1)])), /^FORBIDDEN/);
  });

  it('when an old version is replayed then it is CONFLICT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const first = publishRequest([target(device, 1)]);
    await publish(world, id.d1ConfigAdmin, first);
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, first),
      /^CONFLICT: targets\[0\]: meter MTR-001 is at version 1/,
    );
  });

  it('when the sealed config is malformed then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const short = { ...target(device, 1), sealed: Buffer.alloc(100, 1).toString('base64') };
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, publishRequest([short])),
      /^INVALID_ARGUMENT: targets\[0\]\.sealed: sealed data must be exactly/,
    );
  });

  it('when the plaintext is not sent as transient config then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await expectRefused(
      world,
      () =>
        world.run(id.d1ConfigAdmin, (ctx) =>
          deviceConfig.PublishDeviceConfig(ctx, publishRequest([target(device, 1)])),
        ),
      /^INVALID_ARGUMENT: the configuration must come as transient field config/,
    );
  });

  it('when another meter acknowledges then it is FORBIDDEN', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const other = await deviceWithKey(world, 'MTR-002', 'hh-002');
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await expectRefused(
      world,
      () => ack(world, other.meter, ['MTR-001', '1', 'applied', configHash(config), '']),
      /^FORBIDDEN: meter MTR-002 cannot acknowledge for meter MTR-001/,
    );
  });

  it('when a clone of the meter (same id, another key) acknowledges then it is FORBIDDEN', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    const clone: FakeIdentity = { ...device.meter, certificate: 'key-d' };
    await expectRefused(world, () => ack(world, clone, ['MTR-001', '1', 'delivered', '', '']), /^FORBIDDEN/);
  });

  it('when a version never published is acknowledged then it is NOT_FOUND', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await expectRefused(
      world,
      () => ack(world, device.meter, ['MTR-001', '2', 'delivered', '', '']),
      /^NOT_FOUND: version 2 of meter MTR-001's configuration was never published/,
    );
  });

  it('when applied carries another hash then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await expectRefused(
      world,
      () => ack(world, device.meter, ['MTR-001', '1', 'applied', 'ab'.repeat(32), '']),
      /^INVALID_ARGUMENT: configHash (ab){32} is not the hash of version 1/,
    );
  });

  it('when a version is applied a second time (or refused after) then it is CONFLICT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await ack(world, device.meter, ['MTR-001', '1', 'applied', configHash(config), '']);
    await expectRefused(
      world,
      () => ack(world, device.meter, ['MTR-001', '1', 'applied', configHash(config), '']),
      /^CONFLICT: meter MTR-001 already applied version 1/,
    );
    await expectRefused(
      world,
      () => ack(world, device.meter, ['MTR-001', '1', 'refused', '', 'changed my mind']),
      /^CONFLICT/,
    );
  });

  it('when a refusal has no reason then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await expectRefused(
      world,
      () => ack(world, device.meter, ['MTR-001', '1', 'refused', '', '']),
      /^INVALID_ARGUMENT: reason/,
    );
  });
});

describe('DeviceConfig: device keys and readers', () => {
  it('when the config-admin lists active subscriptions (to resolve a group) then it sees its own distributor`s', async () => {
    const world = await World.create();
    const household = await world.active();
    const page = parse<{ records: { subscriptionId: string }[] }>(
      await world.run(id.d1ConfigAdmin, (ctx) =>
        contracts.subscription.ListSubscriptions(ctx, 'ACTIVE', '10', ''),
      ),
    );
    expect(page.records.map((r) => r.subscriptionId)).toEqual([household.subscriptionId]);
    const foreign = parse<{ records: unknown[] }>(
      await world.run(id.d2ConfigAdmin, (ctx) =>
        contracts.subscription.ListSubscriptions(ctx, 'ACTIVE', '10', ''),
      ),
    );
    expect(foreign.records).toEqual([]);
  });

  it('when a meter registers a key then the record names its subscription and fingerprint', async () => {
    const world = await World.create();
    const household = await world.active();
    const keys = newOrgKeyPair();
    const record = parse<DeviceKeyRecord>(
      await world.run(household.meter, (ctx) =>
        deviceConfig.RegisterDeviceKey(ctx, household.subscriptionId, keys.publicKeyPem),
      ),
    );
    expect(record).toMatchObject({
      docType: 'deviceKey',
      meterId: 'MTR-001',
      subscriptionId: household.subscriptionId,
    });
    expect(record.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when the same key is registered again nothing changes; a new key replaces it and history keeps both', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const before = world.ledger.dump();
    await world.run(device.meter, (ctx) =>
      deviceConfig.RegisterDeviceKey(ctx, device.subscriptionId, device.keys.publicKeyPem),
    );
    expect(world.ledger.dump()).toEqual(before);
    const rotated = newOrgKeyPair();
    await world.run(device.meter, (ctx) =>
      deviceConfig.RegisterDeviceKey(ctx, device.subscriptionId, rotated.publicKeyPem),
    );
    const current = parse<DeviceKeyRecord>(
      await world.run(id.d1ConfigAdmin, (ctx) => deviceConfig.GetDeviceKey(ctx, 'MTR-001')),
    );
    expect(current.publicKeyPem).toBe(rotated.publicKeyPem);
    expect(world.ledger.dump().filter((entry) => entry.includes('deviceKeyRegistration'))).toHaveLength(2);
  });

  it('when the meter`s subscription has ended then publishing to it is CONFLICT', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    await world.run(id.d1Operator, (ctx) =>
      contracts.subscription.EndSubscription(ctx, device.subscriptionId, 'moved out', ''),
    );
    await expectRefused(
      world,
      () => publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)])),
      /^CONFLICT: cannot configure the meter of subscription .* it is ENDED/,
    );
  });

  it('when an unpaired meter, a clone or a subscriber registers a key, or the key is bad, then it is refused', async () => {
    const world = await World.create();
    const approvedOnly = await world.approved();
    const keys = newOrgKeyPair();
    await expectRefused(
      world,
      () =>
        world.run(approvedOnly.meter, (ctx) =>
          deviceConfig.RegisterDeviceKey(ctx, approvedOnly.subscriptionId, keys.publicKeyPem),
        ),
      /^FORBIDDEN/,
    );
    const world2 = await World.create();
    const active = await world2.active();
    await expectRefused(
      world2,
      () =>
        world2.run(active.subscriber, (ctx) =>
          deviceConfig.RegisterDeviceKey(ctx, active.subscriptionId, keys.publicKeyPem),
        ),
      /^FORBIDDEN/,
    );
    await expectRefused(
      world2,
      () =>
        world2.run(active.meter, (ctx) =>
          deviceConfig.RegisterDeviceKey(ctx, active.subscriptionId, 'not a key'),
        ),
      /^INVALID_ARGUMENT: publicKeyPem/,
    );
  });

  it('when a household or another meter reads a configuration then it is FORBIDDEN', async () => {
    const world = await World.create();
    const device = await deviceWithKey(world);
    const other = await deviceWithKey(world, 'MTR-002', 'hh-002');
    await publish(world, id.d1ConfigAdmin, publishRequest([target(device, 1)]));
    await expect(
      world.run(device.subscriber, (ctx) => deviceConfig.LatestDeviceConfig(ctx, 'MTR-001')),
    ).rejects.toThrow(/^FORBIDDEN/);
    await expect(
      world.run(other.meter, (ctx) => deviceConfig.GetDeviceConfig(ctx, 'MTR-001', '1')),
    ).rejects.toThrow(/^FORBIDDEN/);
    await expect(
      world.run(device.subscriber, (ctx) => deviceConfig.DeviceConfigHistory(ctx, 'MTR-001', D1)),
    ).rejects.toThrow(/^FORBIDDEN/);
    await expect(
      world.run(id.d2Operator, (ctx) => deviceConfig.DeviceConfigStatus(ctx, 'MTR-001', D1)),
    ).rejects.toThrow(/^FORBIDDEN/);
  });
});
