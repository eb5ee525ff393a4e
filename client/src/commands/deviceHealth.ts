import type { Command } from 'commander';
import {
  isoSeconds,
  silentDevices,
  type DeviceContact,
  type DeviceHealthRecord,
  type DeviceSilentAlert,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { UsageError } from '../errors';
import { formatTable, printResult, printRows, type Column } from '../output';
import type { CommandDeps, ContractClients } from './deps';

/** One meter in the health table: its latest report, its latest reading, and its alert if it is silent. */
export interface DeviceHealthRow {
  meterId: string;
  subscriptionId: string;
  health?: DeviceHealthRecord;
  /** End of the latest period with a reading, within twice the allowance. */
  lastReadingAt?: string;
  alert?: DeviceSilentAlert;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90s", "15m", "2h", "1d" or plain seconds. */
export function parseDuration(name: string, value: string): number {
  const match = /^([1-9][0-9]*)([smhd]?)$/.exec(value.trim());
  if (!match) throw new UsageError(`${name} must be a duration such as 90s, 15m, 2h or 1d (got "${value}")`);
  return Number(match[1]) * UNITS[match[2] || 's'];
}

/**
 * The health of the distributor's meters (its active subscriptions, or the meters named) and `device-silent`
 * alerts for those that reported no health or no reading within the allowance. Readings are looked for in the
 * window of twice the allowance before now, on the ledger (their ciphertexts are not opened).
 */
export async function runDeviceHealth(
  deps: CommandDeps,
  meterIds: string[],
  options: { silentAfterSeconds: number },
): Promise<void> {
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const rows = await deps.withChannel(async (clients, { profile }) => {
    const distributorMspId = profile.mspId;
    const subscriptions = (await clients.subscriptions.all('ACTIVE')).filter(
      (s) => meterIds.length === 0 || meterIds.includes(s.meterId),
    );
    const unknown = meterIds.filter((id) => !subscriptions.some((s) => s.meterId === id));
    if (unknown.length > 0)
      throw new UsageError(`no active subscription of ${distributorMspId} has meter ${unknown.join(', ')}`);
    const health = new Map((await clients.deviceHealth.all(distributorMspId)).map((h) => [h.meterId, h]));
    const from = isoSeconds(nowSeconds - 2 * options.silentAfterSeconds);
    const result: DeviceHealthRow[] = [];
    for (const subscription of subscriptions) {
      result.push({
        meterId: subscription.meterId,
        subscriptionId: subscription.subscriptionId,
        health: health.get(subscription.meterId),
        lastReadingAt: await lastReadingEnd(clients, subscription, from, isoSeconds(nowSeconds)),
      });
    }
    return result;
  });
  const contacts: DeviceContact[] = rows.map((row) => ({
    meterId: row.meterId,
    subscriptionId: row.subscriptionId,
    lastHealthAt: row.health?.reportedAt,
    lastReadingAt: row.lastReadingAt,
  }));
  const alerts = silentDevices(contacts, nowSeconds, options.silentAfterSeconds);
  for (const alert of alerts) {
    const row = rows.find((r) => r.meterId === alert.meterId);
    if (row) row.alert = alert;
  }
  printHealth(deps, rows, alerts);
}

async function lastReadingEnd(
  clients: ContractClients,
  subscription: SubscriptionRecord,
  from: string,
  to: string,
): Promise<string | undefined> {
  const readings = await clients.measurements.all(subscription.subscriptionId, from, to);
  const last = readings.at(-1);
  if (!last) return undefined;
  const interval = subscription.approval?.intervalSeconds ?? 1800;
  return isoSeconds(Date.parse(last.periodStart) / 1000 + interval);
}

const MB = 1_000_000;
const columns: Column<DeviceHealthRow>[] = [
  { header: 'meter', value: (r) => r.meterId },
  { header: 'subscription', value: (r) => r.subscriptionId },
  {
    header: 'battery',
    value: (r) => (r.health ? `${(r.health.batteryPermille / 10).toFixed(1)} %` : undefined),
    csv: [{ header: 'battery_permille', value: (r) => r.health?.batteryPermille }],
  },
  {
    header: 'free disk',
    value: (r) => (r.health ? `${Math.floor(r.health.freeDiskBytes / MB)} MB` : undefined),
    csv: [{ header: 'free_disk_bytes', value: (r) => r.health?.freeDiskBytes }],
  },
  {
    header: 'free memory',
    value: (r) => (r.health ? `${Math.floor(r.health.freeMemoryBytes / MB)} MB` : undefined),
    csv: [{ header: 'free_memory_bytes', value: (r) => r.health?.freeMemoryBytes }],
  },
  {
    header: 'uptime',
    value: (r) => (r.health ? `${r.health.uptimeSeconds}s` : undefined),
    csv: [{ header: 'uptime_seconds', value: (r) => r.health?.uptimeSeconds }],
  },
  { header: 'health reported', value: (r) => r.health?.reportedAt },
  { header: 'last reading', value: (r) => r.lastReadingAt },
  { header: 'alert', value: (r) => (r.alert ? `device-silent (${r.alert.silent})` : undefined) },
];

function printHealth(deps: CommandDeps, rows: DeviceHealthRow[], alerts: DeviceSilentAlert[]): void {
  if (deps.output.csv) {
    printRows(deps.output, rows, columns);
    return;
  }
  printResult(deps.output, { devices: rows, alerts }, () => {
    if (rows.length === 0) return 'no active subscription';
    const summary =
      alerts.length === 0
        ? `${rows.length} meter${rows.length === 1 ? '' : 's'}, none silent`
        : `${alerts.length} of ${rows.length} meters silent: ${alerts.map((a) => `${a.meterId} (${a.silent}${a.lastSeen ? `, last seen ${a.lastSeen}` : ', never seen'})`).join('; ')}`;
    return `${formatTable(rows, columns).trimEnd()}\n${summary}`;
  });
}

/** `meterctl device health`, under the `device` group. */
export function registerDeviceHealthCommand(device: Command, deps: () => CommandDeps): void {
  device
    .command('health [meterIds...]')
    .description(
      "the meters' latest health (battery, free disk and memory, uptime) and device-silent alerts, as the distributor",
    )
    .option(
      '--silent-after <duration>',
      'a meter with no health report or no reading for this long is silent (90s, 15m, 2h, 1d)',
      '2h',
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json device health --silent-after 1h\n  meterctl -p .network/profiles/distributor1.json --json device health mtr-0042',
    )
    .action((meterIds: string[], flags: { silentAfter: string }) =>
      runDeviceHealth(deps(), meterIds, {
        silentAfterSeconds: parseDuration('--silent-after', flags.silentAfter),
      }),
    );
}
