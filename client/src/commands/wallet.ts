import type { Command } from 'commander';
import {
  validateMeterPolicy,
  type MeterPolicy,
  type SubscriptionRecord,
  type WalletEntryRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { describeFailure, ExitCode, UsageError } from '../errors';
import * as ids from '../ids';
import { readStructuredFile } from '../jsonFile';
import { checkAmountSyntax, parseAmount } from '../money';
import { formatMoney, printResult, printRows, type Column } from '../output';
import {
  lastBoundary,
  settleAll,
  settlementAnchor,
  settleWallet,
  verifySettlements,
  type SettleRow,
  type SettlementVerification,
} from '../prepaidSettlement';
import { sessionKeyFor } from '../sessionKeys';
import { readSessionKeyFile } from './bill';
import {
  CommandExit,
  integerOption,
  optionalIsoOption,
  requireHousehold,
  transientEndorsers,
} from './context';
import type { CommandDeps, ContractClients } from './deps';

/** A wallet as a household reads it. */
export function describeWallet(w: WalletRecord): string {
  const lines = [
    `wallet of ${w.subscriptionId} (${w.distributorMspId}): balance ${formatMoney(w.balanceMinor, w.currency)}`,
    `  supply: ${w.supply} (${w.supplyReason}, since ${w.supplyChangedAt})`,
    `  settled until ${w.settledUntil}`,
    `  emergency credit ${formatMoney(w.emergencyCreditMinor, w.currency)}: ${w.emergencyCreditTakenAt ? `taken ${w.emergencyCreditTakenAt}` : 'available when the balance is low'}`,
    `  policy: warning below ${formatMoney(w.policy.warningBelowMinor, w.currency)}, power saving (${w.policy.powerSavingLimitW} W) below ${formatMoney(w.policy.powerSavingBelowMinor, w.currency)}, switch-off below ${formatMoney(w.policy.switchOffBelowMinor, w.currency)}`,
    `  friendly hours: ${describeFriendly(w.policy)}`,
  ];
  return lines.join('\n');
}

function describeFriendly(policy: MeterPolicy): string {
  const f = policy.friendlyHours;
  const minute = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const parts = [
    f.night ? `nights ${minute(f.night.startMinute)}-${minute(f.night.endMinute)}` : undefined,
    f.days.length > 0 ? f.days.join(', ') : undefined,
    f.holidays.length > 0 ? `${f.holidays.length} holidays` : undefined,
  ].filter((p): p is string => p !== undefined);
  const offset =
    f.utcOffsetMinutes === 0 ? 'UTC' : `UTC${f.utcOffsetMinutes > 0 ? '+' : ''}${f.utcOffsetMinutes / 60}`;
  return `${parts.join('; ') || 'none'} (${offset})`;
}

async function showWallet(
  deps: CommandDeps,
  change: (clients: ContractClients) => Promise<WalletRecord>,
): Promise<void> {
  const wallet = await deps.withChannel((clients) => change(clients));
  printResult(deps.output, wallet, () => describeWallet(wallet));
}

/** An amount as the currency shows it ("20.00"), read in the wallet's currency. */
async function amountFor(subscriptionId: string, text: string, clients: ContractClients): Promise<number> {
  const wallet = await clients.prepaid.wallet(subscriptionId);
  return parseAmount('--amount', text, wallet.currency);
}

// The default end of a settlement lives with the settlement rules; commands and tests import it from here too.
export { lastBoundary } from '../prepaidSettlement';

export const walletEntryColumns = [
  { header: 'at', value: (e: WalletEntryRecord) => e.at },
  { header: 'kind', value: (e: WalletEntryRecord) => e.kind },
  {
    header: 'amount',
    value: (e: WalletEntryRecord) => String(e.amountMinor),
    csv: [{ header: 'amount_minor', value: (e: WalletEntryRecord) => e.amountMinor }],
  },
  {
    header: 'balance after',
    value: (e: WalletEntryRecord) => String(e.balanceAfterMinor),
    csv: [{ header: 'balance_after_minor', value: (e: WalletEntryRecord) => e.balanceAfterMinor }],
  },
  {
    header: 'detail',
    value: (e: WalletEntryRecord) =>
      [
        e.reference,
        e.periodFrom && `${e.periodFrom} - ${e.periodTo}`,
        e.supply && `supply ${e.supply} (${e.supplyReason})`,
      ]
        .filter(Boolean)
        .join(' '),
  },
];

export function readMeterPolicyFile(path: string): MeterPolicy {
  const parsed = readStructuredFile(path, 'meter-policy file', (message) => new UsageError(message));
  const { policy, errors } = validateMeterPolicy(parsed);
  if (!policy) throw new UsageError(`meter-policy file ${path} is invalid:\n  ${errors.join('\n  ')}`);
  return policy;
}

interface WalletSettleFlags {
  to?: string;
  all?: boolean;
  distributor?: string;
  every?: string;
  grace: string;
}

/** One wallet (wallet settle <subscriptionId>). */
export interface WalletSettleOneOptions {
  kind: 'one';
  subscriptionId: string;
  to?: string;
  graceSeconds: number;
}

/** Every wallet of a distributor, once or every everySeconds (wallet settle --all). */
export interface WalletSettleAllOptions {
  kind: 'all';
  distributorMspId: string;
  everySeconds?: number;
  /** One pass up to this boundary for every wallet (e.g. the 1st, before a bill run). */
  to?: string;
  graceSeconds: number;
}

/** The shortest and longest --every: a period is at least 5 minutes; a day keeps balances and supply current. */
const MIN_EVERY_SECONDS = 60;
const MAX_EVERY_SECONDS = 86_400;
const MAX_GRACE_SECONDS = 3600;
const DURATION_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600 };

