import type { Command } from 'commander';
import { CryptoInputError, DecryptionError } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/chaincode/dist/api/records';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Keystore } from '../keystore';
import { join } from 'node:path';
import { renderChart } from '../charts';
import { ServiceUnreachable, UsageError } from '../errors';
import { formatKwh, formatMoney, printRows } from '../output';
import {
  DEFAULT_REPORT_DB_NAME,
  ReportDb,
  type ReportAccessRequest,
  type ReportBill,
  type ReportSubscription,
} from '../reporting/reportDb';
import {
  collect,
  filterDefined,
  groupSubscriptions,
  DEFAULT_MIN_HOUSEHOLDS,
  loadReport,
  missingReadings,
  type SubscriptionGrouping,
} from '../reporting/reports';
import { syncChannel } from '../reporting/sync';
import { sessionKeyFor } from '../sessionKeys';
import { accessRequestColumns } from './personalData';
import {
  integerOption,
  isoOption,
  onChannel,
  resolveKeystore,
  resolveProfile,
  type GlobalOptions,
} from './context';

interface DbOptions {
  dbUrl?: string;
  dbName: string;
}

/** --db-url, then REPORT_DB_URL, then the profile's reportDbUrl (./test-network.sh up writes it). */
function reportDbUrl(options: GlobalOptions, o: DbOptions): string {
  const url = o.dbUrl || process.env.REPORT_DB_URL || resolveProfile(options).reportDbUrl;
  if (!url)
    throw new UsageError(
      'no reporting database: pass --db-url, set REPORT_DB_URL, or use a profile with reportDbUrl',
    );
  return url;
}

