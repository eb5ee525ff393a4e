import type { Command } from 'commander';
import { CryptoInputError, DecryptionError } from '@smartmeter/crypto';
import { isoSecondsOf, type SubscriptionRecord } from '@smartmeter/domain';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Keystore } from '../keystore';
import { join } from 'node:path';
import { renderChart } from '../charts';
import { ServiceUnreachable, UsageError } from '../errors';
import { formatKwh, formatMoney, printRows } from '../output';
import { DEFAULT_REPORT_DB_NAME } from '../reporting/reportDb';
import {
  filterDefined,
  groupSubscriptions,
  DEFAULT_MIN_HOUSEHOLDS,
  missingReadings,
  type LoadRow,
  type SubscriptionGrouping,
} from '../reporting/reports';
import type { SyncOptions, SyncResult } from '../reporting/sync';
import { sessionKeyFor } from '../sessionKeys';
import { accessRequestColumns } from './personalData';
import { integerOption, isoOption, optionalIsoOption } from './context';
import type { CommandDeps, ReportStore } from './deps';

/** Which reporting database: --db-url and --db-name. */
export interface DbOptions {
  dbUrl?: string;
  dbName: string;
}

/** --db-url, then REPORT_DB_URL, then the profile's reportDbUrl (./test-network.sh up writes it). */
function reportDbUrl(deps: CommandDeps, o: DbOptions): string {
  const url = o.dbUrl || deps.env.REPORT_DB_URL || deps.profile().reportDbUrl;
  if (!url)
    throw new UsageError(
      'no reporting database: pass --db-url, set REPORT_DB_URL, or use a profile with reportDbUrl',
    );
  return url;
}

async function openDb(deps: CommandDeps, o: DbOptions): Promise<ReportStore> {
  const url = reportDbUrl(deps, o);
  try {
    return await deps.openReportDb(url, o.dbName);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT')
      throw new ServiceUnreachable(
        `cannot reach the reporting database at ${redact(url)}; is the network up? ./test-network.sh status`,
      );
    throw err;
  }
}

/** Hides credentials in a URL before printing it. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** The key, or why the organization cannot unwrap it (e.g. its private key of that version is not in this keystore). */
export function unwrapForReports(
  subscription: SubscriptionRecord,
  mspId: string,
  keystore: Keystore,
): Buffer | { unavailable: string } {
  try {
    return sessionKeyFor(subscription, mspId, keystore).key;
  } catch (err) {
    if (err instanceof UsageError || err instanceof CryptoInputError || err instanceof DecryptionError)
      return { unavailable: err.message };
    throw err;
  }
}

export interface ReportSyncOptions extends DbOptions {
  /** Keep following new blocks until interrupted. */
  follow?: boolean;
  /** Where checkpoints are kept (default: <keystore>/report-sync). */
  checkpointDir?: string;
}

/** Syncs the --channel, or every channel of the profile, each from its file checkpoint. */
export async function runReportSync(deps: CommandDeps, options: ReportSyncOptions): Promise<void> {
  const profile = deps.profile();
  const keystore = deps.keystore();
  const db = await openDb(deps, options);
  const channels = deps.globals.channel ? [deps.globals.channel] : profile.channels;
  const checkpointDir = options.checkpointDir ?? join(keystore.dir, 'report-sync');
  mkdirSync(checkpointDir, { recursive: true, mode: 0o700 });
  const abort = new AbortController();
  const release = deps.onInterrupt(() => {
    abort.abort();
  });
  const sessionKey = (subscription: SubscriptionRecord) =>
    unwrapForReports(subscription, profile.mspId, keystore);
  try {
    const results = await Promise.all(
      channels.map(async (channel) => {
        const syncOptions = channelSyncOptions(deps, channel, {
          checkpointPath: join(checkpointDir, `${options.dbName}.${channel}.json`),
          follow: Boolean(options.follow),
          signal: abort.signal,
        });
        return { channel, ...(await db.syncChannel(channel, sessionKey, syncOptions)) };
      }),
    );
    printSyncResults(deps, results);
  } finally {
    release();
  }
}

/** A channel's sync tells its progress on stderr, each line prefixed with the channel. */
function channelSyncOptions(
  deps: CommandDeps,
  channel: string,
  options: Pick<SyncOptions, 'checkpointPath' | 'follow' | 'signal'>,
): SyncOptions {
  const stderr = deps.output.stderr;
  return {
    ...options,
    onSkip: (subscriptionId, reason) => {
      stderr.write(`${channel}: readings of ${subscriptionId} are not counted in the load: ${reason}\n`);
    },
    onBlock: (block, written) => {
      stderr.write(`${channel}: synced block ${block} (${written} documents)\n`);
    },
  };
}

