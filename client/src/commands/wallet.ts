import type { Command } from 'commander';
import {
  isoSeconds,
  periodsStartingIn,
  validateMeterPolicy,
  type MeterPolicy,
  type WalletEntryRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { UsageError } from '../errors';
import * as ids from '../ids';
import { readStructuredFile } from '../jsonFile';
import { checkAmountSyntax, parseAmount } from '../money';
import { formatMoney, printResult, printRows } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { optionalIsoOption, requireHousehold, transientEndorsers } from './context';
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

/**
 * What a settlement without --to settles up to: the last period boundary at least `graceSeconds` before now (so
 * that the meter's reading of the last period, sent up to a minute after it ends, is in), and never past the 1st
 * of the next month (a settlement never crosses a month).
 */
export function lastBoundary(
  schedule: Parameters<typeof periodsStartingIn>[0],
  settledUntil: string,
  nowSeconds: number,
  graceSeconds = 300,
): string {
  const from = Date.parse(settledUntil) / 1000;
  const month = new Date(from * 1000);
  const limit = Math.min(
    nowSeconds - graceSeconds,
    Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1) / 1000,
  );
  let last = from;
  for (const period of periodsStartingIn(schedule, from, limit)) {
    const end = period.startSeconds + period.intervalSeconds;
    if (end > limit) break;
    last = end;
  }
  return isoSeconds(last);
}

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
    .command('settle <subscriptionId>')
    .description(
      'the operator settles (exhausts) the readings since the last settlement; the session key goes to the endorsers only',
    )
    .option('--to <time>', 'settle up to this period boundary (default: the last one that has passed)')
    .addHelpText(
      'after',
      '\nRun it hourly (cron) and before a bill: the monthly bill then shows what the settlements already paid.\nExample:\n  meterctl -p .network/profiles/distributor1.json wallet settle sub_3f...',
    )
    .action((id: string, flags: { to?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const to = optionalIsoOption('--to', flags.to);
      const d = deps();
      return showWallet(d, async (c) => {
        const subscription = await c.subscriptions.get(subscriptionId);
        const current = await c.prepaid.wallet(subscriptionId);
        const { key } = sessionKeyFor(subscription, d.profile().mspId, d.keystore());
        const periodTo =
          to ??
          lastBoundary(
            subscription.approval as NonNullable<typeof subscription.approval>,
            current.settledUntil,
            Math.floor(d.now().getTime() / 1000),
          );
        return c.prepaid.settle(subscriptionId, periodTo, key, transientEndorsers(subscription, d.profile()));
      });
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
