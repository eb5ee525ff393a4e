import type { Command } from 'commander';
import { CryptoInputError, DecryptionError } from '@smartmeter/crypto';
import { isoSecondsOf, type SubscriptionRecord } from '@smartmeter/domain';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Keystore } from '../keystore';
import { join } from 'node:path';
import { renderLoadChart } from '../charts';
import { UsageError } from '../errors';
import { formatKwh, printRows, type Column } from '../output';
import { OUTAGE_CODES, type OutageEvent, type OutageService } from '../reporting/outage';
import {
  DEFAULT_REPORT_DB_NAME,
  isConnectionFailure,
  redactUrl,
  reportDbUnreachable,
  type ReportBill,
} from '../reporting/reportDb';
import {
  filterDefined,
  groupSubscriptions,
  DEFAULT_MIN_HOUSEHOLDS,
  missingReadings,
  type LoadRow,
  type SubscriptionGrouping,
} from '../reporting/reports';
import type { KeyUnavailable, SkipKind, SyncOptions, SyncResult } from '../reporting/sync';
import { syncProgress, type SyncProgress } from '../reporting/syncProgress';
import { sessionKeyFor } from '../sessionKeys';
import { billFigureColumns } from './bill';
import { accessRequestColumns } from './personalData';
import { integerOption, isoOption, optionalIsoOption, resolveChannel } from './context';
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

/**
 * The reporting database, opened: a connection that fails, at open or at any later call, ends the command with
 * exit 3 and the database's URL (the ReportDb says so itself; this also covers errors with a connection code).
 */
export async function openReportStore(deps: CommandDeps, o: DbOptions): Promise<ReportStore> {
  const url = reportDbUrl(deps, o);
  const reachable = <T>(call: () => Promise<T>): Promise<T> =>
    call().catch((err: unknown) => {
      throw isConnectionFailure(err) ? reportDbUnreachable(url) : err;
    });
  const store = await reachable(() => deps.openReportDb(url, o.dbName));
  return {
    load: (...args) => reachable(() => store.load(...args)),
    subscriptions: () => reachable(() => store.subscriptions()),
    accessRequests: (selector) => reachable(() => store.accessRequests(selector)),
    bills: (selector) => reachable(() => store.bills(selector)),
    saveAnomalies: (findings) => reachable(() => store.saveAnomalies(findings)),
    syncChannel: (...args) => reachable(() => store.syncChannel(...args)),
  };
}

/**
 * The key, or why the organization cannot unwrap it, with the kind of reason for the sync's summary: no grant
 * to the organization, no private key of the version granted in this keystore, or a grant that does not unwrap.
 */
export function unwrapForReports(
  subscription: SubscriptionRecord,
  mspId: string,
  keystore: Keystore,
): Buffer | KeyUnavailable {
  const granted = subscription.keyGrants.some((grant) => grant.mspId === mspId);
  try {
    return sessionKeyFor(subscription, mspId, keystore).key;
  } catch (err) {
    if (err instanceof UsageError)
      return { unavailable: err.message, kind: granted ? 'no-private-key' : 'no-grant' };
    if (err instanceof CryptoInputError || err instanceof DecryptionError)
      return { unavailable: err.message, kind: 'key-does-not-unwrap' };
    throw err;
  }
}

export interface ReportSyncOptions extends DbOptions {
  /** Keep following new blocks until interrupted. */
  follow?: boolean;
  /** Where checkpoints are kept (default: <keystore>/report-sync). */
  checkpointDir?: string;
  /** Without a terminal, a progress line every this many blocks (and every PROGRESS_LINE_MS). */
  progressEvery: number;
}

/** Without a terminal, a channel's progress line comes at least this often while blocks are synced. */
export const PROGRESS_LINE_MS = 5000;

export function parseSyncOptions(
  flags: DbOptions & { follow?: boolean; checkpointDir?: string; progressEvery: string },
): ReportSyncOptions {
  const { progressEvery, ...rest } = flags;
  return { ...rest, progressEvery: integerOption('--progress-every', progressEvery, 1, 1_000_000) };
}

/**
 * Syncs the --channel, or every channel of the profile, each from its file checkpoint. Progress goes to stderr
 * (a bar per channel on a terminal, else a line now and then); readings left out of the load are summed into one
 * warning per channel and reason at the end, not told one by one.
 */