/** --every: whole seconds ("900") or one unit ("90s", "15m", "1h"), from 60 s to 24 h. */
export function parseEvery(value: string): number {
  const match = /^(\d{1,6})([smh]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (DURATION_UNITS[match[2]] ?? 1) : NaN;
  if (!(seconds >= MIN_EVERY_SECONDS && seconds <= MAX_EVERY_SECONDS))
    throw new UsageError(
      `--every must be seconds or a duration like 15m or 1h, from ${MIN_EVERY_SECONDS} s to 24h (got "${value}")`,
    );
  return seconds;
}

/** Which settlement the flags ask for; every conflict between them is a usage error and nothing is sent. */
export function parseWalletSettleOptions(
  id: string | undefined,
  flags: WalletSettleFlags,
): WalletSettleOneOptions | WalletSettleAllOptions {
  const graceSeconds = integerOption('--grace', flags.grace, 0, MAX_GRACE_SECONDS);
  if (id !== undefined && flags.all)
    throw new UsageError('wallet settle takes a subscription id or --all, not both');
  if (!flags.all) {
    if (id === undefined)
      throw new UsageError(
        'wallet settle needs the subscription to settle, or --all --distributor <mspId> for every wallet',
      );
    if (flags.distributor !== undefined || flags.every !== undefined)
      throw new UsageError('--distributor and --every go with --all');
    return {
      kind: 'one',
      subscriptionId: ids.subscriptionId(id),
      to: optionalIsoOption('--to', flags.to),
      graceSeconds,
    };
  }
  if (flags.to !== undefined && flags.every !== undefined)
    throw new UsageError(
      '--to settles up to one fixed boundary, --every again and again: give one of them, not both',
    );
  if (!flags.distributor)
    throw new UsageError('--all needs --distributor <mspId>, e.g. --distributor Distributor1MSP');
  return {
    kind: 'all',
    distributorMspId: flags.distributor,
    everySeconds: flags.every === undefined ? undefined : parseEvery(flags.every),
    to: optionalIsoOption('--to', flags.to),
    graceSeconds,
  };
}

/**
 * One wallet, by its subscription's privacy mode: disclosed by the endorsers with the session key as transient
 * data, aggregate from the shares here (the key goes nowhere). Without --to, up to the last period boundary.
 */
export function runWalletSettle(deps: CommandDeps, options: WalletSettleOneOptions): Promise<void> {
  return showWallet(deps, async (c) => {
    const subscription = await c.subscriptions.get(options.subscriptionId);
    const approval = subscription.approval;
    if (!approval) throw new UsageError(`subscription ${subscription.subscriptionId} is not approved`);
    const wallet = await c.prepaid.wallet(options.subscriptionId);
    const bills = await c.billing.forSubscription(options.subscriptionId);
    const periodTo =
      options.to ??
      lastBoundary(
        approval,
        settlementAnchor(wallet, bills, approval).periodFrom,
        Math.floor(deps.now().getTime() / 1000),
        options.graceSeconds,
        subscription.end?.effectiveAt,
      );
    return settleWallet({
      clients: c,
      subscription,
      wallet,
      periodTo,
      bills,
      sessionKey: sessionKeyFor(subscription, deps.profile().mspId, deps.keystore()).key,
      endorsingOrganizations: transientEndorsers(subscription, deps.profile()),
    });
  });
}

const settleRowColumns: Column<SettleRow>[] = [
  {
    header: 'subscription',
    value: (r) => r.subscriptionId,
    csv: [{ header: 'subscription_id', value: (r) => r.subscriptionId }],
  },
  { header: 'outcome', value: (r) => r.outcome },
  {
    header: 'period',
    value: (r) => (r.periodFrom && r.periodTo ? `${r.periodFrom} - ${r.periodTo}` : ''),
    csv: [
      { header: 'period_start', value: (r) => r.periodFrom },
      { header: 'period_end', value: (r) => r.periodTo },
    ],
  },
  {
    header: 'amount',
    value: (r) => moneyOf(r.amountMinor, r.currency),
    csv: [{ header: 'amount_minor', value: (r) => r.amountMinor }],
  },
  {
    header: 'balance',
    value: (r) => moneyOf(r.balanceMinor, r.currency),
    csv: [
      { header: 'balance_minor', value: (r) => r.balanceMinor },
      { header: 'currency', value: (r) => r.currency },
    ],
  },
  {
    header: 'supply',
    value: (r) => (r.supply ? `${r.supply} (${r.supplyReason ?? ''})` : ''),
    csv: [
      { header: 'supply', value: (r) => r.supply },
      { header: 'supply_reason', value: (r) => r.supplyReason },
    ],
  },
  {
    header: 'detail',
    value: (r) => [r.code, r.message].filter(Boolean).join(': '),
    csv: [
      { header: 'code', value: (r) => r.code },
      { header: 'message', value: (r) => r.message },
    ],
  },
];

function moneyOf(amountMinor: number | undefined, currency: string | undefined): string {
  if (amountMinor === undefined) return '';
  return currency ? formatMoney(amountMinor, currency) : String(amountMinor);
}

/** One pass of settleAll on a fresh connection, each wallet's outcome on stderr as it comes. */
function settlePass(
  deps: CommandDeps,
  options: WalletSettleAllOptions,
  signal?: AbortSignal,
): Promise<SettleRow[]> {
  const profile = deps.profile();
  const keystore = deps.keystore();
  return deps.withChannel((clients) =>
    settleAll({
      clients,
      distributorMspId: options.distributorMspId,
      now: deps.now(),
      graceSeconds: options.graceSeconds,
      ...(options.to ? { to: options.to } : {}),
      sessionKeyOf: (subscription: SubscriptionRecord) =>
        sessionKeyFor(subscription, profile.mspId, keystore).key,
      endorsersOf: (subscription: SubscriptionRecord) => transientEndorsers(subscription, profile),
      onProgress: (row, done, total) => {
        deps.output.stderr.write(`[${done}/${total}] ${row.subscriptionId}: ${progressText(row)}\n`);
      },
      signal,
    }),
  );
}

function progressText(row: SettleRow): string {
  switch (row.outcome) {
    case 'settled':
      return `settled ${row.periodFrom ?? ''} - ${row.periodTo ?? ''}, ${moneyOf(row.amountMinor, row.currency)}; balance ${moneyOf(row.balanceMinor, row.currency)}`;
    case 'skipped':
      return `skipped: ${row.code ?? ''}: ${row.message ?? ''}`;
    default:
      return `${row.outcome}${row.message ? `: ${row.message}` : ''}`;
  }
}

/** One pass over every wallet: a table of outcomes; exit 1 when a wallet failed (a refusal only skips it). */
export async function runWalletSettleAll(deps: CommandDeps, options: WalletSettleAllOptions): Promise<void> {
  const rows = await settlePass(deps, options);
  printRows(deps.output, rows, settleRowColumns);
  if (rows.some((r) => r.outcome === 'failed')) throw new CommandExit(ExitCode.Refused);
}

/** Waits ms, or less when the signal aborts first. */
export type Wait = (ms: number, signal: AbortSignal) => Promise<void>;

export const waitOrStop: Wait = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

/**
 * The operator's built-in periodic settlement: a pass every everySeconds (start to start), one line per pass on
 * stdout, until SIGINT or SIGTERM; a pass under way finishes the wallet it is settling first. A pass that cannot
 * reach the network is told on stderr and the next one tries again.
 */
export async function runWalletSettleEvery(
  deps: CommandDeps,
  options: WalletSettleAllOptions & { everySeconds: number },
  wait: Wait = waitOrStop,
): Promise<void> {
  const stop = new AbortController();
  const release = deps.onInterrupt(() => {
    stop.abort();
  });
  let passes = 0;
  try {
    while (!stop.signal.aborted) {
      const started = deps.now();
      try {
        const rows = await settlePass(deps, options, stop.signal);
        deps.output.stdout.write(`${passLine(deps, started, rows)}\n`);
      } catch (err) {
        deps.output.stderr.write(`pass at ${isoOf(started)} failed: ${describeFailure(err).message}\n`);
      }
      passes += 1;
      const elapsedMs = deps.now().getTime() - started.getTime();
      await wait(Math.max(0, options.everySeconds * 1000 - elapsedMs), stop.signal);
    }
  } finally {
    release();
  }
  deps.output.stderr.write(`stopped after ${passes} ${passes === 1 ? 'pass' : 'passes'}\n`);
}

function isoOf(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const OUTCOMES: readonly SettleRow['outcome'][] = ['settled', 'up-to-date', 'refreshed', 'skipped', 'failed'];

/** "2026-11-15T10:07:00Z: 3 wallets: 1 settled (1.20 GBP), 1 up-to-date, 0 refreshed, 1 skipped, 0 failed". */
function passLine(deps: CommandDeps, started: Date, rows: readonly SettleRow[]): string {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, rows.filter((r) => r.outcome === o).length]));
  const settled = rows.filter((r) => r.outcome === 'settled');
  const settledMinor = settled.reduce((sum, r) => sum + (r.amountMinor ?? 0), 0);
  if (deps.output.json)
    return JSON.stringify({ at: isoOf(started), wallets: rows.length, ...counts, settledMinor });
  const amount = settled.length > 0 ? ` (${moneyOf(settledMinor, settled[0].currency)})` : '';
  return `${isoOf(started)}: ${rows.length} wallets: ${counts.settled} settled${amount}, ${OUTCOMES.slice(1)
    .map((o) => `${counts[o]} ${o}`)
    .join(', ')}`;
}

