import { newOrgKeyPair, newSessionKey, publicKeyFingerprint, type OrgKeyPair } from '@smartmeter/crypto';
import {
  configHash,
  deviceConfigContext,
  openConfigForDevice,
  type DeviceConfig,
  type DeviceConfigRecord,
  type DeviceConfigVersionStatus,
  type DeviceKeyRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import type { DeviceConfigPublication } from '../../src/contracts/DeviceConfigClient';
import { meterIdsOfGroup } from '../../src/commands/device';
import { subscriptionRecord } from './support/fixtures';
import { TestWorld } from './support/world';

const config: DeviceConfig = {
  schemaVersion: 1,
  readingIntervalSeconds: 900,
  display: { tariffName: 'Night saver' },
};

function activeSubscription(
  meterId: string,
  regionCode: string,
  overrides: Partial<SubscriptionRecord> = {},
) {
  return subscriptionRecord(newSessionKey(), [], {
    subscriptionId: `sub_${meterId.padStart(24, '0')}`,
    meterId,
    status: 'ACTIVE',
    approval: {
      intervalSeconds: 1800,
      tariffId: 'tou-2026',
      regionCode,
      startDate: '2026-11-01T00:00:00Z',
      approvedAt: '2026-11-01T00:00:00Z',
    },
    ...overrides,
  });
}

function deviceKey(meterId: string, keys: OrgKeyPair): DeviceKeyRecord {
  return {
    docType: 'deviceKey',
    distributorMspId: 'Distributor1MSP',
    meterId,
    subscriptionId: `sub_${meterId.padStart(24, '0')}`,
    publicKeyPem: keys.publicKeyPem,
    fingerprint: publicKeyFingerprint(keys.publicKeyPem),
    registeredAt: '2026-11-02T00:00:00Z',
  };
}

function status(meterId: string, version: number, overrides: Partial<DeviceConfigVersionStatus> = {}) {
  return {
    meterId,
    version,
    priority: 'routine',
    configHash: 'ab'.repeat(32),
    state: 'APPLIED',
    publishedAt: '2026-11-10T08:00:00Z',
    appliedAt: '2026-11-10T08:05:00Z',
    ...overrides,
  } satisfies DeviceConfigVersionStatus;
}

/** A world with two meters' device keys, meter m-1 already at version 2, and a publish that echoes records. */
function publishWorld() {
  const world = new TestWorld();
  world.roles['config-admin'] = 'config-admin';
  const keys = { 'm-1': newOrgKeyPair(), 'm-2': newOrgKeyPair() };
  const publish = jest.fn(
    async (publication: DeviceConfigPublication, _config: Uint8Array, _endorsers: string[]) =>
      publication.targets.map((t): DeviceConfigRecord => ({
        docType: 'deviceConfig',
        distributorMspId: 'Distributor1MSP',
        meterId: t.meterId,
        version: t.version,
        priority: publication.priority,
        schemaVersion: 1,
        configHash: publication.configHash,
        sealed: t.sealed,
        deviceKeyFingerprint: 'f'.repeat(64),
        publishedAt: '2026-11-15T10:07:00Z',
        publishedBy: 'e'.repeat(64),
        txId: 'a'.repeat(64),
      })),
  );
  world.clients.deviceConfig = {
    fleetStatus: async () => [status('m-1', 2)],
    deviceKey: async (meterId: string) => deviceKey(meterId, keys[meterId as keyof typeof keys]),
    publish,
  };
  world.clients.subscriptions = {
    all: async () => [
      activeSubscription('m-1', 'north/d3/c12'),
      activeSubscription('m-2', 'north/d3'),
      activeSubscription('m-3', 'south/d1'),
      activeSubscription('m-4', 'north/d3/c12', { utility: 'gas' }),
    ],
  };
  return { world, keys, publish };
}

describe('meterctl device config publish', () => {
  it('when meters are named then each gets its next version, sealed for its own device key, in one transaction', async () => {
    const { world, keys, publish } = publishWorld();
    const file = world.file('cfg.json', JSON.stringify(config));

    const result = await world.run(
      '-i',
      'config-admin',
      '--json',
      'device',
      'config',
      'publish',
      '--file',
      file,
      '--meter',
      'm-1',
      '--meter',
      'm-2',
      '--priority',
      'urgent',
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(publish).toHaveBeenCalledTimes(1);
    const [publication, plaintext, endorsers] = publish.mock.calls[0];
    // With transient data the gateway endorses only where told: the distributor and the authority.
    expect(endorsers).toEqual(['Distributor1MSP', 'AuthorityMSP']);
    expect(publication).toMatchObject({
      priority: 'urgent',
      schemaVersion: 1,
      configHash: configHash(config),
    });
    expect(publication.targets.map((t) => [t.meterId, t.version])).toEqual([
      ['m-1', 3],
      ['m-2', 1],
    ]);
    expect(JSON.parse(Buffer.from(plaintext).toString('utf8'))).toEqual(config);
    for (const t of publication.targets) {
      const context = deviceConfigContext('northgrid', t.meterId, t.version);
      const own = keys[t.meterId as keyof typeof keys];
      expect(openConfigForDevice(t.sealed, own.privateKeyPem, context, configHash(config))).toEqual(config);
    }
    // Sealed for m-1, the configuration does not open with m-2's key.
    const [first] = publication.targets;
    expect(() =>
      openConfigForDevice(
        first.sealed,
        keys['m-2'].privateKeyPem,
        deviceConfigContext('northgrid', 'm-1', 3),
        configHash(config),
      ),
    ).toThrow(/^UNREADABLE/);
    const printed = JSON.parse(result.stdout) as DeviceConfigRecord[];
    expect(printed.map((r) => r.version)).toEqual([3, 1]);
  });

  it('when a region is given then its active electricity meters are the targets, sub-areas included', async () => {
    const { world, publish } = publishWorld();
    const file = world.file('cfg.json', JSON.stringify(config));

    const result = await world.run(
      'device',
      'config',
      'publish',
      '--file',
      file,
      '--region',
      'north/d3',
      '--utility',
      'electricity',
    );

    expect(result.code).toBe(0);
    expect(publish.mock.calls[0][0].targets.map((t) => t.meterId)).toEqual(['m-1', 'm-2']);
    expect(world.methodsCalled()[0]).toBe('subscriptions.all');
    expect(world.calls[0].args).toEqual(['ACTIVE']);
  });

  it('when the file fails the schema then every error is listed by field (exit 2) and nothing is sent', async () => {
    const { world } = publishWorld();
    const bad = world.file(
      'bad.json',
      JSON.stringify({ schemaVersion: 1, readingIntervalSeconds: 700, maxJitterSeconds: -1 }),
    );

    const result = await world.run('device', 'config', 'publish', '--file', bad, '--meter', 'm-1');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `meterctl: configuration file ${bad} is invalid: readingIntervalSeconds: one of 300, 600, 900, 1800, 3600; maxJitterSeconds: an integer from 0 to 600\n`,
    );
    expect(world.connections).toBe(0);
    expect(world.calls).toEqual([]);
  });

  it.each([
    [
      ['--meter', 'm-1', '--region', 'north'],
      'give either --meter <id>... or --region <code> [--utility <u>]',
    ],
    [[], 'give either --meter <id>... or --region <code> [--utility <u>]'],
    [['--meter', 'm-1', '--priority', 'asap'], '--priority must be one of routine, urgent, security'],
  ])(
    'when the targets or priority are wrong (%j) then it is a usage error and nothing is sent',
    async (args, message) => {
      const { world } = publishWorld();
      const file = world.file('cfg.json', JSON.stringify(config));

      const result = await world.run('device', 'config', 'publish', '--file', file, ...args);

      expect(result).toMatchObject({ code: 2, stderr: `meterctl: ${message}\n` });
      expect(world.connections).toBe(0);
    },
  );
});

describe('meterctl device config status and history', () => {
  it('when meters are given then the table shows per meter its version, priority and state', async () => {
    const world = new TestWorld();
    world.clients.deviceConfig = {
      status: async (meterId: string) =>
        meterId === 'm-1'
          ? status('m-1', 3, { priority: 'urgent' })
          : status('m-2', 1, {
              state: 'FAILED',
              appliedAt: undefined,
              failedAt: '2026-11-10T08:06:00Z',
              reason: 'UNREADABLE: does not open',
            }),
    };

    const result = await world.run('device', 'config', 'status', 'm-1', 'm-2');

    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^METER +VERSION +PRIORITY +STATE +PUBLISHED +DELIVERED +APPLIED +FAILED$/);
    expect(lines[1]).toMatch(/^m-1 +3 +urgent +APPLIED +2026-11-10T08:00:00Z +2026-11-10T08:05:00Z/);
    expect(lines[2]).toMatch(
      /^m-2 +1 +routine +FAILED +2026-11-10T08:00:00Z +2026-11-10T08:06:00Z UNREADABLE: does not open$/,
    );
  });

  it('when --all --csv is given then the fleet status is CSV; meter ids and --all together are a usage error', async () => {
    const world = new TestWorld();
    const fleetStatus = jest.fn(async () => [status('m-1', 3)]);
    world.clients.deviceConfig = { fleetStatus };

    const result = await world.run('--csv', 'device', 'config', 'status', '--all');

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      'meter,version,priority,state,published,delivered,applied,failed',
    );
    expect(result.stdout.split('\n')[1]).toBe(
      'm-1,3,routine,APPLIED,2026-11-10T08:00:00Z,,2026-11-10T08:05:00Z,',
    );
    expect(fleetStatus).toHaveBeenCalledWith('');
    expect((await world.run('device', 'config', 'status', 'm-1', '--all')).code).toBe(2);
  });

  it('when history is asked as an auditor then the distributor is passed and every version is listed', async () => {
    const world = new TestWorld();
    const history = jest.fn(async () => [
      { ...status('m-1', 1), deviceKeyFingerprint: 'f', publishedBy: 'e', txId: 't1', acks: [] },
      {
        ...status('m-1', 2, { state: 'PUBLISHED', appliedAt: undefined }),
        deviceKeyFingerprint: 'f',
        publishedBy: 'e',
        txId: 't2',
        acks: [],
      },
    ]);
    world.clients.deviceConfig = { history };

    const result = await world.run(
      '--json',
      'device',
      'config',
      'history',
      'm-1',
      '--distributor',
      'Distributor1MSP',
    );

    expect(result.code).toBe(0);
    expect(history).toHaveBeenCalledWith('m-1', 'Distributor1MSP');
    const printed = JSON.parse(result.stdout) as DeviceConfigVersionStatus[];
    expect(printed.map((h) => [h.version, h.state])).toEqual([
      [1, 'APPLIED'],
      [2, 'PUBLISHED'],
    ]);
  });
});

describe('meterIdsOfGroup', () => {
  it('when a utility is given then only that utility counts; a region prefix that is not an area does not match', () => {
    const subscriptions = [
      activeSubscription('m-1', 'north/d3/c12'),
      activeSubscription('m-2', 'north/d30'),
      activeSubscription('m-4', 'north/d3', { utility: 'gas' }),
    ];
    expect(meterIdsOfGroup(subscriptions, { regionCode: 'north/d3' })).toEqual(['m-1', 'm-4']);
    expect(meterIdsOfGroup(subscriptions, { regionCode: 'north/d3', utility: 'gas' })).toEqual(['m-4']);
  });
});