export async function runReportSync(deps: CommandDeps, options: ReportSyncOptions): Promise<void> {
  const profile = deps.profile();
  const channels = deps.globals.channel ? [resolveChannel(profile, deps.globals)] : profile.channels;
  const keystore = deps.keystore();
  const db = await openReportStore(deps, options);
  const checkpointDir = options.checkpointDir ?? join(keystore.dir, 'report-sync');
  mkdirSync(checkpointDir, { recursive: true, mode: 0o700 });
  const abort = new AbortController();
  const release = deps.onInterrupt(() => {
    abort.abort();
  });
  const sessionKey = (subscription: SubscriptionRecord) =>
    unwrapForReports(subscription, profile.mspId, keystore);
  const progress = syncProgress(deps.output.stderr, {
    everyBlocks: options.progressEvery,
    everyMs: PROGRESS_LINE_MS,
    now: () => deps.now(),
  });
  const notices = new OutageNotices(deps, progress, {
    reportDb: redactUrl(reportDbUrl(deps, options)),
    peer: profile.peer.endpoint,
  });
  let results: (SyncResult & { channel: string })[];
  try {
    results = await Promise.all(
      channels.map(async (channel) => {
        const syncOptions = channelSyncOptions(channel, progress, notices, {
          checkpointPath: join(checkpointDir, `${options.dbName}.${channel}.json`),
          follow: Boolean(options.follow),
          signal: abort.signal,
        });
        try {
          return { channel, ...(await db.syncChannel(channel, sessionKey, syncOptions)) };
        } finally {
          progress.finished(channel);
        }
      }),
    );
  } finally {
    progress.close();
    release();
  }
  printSkipSummary(deps, results);
  printSyncResults(deps, results);
}

/** A channel's sync tells its progress and outages; what it skips is summed in its result. */
function channelSyncOptions(
  channel: string,
  progress: SyncProgress,
  notices: OutageNotices,
  options: Pick<SyncOptions, 'checkpointPath' | 'follow' | 'signal'>,
): SyncOptions {
  let documents = 0;
  return {
    ...options,
    onOutage: (event) => {
      notices.tell(channel, event);
    },
    onStart: (from, height) => {
      progress.started(channel, Number(height > from ? height - from : 0n));
    },
    onBlock: (_block, written) => {
      documents += written;
      progress.block(channel, documents);
    },
  };
}

/** What the outage lines call each service a follower waits for. */
const SERVICE_NAMES: Readonly<Record<OutageService, string>> = {
  reportDb: 'reporting database',
  peer: 'gateway peer',
};

/**
 * Outages of `report sync --follow`, told once for all channels: they share the reporting database and the
 * gateway peer, so "waiting" comes when the first channel meets an outage and "back" when the last channel
 * waiting is through it. With --json each is a JSON object on a line of its own (stdout keeps the results).
 */
export class OutageNotices {
  private readonly away = new Map<OutageService, { since: number; channels: Set<string> }>();

  constructor(
    private readonly deps: CommandDeps,
    private readonly progress: SyncProgress,
    /** Where each service is: the database's URL (credentials hidden), the peer's endpoint. */
    private readonly addresses: Readonly<Record<OutageService, string>>,
  ) {}

  tell(channel: string, event: OutageEvent): void {
    if (event.kind === 'waiting') this.waiting(channel, event.service, event.reason);
    else this.back(channel, event.service);
  }

  private waiting(channel: string, service: OutageService, reason: string): void {
    const outage = this.away.get(service);
    if (outage) {
      outage.channels.add(channel);
      return;
    }
    this.away.set(service, { since: this.deps.now().getTime(), channels: new Set([channel]) });
    const text = `waiting for the ${SERVICE_NAMES[service]} at ${this.addresses[service]} (${reason})`;
    this.note(text, { event: 'waiting', code: OUTAGE_CODES[service], service, reason, channel });
  }

  private back(channel: string, service: OutageService): void {
    const outage = this.away.get(service);
    if (!outage?.channels.delete(channel) || outage.channels.size > 0) return;
    this.away.delete(service);
    const seconds = Math.round((this.deps.now().getTime() - outage.since) / 1000);
    this.note(`${SERVICE_NAMES[service]} back after ${seconds} s`, { event: 'back', service, seconds });
  }