async function openDb(options: GlobalOptions, o: DbOptions): Promise<ReportDb> {
  const url = reportDbUrl(options, o);
  try {
    return await ReportDb.open(url, o.dbName);
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
function unwrapForReports(
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

function dbOptions(command: Command): Command {
  return command
    .option('--db-url <url>', 'CouchDB-API server (default: REPORT_DB_URL or the profile reportDbUrl)')
    .option('--db-name <name>', 'database name', DEFAULT_REPORT_DB_NAME);
}

export function registerReportCommands(program: Command, globals: () => GlobalOptions): void {
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
  ).action(async (o: DbOptions & { follow?: boolean; checkpointDir?: string }) => {
    const options = globals();
    const profile = resolveProfile(options);
    const keystore = resolveKeystore(options);
    const db = await openDb(options, o);
    const channels = options.channel ? [options.channel] : profile.channels;
    const checkpointDir = o.checkpointDir ?? join(keystore.dir, 'report-sync');
    mkdirSync(checkpointDir, { recursive: true, mode: 0o700 });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const faultAfter = process.env.METERCTL_FAULT_EXIT_AFTER_BLOCKS;
    try {
      const results = await Promise.all(
        channels.map((channel) =>
          onChannel({ ...options, channel }, (network) =>
            syncChannel(
              network,
              db,
              (subscription) => unwrapForReports(subscription, profile.mspId, keystore),
              {
                checkpointPath: join(checkpointDir, `${o.dbName}.${channel}.json`),
                follow: Boolean(o.follow),
                signal: abort.signal,
                exitAfterBlockWrites: faultAfter ? Number(faultAfter) : undefined,
                onSkip: (subscriptionId, reason) =>
                  process.stderr.write(
                    `${channel}: readings of ${subscriptionId} are not counted in the load: ${reason}\n`,
                  ),
                onBlock: (block, written) =>
                  process.stderr.write(`${channel}: synced block ${block} (${written} documents)\n`),
              },
            ).then((result) => ({ channel, ...result })),
          ),
        ),
      );
      printRows(
        options,
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
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
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
        '\nA sum over fewer than k households is one of them: such buckets are suppressed (shown empty, and said so).\nExample:\n  meterctl -p .network/profiles/authority.json report load --region north/d1 --from 2026-11-01 --to 2026-11-02 --svg load.svg',
      ),
  ).action(
    async (
      o: DbOptions & {
        region: string;
        from: string;
        to: string;
        interval: string;
        minHouseholds?: string;
        svg?: string;
      },
    ) => {
      const options = globals();
      const from = isoOption('--from', o.from);
      const to = isoOption('--to', o.to);
      if (to <= from) throw new UsageError('--to must be after --from');
      const bucket = integerOption('--interval', o.interval, 60, 31 * 86_400);
      const minHouseholds = integerOption(
        '--min-households',
        o.minHouseholds ?? process.env.REPORT_MIN_HOUSEHOLDS ?? String(DEFAULT_MIN_HOUSEHOLDS),
        1,
        1_000_000,
      );
      const db = await openDb(options, o);
      let rows;
      try {
        rows = await loadReport(db, o.region, from, to, bucket, minHouseholds);
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      if (o.svg) {
        writeFileSync(
          o.svg,
          renderChart(
            rows.map((r) => ({
              label: r.periodStart.slice(5, 16).replace('T', ' '),
              value: (r.energyWh ?? 0) / 1000,
            })),
            {
              title: `Load of ${o.region}, ${from} to ${to}`,
              unit: 'kWh',
            },
          ),
        );
        process.stderr.write(`wrote ${o.svg}\n`);
      }
      const suppressed = rows.filter((r) => r.suppressed).length;
      if (suppressed > 0) {
        process.stderr.write(
          `${suppressed} of ${rows.length} buckets suppressed: they cover fewer than ${minHouseholds} households (a larger --interval or region merges them)\n`,
        );
      }
      printRows(options, rows, [
        { header: 'period start', value: (r) => r.periodStart },
        { header: 'energy kWh', value: (r) => (r.energyWh === null ? 'suppressed' : formatKwh(r.energyWh)) },
        { header: 'households', value: (r) => r.households },
        { header: 'readings', value: (r) => r.readingCount },
      ]);
    },
  );

  dbOptions(
    report
      .command('subscriptions')
      .description('subscriptions counted by status, distributor or region')
      .option('--by <grouping>', 'status, distributor or region', 'status'),
  ).action(async (o: DbOptions & { by: string }) => {
    if (!['status', 'distributor', 'region'].includes(o.by))
      throw new UsageError('--by must be status, distributor or region');
    const options = globals();
    const db = await openDb(options, o);
    const docs = await collect(db.find<ReportSubscription>('subscription'));
    printRows(options, groupSubscriptions(docs, o.by as SubscriptionGrouping), [
      { header: o.by, value: (r) => r.group },
      { header: 'subscriptions', value: (r) => r.subscriptions },
    ]);
  });

  dbOptions(
    report
      .command('missing-readings')
      .description('active and ended subscriptions with fewer readings than periods that have passed')
      .option('--as-of <time>', 'count periods ended by this time (default: now)'),
  ).action(async (o: DbOptions & { asOf?: string }) => {
    const options = globals();
    const asOf = o.asOf ? isoOption('--as-of', o.asOf) : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const db = await openDb(options, o);
    const docs = await collect(db.find<ReportSubscription>('subscription'));
    printRows(options, missingReadings(docs, asOf), [
      { header: 'subscription', value: (r) => r.subscriptionId },
      { header: 'channel', value: (r) => r.channel },
      { header: 'region', value: (r) => r.regionCode },
      { header: 'expected', value: (r) => r.expected },
      { header: 'received', value: (r) => r.received },
      { header: 'missing', value: (r) => r.missing },
      { header: 'last period', value: (r) => r.lastPeriodStart },
    ]);
  });

  dbOptions(
    report
      .command('access-requests')
      .description('the log of personal-data access requests')
      .option('--status <status>', 'PENDING, GRANTED or DENIED')
      .option('--requester <mspId>', 'only requests by this organization'),
  ).action(async (o: DbOptions & { status?: string; requester?: string }) => {
    const options = globals();
    const db = await openDb(options, o);
    const docs = await collect(
      db.find<ReportAccessRequest>(
        'accessRequest',
        filterDefined({ status: o.status?.toUpperCase(), requesterMspId: o.requester }),
      ),
    );
    docs.sort((a, b) => (a.requestedAt < b.requestedAt ? -1 : a.requestedAt > b.requestedAt ? 1 : 0));
    printRows(options, docs, accessRequestColumns);
  });

  dbOptions(
    report
      .command('bills')
      .description('bills with their totals')
      .option('--status <status>', 'ISSUED, DISPUTED, RESOLVED or PAID')
      .option('--distributor <mspId>', 'only this distributor'),
  ).action(async (o: DbOptions & { status?: string; distributor?: string }) => {
    const options = globals();
    const db = await openDb(options, o);
    const docs = await collect(
      db.find<ReportBill>(
        'bill',
        filterDefined({ status: o.status?.toUpperCase(), distributorMspId: o.distributor }),
      ),
    );
    printRows(options, docs, [
      { header: 'bill', value: (b) => b.billId },
      { header: 'subscription', value: (b) => b.subscriptionId },
      { header: 'distributor', value: (b) => b.distributorMspId },
      { header: 'period', value: (b) => `${b.periodFrom} - ${b.periodTo}` },
      { header: 'energy kWh', value: (b) => formatKwh(b.energyWh) },
      { header: 'total', value: (b) => formatMoney(b.totalMinor, b.currency) },
      { header: 'status', value: (b) => b.status },
    ]);
  });
}
