import type { Command } from 'commander';
import { publicKeyFingerprint } from '@smartmeter/crypto';
import type { BillRecord, SubscriptionRecord } from '@smartmeter/domain';
import {
  BillReportError,
  fetchAggregateEvidence,
  fetchBillReport,
  issueAggregateBill,
  verifyAggregateBill,
} from '../aggregateBilling';
import { readFileSync, writeFileSync } from 'node:fs';
import { verifyEvidence } from '../billVerify';
import { renderBillHtml } from '../billReport';
import { ExitCode, ClientRefusal, UsageError } from '../errors';
import * as ids from '../ids';
import { checkAmountSyntax, parseAmount } from '../money';
import { formatKwh, formatMoney, printResult, printRows, type Column } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { CommandExit, isoOption, requireHousehold, transientEndorsers } from './context';
import type { ChannelContext, CommandDeps, ContractClients } from './deps';

/** A session key file holds the 32-byte key as 64 hex characters. */
export function readSessionKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read session key file ${path}: ${(err as Error).message}`);
  }
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new UsageError(`session key file ${path} must hold 64 lowercase hex characters`);
  return Buffer.from(text, 'hex');
}

/** A bill's period, energy and total: one cell each in a table, numbers in unit columns in CSV. */
export function billFigureColumns<
  B extends Pick<BillRecord, 'periodFrom' | 'periodTo' | 'energyWh' | 'totalMinor' | 'currency'>,
>(): Column<B>[] {
  return [
    {
      header: 'period',
      value: (b) => `${b.periodFrom} - ${b.periodTo}`,
      csv: [
        { header: 'period_start', value: (b) => b.periodFrom },
        { header: 'period_end', value: (b) => b.periodTo },
      ],
    },
    {
      header: 'energy kWh',
      value: (b) => formatKwh(b.energyWh),
      csv: [{ header: 'energy_wh', value: (b) => b.energyWh }],
    },
    {
      header: 'total',
      value: (b) => formatMoney(b.totalMinor, b.currency),
      csv: [
        { header: 'total_minor', value: (b) => b.totalMinor },
        { header: 'currency', value: (b) => b.currency },
      ],
    },
  ];
}

export const billColumns: Column<BillRecord>[] = [
  { header: 'bill', value: (b) => b.billId },
  { header: 'subscription', value: (b) => b.subscriptionId },
  ...billFigureColumns<BillRecord>(),
  { header: 'status', value: (b) => b.status },
];

export function describeBill(b: BillRecord): string {
  const lines = [
    `bill ${b.billId} for ${b.subscriptionId} (${b.distributorMspId}): ${b.status}`,
    `  period ${b.periodFrom} - ${b.periodTo}, ${b.readingCount} of ${b.expectedReadings} readings, ${formatKwh(b.energyWh)} kWh`,
    ...b.lineItems.map(
      (item) =>
        `  ${item.label.padEnd(10)} ${formatKwh(item.energyWh).padStart(10)} kWh  ${formatMoney(item.amountMinor, b.currency)}`,
    ),
    `  standing charge ${b.standingCharge.days} days  ${formatMoney(b.standingCharge.amountMinor, b.currency)}`,
    `  subtotal ${formatMoney(b.subtotalMinor, b.currency)}, tax ${formatMoney(b.taxMinor, b.currency)}, total ${formatMoney(b.totalMinor, b.currency)}`,
  ];
  if (b.missingPeriods.length > 0)
    lines.push(`  ${b.missingPeriods.length} periods without a reading (not billed)`);
  if (b.invalidReadings.length > 0)
    lines.push(
      `  ${b.invalidReadings.length} readings that do not decrypt (INVALID_READING, not billed): ${b.invalidReadings.map((r) => r.periodStart).join(', ')}`,
    );
  if (b.dispute) lines.push(`  disputed ${b.dispute.disputedAt}: ${b.dispute.reason}`);
  if (b.resolution)
    lines.push(`  resolved ${b.resolution.resolvedAt}: ${b.resolution.outcome} (${b.resolution.note})`);
  if (b.payment)
    lines.push(
      `  paid ${b.payment.paidAt}: ${formatMoney(b.payment.amountMinor, b.currency)} ref ${b.payment.reference}`,
    );
  return lines.join('\n');
}

/** Runs one change (or read) of a bill and prints the bill as it is afterwards. */
async function showBill(
  deps: CommandDeps,
  change: (clients: ContractClients, context: ChannelContext) => Promise<BillRecord>,
): Promise<void> {
  const record = await deps.withChannel(change);
  printResult(deps.output, record, () => describeBill(record));
}

export interface BillPeriod {
  from: string;
  to: string;
}

export function parseBillPeriod(flags: { from: string; to: string }): BillPeriod {
  return { from: isoOption('--from', flags.from), to: isoOption('--to', flags.to) };
}

/**
 * Disclosed subscriptions: the operator's organization unwraps the session key; it goes to the endorsers only,
 * as transient data, and the chaincode computes the bill. Aggregate subscriptions: the bill is computed here from
 * the household's shares, its report sealed and pinned on IPFS, and only the totals and the report's CID and
 * hash are recorded; the session key goes nowhere.
 */
export async function runBillIssue(
  deps: CommandDeps,
  subscriptionId: string,
  period: BillPeriod,
  options: { ipfsUrl?: string } = {},
): Promise<void> {
  let report: { cid: string; bytes: number; missing: number } | undefined;
  await showBill(deps, async (clients, { profile, channel }) => {
    const subscription = await clients.subscriptions.get(subscriptionId);
    const { key } = sessionKeyFor(subscription, profile.mspId, deps.keystore());
    if (subscription.privacyMode === 'aggregate') {
      const issued = await issueAggregateBill({
        sources: clients,
        billing: clients.billing,
        storage: deps.ipfs(options.ipfsUrl),
        channel,
        subscription,
        sessionKey: key,
        periodFrom: period.from,
        periodTo: period.to,
        now: deps.now(),
      });
      const facts = issued.bill.aggregate as NonNullable<BillRecord['aggregate']>;
      report = {
        cid: facts.report.cid,
        bytes: issued.sealedBytes,
        missing: issued.bill.missingPeriods.length,
      };
      return issued.bill;
    }
    return clients.billing.issue(
      subscriptionId,
      period.from,
      period.to,
      key,
      transientEndorsers(subscription, profile),
    );
  });
  if (report && !deps.output.json)
    deps.output.stderr.write(
      `sealed report pinned on IPFS: ${report.cid} (${report.bytes} bytes); the household reads it with meterctl bill fetch\n`,
    );
}

export function runBillShow(deps: CommandDeps, billId: string): Promise<void> {
  return showBill(deps, ({ billing }) => billing.get(billId));
}

export async function runBillList(deps: CommandDeps, options: { subscription?: string }): Promise<void> {
  const records = await deps.withChannel(({ billing }) =>
    options.subscription ? billing.forSubscription(options.subscription) : billing.all(),
  );
  printRows(deps.output, records, billColumns);
}

export interface BillVerifyOptions {
  /** The session key from --session-key-file. */
  sessionKey?: Buffer;
  /** Else the keystore's session key of this name; else the key the caller holds for the subscription. */
  key?: string;
  /** Aggregate bills: do not fetch and check the sealed report. */
  skipReport?: boolean;
  ipfsUrl?: string;
}

export function parseVerifyOptions(flags: {
  key?: string;
  sessionKeyFile?: string;
  report?: boolean;
  ipfsUrl?: string;
}): BillVerifyOptions {
  const rest = { skipReport: flags.report === false, ipfsUrl: flags.ipfsUrl };
  return flags.sessionKeyFile
    ? { sessionKey: readSessionKeyFile(flags.sessionKeyFile), ...rest }
    : { key: flags.key || undefined, ...rest };
}

/** What bill verify found: ok, or each field that differs; notes say what was not or was also checked. */
export interface BillVerifyResult {
  billId: string;
  ok: boolean;
  differences: string[];
  notes: string[];
}

/** Recomputes the bill from the ledger with the session key (the portal's verified badge, and bill verify). */
export async function billVerification(
  deps: CommandDeps,
  billId: string,
  options: BillVerifyOptions,
): Promise<BillVerifyResult> {
  const result = await deps.withChannel(async (clients, { profile, channel }) => {
    const bill = await clients.billing.get(billId);
    const subscription = await clients.subscriptions.get(bill.subscriptionId);
    let key: Buffer;
    if (options.sessionKey) key = options.sessionKey;
    else if (options.key) key = deps.keystore().sessionKeyBytes(options.key);
    else key = sessionKeyFor(subscription, profile.mspId, deps.keystore()).key;
    if (!bill.aggregate) {
      const verified = verifyEvidence(await clients.billEvidence(billId), key);
      return { ok: verified.ok, differences: verified.differences, notes: [] as string[] };
    }
    const evidence = await fetchAggregateEvidence(clients, subscription, key, bill.periodFrom, bill.periodTo);
    const notes: string[] = [];
    let report;
    const householdKey = ownHouseholdKey(deps, subscription);
    if (options.skipReport) notes.push('the sealed report was not checked (--no-report)');
    else if (!householdKey)
      notes.push("the sealed report was not checked: it opens with the household's own key only");
    else {
      try {
        report = (
          await fetchBillReport({
            bill,
            storage: deps.ipfs(options.ipfsUrl),
            channel,
            householdPrivateKeyPem: householdKey,
          })
        ).document;
      } catch (err) {
        if (!(err instanceof BillReportError)) throw err;
        return { ok: false, differences: [`report: ${err.code}: ${err.message}`], notes };
      }
    }
    const verified = verifyAggregateBill(bill, evidence, key, report);
    if (report)
      notes.push(
        'the sealed report was fetched from IPFS, its SHA-256 and CID match the ledger, and it was checked',
      );
    return { ok: verified.ok, differences: verified.differences, notes };
  });
  return { billId, ...result };
}

/** Recomputes the bill from the ledger with the session key; a mismatch prints the differences and exits 1. */
export async function runBillVerify(
  deps: CommandDeps,
  billId: string,
  options: BillVerifyOptions,
): Promise<void> {
  const result = await billVerification(deps, billId, options);
  printResult(
    deps.output,
    { billId, ok: result.ok, differences: result.differences, notes: result.notes },
    () =>
      [
        result.ok
          ? `OK: bill ${billId} matches the ledger`
          : [`MISMATCH: bill ${billId}`, ...result.differences.map((d) => `  ${d}`)].join('\n'),
        ...result.notes.map((n) => `  (${n})`),
      ].join('\n'),
  );
  if (!result.ok) throw new CommandExit(ExitCode.Refused);
}

/** The household's report key, when this keystore holds the one its subscription names. */
function ownHouseholdKey(deps: CommandDeps, subscription: SubscriptionRecord): string | undefined {
  const keystore = deps.keystore();
  if (!subscription.householdKeyFingerprint || !keystore.hasHouseholdKey()) return undefined;
  const pair = keystore.householdKeyPair();
  return publicKeyFingerprint(pair.publicKeyPem) === subscription.householdKeyFingerprint
    ? pair.privateKeyPem
    : undefined;
}

export interface BillFetchOptions {
  /** Where the HTML page goes. */
  out: string;
  /** Where the JSON document goes, if wanted (--json-out; --json is meterctl's output format). */
  jsonOut?: string;
  ipfsUrl?: string;
}

/** An aggregate bill's sealed report from IPFS, its hash and CID checked against the ledger, opened. */
export function fetchSealedReport(
  deps: CommandDeps,
  billId: string,
  ipfsUrl?: string,
): Promise<Awaited<ReturnType<typeof fetchBillReport>>> {
  return deps.withChannel(async ({ billing, subscriptions }, { channel }) => {
    const bill = await billing.get(billId);
    const subscription = await subscriptions.get(bill.subscriptionId);
    const householdKey = ownHouseholdKey(deps, subscription);
    if (!householdKey)
      throw new UsageError(
        `the report of ${billId} is sealed for the household's own key, which the keystore ${deps.keystore().dir} does not hold`,
      );
    try {
      return await fetchBillReport({
        bill,
        storage: deps.ipfs(ipfsUrl),
        channel,
        householdPrivateKeyPem: householdKey,
      });
    } catch (err) {
      if (err instanceof BillReportError) throw new ClientRefusal(err.code, err.message);
      throw err;
    }
  });
}