  private note(
    text: string,
    event: { event: string; service: OutageService } & Record<string, unknown>,
  ): void {
    const at = isoSecondsOf(this.deps.now());
    const address = this.addresses[event.service];
    this.progress.note(this.deps.output.json ? JSON.stringify({ ...event, address, at }) : text);
  }
}

/** What each kind of skip means, for the summary line. */
const SKIP_KINDS: Readonly<Record<SkipKind, string>> = {
  'no-grant': 'their session key is not granted to this organization',
  'no-private-key': 'this keystore has no private key of the organization key version they are wrapped for',
  'key-does-not-unwrap': 'their key grant does not unwrap',
  'invalid-reading': 'they do not decrypt in their slot (INVALID_READING)',
};

/** One warning per channel and kind: how many readings of how many subscriptions, and the first reason. */
function printSkipSummary(deps: CommandDeps, results: (SyncResult & { channel: string })[]): void {
  const lines = results.flatMap((r) =>
    r.skipped.map((s) => {
      const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
      return `  ${r.channel}: ${count(s.readings, 'reading')} of ${count(s.subscriptionIds.length, 'subscription')}: ${SKIP_KINDS[s.kind]}; first ${s.subscriptionIds[0]}: ${s.reason}`;
    }),
  );
  if (lines.length === 0) return;
  deps.output.stderr.write(`warning: readings not counted in the load:\n${lines.join('\n')}\n`);
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
  const db = await openReportStore(deps, options);
  let rows;
  try {
    rows = await db.load(regionCode, from, to, options.bucketSeconds, minHouseholds);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  if (options.svg) {
    writeFileSync(options.svg, renderLoadChart(rows, options));
    deps.output.stderr.write(`wrote ${options.svg}\n`);
  }
  const suppressed = rows.filter((r) => r.suppressed).length;
  if (suppressed > 0) {
    deps.output.stderr.write(
      `${suppressed} of ${rows.length} buckets suppressed: they cover fewer than ${minHouseholds} households (a larger --interval or region merges them)\n`,
    );
  }
  printRows(deps.output, rows, loadColumns(options.bucketSeconds));
}

/** In CSV: the bucket's start and length, its energy in Wh (empty when suppressed) and whether it is. */
function loadColumns(bucketSeconds: number): Column<LoadRow>[] {
  return [
    {
      header: 'period start',
      value: (r) => r.periodStart,
      csv: [
        { header: 'period_start', value: (r) => r.periodStart },
        { header: 'interval_seconds', value: () => bucketSeconds },
      ],
    },
    {
      header: 'energy kWh',
      value: (r) => (r.energyWh === null ? 'suppressed' : formatKwh(r.energyWh)),
      csv: [
        { header: 'energy_wh', value: (r) => r.energyWh ?? undefined },
        { header: 'suppressed', value: (r) => r.suppressed },
      ],
    },
    { header: 'households', value: (r) => r.households },
    { header: 'readings', value: (r) => r.readingCount },
  ];
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
  const db = await openReportStore(deps, options);
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
  const db = await openReportStore(deps, options);
  printRows(deps.output, missingReadings(await db.subscriptions(), asOf), [
    { header: 'subscription', value: (r) => r.subscriptionId },
    { header: 'channel', value: (r) => r.channel },
    { header: 'region', value: (r) => r.regionCode },
    { header: 'expected', value: (r) => r.expected },
    { header: 'received', value: (r) => r.received },
    { header: 'missing', value: (r) => r.missing },
    {
      header: 'last period',
      value: (r) => r.lastPeriodStart,
      csv: [{ header: 'last_period_start', value: (r) => r.lastPeriodStart }],
    },
  ]);
}

export async function runReportAccessRequests(
  deps: CommandDeps,
  options: DbOptions & { status?: string; requester?: string },
): Promise<void> {
  const db = await openReportStore(deps, options);
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
  const db = await openReportStore(deps, options);
  const docs = await db.bills(
    filterDefined({ status: options.status?.toUpperCase(), distributorMspId: options.distributor }),
  );
  printRows(deps.output, docs, [
    { header: 'bill', value: (b) => b.billId },
    { header: 'subscription', value: (b) => b.subscriptionId },
    { header: 'distributor', value: (b) => b.distributorMspId },
    ...billFigureColumns<ReportBill>(),
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
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -k ~/.au report sync\n  meterctl -p .network/profiles/authority.json -k ~/.au report subscriptions --by region',
    );

  dbOptions(
    report
      .command('sync')
      .description(
        'follow the blocks of the channel(s) into the reporting database, resuming from a file checkpoint',
      )
      .option(
        '--follow',
        'keep following new blocks until interrupted, waiting out the reporting database or the peer going away (default: stop when caught up)',
      )
      .option('--checkpoint-dir <dir>', 'where checkpoints are kept (default: <keystore>/report-sync)')
      .option(
        '--progress-every <blocks>',
        `without a terminal, a progress line every this many blocks (and every ${PROGRESS_LINE_MS / 1000} s)`,
        '100',
      )
      .addHelpText(
        'after',
        `\nWithout --channel every channel of the profile is synced. Readings are decrypted with the organization key\nfrom the keystore and only their per-region, per-period sums are stored. Progress goes to stderr: a bar per\nchannel on a terminal, otherwise a line every --progress-every blocks or ${PROGRESS_LINE_MS / 1000} s. Readings that cannot\nbe counted are summed into one warning per channel and reason at the end.\nExample:\n  meterctl -p .network/profiles/authority.json report sync`,
      ),
  ).action((flags: DbOptions & { follow?: boolean; checkpointDir?: string; progressEvery: string }) => {
    const options = parseSyncOptions(flags);
    return runReportSync(deps(), options);
  });

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
        '\nA sum over fewer than k households is one of them: such buckets are suppressed (shown empty, and said so).\nWith --csv: period_start, interval_seconds, energy_wh (empty when suppressed), suppressed, households, readings.\nExample:\n  meterctl -p .network/profiles/authority.json report load --region north/d1 --from 2026-11-01 --to 2026-11-02 --svg load.svg',
      ),
  ).action((flags: ReportLoadFlags) => {
    const commandDeps = deps();
    return runReportLoad(commandDeps, parseLoadOptions(flags, commandDeps.env));
  });

  dbOptions(
    report
      .command('subscriptions')
      .description('subscriptions counted by status, distributor or region')
      .option('--by <grouping>', 'status, distributor or region', 'status')
      .addHelpText(
        'after',
        '\nExample:\n  meterctl -p .network/profiles/authority.json report subscriptions --by distributor',
      ),
  ).action((flags: DbOptions & { by: string }) => {
    const by = parseGrouping(flags.by);
    return runReportSubscriptions(deps(), { ...flags, by });
  });

  dbOptions(
    report
      .command('missing-readings')
      .description('active and ended subscriptions with fewer readings than periods that have passed')
      .option('--as-of <time>', 'count periods ended by this time (default: now)')
      .addHelpText(
        'after',
        '\nExample:\n  meterctl -p .network/profiles/authority.json --csv report missing-readings --as-of 2026-12-01',
      ),
  ).action((flags: DbOptions & { asOf?: string }) => {
    const asOf = optionalIsoOption('--as-of', flags.asOf);
    return runReportMissingReadings(deps(), { ...flags, asOf });
  });

  dbOptions(
    report
      .command('access-requests')
      .description('the log of personal-data access requests')
      .option('--status <status>', 'PENDING, GRANTED or DENIED')
      .option('--requester <mspId>', 'only requests by this organization')
      .addHelpText(
        'after',
        '\nExample:\n  meterctl -p .network/profiles/authority.json report access-requests --status GRANTED',
      ),
  ).action((options: DbOptions & { status?: string; requester?: string }) =>
    runReportAccessRequests(deps(), options),
  );

  dbOptions(
    report
      .command('bills')
      .description('bills with their totals')
      .option('--status <status>', 'ISSUED, DISPUTED, RESOLVED or PAID')
      .option('--distributor <mspId>', 'only this distributor')
      .addHelpText(
        'after',
        '\nWith --csv: period_start, period_end, energy_wh, total_minor and currency columns.\nExample:\n  meterctl -p .network/profiles/authority.json --csv report bills --status PAID > paid.csv',
      ),
  ).action((options: DbOptions & { status?: string; distributor?: string }) =>
    runReportBills(deps(), options),
  );
}
