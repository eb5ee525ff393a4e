import type { Command } from 'commander';
import type { PriceSignalInput } from '../contracts/PricingClient';
import { UsageError } from '../errors';
import { readStructuredFile } from '../jsonFile';
import { formatKwh, printResult, printRows } from '../output';
import { isoOption } from './context';
import type { CommandDeps } from './deps';

/** A price-signal file: an array of { periodStart, priceMicroPerKwh }; problems reported by index. */
export function readSignalFile(path: string): PriceSignalInput[] {
  const parsed = readStructuredFile(path, 'price-signal file', (message) => new UsageError(message));
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new UsageError(`price-signal file ${path} must hold a non-empty array`);
  const problems: string[] = [];
  parsed.forEach((item: unknown, i) => {
    const signal = item as Partial<PriceSignalInput> | null;
    if (
      typeof signal?.periodStart !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(signal.periodStart)
    )
      problems.push(`[${i}].periodStart must be a UTC time like 2026-01-15T10:00:00Z`);
    if (!Number.isSafeInteger(signal?.priceMicroPerKwh) || (signal?.priceMicroPerKwh ?? -1) < 0)
      problems.push(
        `[${i}].priceMicroPerKwh must be a non-negative integer (millionths of the minor unit per kWh: 25000000 = 25 p/kWh)`,
      );
  });
  if (problems.length > 0)
    throw new UsageError(`price-signal file ${path} is invalid: ${problems.join('; ')}`);
  return parsed as PriceSignalInput[];
}

export interface PriceSignalPublishOptions {
  regionCode: string;
  signals: PriceSignalInput[];
}

export async function runPriceSignalPublish(
  deps: CommandDeps,
  options: PriceSignalPublishOptions,
): Promise<void> {
  const { regionCode, signals } = options;
  const result = await deps.withChannel(({ pricing }) => pricing.publishSignals(regionCode, signals));
  printResult(deps.output, result, () => `published ${signals.length} price signals for ${regionCode}`);
}

export interface PriceSignalShowOptions {
  regionCode: string;
  from: string;
  to: string;
}

export function parseShowOptions(flags: {
  region: string;
  from: string;
  to: string;
}): PriceSignalShowOptions {
  return { regionCode: flags.region, from: isoOption('--from', flags.from), to: isoOption('--to', flags.to) };
}

export async function runPriceSignalShow(deps: CommandDeps, options: PriceSignalShowOptions): Promise<void> {
  const { regionCode, from, to } = options;
  const records = await deps.withChannel(({ pricing }) => pricing.signals(regionCode, from, to));
  printRows(deps.output, records, [
    { header: 'period start', value: (s) => s.periodStart },
    {
      header: 'price (µ/kWh)',
      value: (s) => s.priceMicroPerKwh,
      csv: [{ header: 'price_micro_per_kwh', value: (s) => s.priceMicroPerKwh }],
    },
    { header: 'source', value: (s) => s.source ?? 'manual' },
    {
      header: 'regional load kWh',
      value: (s) => (s.policy ? formatKwh(Number(s.policy.loadWh)) : ''),
      csv: [{ header: 'regional_load_wh', value: (s) => s.policy?.loadWh ?? '' }],
    },
    {
      header: 'policy price',
      value: (s) => (s.policy ? `${s.policy.priceMicroPerKwh} (v${s.policy.policyVersion})` : ''),
      csv: [
        { header: 'policy_price_micro_per_kwh', value: (s) => s.policy?.priceMicroPerKwh ?? '' },
        { header: 'policy_version', value: (s) => s.policy?.policyVersion ?? '' },
      ],
    },
    { header: 'published', value: (s) => s.publishedAt },
  ]);
}

export function registerPriceSignalCommands(program: Command, deps: () => CommandDeps): void {
  const signals = program
    .command('price-signal')
    .description("the authority's regional price signals")
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json price-signal show --region north/d1 --from 2026-11-01 --to 2026-11-02',
    );
  signals
    .command('publish')
    .description('publish price signals for a region (authority auditor) from a JSON or YAML file')
    .requiredOption('--region <regionCode>', 'grid area, e.g. north/d1')
    .requiredOption('--file <file>', 'array of { periodStart, priceMicroPerKwh }')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid price-signal publish --region north/d1 --file examples/price-signals.json',
    )
    .action((flags: { region: string; file: string }) => {
      const options = { regionCode: flags.region, signals: readSignalFile(flags.file) };
      return runPriceSignalPublish(deps(), options);
    });
  signals
    .command('show')
    .description('price signals of a region with periods in [from, to)')
    .requiredOption('--region <regionCode>', 'grid area')
    .requiredOption('--from <time>', 'start')
    .requiredOption('--to <time>', 'end (exclusive)')
    .addHelpText(
      'after',
      "\nPrices are in millionths of the minor unit per kWh (25000000 = 25 p/kWh). source: manual, policy (derived on chain from the round's load) or override (a manual signal the policy price did not replace).\nExample:\n  meterctl -p .network/profiles/distributor1.json price-signal show --region north/d1 --from 2026-11-01 --to 2026-11-02",
    )
    .action((flags: { region: string; from: string; to: string }) => {
      const options = parseShowOptions(flags);
      return runPriceSignalShow(deps(), options);
    });
}