function printSyncResults(deps: CommandDeps, results: (SyncResult & { channel: string })[]): void {
  printRows(
    deps.output,
    results.map((r) => ({
      channel: r.channel,
      blocks: r.blocks,
      documents: r.written,
      skipped: r.skippedReadings,
      height: Number(r.height),
    })),
    [
      { header: 'channel', value: (r) => r.channel },
      { header: 'blocks synced', value: (r) => r.blocks },
      { header: 'documents written', value: (r) => r.documents },
      { header: 'height', value: (r) => r.height },
      { header: 'readings not counted', value: (r) => r.skipped },
    ],
  );
}

export interface ReportLoadOptions extends DbOptions {
  regionCode: string;
  from: string;
  to: string;
  bucketSeconds: number;
  minHouseholds: number;
  /** Also draw the load into this SVG file. */
  svg?: string;
}

export interface ReportLoadFlags extends DbOptions {
  region: string;
  from: string;
  to: string;
  interval: string;
  minHouseholds?: string;
  svg?: string;
}

/** env: where REPORT_MIN_HOUSEHOLDS comes from when --min-households is not given. */
export function parseLoadOptions(
  flags: ReportLoadFlags,
  env: Readonly<Record<string, string | undefined>>,
): ReportLoadOptions {
  const from = isoOption('--from', flags.from);
  const to = isoOption('--to', flags.to);
  if (to <= from) throw new UsageError('--to must be after --from');
  const bucketSeconds = integerOption('--interval', flags.interval, 60, 31 * 86_400);
  const minHouseholds = integerOption(
    '--min-households',
    flags.minHouseholds ?? env.REPORT_MIN_HOUSEHOLDS ?? String(DEFAULT_MIN_HOUSEHOLDS),
    1,
    1_000_000,
  );
  const { dbUrl, dbName, region: regionCode, svg } = flags;
  return { dbUrl, dbName, regionCode, from, to, bucketSeconds, minHouseholds, svg };
}