/** The household fetches its sealed report from IPFS, checks hash and CID against the ledger, opens it. */
export async function runBillFetch(
  deps: CommandDeps,
  billId: string,
  options: BillFetchOptions,
): Promise<void> {
  const fetched = await fetchSealedReport(deps, billId, options.ipfsUrl);
  writeFileSync(options.out, fetched.html);
  if (options.jsonOut) writeFileSync(options.jsonOut, fetched.json);
  printResult(
    deps.output,
    {
      billId,
      out: options.out,
      jsonOut: options.jsonOut ?? null,
      sealedBytes: fetched.sealedBytes,
      totalMinor: fetched.document.bill.totalMinor,
    },
    () =>
      `wrote ${options.out}${options.jsonOut ? ` and ${options.jsonOut}` : ''}: the report of ${billId} (its SHA-256 and CID match the ledger), total ${formatMoney(fetched.document.bill.totalMinor, fetched.document.bill.currency)}`,
  );
}

/** Only the subscription's household disputes: run as anyone else, it says which identity it ran as. */
export function runBillDispute(deps: CommandDeps, billId: string, reason: string): Promise<void> {
  requireHousehold(deps, 'bill dispute');
  return showBill(deps, ({ billing }) => billing.dispute(billId, reason));
}

export interface BillResolveOptions {
  outcome: 'UPHELD' | 'REJECTED';
  note: string;
}

