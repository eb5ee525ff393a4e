import type { Command } from 'commander';
import { decryptReading, DecryptionError, type ReadingPayload } from '@smartmeter/crypto';
import type { ReadingRecord, SubscriptionRecord } from '@smartmeter/chaincode/dist/api/records';
import { MeasurementClient } from '../contracts/MeasurementClient';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { printResult, printRows } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { openReadings } from '@smartmeter/chaincode/dist/billing';
import { isoOption, onChannel, resolveKeystore, type GlobalOptions } from './context';

export interface DecryptedReading {
  periodStart: string;
  sequence: number;
  submittedAt: string;
  txId: string;
  /** Absent when the caller holds no key or the reading does not decrypt. */
  payload?: ReadingPayload;
  error?: string;
}

/** Decrypts each reading for its slot; a reading that does not decrypt is reported, not hidden. */
export function decryptReadings(
  subscription: SubscriptionRecord,
  readings: ReadingRecord[],
  key: Buffer | undefined,
): DecryptedReading[] {
  return readings.map((reading) => {
    const base = {
      periodStart: reading.periodStart,
      sequence: reading.sequence,
      submittedAt: reading.submittedAt,
      txId: reading.txId,
    };
    if (!key) return { ...base, error: 'encrypted' };
    try {
      const payload = decryptReading(reading, key, {
        channel: subscription.channel,
        subscriptionId: subscription.subscriptionId,
        sequence: reading.sequence,
        periodStart: reading.periodStart,
      });
      return { ...base, payload };
    } catch (err) {
      if (err instanceof DecryptionError) return { ...base, error: err.message };
      throw err;
    }
  });
}

interface RangeOptions {
  from: string;
  to: string;
}

export function registerReadingCommands(program: Command, globals: () => GlobalOptions): void {
  const readings = program.command('readings').description('encrypted meter readings');
  readings
    .command('list <subscriptionId>')
    .description('readings with periods in [from, to), decrypted with the key the caller holds')
    .requiredOption('--from <time>', 'first period start (UTC, e.g. 2026-11-01 or 2026-11-01T00:00:00Z)')
    .requiredOption('--to <time>', 'end of the range (exclusive)')
    .option('--encrypted', 'do not decrypt')
    .addHelpText(
      'after',
      '\nThe household decrypts with its own session key, the distributor and the authority by unwrapping\ntheir grant with their organization key from the keystore.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid readings list sub_3f... --from 2026-11-01 --to 2026-11-02',
    )
    .action(async (id: string, o: RangeOptions & { encrypted?: boolean }) => {
      const options = globals();
      const from = isoOption('--from', o.from);
      const to = isoOption('--to', o.to);
      const rows = await onChannel(options, async (network, { profile }) => {
        const subscription = await new SubscriptionClient(network).get(id);
        const records = await new MeasurementClient(network).all(id, from, to);
        const key = o.encrypted
          ? undefined
          : sessionKeyFor(subscription, profile.mspId, resolveKeystore(options)).key;
        return decryptReadings(subscription, records, key);
      });
      printRows(options, rows, [
        { header: 'period start', value: (r) => r.periodStart },
        { header: 'seq', value: (r) => r.sequence },
        { header: 'energy', value: (r) => (r.payload ? `${r.payload.energyWh} ${r.payload.unit}` : r.error) },
        { header: 'utility', value: (r) => r.payload?.utility },
        { header: 'quality', value: (r) => r.payload?.quality },
        { header: 'submitted', value: (r) => r.submittedAt },
      ]);
    });
  readings
    .command('missing <subscriptionId>')
    .description(
      'periods in [from, to) that should have a reading but have none, and readings that do not decrypt (INVALID_READING)',
    )
    .requiredOption('--from <time>', 'start of the range')
    .requiredOption('--to <time>', 'end of the range (exclusive)')
    .addHelpText(
      'after',
      '\nInvalid readings are found by decrypting with the key the caller holds; bills list them the same way and do\nnot bill them.\nExample:\n  meterctl -p .network/profiles/distributor1.json readings missing sub_3f... --from 2026-11-01 --to 2026-12-01',
    )
    .action(async (id: string, o: RangeOptions) => {
      const options = globals();
      const from = isoOption('--from', o.from);
      const to = isoOption('--to', o.to);
      const result = await onChannel(options, async (network, { profile, channel }) => {
        const measurements = new MeasurementClient(network);
        const missing = await measurements.missing(id, from, to);
        const subscription = await new SubscriptionClient(network).get(id);
        const { key } = sessionKeyFor(subscription, profile.mspId, resolveKeystore(options));
        const { invalid } = openReadings(
          await measurements.all(id, from, to),
          key,
          channel,
          subscription.keyId,
        );
        return { ...missing, invalid };
      });
      if (options.csv) {
        printRows(
          options,
          [
            ...result.missing.map((periodStart) => ({ periodStart, status: 'MISSING', reason: '' })),
            ...result.invalid.map((r) => ({ periodStart: r.periodStart, status: r.code, reason: r.reason })),
          ].sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1)),
          [
            { header: 'period_start', value: (r) => r.periodStart },
            { header: 'status', value: (r) => r.status },
            { header: 'reason', value: (r) => r.reason },
          ],
        );
        return;
      }
      printResult(options, result, () =>
        [
          `${result.missing.length} of ${result.expected} periods missing for ${id} in [${result.from}, ${result.to})`,
          ...result.missing.map((p) => `  ${p}`),
          ...(result.invalid.length > 0
            ? [
                `${result.invalid.length} readings on the ledger that do not decrypt (INVALID_READING, not billed):`,
                ...result.invalid.map((r) => `  ${r.periodStart}  ${r.reason}`),
              ]
            : []),
        ].join('\n'),
      );
    });
}
