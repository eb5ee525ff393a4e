import type { Command } from 'commander';
import {
  anomalyTagOf,
  DecryptionError,
  openConfirmedAnomaly,
  sealConfirmedAnomaly,
} from '@smartmeter/crypto';
import {
  MAX_CONFIRMATION_NOTE_LENGTH,
  type ConfirmedAnomalyRecord,
  type ConfirmedFinding,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { UsageError } from '../errors';
import * as ids from '../ids';
import type { Keystore } from '../keystore';
import { printResult, printRows, type Column } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { scanSubscription } from './anomalies';
import type { CommandDeps } from './deps';
import { parseRange, type ReadingRange } from './readings';

/** What `anomalies confirm` put on the ledger, and what it says in clear there. */
export interface ConfirmResult {
  subscriptionId: string;
  anomalyId: string;
  anomalyTag: string;
  confirmedAt: string;
  finding: ConfirmedFinding;
}

/**
 * Confirms one finding of a scan: scans the range again (so what is confirmed is what the readings on the
 * ledger show now, not a file someone edited), seals the finding with the operator's note under the session
 * key and submits it. The ledger checks that the caller is the distributor's operator and that the finding was
 * not confirmed before.
 */
export async function runAnomalyConfirm(
  deps: CommandDeps,
  subscriptionId: string,
  anomalyId: string,
  options: ReadingRange & { note?: string },
): Promise<void> {
  if (!/^[0-9a-f]{32}$/.test(anomalyId))
    throw new UsageError(
      `"${anomalyId}" is not an anomaly id: it is 32 lowercase hex characters, as anomalies scan prints it`,
    );
  const note = options.note?.trim();
  if (note !== undefined && (note.length === 0 || note.length > MAX_CONFIRMATION_NOTE_LENGTH))
    throw new UsageError(`--note must be 1 to ${MAX_CONFIRMATION_NOTE_LENGTH} characters`);
  const result = await deps.withChannel(
    async ({ subscriptions, measurements, anomalies }, { profile, channel }) => {
      const subscription = await subscriptions.get(subscriptionId);
      const key = sessionKeyFor(subscription, profile.mspId, deps.keystore()).key;
      const scan = await scanSubscription(measurements, subscription, key, options);
      const finding = scan.findings.find((f) => f.anomalyId === anomalyId);
      if (!finding) {
        const found = scan.findings.map((f) => `${f.anomalyId} (${f.kind} at ${f.periodStart})`);
        throw new UsageError(
          `no finding ${anomalyId} in the scan of ${subscriptionId} over [${options.from}, ${options.to}): ` +
            (found.length > 0 ? `it found ${found.join(', ')}` : 'it found nothing'),
        );
      }
      const { anomalyId: id, ...evidence } = finding;
      const confirmed: ConfirmedFinding = {
        anomalyId: id,
        finding: evidence,
        ...(note ? { note } : {}),
        scannedFrom: options.from,
        scannedTo: options.to,
      };
      const anomalyTag = anomalyTagOf(key, subscriptionId, anomalyId);
      const sealed = sealConfirmedAnomaly(JSON.stringify(confirmed), key, {
        channel,
        subscriptionId,
        anomalyTag,
      });
      const record = await anomalies.confirm(subscriptionId, anomalyTag, sealed.toString('base64'));
      return { subscriptionId, anomalyId, anomalyTag, confirmedAt: record.confirmedAt, finding: confirmed };
    },
  );
  printResult(
    deps.output,
    result,
    () =>
      `confirmed ${result.finding.finding.kind} ${anomalyId} of ${subscriptionId} ` +
      `(${result.finding.finding.periodStart} … ${result.finding.finding.periodEnd}) at ${result.confirmedAt}; ` +
      'on the ledger it is sealed under the session key',
  );
}

/** One confirmed anomaly as its reader sees it: opened, or why not. */
export interface ListedAnomaly {
  subscriptionId: string;
  anomalyTag: string;
  confirmedAt: string;
  keyId: string;
  confirmed?: ConfirmedFinding;
  /** Why it could not be opened: a key this keystore does not hold, or a record that does not open. */
  error?: string;
}

/** The confirmed anomalies of each subscription, opened with the caller's key, oldest period first. */
export async function runAnomalyList(deps: CommandDeps, subscriptionIds: string[]): Promise<void> {
  const rows = await deps.withChannel(async ({ subscriptions, anomalies }, { profile }) => {
    const listed: ListedAnomaly[] = [];
    for (const subscriptionId of subscriptionIds) {
      const subscription = await subscriptions.get(subscriptionId);
      const records = await anomalies.all(subscriptionId);
      listed.push(...records.map((r) => openRecord(r, subscription, profile.mspId, deps.keystore())));
    }
    return listed.sort(byPeriod);
  });
  if (deps.output.json || deps.output.csv) {
    printRows(deps.output, rows, listColumns);
    return;
  }
  printResult(deps.output, rows, () =>
    rows.length === 0
      ? `no confirmed anomalies of ${subscriptionIds.join(', ')}`
      : rows
          .map((r) =>
            r.confirmed
              ? `${r.subscriptionId} ${r.confirmed.finding.kind.padEnd(10)} ${r.confirmed.finding.periodStart} … ` +
                `${r.confirmed.finding.periodEnd}  ${r.confirmed.finding.reason}  confirmed ${r.confirmedAt}` +
                (r.confirmed.note ? `: ${r.confirmed.note}` : '')
              : `${r.subscriptionId} ${r.anomalyTag}  confirmed ${r.confirmedAt}: ${r.error}`,
          )
          .join('\n'),
  );
}

function openRecord(
  record: ConfirmedAnomalyRecord,
  subscription: SubscriptionRecord,
  mspId: string,
  keystore: Keystore,
): ListedAnomaly {
  const base = {
    subscriptionId: record.subscriptionId,
    anomalyTag: record.anomalyTag,
    confirmedAt: record.confirmedAt,
    keyId: record.keyId,
  };
  let key: Buffer | undefined = keystore.sessionKeyById(record.keyId);
  if (!key && record.keyId === subscription.keyId) {
    try {
      key = sessionKeyFor(subscription, mspId, keystore).key;
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      return { ...base, error: err.message };
    }
  }
  if (!key) return { ...base, error: `sealed under key ${record.keyId}, which this keystore does not hold` };
  try {
    const json = openConfirmedAnomaly(Buffer.from(record.sealedFinding, 'base64'), key, {
      channel: record.channel,
      subscriptionId: record.subscriptionId,
      anomalyTag: record.anomalyTag,
    });
    return { ...base, confirmed: JSON.parse(json) as ConfirmedFinding };
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    return { ...base, error: err.message };
  }
}

function byPeriod(a: ListedAnomaly, b: ListedAnomaly): number {
  const at = (r: ListedAnomaly): string => r.confirmed?.finding.periodStart ?? r.confirmedAt;
  return at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0;
}

const listColumns: Column<ListedAnomaly>[] = [
  { header: 'subscription', value: (r) => r.subscriptionId },
  { header: 'anomaly id', value: (r) => r.confirmed?.anomalyId ?? '' },
  { header: 'kind', value: (r) => r.confirmed?.finding.kind ?? '' },
  { header: 'from', value: (r) => r.confirmed?.finding.periodStart ?? '' },
  { header: 'to', value: (r) => r.confirmed?.finding.periodEnd ?? '' },
  { header: 'value', value: (r) => r.confirmed?.finding.value ?? '' },
  { header: 'evidence', value: (r) => r.confirmed?.finding.reason ?? '' },
  { header: 'note', value: (r) => r.confirmed?.note ?? '' },
  { header: 'confirmed at', value: (r) => r.confirmedAt },
  { header: 'error', value: (r) => r.error ?? '' },
];

export function registerAnomalyConfirmCommands(anomalies: Command, deps: () => CommandDeps): void {
  anomalies
    .command('confirm <subscriptionId> <anomalyId>')
    .description(
      "confirm a scan's finding (distributor operator): it goes on the ledger sealed under the session key",
    )
    .requiredOption('--from <time>', 'the range of the scan that found it: first period start (UTC)')
    .requiredOption('--to <time>', 'end of that range (exclusive)')
    .option(
      '--note <text>',
      `what the distributor adds, e.g. "site visit booked" (at most ${MAX_CONFIRMATION_NOTE_LENGTH} characters)`,
    )
    .addHelpText(
      'after',
      '\nThe range is scanned again and the finding must be in it. On the ledger the confirmation is pseudonymous:\n' +
        'the subscription id, a tag only key holders can compute, and the finding sealed under the session key,\n' +
        'readable by the household, the distributor and, in disclosed mode, the authority.\n' +
        'Example:\n  meterctl -p .network/profiles/distributor1.json anomalies confirm sub_3f... 9c1e... --from 2026-11-01 --to 2026-12-01 --note "site visit booked"',
    )
    .action((subscription: string, anomalyId: string, flags: { from: string; to: string; note?: string }) =>
      runAnomalyConfirm(deps(), ids.subscriptionId(subscription), anomalyId, {
        ...parseRange(flags),
        note: flags.note,
      }),
    );
  anomalies
    .command('list <subscriptionIds...>')
    .description('confirmed anomalies of subscriptions, opened with the key the caller holds')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 anomalies list sub_3f...',
    )
    .action((given: string[]) =>
      runAnomalyList(
        deps(),
        given.map((id) => ids.subscriptionId(id)),
      ),
    );
}