export function parseResolveOptions(flags: { outcome: string; note: string }): BillResolveOptions {
  const outcome = flags.outcome.toUpperCase();
  if (outcome !== 'UPHELD' && outcome !== 'REJECTED')
    throw new UsageError('--outcome must be UPHELD or REJECTED');
  return { outcome, note: flags.note };
}

export function runBillResolve(
  deps: CommandDeps,
  billId: string,
  options: BillResolveOptions,
): Promise<void> {
  return showBill(deps, ({ billing }) => billing.resolve(billId, options.outcome, options.note));
}

export interface BillPayOptions {
  /** The amount as bills show it ("110.89"), without the currency: checked as a number here. */
  amount: string;
  reference: string;
}

export function parsePayOptions(flags: { amount: string; reference: string }): BillPayOptions {
  return { amount: checkAmountSyntax('--amount', flags.amount), reference: flags.reference };
}

/**
 * The amount is read in the bill's currency (at most its minor digits: 110.89 GBP is 11089 pence) and sent in
 * minor units; an amount with more decimals is a usage error and nothing is submitted.
 */
export function runBillPay(deps: CommandDeps, billId: string, options: BillPayOptions): Promise<void> {
  return showBill(deps, async ({ billing }) => {
    const bill = await billing.get(billId);
    const amountMinor = parseAmount('--amount', options.amount, bill.currency);
    return billing.pay(billId, amountMinor, options.reference);
  });
}

