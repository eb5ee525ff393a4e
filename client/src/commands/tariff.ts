import type { Command } from 'commander';
import { type TariffRecord, validateTariffDefinition } from '@smartmeter/domain';
import { UsageError } from '../errors';
import { readStructuredFile } from '../jsonFile';
import { printResult, printRows } from '../output';
import { isoOption } from './context';
import type { CommandDeps } from './deps';

/**
 * Reads and validates a tariff file (JSON or YAML), the fields given on the command line replacing the file's;
 * every schema problem is reported by field before anything is sent.
 */
export function readTariffFile(
  path: string,
  overrides: { tariffId?: string; effectiveFrom?: string } = {},
): string {
  const parsed = readStructuredFile(path, 'tariff file', (message) => new UsageError(message));
  const merged =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? { ...parsed, ...overrides }
      : parsed;
  const { tariff, errors } = validateTariffDefinition(merged);
  if (!tariff) throw new UsageError(`tariff file ${path} is invalid: ${errors.join('; ')}`);
  return JSON.stringify(tariff);
}

function describeTariff(tariff: TariffRecord): string {
  return `${tariff.tariffId} v${tariff.version} of ${tariff.distributorMspId}: ${tariff.pricing.kind}, ${tariff.currency}, from ${tariff.effectiveFrom}`;
}

/** The tariff file with --id and --effective-from applied, validated: the JSON to publish. */
export function parseTariffPublish(file: string, flags: { id?: string; effectiveFrom?: string }): string {
  return readTariffFile(file, {
    ...(flags.id ? { tariffId: flags.id } : {}),
    ...(flags.effectiveFrom ? { effectiveFrom: isoOption('--effective-from', flags.effectiveFrom) } : {}),
  });
}

export async function runTariffPublish(deps: CommandDeps, tariffJson: string): Promise<void> {
  const record = await deps.withChannel(({ pricing }) => pricing.publishTariff(tariffJson));
  printResult(deps.output, record, () => `published ${describeTariff(record)}`);
}

export async function runTariffShow(
  deps: CommandDeps,
  tariffId: string,
  distributorMspId: string,
): Promise<void> {
  const record = await deps.withChannel(({ pricing }) => pricing.tariff(distributorMspId, tariffId));
  printResult(deps.output, record, () => describeTariff(record));
}

export async function runTariffHistory(
  deps: CommandDeps,
  tariffId: string,
  distributorMspId: string,
): Promise<void> {
  const records = await deps.withChannel(({ pricing }) => pricing.tariffHistory(distributorMspId, tariffId));
  printRows(deps.output, records, [
    { header: 'version', value: (t) => t.version },
    { header: 'kind', value: (t) => t.pricing.kind },
    { header: 'currency', value: (t) => t.currency },
    { header: 'effective from', value: (t) => t.effectiveFrom },
    { header: 'published', value: (t) => t.publishedAt },
  ]);
}

export function registerTariffCommands(program: Command, deps: () => CommandDeps): void {
  const tariff = program
    .command('tariff')
    .description('tariffs (distributor operators publish, everyone reads)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json tariff show tou-2026 --distributor Distributor1MSP',
    );
  tariff
    .command('publish <file>')
    .description('publish a new tariff version from a JSON or YAML file (see examples/tariffs)')
    .option('--id <tariffId>', "use this tariff id instead of the file's")
    .option('--effective-from <time>', "use this start instead of the file's effectiveFrom")
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json tariff publish examples/tariffs/time-of-use.json --effective-from 2026-11-01T00:00:00Z',
    )
    .action((file: string, flags: { id?: string; effectiveFrom?: string }) => {
      const tariffJson = parseTariffPublish(file, flags);
      return runTariffPublish(deps(), tariffJson);
    });
  tariff
    .command('show <tariffId>')
    .description('the current version of a tariff')
    .requiredOption('--distributor <mspId>', 'MSP id of the distributor that publishes it')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json tariff show tou-2026 --distributor Distributor1MSP',
    )
    .action((tariffId: string, flags: { distributor: string }) =>
      runTariffShow(deps(), tariffId, flags.distributor),
    );
  tariff
    .command('history <tariffId>')
    .description('every published version of a tariff, oldest first')
    .requiredOption('--distributor <mspId>', 'MSP id of the distributor that publishes it')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid tariff history tou-2026 --distributor Distributor1MSP',
    )
    .action((tariffId: string, flags: { distributor: string }) =>
      runTariffHistory(deps(), tariffId, flags.distributor),
    );
}
