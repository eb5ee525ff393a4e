import type { Command } from 'commander';
import type { TariffRecord } from '@smartmeter/chaincode/dist/api/tariffs';
import { validateTariffDefinition } from '@smartmeter/chaincode/dist/billing';
import { PricingClient } from '../contracts/PricingClient';
import { UsageError } from '../errors';
import { readStructuredFile } from '../jsonFile';
import { printRows } from '../output';
import { isoOption, onChannel, print, type GlobalOptions } from './context';

/** Reads and validates a tariff file (JSON or YAML); every schema problem is reported by field before anything is sent. */
/** The tariff in the file, with the fields given on the command line replacing the file's. */
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

export function registerTariffCommands(program: Command, globals: () => GlobalOptions): void {
  const tariff = program
    .command('tariff')
    .description('tariffs (distributor operators publish, everyone reads)');
  tariff
    .command('publish <file>')
    .description('publish a new tariff version from a JSON or YAML file (see examples/tariffs)')
    .option('--id <tariffId>', "use this tariff id instead of the file's")
    .option('--effective-from <time>', "use this start instead of the file's effectiveFrom")
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json tariff publish examples/tariffs/time-of-use.json --effective-from 2026-11-01T00:00:00Z',
    )
    .action(async (file: string, o: { id?: string; effectiveFrom?: string }) => {
      const options = globals();
      const body = readTariffFile(file, {
        ...(o.id ? { tariffId: o.id } : {}),
        ...(o.effectiveFrom ? { effectiveFrom: isoOption('--effective-from', o.effectiveFrom) } : {}),
      });
      const record = await onChannel(options, (network) => new PricingClient(network).publishTariff(body));
      print(options, record, () => `published ${describeTariff(record)}`);
    });
  tariff
    .command('show <tariffId>')
    .description('the current version of a tariff')
    .requiredOption('--distributor <mspId>', 'MSP id of the distributor that publishes it')
    .addHelpText('after', '\nExample:\n  meterctl tariff show tou-2026 --distributor Distributor1MSP')
    .action(async (tariffId: string, o: { distributor: string }) => {
      const options = globals();
      const record = await onChannel(options, (network) =>
        new PricingClient(network).tariff(o.distributor, tariffId),
      );
      print(options, record, () => describeTariff(record));
    });
  tariff
    .command('history <tariffId>')
    .description('every published version of a tariff, oldest first')
    .requiredOption('--distributor <mspId>', 'MSP id of the distributor that publishes it')
    .action(async (tariffId: string, o: { distributor: string }) => {
      const options = globals();
      const records = await onChannel(options, (network) =>
        new PricingClient(network).tariffHistory(o.distributor, tariffId),
      );
      printRows(options, records, [
        { header: 'version', value: (t) => t.version },
        { header: 'kind', value: (t) => t.pricing.kind },
        { header: 'currency', value: (t) => t.currency },
        { header: 'effective from', value: (t) => t.effectiveFrom },
        { header: 'published', value: (t) => t.publishedAt },
      ]);
    });
}