export interface BillReportOptions {
  /** Where the HTML page goes. */
  html: string;
  /** Session key from the keystore; default: the key the caller holds for the subscription. */
  key?: string;
}

export async function runBillReport(
  deps: CommandDeps,
  billId: string,
  options: BillReportOptions,
): Promise<void> {
  const html = await billReportHtml(deps, billId, options);
  writeFileSync(options.html, html);
  deps.output.stderr.write(`wrote ${options.html}\n`);
}

/** A disclosed bill's report page, rendered from the ledger with the session key the caller holds. */
export function billReportHtml(
  deps: CommandDeps,
  billId: string,
  options: Pick<BillReportOptions, 'key'>,
): Promise<string> {
  return deps.withChannel(async ({ billEvidence }, { profile, channel }) => {
    const evidence = await billEvidence(billId);
    const keystore = deps.keystore();
    const key = options.key
      ? keystore.sessionKeyBytes(options.key)
      : sessionKeyFor(evidence.subscription, profile.mspId, keystore).key;
    // The page's verify hint repeats how the household reached the bill.
    return renderBillHtml(evidence, key, {
      profilePath: deps.globals.profile ?? deps.env.METERCTL_PROFILE ?? '',
      keystoreDir: keystore.dir,
      identity: deps.globals.identity ?? profile.defaultIdentity,
      channel,
      key: options.key,
    });
  });
}