export interface WalletVerifyOptions {
  /** From --session-key-file. */
  sessionKey?: Buffer;
  /** Else the keystore's session key of this name; else the one matching the subscription. */
  key?: string;
}

/** The household recomputes every settlement; one line each, a summary, exit 1 on any mismatch. */
export async function runWalletVerify(
  deps: CommandDeps,
  subscriptionId: string,
  options: WalletVerifyOptions,
): Promise<void> {
  const { results, currency } = await deps.withChannel(async (clients, { profile, channel }) => {
    const subscription = await clients.subscriptions.get(subscriptionId);
    const wallet = await clients.prepaid.wallet(subscriptionId);
    const sessionKey =
      options.sessionKey ??
      (options.key
        ? deps.keystore().sessionKeyBytes(options.key)
        : sessionKeyFor(subscription, profile.mspId, deps.keystore()).key);
    const verified = await verifySettlements({
      sources: clients,
      prepaid: clients.prepaid,
      subscription,
      sessionKey,
      channel,
    });
    return { results: verified, currency: wallet.currency };
  });
  const mismatches = results.filter((r) => !r.ok).length;
  printResult(deps.output, { subscriptionId, settlements: results, mismatches }, () =>
    [
      ...results.map((r) => verificationText(r, currency)),
      `${results.length} settlements verified, ${mismatches} mismatches`,
    ].join('\n'),
  );
  if (mismatches > 0) throw new CommandExit(ExitCode.Refused);
}

