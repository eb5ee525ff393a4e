import type { Command } from 'commander';
import type { BillRecord } from '@smartmeter/chaincode/dist/api/tariffs';
import { readFileSync, writeFileSync } from 'node:fs';
import { fetchBillEvidence, verifyBill } from '../billVerify';
import { renderBillHtml } from '../billReport';
import { BillingClient } from '../contracts/BillingClient';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { ExitCode, UsageError } from '../errors';
import { formatKwh, formatMoney, printRows, type Column } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { integerOption, isoOption, onChannel, print, resolveKeystore, type GlobalOptions } from './context';

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

export const billColumns: Column<BillRecord>[] = [
  { header: 'bill', value: (b) => b.billId },
  { header: 'subscription', value: (b) => b.subscriptionId },
  { header: 'period', value: (b) => `${b.periodFrom} - ${b.periodTo}` },
  { header: 'energy kWh', value: (b) => formatKwh(b.energyWh) },
  { header: 'total', value: (b) => formatMoney(b.totalMinor, b.currency) },
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

export function registerBillCommands(program: Command, globals: () => GlobalOptions): void {
  const bill = program
    .command('bill')
    .description('bills computed on the ledger from the encrypted readings');
  const show = async (fn: (client: BillingClient) => Promise<BillRecord>) => {
    const options = globals();
    const record = await onChannel(options, (network) => fn(new BillingClient(network)));
    print(options, record, () => describeBill(record));
  };
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
    .action(async (id: string, o: { from: string; to: string }) => {
      const options = globals();
      const from = isoOption('--from', o.from);
      const to = isoOption('--to', o.to);
      const record = await onChannel(options, async (network, { profile }) => {
        const subscription = await new SubscriptionClient(network).get(id);
        const { key } = sessionKeyFor(subscription, profile.mspId, resolveKeystore(options));
        return new BillingClient(network).issue(id, from, to, key, [
          subscription.distributorMspId,
          profile.authorityMspId,
        ]);
      });
      print(options, record, () => describeBill(record));
    });
  bill
    .command('show <billId>')
    .description('one bill')
    .action(async (billId: string) => show((client) => client.get(billId)));
  bill
    .command('list')
    .description('bills of one subscription, or every bill the caller may see (operators, auditors)')
    .option('--subscription <subscriptionId>', 'only this subscription (households use this)')
    .action(async (o: { subscription?: string }) => {
      const options = globals();
      const records = await onChannel(options, (network) => {
        const client = new BillingClient(network);
        return o.subscription ? client.forSubscription(o.subscription) : client.all();
      });
      printRows(options, records, billColumns);
    });
  bill
    .command('verify <billId>')
    .description('recompute a bill from the ledger with the session key and compare (exit 1 on a mismatch)')
    .option('--key <name>', 'session key from the keystore (default: the one matching the subscription)')
    .option('--session-key-file <file>', 'file with the session key (64 hex characters)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json -i hh-17 bill verify bill_9c...',
    )
    .action(async (billId: string, o: { key?: string; sessionKeyFile?: string }) => {
      const options = globals();
      const result = await onChannel(options, async (network, { profile }) => {
        let key: Buffer;
        if (o.sessionKeyFile) key = readSessionKeyFile(o.sessionKeyFile);
        else if (o.key) key = Buffer.from(resolveKeystore(options).sessionKey(o.key).key, 'hex');
        else {
          const bill = await new BillingClient(network).get(billId);
          const subscription = await new SubscriptionClient(network).get(bill.subscriptionId);
          key = sessionKeyFor(subscription, profile.mspId, resolveKeystore(options)).key;
        }
        return verifyBill(network, billId, key);
      });
      print(options, { billId, ok: result.ok, differences: result.differences }, () =>
        result.ok
          ? `OK: bill ${billId} matches the ledger`
          : [`MISMATCH: bill ${billId}`, ...result.differences.map((d) => `  ${d}`)].join('\n'),
      );
      if (!result.ok) process.exitCode = ExitCode.Refused;
    });
  bill
    .command('dispute <billId>')
    .description('the household disputes a bill')
    .requiredOption('--reason <text>', 'what is wrong, e.g. which line')
    .action(async (billId: string, o: { reason: string }) =>
      show((client) => client.dispute(billId, o.reason)),
    );
  bill
    .command('resolve <billId>')
    .description(
      'the distributor operator resolves a dispute: UPHELD voids the bill, REJECTED keeps it payable',
    )
    .requiredOption('--outcome <outcome>', 'UPHELD or REJECTED')
    .requiredOption('--note <text>', 'explanation for the household')
    .action(async (billId: string, o: { outcome: string; note: string }) => {
      const outcome = o.outcome.toUpperCase();
      if (outcome !== 'UPHELD' && outcome !== 'REJECTED')
        throw new UsageError('--outcome must be UPHELD or REJECTED');
      await show((client) => client.resolve(billId, outcome, o.note));
    });
  bill
    .command('pay <billId>')
    .description('the distributor operator records the payment of a bill (the exact total, in minor units)')
    .requiredOption('--amount <minorUnits>', 'amount paid in minor currency units (e.g. pence)')
    .requiredOption('--reference <ref>', 'payment reference')
    .action(async (billId: string, o: { amount: string; reference: string }) => {
      const amount = integerOption('--amount', o.amount, 0, Number.MAX_SAFE_INTEGER);
      await show((client) => client.pay(billId, amount, o.reference));
    });
  bill
    .command('report <billId>')
    .description('a self-contained HTML page: usage per day, price per period, line items and total')
    .requiredOption('--html <file>', 'where to write the page')
    .option('--key <name>', 'session key from the keystore to show usage (default: the one the caller holds)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json -i hh-17 bill report bill_9c... --html bill.html',
    )
    .action(async (billId: string, o: { html: string; key?: string }) => {
      const options = globals();
      const html = await onChannel(options, async (network, { profile }) => {
        const evidence = await fetchBillEvidence(network, billId);
        const keystore = resolveKeystore(options);
        const key = o.key
          ? Buffer.from(keystore.sessionKey(o.key).key, 'hex')
          : sessionKeyFor(evidence.subscription, profile.mspId, keystore).key;
        return renderBillHtml(evidence, key);
      });
      writeFileSync(o.html, html);
      process.stderr.write(`wrote ${o.html}\n`);
    });
}
