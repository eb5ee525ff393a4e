import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newOrgKeyPair, pairingProof } from '@smartmeter/crypto';
import {
  canonicalConfigBytes,
  configHash,
  deviceConfigContext,
  sealConfigForDevice,
  type ConfigPriority,
  type DeviceConfig,
  type DeviceConfigRecord,
  type DeviceConfigVersionStatus,
  type DeviceKeyRecord,
} from '@smartmeter/domain';
import { DeviceConfigContract } from '../../chaincode/src/contracts/DeviceConfigContract';
import { contracts, id, World, type Household } from '../../chaincode/test/support/fixtures';
import { ConfigFollower, type DeviceConfigAck, type DeviceConfigLedger } from '../src/configFollower';
import { refusalError } from './support/memoryMeterLedger';

const deviceConfig = new DeviceConfigContract();

/** The DeviceConfig contract on the in-memory ledger, as the household's meter calls it. */
function meterLedger(world: World, household: Household): DeviceConfigLedger & { calls: string[] } {
  const calls: string[] = [];
  const run = async (
    name: string,
    fn: Parameters<World['run']>[1],
    transient?: Record<string, Uint8Array>,
  ) => {
    calls.push(name);
    try {
      return (await world.run(household.meter, fn, transient ? { transient } : undefined)) as string;
    } catch (err) {
      throw refusalError((err as Error).message);
    }
  };
  return {
    calls,
    async registerDeviceKey(publicKeyPem) {
      await run('RegisterDeviceKey', (ctx) =>
        deviceConfig.RegisterDeviceKey(ctx, household.subscriptionId, publicKeyPem),
      );
    },
    async latestDeviceConfig() {
      try {
        return JSON.parse(
          await run('LatestDeviceConfig', (ctx) => deviceConfig.LatestDeviceConfig(ctx, household.meterId)),
        ) as DeviceConfigRecord;
      } catch (err) {
        if (/NOT_FOUND/.test(String((err as { details?: { message: string }[] }).details?.[0]?.message)))
          return undefined;
        throw err;
      }
    },
    async acknowledgeDeviceConfig(ack: DeviceConfigAck) {
      await run(
        `Acknowledge:${ack.status}`,
        (ctx) =>
          deviceConfig.AcknowledgeDeviceConfig(
            ctx,
            household.meterId,
            String(ack.version),
            ack.status,
            ack.configHash,
            ack.reason,
            ack.effectiveFrom ?? '',
          ),
        ack.config ? { config: ack.config } : undefined,
      );
    },
  };
}

/** The configuration administrator publishes `config` for the meter, sealed for `sealFor` (its device key by default). */
async function publish(
  world: World,
  household: Household,
  config: DeviceConfig,
  priority: ConfigPriority,
  version: number,
  sealFor?: string,
): Promise<void> {
  const key = JSON.parse(
    await world.run(id.d1ConfigAdmin, (ctx) => deviceConfig.GetDeviceKey(ctx, household.meterId)),
  ) as DeviceKeyRecord;
  const sealed = sealConfigForDevice(
    config,
    sealFor ?? key.publicKeyPem,
    deviceConfigContext('northgrid', household.meterId, version),
  ).toString('base64');
  const request = {
    targets: [{ meterId: household.meterId, version, sealed }],
    priority,
    schemaVersion: 1,
    configHash: configHash(config),
  };
  await world.run(id.d1ConfigAdmin, (ctx) => deviceConfig.PublishDeviceConfig(ctx, JSON.stringify(request)), {
    transient: { config: canonicalConfigBytes(config) },
  });
}

async function statusOf(world: World, household: Household): Promise<DeviceConfigVersionStatus> {
  const json = await world.run(id.d1Operator, (ctx) =>
    deviceConfig.DeviceConfigStatus(ctx, household.meterId, ''),
  );
  return JSON.parse(json) as DeviceConfigVersionStatus;
}

async function pairedMeter(): Promise<{ world: World; household: Household }> {
  const world = await World.create();
  const household = await world.approved();
  await world.run(household.meter, (ctx) =>
    contracts.subscription.ConfirmPairing(
      ctx,
      household.subscriptionId,
      pairingProof(household.sessionKey, household.meterId),
    ),
  );
  return { world, household };
}