function verificationText(result: SettlementVerification, currency: string): string {
  const head = `${result.ok ? 'OK      ' : 'MISMATCH'}  ${result.periodFrom} - ${result.periodTo}  debited ${formatMoney(result.amountMinor, currency)}`;
  return [head, ...result.differences.map((d) => `  ${d}`)].join('\n');
}

export function registerWalletCommands(program: Command, deps: () => CommandDeps): void {
  const wallet = program
    .command('wallet')
    .description('prepaid wallets: top-ups, settlements (exhaustion by usage), transfers between neighbours')
    .addHelpText(
      'after',
      '\nAmounts are in the tariff currency as bills show them (20.00 = 20.00 GBP).\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 wallet show sub_3f...',
    );
  wallet
    .command('open <subscriptionId>')
    .description("the distributor's operator makes a disclosed subscription prepaid (a wallet at 0)")
    .option('--emergency-credit <amount>', 'how far below zero emergency credit lets the wallet go', '10.00')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json wallet open sub_3f... --emergency-credit 5.00',
    )
    .action((id: string, flags: { emergencyCredit: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const credit = checkAmountSyntax('--emergency-credit', flags.emergencyCredit);
      return showWallet(deps(), async (c) => {
        const subscription = await c.subscriptions.get(subscriptionId);
        const tariff = await c.pricing.tariff(
          subscription.distributorMspId,
          subscription.approval?.tariffId ?? '',
        );
        return c.prepaid.open(subscriptionId, parseAmount('--emergency-credit', credit, tariff.currency));
      });
    });
  wallet
    .command('show <subscriptionId>')
    .description(
      'balance, supply state and its reason, meter policy (household, its meter, operators, auditors)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 wallet show sub_3f...',
    )
    .action((id: string) => showWallet(deps(), (c) => c.prepaid.wallet(ids.subscriptionId(id))));
  wallet
    .command('top-up <subscriptionId>')
    .description('the operator records a purchase (idempotent per payment reference)')
    .requiredOption('--amount <amount>', 'e.g. 20.00')
    .requiredOption('--reference <ref>', 'payment reference: used once')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json wallet top-up sub_3f... --amount 20.00 --reference PAY-0001',
    )
    .action((id: string, flags: { amount: string; reference: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const amount = checkAmountSyntax('--amount', flags.amount);
      return showWallet(deps(), async (c) =>
        c.prepaid.topUp(subscriptionId, await amountFor(subscriptionId, amount, c), flags.reference),
      );
    });
  wallet
    .command('settle [subscriptionId]')
    .description(
      'the operator settles (exhausts) the usage since the last settlement: one wallet, or --all of a distributor',
    )
    .option(
      '--to <time>',
      'settle up to this period boundary (default: the last one that has passed; for aggregate wallets, the last whose rounds are final)',
    )
    .option('--all', 'every wallet of --distributor, each up to its last period boundary (or --to)')
    .option('--distributor <mspId>', 'with --all: whose wallets, e.g. Distributor1MSP')
    .option(
      '--every <interval>',
      'with --all: a pass every interval (seconds, or 15m, 1h) until Ctrl-C or SIGTERM',
    )
    .option(
      '--grace <seconds>',
      'settle a period this long after it ended (its reading is in by then)',
      '300',
    )
    .addHelpText(
      'after',
      [
        '',
        'A disclosed wallet is priced by the endorsers (its session key goes to them as transient data); an aggregate',
        "wallet is priced here from the household's shares once their rounds are final, and only the claim is sent.",
        'With --all one pass prints a row per wallet (settled, up-to-date, refreshed, skipped with the refusal, failed)',
        'and exits 1 if any failed; with --every it prints one line per pass and keeps going until stopped.',
        'Examples:',
        '  meterctl -p .network/profiles/distributor1.json wallet settle sub_3f...',
        '  meterctl -p .network/profiles/distributor1.json wallet settle --all --distributor Distributor1MSP',
        '  meterctl -p .network/profiles/distributor1.json wallet settle --all --distributor Distributor1MSP --every 1h',
        '  meterctl -p .network/profiles/distributor1.json wallet settle --all --distributor Distributor1MSP --to 2026-12-01T00:00:00Z',
      ].join('\n'),
    )
    .action((id: string | undefined, flags: WalletSettleFlags) => {
      const options = parseWalletSettleOptions(id, flags);
      if (options.kind === 'one') return runWalletSettle(deps(), options);
      return options.everySeconds === undefined
        ? runWalletSettleAll(deps(), options)
        : runWalletSettleEvery(deps(), { ...options, everySeconds: options.everySeconds });
    });
  wallet
    .command('verify <subscriptionId>')
    .description(
      'the household recomputes every settlement of its wallet with its own session key (exit 1 on a mismatch)',
    )
    .option('--key <name>', 'session key from the keystore (default: the one matching the subscription)')
    .option('--session-key-file <file>', 'file with the session key (64 hex characters)')
    .addHelpText(
      'after',
      [
        '',
        "Each settlement's cost is recomputed from the readings (disclosed) or the shares (aggregate) as the ledger had",
        'them when it was made, and its debit checked against the cost less the earlier settlements of its month.',
        'Example:',
        '  meterctl -p .network/profiles/households1.json -i hh-17 wallet verify sub_3f...',
      ].join('\n'),
    )
    .action((id: string, flags: { key?: string; sessionKeyFile?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const sessionKey = flags.sessionKeyFile ? readSessionKeyFile(flags.sessionKeyFile) : undefined;
      return runWalletVerify(deps(), subscriptionId, { sessionKey, key: flags.key || undefined });
    });
  wallet
    .command('transfer <fromSubscriptionId>')
    .description("the household gives or sells tokens to a neighbour's wallet on the same channel")
    .requiredOption('--to <subscriptionId>', "the neighbour's subscription")
    .requiredOption('--amount <amount>', 'e.g. 2.50 (at most 500.00; never below zero)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 wallet transfer sub_3f... --to sub_9a... --amount 2.50',
    )
    .action((id: string, flags: { to: string; amount: string }) => {
      const from = ids.subscriptionId(id);
      const to = ids.subscriptionId(flags.to);
      const amount = checkAmountSyntax('--amount', flags.amount);
      const d = deps();
      requireHousehold(d, 'wallet transfer');
      return showWallet(d, async (c) => c.prepaid.transfer(from, to, await amountFor(from, amount, c)));
    });
  wallet
    .command('emergency-credit <subscriptionId>')
    .description('the household takes its emergency credit (once per low-balance episode)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 wallet emergency-credit sub_3f...',
    )
    .action((id: string) => {
      const d = deps();
      requireHousehold(d, 'wallet emergency-credit');
      return showWallet(d, (c) => c.prepaid.takeEmergencyCredit(ids.subscriptionId(id)));
    });
  wallet
    .command('refresh <subscriptionId>')
    .description(
      'record the supply state at this time (friendly hours begin and end without a wallet change)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json wallet refresh sub_3f...',
    )
    .action((id: string) => showWallet(deps(), (c) => c.prepaid.refreshSupply(ids.subscriptionId(id))));
  wallet
    .command('history <subscriptionId>')
    .description('every change of the wallet, with the balance after it')
    .addHelpText(
      'after',
      '\nWith --csv: at, kind, amount_minor, balance_after_minor, detail.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 wallet history sub_3f...',
    )
    .action(async (id: string) => {
      const d = deps();
      const rows = await d.withChannel((c) => c.prepaid.history(ids.subscriptionId(id)));
      printRows(d.output, rows, walletEntryColumns);
    });
  wallet
    .command('supply')
    .description("token-erc-20's total supply for a distributor: topped up = balances + exhausted")
    .requiredOption('--distributor <mspId>', 'e.g. Distributor1MSP')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid wallet supply --distributor Distributor1MSP',
    )
    .action(async (flags: { distributor: string }) => {
      const d = deps();
      const supply = await d.withChannel((c) => c.prepaid.totalSupply(flags.distributor));
      const money = (m: number) => (supply.currency ? formatMoney(m, supply.currency) : String(m));
      printResult(d.output, supply, () =>
        [
          `${supply.distributorMspId}: ${supply.wallets} wallets; topped up ${money(supply.toppedUpMinor)}, exhausted ${money(supply.exhaustedMinor)}, outstanding ${money(supply.outstandingMinor)}`,
          `  balances add up to ${money(supply.balancesMinor)}: ${supply.reconciled ? 'reconciled' : 'NOT RECONCILED'}`,
        ].join('\n'),
      );
    });
}

