import type { Command } from 'commander';
import {
  type AnomalyFinding,
  type AnomalySeries,
  type SubscriptionRecord,
  anomalyId,
  detectAnomalies,
  isoSecondsOf,
  utilityOf,
} from '@smartmeter/domain';
import { registerAnomalyConfirmCommands } from './anomalyConfirm';
import { DEFAULT_REPORT_DB_NAME, type ReportAnomaly } from '../reporting/reportDb';
import { openReportStore, type DbOptions } from './report';
import { UsageError } from '../errors';
import * as ids from '../ids';
import { printResult, printRows, type Column } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import type { CommandDeps, ContractClients } from './deps';
import { decryptReadings, parseRange, type ReadingRange } from './readings';

/** A subscription `--all` could not scan: the caller's keystore holds no key for it. */
export interface SkippedScan {
  subscriptionId: string;
  reason: string;
}

/** A finding as a scan reports it: with the id `anomalies confirm` takes. */
export type ScannedFinding = AnomalyFinding & { anomalyId: string };

/** What one subscription's scan found, and over how many readings it looked. */
export interface SubscriptionScan {
  subscriptionId: string;
  utility: AnomalySeries['utility'];
  readings: number;
  /** Readings on the ledger that do not decrypt in their slot: not scanned (see `readings missing`). */
  invalid: number;
  findings: ScannedFinding[];
}

/** Decrypts one subscription's readings in [from, to) with `key` and runs the detector over them. */
export async function scanSubscription(
  measurements: Pick<ContractClients['measurements'], 'all'>,
  subscription: SubscriptionRecord,
  key: Buffer,
  range: ReadingRange,
): Promise<SubscriptionScan> {
  const records = await measurements.all(subscription.subscriptionId, range.from, range.to);
  const decrypted = decryptReadings(subscription, records, key);
  const opened = decrypted.flatMap((r) =>
    r.payload ? [{ periodStart: r.periodStart, payload: r.payload }] : [],
  );
  const { series, mismatched } = seriesOf(subscription, opened);
  return {
    subscriptionId: subscription.subscriptionId,
    utility: series.utility,
    readings: series.points.length,
    invalid: decrypted.length - opened.length + mismatched,
    findings: detectAnomalies(series).map((finding) => ({ ...finding, anomalyId: anomalyId(finding) })),
  };
}

/**
 * The series the detector sees: the subscription's readings that decrypt, in the subscription's utility. A
 * reading of another utility is kept out of the series and counted with the readings that do not decrypt, so
 * one mislabelled reading cannot skew a household's usual level (nor, being first, decide the series' unit).
 */
export function seriesOf(
  subscription: SubscriptionRecord,
  opened: { periodStart: string; payload: { energyWh: number; utility: AnomalySeries['utility'] } }[],
): { series: AnomalySeries; mismatched: number } {
  const utility = utilityOf(subscription);
  const matching = opened.filter((r) => r.payload.utility === utility);
  return {
    series: {
      subscriptionId: subscription.subscriptionId,
      utility,
      intervalSeconds: subscription.approval?.intervalSeconds ?? 1800,
      points: matching.map((r) => ({ periodStart: r.periodStart, quantity: r.payload.energyWh })),
    },
    mismatched: opened.length - matching.length,
  };
}

/**
 * Scans each subscription's readings in [from, to) with the key the caller holds: the household its own, the
 * distributor and (disclosed mode) the authority through their grants. A subscription the caller holds no key
 * for is refused before anything is read, and the ledger refuses readings a caller may not list.
 */
export async function runAnomalyScan(
  deps: CommandDeps,
  subscriptionIds: string[],
  options: ReadingRange & { all?: boolean; save?: DbOptions },
): Promise<void> {
  // A database that cannot be reached fails the scan before anything is read, not after.
  const store = options.save ? await openReportStore(deps, options.save) : undefined;
  const { scans, skipped, channel } = await deps.withChannel(
    async ({ subscriptions, measurements }, { profile, channel }) => {
      const targets = options.all
        ? (await subscriptions.all('ACTIVE')).map((s) => s.subscriptionId)
        : subscriptionIds;
      if (targets.length === 0)
        throw new UsageError('name a subscription to scan, or --all for every active one');
      const results: SubscriptionScan[] = [];
      const notHeld: SkippedScan[] = [];
      for (const subscriptionId of targets) {
        const subscription = await subscriptions.get(subscriptionId);
        let key: Buffer;
        try {
          key = sessionKeyFor(subscription, profile.mspId, deps.keystore()).key;
        } catch (err) {
          // --all covers the channel: a subscription whose key this keystore does not hold is reported, not fatal.
          if (!options.all || !(err instanceof UsageError)) throw err;
          notHeld.push({ subscriptionId, reason: err.message });
          continue;
        }
        results.push(await scanSubscription(measurements, subscription, key, options));
      }
      return { scans: results, skipped: notHeld, channel };
    },
  );
  const saved = store ? await store.saveAnomalies(reportDocs(deps, channel, scans)) : undefined;
  printScans(deps, scans, skipped, options, saved);
}

