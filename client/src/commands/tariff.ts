import type { Command } from 'commander';
import type { TariffRecord } from '@smartmeter/chaincode/dist/api/tariffs';
import { validateTariffDefinition } from '@smartmeter/chaincode/dist/billing';
import { UsageError } from '../errors';
import { readJsonFile } from '../jsonFile';
import { onChannel, print, type GlobalOptions } from './context';

const CHAINCODE = 'smartmeter';
const utf8 = new TextDecoder();

/** Reads and validates a tariff file; every schema problem is reported by field before anything is sent. */
export function readTariffFile(path: string): string {
  const parsed = readJsonFile(path, 'tariff file', (message) => new UsageError(message));
  const { tariff, errors } = validateTariffDefinition(parsed);
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
    .description('publish a new tariff version from a JSON file (see examples/tariffs)')
    .action(async (file: string) => {
      const options = globals();
      const body = readTariffFile(file);
      const record = await onChannel(
        options,
        async (network) =>
          JSON.parse(
            utf8.decode(
              await network.getContract(CHAINCODE, 'Pricing').submitTransaction('PublishTariff', body),
            ),
          ) as TariffRecord,
      );
      print(options, record, () => `published ${describeTariff(record)}`);
    });
  tariff
    .command('show <tariffId>')
    .description('the current version of a tariff')
    .requiredOption('--distributor <mspId>', 'MSP id of the distributor that publishes it')
    .action(async (tariffId: string, commandOptions: { distributor: string }) => {
      const options = globals();
      const record = await onChannel(
        options,
        async (network) =>
          JSON.parse(
            utf8.decode(
              await network
                .getContract(CHAINCODE, 'Pricing')
                .evaluateTransaction('GetTariff', commandOptions.distributor, tariffId),
            ),
          ) as TariffRecord,
      );
      print(options, record, () => describeTariff(record));
    });
}