/** `meter policy set | show`: the household's meter policy, stored in its wallet. */
export function registerMeterPolicyCommands(program: Command, deps: () => CommandDeps): void {
  const meter = program.commands.find((c) => c.name() === 'meter');
  if (!meter) throw new Error('the meter command group is registered first');
  const policy = meter
    .command('policy')
    .description(
      "the prepaid meter's policy: thresholds for warning, power saving and switch-off, friendly hours",
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 meter policy show sub_3f...',
    );
  policy
    .command('set <subscriptionId>')
    .description(
      'the household sets its meter policy from a JSON or YAML file (validated; every error by field)',
    )
    .requiredOption('--file <file>', 'see examples/meter-policy.json')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 meter policy set sub_3f... --file examples/meter-policy.json',
    )
    .action((id: string, flags: { file: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const value = readMeterPolicyFile(flags.file);
      const d = deps();
      requireHousehold(d, 'meter policy set');
      return showWallet(d, (c) => c.prepaid.setPolicy(subscriptionId, JSON.stringify(value)));
    });
  policy
    .command('show <subscriptionId>')
    .description('the meter policy and the supply state it gives now')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 meter policy show sub_3f...',
    )
    .action(async (id: string) => {
      const d = deps();
      const w = await d.withChannel((c) => c.prepaid.wallet(ids.subscriptionId(id)));
      printResult(d.output, w.policy, () => describeWallet(w));
    });
}