const findingColumns: Column<ScannedFinding>[] = [
  { header: 'subscription', value: (f) => f.subscriptionId },
  { header: 'anomaly id', value: (f) => f.anomalyId },
  { header: 'kind', value: (f) => f.kind },
  { header: 'from', value: (f) => f.periodStart },
  { header: 'to', value: (f) => f.periodEnd },
  { header: 'periods', value: (f) => f.periods },
  { header: 'value', value: (f) => f.value },
  { header: 'expected low', value: (f) => f.expected.low },
  { header: 'expected high', value: (f) => f.expected.high },
  { header: 'score', value: (f) => f.score },
  { header: 'evidence', value: (f) => f.reason },
];

/** The findings as reporting-database documents, keyed by anomalyId. */
function reportDocs(deps: CommandDeps, channel: string, scans: SubscriptionScan[]): ReportAnomaly[] {
  const foundAt = isoSecondsOf(deps.now());
  return scans.flatMap((scan) =>
    scan.findings.map((finding) => ({
      ...finding,
      docType: 'anomaly' as const,
      channel,
      foundAt,
      foundByMspId: deps.profile().mspId,
    })),
  );
}

function printScans(
  deps: CommandDeps,
  scans: SubscriptionScan[],
  skipped: SkippedScan[],
  range: ReadingRange,
  saved?: { added: number; updated: number },
): void {
  const findings = scans.flatMap((s) => s.findings);
  if (deps.output.csv) {
    printRows(deps.output, findings, findingColumns);
    return;
  }
  printResult(
    deps.output,
    { from: range.from, to: range.to, scans, skipped, ...(saved ? { saved } : {}) },
    () =>
      [
        ...scans.map(
          (s) =>
            `${s.subscriptionId} (${s.utility}): ${s.readings} readings scanned in [${range.from}, ${range.to}), ` +
            `${s.findings.length} finding${s.findings.length === 1 ? '' : 's'}` +
            (s.invalid > 0 ? `, ${s.invalid} readings that do not decrypt were not scanned` : ''),
        ),
        ...findings.map(
          (f) => `  ${f.kind.padEnd(10)} ${f.periodStart} … ${f.periodEnd}  ${f.reason}  [${f.anomalyId}]`,
        ),
        ...(skipped.length > 0
          ? [
              `${skipped.length} subscription${skipped.length === 1 ? '' : 's'} not scanned: this keystore holds no key for them (${skipped.map((s) => s.subscriptionId).join(', ')})`,
            ]
          : []),
        ...(saved ? [`saved to the reporting database: ${saved.added} new, ${saved.updated} updated`] : []),
      ].join('\n'),
  );
}

interface ScanFlags {
  from: string;
  to: string;
  all?: boolean;
  save?: boolean;
  dbUrl?: string;
  dbName: string;
}

export function registerAnomalyCommands(program: Command, deps: () => CommandDeps): void {
  const anomalies = program
    .command('anomalies')
    .description('consumption anomalies (spikes, leaks, stuck or dropped registers, impossible values)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json anomalies scan --all --from 2026-11-01 --to 2026-12-01',
    );
  anomalies
    .command('scan [subscriptionIds...]')
    .description('scan decrypted readings in [from, to) for anomalies, with the key the caller holds')
    .requiredOption('--from <time>', 'first period start (UTC, e.g. 2026-11-01)')
    .requiredOption('--to <time>', 'end of the range (exclusive)')
    .option('--all', "every active subscription of the channel (a distributor's or the authority's scan)")
    .option(
      '--save',
      'write the findings to the reporting database (once per finding: a later scan updates it)',
    )
    .option(
      '--db-url <url>',
      'with --save: CouchDB-API server (default: REPORT_DB_URL or the profile reportDbUrl)',
    )
    .option('--db-name <name>', 'with --save: database name', DEFAULT_REPORT_DB_NAME)
    .addHelpText(
      'after',
      '\nRules and thresholds: domain/src/anomalies (robust median/MAD per time of day and weekday for spikes,\ncontinuous night flow for gas and water leaks, flat lines and drops to zero, impossible values).\nExamples:\n  meterctl -p .network/profiles/distributor1.json anomalies scan --all --from 2026-11-01 --to 2026-12-01\n  meterctl -p .network/profiles/distributor1.json anomalies scan --all --from 2026-11-01 --to 2026-12-01 --save --db-url http://127.0.0.1:5990\n  meterctl -p .network/profiles/households1.json -i hh-17 --csv anomalies scan sub_3f... --from 2026-11-01 --to 2026-12-01',
    )
    .action((given: string[], flags: ScanFlags) => {
      const subscriptionIds = given.map((id) => ids.subscriptionId(id));
      const save = flags.save ? { dbUrl: flags.dbUrl, dbName: flags.dbName } : undefined;
      return runAnomalyScan(deps(), subscriptionIds, { ...parseRange(flags), all: flags.all, save });
    });
  registerAnomalyConfirmCommands(anomalies, deps);
}