/** Buckets over fewer than minHouseholds households are suppressed, and stderr says how many. */
export async function runReportLoad(deps: CommandDeps, options: ReportLoadOptions): Promise<void> {
  const { regionCode, from, to, minHouseholds } = options;
  const db = await openDb(deps, options);
  let rows;
  try {
    rows = await db.load(regionCode, from, to, options.bucketSeconds, minHouseholds);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  if (options.svg) {
    writeFileSync(options.svg, loadChart(rows, options));
    deps.output.stderr.write(`wrote ${options.svg}\n`);
  }
  const suppressed = rows.filter((r) => r.suppressed).length;
  if (suppressed > 0) {
    deps.output.stderr.write(
      `${suppressed} of ${rows.length} buckets suppressed: they cover fewer than ${minHouseholds} households (a larger --interval or region merges them)\n`,
    );
  }
  printRows(deps.output, rows, [
    { header: 'period start', value: (r) => r.periodStart },
    { header: 'energy kWh', value: (r) => (r.energyWh === null ? 'suppressed' : formatKwh(r.energyWh)) },
    { header: 'households', value: (r) => r.households },
    { header: 'readings', value: (r) => r.readingCount },
  ]);
}

function loadChart(rows: LoadRow[], options: ReportLoadOptions): string {
  return renderChart(
    rows.map((r) => ({
      label: r.periodStart.slice(5, 16).replace('T', ' '),
      value: (r.energyWh ?? 0) / 1000,
    })),
    {
      title: `Load of ${options.regionCode}, ${options.from} to ${options.to}`,
      unit: 'kWh',
    },
  );
}

const GROUPINGS: readonly SubscriptionGrouping[] = ['status', 'distributor', 'region'];

export function parseGrouping(by: string): SubscriptionGrouping {
  if (!GROUPINGS.includes(by as SubscriptionGrouping))
    throw new UsageError('--by must be status, distributor or region');
  return by as SubscriptionGrouping;
}

export async function runReportSubscriptions(
  deps: CommandDeps,
  options: DbOptions & { by: SubscriptionGrouping },
): Promise<void> {
  const db = await openDb(deps, options);
  printRows(deps.output, groupSubscriptions(await db.subscriptions(), options.by), [
    { header: options.by, value: (r) => r.group },
    { header: 'subscriptions', value: (r) => r.subscriptions },
  ]);
}

export async function runReportMissingReadings(
  deps: CommandDeps,
  options: DbOptions & { asOf?: string },
): Promise<void> {
  const asOf = options.asOf ?? isoSecondsOf(deps.now());
  const db = await openDb(deps, options);
  printRows(deps.output, missingReadings(await db.subscriptions(), asOf), [
    { header: 'subscription', value: (r) => r.subscriptionId },
    { header: 'channel', value: (r) => r.channel },
    { header: 'region', value: (r) => r.regionCode },
    { header: 'expected', value: (r) => r.expected },
    { header: 'received', value: (r) => r.received },
    { header: 'missing', value: (r) => r.missing },
    { header: 'last period', value: (r) => r.lastPeriodStart },
  ]);
}

export async function runReportAccessRequests(
  deps: CommandDeps,
  options: DbOptions & { status?: string; requester?: string },
): Promise<void> {
  const db = await openDb(deps, options);
  const docs = await db.accessRequests(
    filterDefined({ status: options.status?.toUpperCase(), requesterMspId: options.requester }),
  );
  docs.sort((a, b) => (a.requestedAt < b.requestedAt ? -1 : a.requestedAt > b.requestedAt ? 1 : 0));
  printRows(deps.output, docs, accessRequestColumns);
}

export async function runReportBills(
  deps: CommandDeps,
  options: DbOptions & { status?: string; distributor?: string },
): Promise<void> {
  const db = await openDb(deps, options);
  const docs = await db.bills(
    filterDefined({ status: options.status?.toUpperCase(), distributorMspId: options.distributor }),
  );
  printRows(deps.output, docs, [
    { header: 'bill', value: (b) => b.billId },
    { header: 'subscription', value: (b) => b.subscriptionId },
    { header: 'distributor', value: (b) => b.distributorMspId },
    { header: 'period', value: (b) => `${b.periodFrom} - ${b.periodTo}` },
    { header: 'energy kWh', value: (b) => formatKwh(b.energyWh) },
    { header: 'total', value: (b) => formatMoney(b.totalMinor, b.currency) },
    { header: 'status', value: (b) => b.status },
  ]);
}

function dbOptions(command: Command): Command {
  return command
    .option('--db-url <url>', 'CouchDB-API server (default: REPORT_DB_URL or the profile reportDbUrl)')
    .option('--db-name <name>', 'database name', DEFAULT_REPORT_DB_NAME);
}

export function registerReportCommands(program: Command, deps: () => CommandDeps): void {
  const report = program
    .command('report')
    .description(
      "the authority's reporting database: synced from the ledger, aggregated, never individual readings",
    );

  dbOptions(
    report
      .command('sync')
      .description(
        'follow the blocks of the channel(s) into the reporting database, resuming from a file checkpoint',
      )
      .option('--follow', 'keep following new blocks until interrupted (default: stop when caught up)')
      .option('--checkpoint-dir <dir>', 'where checkpoints are kept (default: <keystore>/report-sync)')
      .addHelpText(
        'after',
        '\nWithout --channel every channel of the profile is synced. Readings are decrypted with the organization key\nfrom the keystore and only their per-region, per-period sums are stored.\nExample:\n  meterctl -p .network/profiles/authority.json report sync',
      ),
  ).action((options: ReportSyncOptions) => runReportSync(deps(), options));

  dbOptions(
    report
      .command('load')
      .description("a region's energy per period, summed over its households")
      .requiredOption('--region <regionCode>', 'grid area, e.g. north/d1')
      .requiredOption('--from <time>', 'start (UTC)')
      .requiredOption('--to <time>', 'end (exclusive)')
      .option('--interval <seconds>', 'bucket size in seconds', '3600')
      .option(
        '--min-households <k>',
        `show a bucket's sum only when it covers at least k households (REPORT_MIN_HOUSEHOLDS, default ${DEFAULT_MIN_HOUSEHOLDS})`,
      )
      .option('--svg <file>', 'also draw the load as an SVG chart')
      .addHelpText(
        'after',
        '\nA sum over fewer than k households is one of them: such buckets are suppressed (shown empty, and said so).\nExample:\n  meterctl -p .network/profiles/authority.json report load --region north/d1 --from 2026-11-01 --to 2026-11-02 --svg load.svg',
      ),
  ).action((flags: ReportLoadFlags) => {
    const commandDeps = deps();
    return runReportLoad(commandDeps, parseLoadOptions(flags, commandDeps.env));
  });

  dbOptions(
    report
      .command('subscriptions')
      .description('subscriptions counted by status, distributor or region')
      .option('--by <grouping>', 'status, distributor or region', 'status'),
  ).action((flags: DbOptions & { by: string }) => {
    const by = parseGrouping(flags.by);
    return runReportSubscriptions(deps(), { ...flags, by });
  });

  dbOptions(
    report
      .command('missing-readings')
      .description('active and ended subscriptions with fewer readings than periods that have passed')
      .option('--as-of <time>', 'count periods ended by this time (default: now)'),
  ).action((flags: DbOptions & { asOf?: string }) => {
    const asOf = optionalIsoOption('--as-of', flags.asOf);
    return runReportMissingReadings(deps(), { ...flags, asOf });
  });

  dbOptions(
    report
      .command('access-requests')
      .description('the log of personal-data access requests')
      .option('--status <status>', 'PENDING, GRANTED or DENIED')
      .option('--requester <mspId>', 'only requests by this organization'),
  ).action((options: DbOptions & { status?: string; requester?: string }) =>
    runReportAccessRequests(deps(), options),
  );

  dbOptions(
    report
      .command('bills')
      .description('bills with their totals')
      .option('--status <status>', 'ISSUED, DISPUTED, RESOLVED or PAID')
      .option('--distributor <mspId>', 'only this distributor'),
  ).action((options: DbOptions & { status?: string; distributor?: string }) =>
    runReportBills(deps(), options),
  );
}
