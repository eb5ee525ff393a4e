#!/usr/bin/env node
import { Command } from 'commander';
import { registerAnomalyCommands } from './commands/anomalies';
import { registerBillCommands } from './commands/bill';
import { registerDeviceCommands } from './commands/device';
import { registerGridCommands } from './commands/grid';
import { registerSystemCommands } from './commands/system';
import { registerIdentityCommands } from './commands/identity';
import { registerKeyCommands } from './commands/keys';
import { registerMeterCommands } from './commands/meter';
import { registerPersonalDataCommands } from './commands/personalData';
import { registerPricePolicyCommands } from './commands/pricePolicy';
import { registerPriceSignalCommands } from './commands/priceSignal';
import { registerProfileCommands } from './commands/profile';
import { registerReadingCommands } from './commands/readings';
import { registerReportCommands } from './commands/report';
import { registerServeCommand } from './commands/serve';
import { registerSubscriptionCommands } from './commands/subscription';
import { registerTariffCommands } from './commands/tariff';
import { registerMeterPolicyCommands, registerWalletCommands } from './commands/wallet';
import { CommandExit, type GlobalOptions } from './commands/context';
import type { CommandDeps, CommandFactory } from './commands/deps';
import { defaultFactory } from './commands/factory';
import { describeFailure, ExitCode } from './errors';

/**
 * meterctl: the command line for distributors, the public authority and households. Results go to stdout
 * (tables or --json), messages to stderr; exit codes 0 ok, 1 refused by the network, 2 usage or
 * configuration, 3 network unreachable. The factory supplies what the commands need (gateway, keystore, output);
 * tests pass one with fakes.
 */
export function buildProgram(factory: CommandFactory = defaultFactory): Command {
  const program = new Command('meterctl')
    .description('smart-meter metering and billing on Hyperledger Fabric')
    .option(
      '-p, --profile <file>',
      'connection profile written by ./test-network.sh up (or METERCTL_PROFILE)',
    )
    .option('-i, --identity <name>', "identity from the profile (default: the profile's default identity)")
    .option('-c, --channel <name>', "channel (default: the organization's only channel)")
    .option(
      '-k, --keystore <dir>',
      'local keystore: org keys, session keys, identities (or METERCTL_HOME; default ~/.meterctl)',
    )
    .option('--json', 'print results as JSON')
    .option('--csv', 'print lists as CSV (numbers in unit columns such as energy_wh and total_minor)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 refused by the network, 2 usage or configuration (nothing sent), 3 unreachable.\nEvery command has --help with an example.\nExamples:\n  meterctl -p .network/profiles/distributor1.json subscription list --status REQUESTED\n  meterctl -p .network/profiles/households1.json -i hh-17 bill list --subscription sub_3f...\n  meterctl bill pay --help',
    )
    .showHelpAfterError()
    .exitOverride()
    // Subcommands share this configuration: help and usage errors go where the factory's output goes.
    .configureOutput({
      writeOut: (text) => {
        factory.streams.stdout.write(text);
      },
      writeErr: (text) => {
        factory.streams.stderr.write(text);
      },
    });
  const deps = (): CommandDeps => factory.deps(program.opts<GlobalOptions>());
  registerProfileCommands(program, deps);
  registerIdentityCommands(program, deps);
  registerKeyCommands(program, deps);
  registerSubscriptionCommands(program, deps);
  registerMeterCommands(program, deps);
  registerReadingCommands(program, deps);
  registerPersonalDataCommands(program, deps);
  registerTariffCommands(program, deps);
  registerPriceSignalCommands(program, deps);
  registerPricePolicyCommands(program, deps);
  registerGridCommands(program, deps);
  registerSystemCommands(program, deps);
  registerBillCommands(program, deps);
  registerWalletCommands(program, deps);
  registerMeterPolicyCommands(program, deps);
  registerReportCommands(program, deps);
  registerAnomalyCommands(program, deps);
  registerDeviceCommands(program, deps);
  registerServeCommand(program, deps);
  return program;
}

/**
 * Runs meterctl on argv (as process.argv: node, script, arguments...) and resolves to its exit code; it never
 * exits the process, so tests call it with their own factory.
 */
export async function main(argv: string[], factory: CommandFactory = defaultFactory): Promise<number> {
  const program = buildProgram(factory);
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommandExit) return err.exitCode;
    const commanderError = err as { code?: string; exitCode?: number };
    if (typeof commanderError.code === 'string' && commanderError.code.startsWith('commander.')) {
      // Help and version print and exit 0; usage mistakes were already explained by commander.
      return commanderError.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const failure = describeFailure(err, peerEndpoint(factory.deps(program.opts<GlobalOptions>())));
    factory.streams.stderr.write(`meterctl: ${failure.message}\n`);
    return failure.exitCode;
  }
}

/** The gateway peer a failed command was talking to, for the "cannot reach" message. */
function peerEndpoint(deps: CommandDeps): string | undefined {
  try {
    return deps.profile().peer.endpoint;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  // main reports every failure itself and resolves to the exit code; it does not reject.
  void main(process.argv).then((code) => {
    // Exit only once stdout and stderr have flushed: a large --json result written to a pipe is asynchronous
    // and process.exit would cut it short.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
