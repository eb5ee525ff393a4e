import type { Command } from 'commander';
import { UTILITIES, type Utility } from '@smartmeter/crypto';
import {
  canonicalConfigBytes,
  CONFIG_PRIORITIES,
  configHash,
  DEVICE_CONFIG_SCHEMA_VERSION,
  MAX_CONFIG_TARGETS,
  deviceConfigContext,
  sealConfigForDevice,
  utilityOf,
  validateDeviceConfig,
  type ConfigPriority,
  type DeviceConfig,
  type DeviceConfigHistoryEntry,
  type DeviceConfigRecord,
  type DeviceConfigVersionStatus,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import type { DeviceConfigTarget } from '../contracts/DeviceConfigClient';
import { UsageError } from '../errors';
import { readStructuredFile } from '../jsonFile';
import { printRows, type Column } from '../output';
import { transientEndorsers } from './context';
import { registerDeviceHealthCommand } from './deviceHealth';
import type { CommandDeps, ContractClients } from './deps';

/** Which meters a publication is for: named meters, or the active subscriptions of a grid area. */
export type ConfigTargets = { meterIds: string[] } | { regionCode: string; utility?: Utility };

export interface ConfigPublishPlan {
  config: DeviceConfig;
  priority: ConfigPriority;
  targets: ConfigTargets;
}

interface PublishFlags {
  file: string;
  meter?: string[];
  region?: string;
  utility?: string;
  priority: string;
}

/** The configuration file, validated: every schema error by field, before anything is sent (exit 2). */
export function readDeviceConfigFile(path: string): DeviceConfig {
  const parsed = readStructuredFile(path, 'configuration file', (message) => new UsageError(message));
  const { config, errors } = validateDeviceConfig(parsed);
  if (!config) throw new UsageError(`configuration file ${path} is invalid: ${errors.join('; ')}`);
  return config;
}

function parsePriority(value: string): ConfigPriority {
  const priority = CONFIG_PRIORITIES.find((known) => known === value);
  if (!priority) throw new UsageError(`--priority must be one of ${CONFIG_PRIORITIES.join(', ')}`);
  return priority;
}

function parseTargets(flags: PublishFlags): ConfigTargets {
  const meters = flags.meter ?? [];
  if (meters.length > 0 === (flags.region !== undefined)) {
    throw new UsageError('give either --meter <id>... or --region <code> [--utility <u>]');
  }
  if (meters.length > 0) {
    if (flags.utility) throw new UsageError('--utility selects within a --region');
    return { meterIds: [...new Set(meters)] };
  }
  const utility =
    flags.utility === undefined ? undefined : UTILITIES.find((known) => known === flags.utility);
  if (flags.utility !== undefined && !utility) {
    throw new UsageError(`--utility must be one of ${UTILITIES.join(', ')}`);
  }
  return { regionCode: flags.region ?? '', ...(utility ? { utility } : {}) };
}

/** Everything checked locally, in one pass, before a connection is opened. */
export function parseConfigPublish(flags: PublishFlags): ConfigPublishPlan {
  return {
    config: readDeviceConfigFile(flags.file),
    priority: parsePriority(flags.priority),
    targets: parseTargets(flags),
  };
}

/** A grid area includes its sub-areas: north/d3 selects north/d3/c12. */
function inRegion(subscription: SubscriptionRecord, regionCode: string): boolean {
  const code = subscription.approval?.regionCode ?? '';
  return code === regionCode || code.startsWith(`${regionCode}/`);
}

/** The meters of the distributor's active subscriptions in a grid area (and of one utility, if given). */
export function meterIdsOfGroup(
  subscriptions: readonly SubscriptionRecord[],
  group: { regionCode: string; utility?: Utility },
): string[] {
  const chosen = subscriptions.filter(
    (s) => inRegion(s, group.regionCode) && (!group.utility || utilityOf(s) === group.utility),
  );
  return [...new Set(chosen.map((s) => s.meterId))].sort();
}

async function resolveMeterIds(clients: ContractClients, targets: ConfigTargets): Promise<string[]> {
  if ('meterIds' in targets) return targets.meterIds;
  const meterIds = meterIdsOfGroup(await clients.subscriptions.all('ACTIVE'), targets);
  if (meterIds.length === 0) {
    throw new UsageError(
      `no active subscription in ${targets.regionCode}${targets.utility ? ` for ${targets.utility}` : ''}: nothing to publish`,
    );
  }
  return meterIds;
}

/** Each meter's next version, sealed for its current device key under this channel, meter and version. */
async function sealedTargets(
  clients: ContractClients,
  channel: string,
  config: DeviceConfig,
  meterIds: string[],
): Promise<DeviceConfigTarget[]> {
  const latest = new Map((await clients.deviceConfig.fleetStatus('')).map((s) => [s.meterId, s.version]));
  const targets: DeviceConfigTarget[] = [];
  for (const meterId of meterIds) {
    const deviceKey = await clients.deviceConfig.deviceKey(meterId);
    const version = (latest.get(meterId) ?? 0) + 1;
    const sealed = sealConfigForDevice(
      config,
      deviceKey.publicKeyPem,
      deviceConfigContext(channel, meterId, version),
    );
    targets.push({ meterId, version, sealed: sealed.toString('base64') });
  }
  return targets;
}

export async function runConfigPublish(deps: CommandDeps, plan: ConfigPublishPlan): Promise<void> {
  const records = await deps.withChannel(async (clients, { channel, profile }) => {
    const meterIds = await resolveMeterIds(clients, plan.targets);
    const targets = await sealedTargets(clients, channel, plan.config, meterIds);
    // A group larger than one transaction may carry goes in several, each all or nothing.
    const published: DeviceConfigRecord[] = [];
    for (let i = 0; i < targets.length; i += MAX_CONFIG_TARGETS) {
      published.push(
        ...(await clients.deviceConfig.publish(
          {
            targets: targets.slice(i, i + MAX_CONFIG_TARGETS),
            priority: plan.priority,
            schemaVersion: DEVICE_CONFIG_SCHEMA_VERSION,
            configHash: configHash(plan.config),
          },
          canonicalConfigBytes(plan.config),
          transientEndorsers({ distributorMspId: profile.mspId }, profile),
        )),
      );
    }
    return published;
  });
  printRows<DeviceConfigRecord>(deps.output, records, [
    { header: 'meter', value: (r) => r.meterId },
    { header: 'version', value: (r) => r.version },
    { header: 'priority', value: (r) => r.priority },
    { header: 'config hash', value: (r) => r.configHash },
    { header: 'published', value: (r) => r.publishedAt },
  ]);
}

const STATUS_COLUMNS: Column<DeviceConfigVersionStatus>[] = [
  { header: 'meter', value: (s) => s.meterId },
  { header: 'version', value: (s) => s.version },
  { header: 'priority', value: (s) => s.priority },
  { header: 'state', value: (s) => s.state },
  { header: 'published', value: (s) => s.publishedAt },
  { header: 'delivered', value: (s) => s.deliveredAt ?? '' },
  { header: 'applied', value: (s) => s.appliedAt ?? '' },
  { header: 'failed', value: (s) => (s.failedAt ? `${s.failedAt} ${s.reason ?? ''}`.trim() : '') },
];

export async function runConfigStatus(
  deps: CommandDeps,
  meterIds: string[],
  flags: { all?: boolean; distributor?: string },
): Promise<void> {
  if (meterIds.length > 0 === Boolean(flags.all)) throw new UsageError('give meter ids or --all');
  const distributor = flags.distributor ?? '';
  const rows = await deps.withChannel(async ({ deviceConfig }) => {
    if (flags.all) return deviceConfig.fleetStatus(distributor);
    const statuses: DeviceConfigVersionStatus[] = [];
    for (const meterId of meterIds) statuses.push(await deviceConfig.status(meterId, distributor));
    return statuses;
  });
  printRows(deps.output, rows, STATUS_COLUMNS);
}

export async function runConfigHistory(
  deps: CommandDeps,
  meterId: string,
  flags: { distributor?: string },
): Promise<void> {
  const rows = await deps.withChannel(({ deviceConfig }) =>
    deviceConfig.history(meterId, flags.distributor ?? ''),
  );
  printRows<DeviceConfigHistoryEntry>(deps.output, rows, [
    ...(STATUS_COLUMNS as Column<DeviceConfigHistoryEntry>[]),
    { header: 'config hash', value: (h) => h.configHash },
    { header: 'tx', value: (h) => h.txId },
  ]);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function registerPublish(config: Command, deps: () => CommandDeps): void {
  config
    .command('publish')
    .description(
      "publish a configuration (JSON or YAML, schema version 1) for meters, sealed for each meter's device key; needs the distributor's config-admin identity",
    )
    .requiredOption('--file <file>', 'the configuration file')
    .option('--meter <meterId>', 'a target meter (repeat for more)', collect)
    .option('--region <code>', "every active subscription's meter in this grid area and its sub-areas")
    .option('--utility <utility>', `only meters of this utility within --region (${UTILITIES.join(', ')})`)
    .option('--priority <priority>', CONFIG_PRIORITIES.join(', '), 'routine')
    .addHelpText(
      'after',
      '\nExamples:\n  meterctl -p .network/profiles/distributor1.json -i config-admin device config publish --file examples/device-config.json --meter MTR-001 --meter MTR-002 --priority urgent\n  meterctl -p .network/profiles/distributor1.json -i config-admin device config publish --file cfg.yaml --region north/d3 --utility gas',
    )
    .action((flags: PublishFlags) => {
      const plan = parseConfigPublish(flags);
      return runConfigPublish(deps(), plan);
    });
}

function registerStatusAndHistory(config: Command, deps: () => CommandDeps): void {
  config
    .command('status [meterIds...]')
    .description('where the latest configuration stands per meter: published, delivered, applied or failed')
    .option('--all', 'every meter of the distributor that has a configuration')
    .option('--distributor <mspId>', "the distributor (the authority's auditors name it)")
    .addHelpText(
      'after',
      '\nExamples:\n  meterctl -p .network/profiles/distributor1.json -i config-admin device config status MTR-001 MTR-002\n  meterctl -p .network/profiles/authority.json -c northgrid device config status --all --distributor Distributor1MSP --csv',
    )
    .action((meterIds: string[], flags: { all?: boolean; distributor?: string }) =>
      runConfigStatus(deps(), meterIds, flags),
    );
  config
    .command('history <meterId>')
    .description("every configuration version of a meter, oldest first, with the meter's answers")
    .option('--distributor <mspId>', "the distributor (the authority's auditors name it)")
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json device config history MTR-001 --json',
    )
    .action((meterId: string, flags: { distributor?: string }) => runConfigHistory(deps(), meterId, flags));
}

/**
 * `meterctl device config ...`. The `device` group may also hold other device commands, so it is reused when
 * another module registered it first.
 */
export function registerDeviceCommands(program: Command, deps: () => CommandDeps): void {
  const device =
    program.commands.find((command) => command.name() === 'device') ??
    program
      .command('device')
      .description('meter devices: configuration published on the ledger, sealed per device')
      .addHelpText(
        'after',
        '\nExample:\n  meterctl -p .network/profiles/distributor1.json -i config-admin device config status --all',
      );
  const config = device
    .command('config')
    .description('device configurations: publish (config-admin), status and history')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json -i config-admin device config publish --file cfg.json --meter MTR-001',
    );
  registerPublish(config, deps);
  registerStatusAndHistory(config, deps);
  registerDeviceHealthCommand(device, deps);
}