function follower(world: World, household: Household, stateDir: string) {
  const applied: DeviceConfig[] = [];
  const said: string[] = [];
  const ledger = meterLedger(world, household);
  const configs = new ConfigFollower({
    meterId: household.meterId,
    channel: 'northgrid',
    ledger,
    stateDir,
    pollSeconds: 5,
    apply: (config) => applied.push(config),
    say: (level, event, message) => said.push(`${level} ${event} ${message}`),
  });
  return { configs, applied, said, ledger };
}

describe('the meter follows its device configuration', () => {
  it('registers its own key once (0600), applies an urgent version at the next read and acknowledges it with its hash', async () => {
    const { world, household } = await pairedMeter();
    const dir = mkdtempSync(join(tmpdir(), 'config-follower-'));
    const { configs, applied, said, ledger } = follower(world, household, dir);

    await configs.poll();
    expect(statSync(join(dir, 'device-key.pem')).mode & 0o777).toBe(0o600);
    expect(ledger.calls).toEqual(['RegisterDeviceKey', 'LatestDeviceConfig']);

    const config: DeviceConfig = {
      schemaVersion: 1,
      maxJitterSeconds: 30,
      display: { message: 'new tariff from May' },
    };
    await publish(world, household, config, 'urgent', 1);
    await configs.poll();

    expect(applied).toEqual([config]);
    expect(await statusOf(world, household)).toMatchObject({
      version: 1,
      state: 'APPLIED',
      configHash: configHash(config),
    });
    expect(said.filter((line) => line.includes('config.applied'))).toHaveLength(1);
    // Read again: nothing new, nothing answered twice; the key is not registered again.
    await configs.poll();
    expect(ledger.calls).toEqual([
      'RegisterDeviceKey',
      'LatestDeviceConfig',
      'LatestDeviceConfig',
      'Acknowledge:applied',
      'LatestDeviceConfig',
    ]);
  });

  it('takes a routine version only at its next subscription refresh, saying once meanwhile that it holds it', async () => {
    const { world, household } = await pairedMeter();
    const { configs, applied, ledger } = follower(
      world,
      household,
      mkdtempSync(join(tmpdir(), 'config-follower-')),
    );
    await configs.register();
    const config: DeviceConfig = { schemaVersion: 1, firmwarePin: '2.4.1' };
    await publish(world, household, config, 'routine', 1);

    await configs.poll();
    await configs.poll();
    expect(applied).toEqual([]);
    expect((await statusOf(world, household)).state).toBe('DELIVERED');
    expect(ledger.calls.filter((c) => c.startsWith('Acknowledge'))).toEqual(['Acknowledge:delivered']);

    configs.atRefresh();
    await configs.poll();
    expect(applied).toEqual([config]);
    expect((await statusOf(world, household)).state).toBe('APPLIED');
  });

  it('refuses a version that does not open with its key, applies nothing, and the refusal with its reason is on the ledger', async () => {
    const { world, household } = await pairedMeter();
    const { configs, applied, said } = follower(
      world,
      household,
      mkdtempSync(join(tmpdir(), 'config-follower-')),
    );
    await configs.register();
    await publish(
      world,
      household,
      { schemaVersion: 1, maxJitterSeconds: 5 },
      'security',
      1,
      newOrgKeyPair().publicKeyPem,
    );

    await configs.poll();

    expect(applied).toEqual([]);
    const status = await statusOf(world, household);
    expect(status).toMatchObject({ version: 1, state: 'FAILED' });
    expect(status.reason).toMatch(/^UNREADABLE: /);
    expect(
      said.some((line) => line.startsWith('warn config.refused refused configuration version 1: UNREADABLE')),
    ).toBe(true);
  });

  it('after a restart keeps its key and what it applied, and answers no version twice', async () => {
    const { world, household } = await pairedMeter();
    const dir = mkdtempSync(join(tmpdir(), 'config-follower-'));
    const first = follower(world, household, dir);
    await first.configs.register();
    const config: DeviceConfig = { schemaVersion: 1, maxJitterSeconds: 120 };
    await publish(world, household, config, 'urgent', 1);
    await first.configs.poll();
    const key = readFileSync(join(dir, 'device-key.pem'), 'utf8');

    const second = follower(world, household, dir);
    await second.configs.poll();

    expect(readFileSync(join(dir, 'device-key.pem'), 'utf8')).toBe(key);
    expect(second.configs.applied).toEqual({ version: 1, configHash: configHash(config), config });
    expect(second.applied).toEqual([]);
    expect(second.ledger.calls).toEqual(['LatestDeviceConfig']);
  });
});