export function registerBillCommands(program: Command, deps: () => CommandDeps): void {
  const bill = program
    .command('bill')
    .description('bills computed on the ledger from the encrypted readings')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 bill list --subscription sub_3f...',
    );
  bill
    .command('issue <subscriptionId>')
    .description(
      'the distributor operator issues a bill; the session key goes to the endorsers as transient data',
    )
    .requiredOption('--from <time>', 'period start, on an interval boundary')
    .requiredOption('--to <time>', 'period end (exclusive), at most 62 days later')
    .addHelpText(
      'after',
      "\nThe session key is unwrapped with the distributor's organization key from the keystore.\nExample:\n  meterctl -p .network/profiles/distributor1.json bill issue sub_3f... --from 2026-10-01 --to 2026-11-01",
    )
    .option(
      '--ipfs-url <url>',
      'aggregate subscriptions: the IPFS RPC API (default: IPFS_API_URL or the profile)',
    )
    .action((id: string, flags: { from: string; to: string; ipfsUrl?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const period = parseBillPeriod(flags);
      return runBillIssue(deps(), subscriptionId, period, { ipfsUrl: flags.ipfsUrl });
    });
  bill
    .command('show <billId>')
    .description('one bill')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json bill show bill_9c...',
    )
    .action((billId: string) => runBillShow(deps(), ids.billId(billId)));
  bill
    .command('list')
    .description('bills of one subscription, or every bill the caller may see (operators, auditors)')
    .option('--subscription <subscriptionId>', 'only this subscription (households use this)')
    .addHelpText(
      'after',
      '\nWith --csv: period_start, period_end, energy_wh, total_minor and currency columns, for spreadsheets.\nExample:\n  meterctl -p .network/profiles/distributor1.json --csv bill list > bills.csv',
    )
    .action((options: { subscription?: string }) =>
      runBillList(deps(), { subscription: ids.optionalSubscriptionId(options.subscription) }),
    );
  bill
    .command('verify <billId>')
    .description('recompute a bill from the ledger with the session key and compare (exit 1 on a mismatch)')
    .option('--key <name>', 'session key from the keystore (default: the one matching the subscription)')
    .option('--session-key-file <file>', 'file with the session key (64 hex characters)')
    .option('--no-report', 'aggregate bills: do not fetch and check the sealed report on IPFS')
    .option('--ipfs-url <url>', 'the IPFS RPC API (default: IPFS_API_URL or the profile)')
    .addHelpText(
      'after',
      "\nAggregate bills are recomputed from the household's shares on the ledger; the household's sealed report is\nfetched from IPFS, checked against the ledger's SHA-256 and CID, opened and compared too.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 bill verify bill_9c...",
    )
    .action(
      (
        billId: string,
        flags: { key?: string; sessionKeyFile?: string; report?: boolean; ipfsUrl?: string },
      ) => {
        const id = ids.billId(billId);
        const options = parseVerifyOptions(flags);
        return runBillVerify(deps(), id, options);
      },
    );
  bill
    .command('fetch <billId>')
    .description(
      "aggregate bills: the household's sealed report from IPFS, checked against the ledger and opened",
    )
    .requiredOption('--out <file>', 'where to write the HTML page')
    .option('--json-out <file>', 'also write the JSON document')
    .option('--ipfs-url <url>', 'the IPFS RPC API (default: IPFS_API_URL or the profile)')
    .addHelpText(
      'after',
      "\nThe report opens with the household's own key (its keystore's household/report-key.pem) only. A report whose\nSHA-256 or CID differs from the bill's is refused (exit 1); an IPFS node that is down exits 3.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 bill fetch bill_9c... --out report.html --json-out report.json",
    )
    .action((billId: string, flags: BillFetchOptions) => runBillFetch(deps(), ids.billId(billId), flags));
  bill
    .command('dispute <billId>')
    .description('the household disputes a bill')
    .requiredOption('--reason <text>', 'what is wrong, e.g. which line')
    .addHelpText(
      'after',
      '\nRun as the household (-i); the bill is then DISPUTED until its distributor resolves it.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 bill dispute bill_9c... --reason \'line "peak" looks high\'',
    )
    .action((billId: string, flags: { reason: string }) =>
      runBillDispute(deps(), ids.billId(billId), flags.reason),
    );
  bill
    .command('resolve <billId>')
    .description(
      'the distributor operator resolves a dispute: UPHELD voids the bill, REJECTED keeps it payable',
    )
    .requiredOption('--outcome <outcome>', 'UPHELD or REJECTED')
    .requiredOption('--note <text>', 'explanation for the household')
    .addHelpText(
      'after',
      "\nExample:\n  meterctl -p .network/profiles/distributor1.json bill resolve bill_9c... --outcome REJECTED --note 'readings verified'",
    )
    .action((billId: string, flags: { outcome: string; note: string }) => {
      const id = ids.billId(billId);
      const options = parseResolveOptions(flags);
      return runBillResolve(deps(), id, options);
    });
  bill
    .command('pay <billId>')
    .description(
      'the distributor operator records the payment of a bill (its exact total, as the bill shows it)',
    )
    .requiredOption(
      '--amount <amount>',
      "amount paid in the bill's currency as bills show it, e.g. 110.89 for 110.89 GBP (at most its minor digits)",
    )
    .requiredOption('--reference <ref>', 'payment reference')
    .addHelpText(
      'after',
      "\nThe amount is exact: 110.89 GBP is recorded as 11089 pence (the bill's totalMinor); 110.891 is refused.\nExample:\n  meterctl -p .network/profiles/distributor1.json bill pay bill_9c... --amount 110.89 --reference INV-1",
    )
    .action((billId: string, flags: { amount: string; reference: string }) => {
      const id = ids.billId(billId);
      const options = parsePayOptions(flags);
      return runBillPay(deps(), id, options);
    });
  bill
    .command('report <billId>')
    .description('a self-contained HTML page: usage per day, price per period, line items and total')
    .requiredOption('--html <file>', 'where to write the page')
    .option('--key <name>', 'session key from the keystore to show usage (default: the one the caller holds)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 bill report bill_9c... --html bill.html',
    )
    .action((billId: string, options: BillReportOptions) =>
      runBillReport(deps(), ids.billId(billId), options),
    );
}
