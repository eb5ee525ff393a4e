import type { Command } from 'commander';
import {
  averagePowerW,
  policyPrice,
  validatePricePolicy,
  type PricePolicyDefinition,
  type PricePolicyRecord,
} from '@smartmeter/domain';
import { UsageError } from '../errors';
import { readStructuredFile } from '../jsonFile';
import { printResult, printRows } from '../output';
import { integerOption } from './context';
import type { CommandDeps } from './deps';

/** A policy file, validated here exactly as the chaincode will: every error by field, nothing sent on error. */
export function readPolicyFile(path: string): PricePolicyDefinition {
  const parsed = readStructuredFile(path, 'price-policy file', (message) => new UsageError(message));
  const { policy, errors } = validatePricePolicy(parsed);
  if (!policy) throw new UsageError(`price-policy file ${path} is invalid:\n  ${errors.join('\n  ')}`);
  return policy;
}

export function describePolicy(p: PricePolicyRecord): string {
  const bands = p.bands.map(
    (b) =>
      `  ${String(b.fromW).padStart(10)} W - ${b.toW === null ? '∞'.padStart(10) : String(b.toW).padStart(10)} W  ` +
      `base ${b.basePriceMicroPerKwh} µ/kWh, +${b.slopeMicroPerKwhPerKw} µ/kWh per kW above ${b.fromW} W`,
  );
  return [
    `price policy ${p.regionCode} v${p.version}, from ${p.effectiveFrom} (published ${p.publishedAt})`,
    ...bands,
    `  floor ${p.floorMicroPerKwh} µ/kWh, cap ${p.capMicroPerKwh} µ/kWh`,
  ].join('\n');
}

export async function runPolicyPublish(deps: CommandDeps, policy: PricePolicyDefinition): Promise<void> {
  const record = await deps.withChannel(({ pricing }) => pricing.publishPolicy(JSON.stringify(policy)));
  printResult(deps.output, record, () => describePolicy(record));
}

export async function runPolicyShow(deps: CommandDeps, regionCode: string): Promise<void> {
  const versions = await deps.withChannel(({ pricing }) => pricing.policyHistory(regionCode));
  if (deps.output.json || deps.output.csv) {
    printRows(deps.output, versions, [
      { header: 'version', value: (p) => p.version },
      { header: 'effective_from', value: (p) => p.effectiveFrom },
      { header: 'bands', value: (p) => p.bands.length },
      { header: 'floor_micro_per_kwh', value: (p) => p.floorMicroPerKwh },
      { header: 'cap_micro_per_kwh', value: (p) => p.capMicroPerKwh },
    ]);
    return;
  }
  deps.output.stdout.write(
    versions.length === 0
      ? `${regionCode} has no price policy of its own (an enclosing area's may apply)\n`
      : `${versions.map(describePolicy).join('\n\n')}\n`,
  );
}

export interface PolicyPriceOptions {
  file: string;
  loadWh: bigint;
  periodSeconds: number;
}

/** What the chaincode derives for a load: the same function, here, so anyone can recompute a price. */
export function runPolicyPrice(deps: CommandDeps, options: PolicyPriceOptions): void {
  const policy = readPolicyFile(options.file);
  const power = averagePowerW(options.loadWh, options.periodSeconds);
  const price = policyPrice(policy, options.loadWh, options.periodSeconds);
  printResult(
    deps.output,
    {
      loadWh: options.loadWh.toString(),
      periodSeconds: options.periodSeconds,
      averagePowerW: power,
      priceMicroPerKwh: price,
    },
    () => `load ${options.loadWh} Wh over ${options.periodSeconds} s = ${power} W on average: ${price} µ/kWh`,
  );
}

export function registerPricePolicyCommands(program: Command, deps: () => CommandDeps): void {
  const policy = program
    .command('price-policy')
    .description("the authority's price policies: each closed round's price, derived on chain from its load")
    .addHelpText(
      'after',
      '\nThe price of a period is a function of its regional load (README "Dynamic prices"):\n' +
        '  P = floor(load Wh × 3600 / period s), the band with fromW ≤ P < toW,\n' +
        '  price = clamp(base + floor(slope × (P − fromW) / 1000), floor, cap)  (µ-minor units per kWh)\n' +
        'Example:\n  meterctl -p .network/profiles/authority.json -c northgrid price-policy show --region north',
    );
  policy
    .command('publish <file>')
    .description(
      "publish a new version of a region's policy (authority auditor) from a JSON or YAML file: { regionCode, effectiveFrom, bands: [{ fromW, toW, basePriceMicroPerKwh, slopeMicroPerKwhPerKw }], floorMicroPerKwh, capMicroPerKwh }",
    )
    .addHelpText(
      'after',
      '\nBands cover 0 W to ∞ without gaps (the last has toW: null). A later version takes effect from now on.\n' +
        'Example:\n  meterctl -p .network/profiles/authority.json -c northgrid price-policy publish examples/price-policies/north.json',
    )
    .action((file: string) => runPolicyPublish(deps(), readPolicyFile(file)));
  policy
    .command('show')
    .description("every version of a region's own policy")
    .requiredOption('--region <regionCode>', 'grid area, e.g. north')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json price-policy show --region north',
    )
    .action((flags: { region: string }) => runPolicyShow(deps(), flags.region));
  policy
    .command('price')
    .description("the price a policy file gives for a load (offline: the chaincode's own function)")
    .requiredOption('--file <file>', 'a price-policy file')
    .requiredOption('--load-wh <wh>', "the period's regional load in Wh")
    .option('--period-seconds <s>', 'the period length', '900')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl price-policy price --file examples/price-policies/north.json --load-wh 2500 --period-seconds 900',
    )
    .action((flags: { file: string; loadWh: string; periodSeconds: string }) => {
      if (!/^-?\d{1,18}$/.test(flags.loadWh)) throw new UsageError('--load-wh must be a whole number of Wh');
      runPolicyPrice(deps(), {
        file: flags.file,
        loadWh: BigInt(flags.loadWh),
        periodSeconds: integerOption('--period-seconds', flags.periodSeconds, 300, 86_400),
      });
    });
}
