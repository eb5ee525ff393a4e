import type { Command } from 'commander';
import { decryptReading, DecryptionError, type ReadingPayload } from '@smartmeter/crypto';
import {
  type InvalidReading,
  type ReadingRecord,
  type SubscriptionRecord,
  openReadings,
  utilityOf,
} from '@smartmeter/domain';
import type { MissingPeriods } from '../contracts/MeasurementClient';
import * as ids from '../ids';
import { printResult, printRows, type Column, type OutputSink } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { isoOption } from './context';
import type { CommandDeps } from './deps';

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

/** A period range [from, to), both checked UTC times. */
export interface ReadingRange {
  from: string;
  to: string;
}

export function parseRange(flags: { from: string; to: string }): ReadingRange {
  return { from: isoOption('--from', flags.from), to: isoOption('--to', flags.to) };
}

/** Without encrypted, readings are decrypted with the key the caller holds (its own or its grant). */
export async function runReadingsList(
  deps: CommandDeps,
  subscriptionId: string,
  options: ReadingRange & { encrypted?: boolean },
): Promise<void> {
  const { from, to } = options;
  const rows = await deps.withChannel(async ({ subscriptions, measurements }, { profile }) => {
    const subscription = await subscriptions.get(subscriptionId);
    const records = await measurements.all(subscriptionId, from, to);
    const key = options.encrypted
      ? undefined
      : sessionKeyFor(subscription, profile.mspId, deps.keystore()).key;
    return decryptReadings(subscription, records, key);
  });
  printRows(deps.output, rows, readingColumns);
}

/** The quantity of a reading in this unit, undefined when it is in another or was not decrypted. */
const quantityIn = (unit: string) => (r: DecryptedReading) =>
  r.payload?.unit === unit ? r.payload.energyWh : undefined;

/**
 * In a table the quantity with its unit ("249 Wh"), or why there is none; in CSV numbers in a column per unit
 * (electricity in energy_wh, gas and water in volume_l) and the reason in its own column.
 */
export const readingColumns: Column<DecryptedReading>[] = [
  { header: 'period start', value: (r) => r.periodStart },
  { header: 'seq', value: (r) => r.sequence },
  {
    header: 'energy',
    value: (r) => (r.payload ? `${r.payload.energyWh} ${r.payload.unit}` : r.error),
    csv: [
      { header: 'energy_wh', value: quantityIn('Wh') },
      { header: 'volume_l', value: quantityIn('L') },
      { header: 'error', value: (r) => r.error },
    ],
  },
  { header: 'utility', value: (r) => r.payload?.utility },
  { header: 'quality', value: (r) => r.payload?.quality },
  { header: 'submitted', value: (r) => r.submittedAt },
];

/** The missing periods of a range and the readings in it that do not decrypt in their slot. */
export type ReadingGaps = MissingPeriods & { invalid: InvalidReading[] };

export async function runReadingsMissing(
  deps: CommandDeps,
  subscriptionId: string,
  options: ReadingRange,
): Promise<void> {
  const { from, to } = options;
  const gaps = await deps.withChannel(async ({ subscriptions, measurements }, { profile, channel }) => {
    const missing = await measurements.missing(subscriptionId, from, to);
    const subscription = await subscriptions.get(subscriptionId);
    const { key } = sessionKeyFor(subscription, profile.mspId, deps.keystore());
    const { invalid } = openReadings(
      await measurements.all(subscriptionId, from, to),
      key,
      channel,
      subscription.keyId,
      utilityOf(subscription),
    );
    return { ...missing, invalid };
  });
  if (deps.output.csv) printGapRows(deps.output, gaps);
  else printGaps(deps.output, subscriptionId, gaps);
}

/** CSV: one row per missing or invalid period, in time order. */
function printGapRows(output: OutputSink, gaps: ReadingGaps): void {
  printRows(
    output,
    [
      ...gaps.missing.map((periodStart) => ({ periodStart, status: 'MISSING', reason: '' })),
      ...gaps.invalid.map((r) => ({ periodStart: r.periodStart, status: r.code, reason: r.reason })),
    ].sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1)),
    [
      { header: 'period_start', value: (r) => r.periodStart },
      { header: 'status', value: (r) => r.status },
      { header: 'reason', value: (r) => r.reason },
    ],
  );
}

function printGaps(output: OutputSink, subscriptionId: string, gaps: ReadingGaps): void {
  printResult(output, gaps, () =>
    [
      `${gaps.missing.length} of ${gaps.expected} periods missing for ${subscriptionId} in [${gaps.from}, ${gaps.to})`,
      ...gaps.missing.map((p) => `  ${p}`),
      ...(gaps.invalid.length > 0
        ? [
            `${gaps.invalid.length} readings on the ledger that do not decrypt (INVALID_READING, not billed):`,
            ...gaps.invalid.map((r) => `  ${r.periodStart}  ${r.reason}`),
          ]
        : []),
    ].join('\n'),
  );
}

export function registerReadingCommands(program: Command, deps: () => CommandDeps): void {
  const readings = program
    .command('readings')
    .description('encrypted meter readings')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 --csv readings list sub_3f... --from 2026-11-01 --to 2026-12-01 > readings.csv',
    );
  readings
    .command('list <subscriptionId>')
    .description('readings with periods in [from, to), decrypted with the key the caller holds')
    .requiredOption('--from <time>', 'first period start (UTC, e.g. 2026-11-01 or 2026-11-01T00:00:00Z)')
    .requiredOption('--to <time>', 'end of the range (exclusive)')
    .option('--encrypted', 'do not decrypt')
    .addHelpText(
      'after',
      '\nThe household decrypts with its own session key, the distributor and the authority by unwrapping\ntheir grant with their organization key from the keystore. With --csv: energy_wh (electricity) or volume_l\n(gas, water) as numbers, and error for a reading that does not decrypt.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid readings list sub_3f... --from 2026-11-01 --to 2026-11-02',
    )
    .action((id: string, flags: { from: string; to: string; encrypted?: boolean }) => {
      const subscriptionId = ids.subscriptionId(id);
      const range = parseRange(flags);
      return runReadingsList(deps(), subscriptionId, { ...range, encrypted: flags.encrypted });
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
    .action((id: string, flags: { from: string; to: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const range = parseRange(flags);
      return runReadingsMissing(deps(), subscriptionId, range);
    });
}
