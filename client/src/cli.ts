#!/usr/bin/env node
import { Command } from 'commander';
import { registerBillCommands } from './commands/bill';
import { registerIdentityCommands } from './commands/identity';
import { registerKeyCommands } from './commands/keys';
import { registerMeterCommands } from './commands/meter';
import { registerPersonalDataCommands } from './commands/personalData';
import { registerPriceSignalCommands } from './commands/priceSignal';
import { registerProfileCommands } from './commands/profile';
import { registerReadingCommands } from './commands/readings';
import { registerReportCommands } from './commands/report';
import { registerSubscriptionCommands } from './commands/subscription';
import { registerTariffCommands } from './commands/tariff';
import { resolveProfile, type GlobalOptions } from './commands/context';
import { describeFailure, ExitCode } from './errors';

/**
 * meterctl: the command line for distributors, the public authority and households. Results go to stdout
 * (tables or --json), messages to stderr; exit codes 0 ok, 1 refused by the network, 2 usage or
 * configuration, 3 network unreachable.
 */
export function buildProgram(): Command {
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
    .option('--csv', 'print lists as CSV')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerProfileCommands(program, globals);
  registerIdentityCommands(program, globals);
  registerKeyCommands(program, globals);
  registerSubscriptionCommands(program, globals);
  registerMeterCommands(program, globals);
  registerReadingCommands(program, globals);
  registerPersonalDataCommands(program, globals);
  registerTariffCommands(program, globals);
  registerPriceSignalCommands(program, globals);
  registerBillCommands(program, globals);
  registerReportCommands(program, globals);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    const commanderError = err as { code?: string; exitCode?: number };
    if (typeof commanderError.code === 'string' && commanderError.code.startsWith('commander.')) {
      // Help and version print and exit 0; usage mistakes were already explained by commander.
      return commanderError.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const failure = describeFailure(err, peerEndpoint(program.opts<GlobalOptions>()));
    process.stderr.write(`meterctl: ${failure.message}\n`);
    return failure.exitCode;
  }
}

/** The gateway peer a failed command was talking to, for the "cannot reach" message. */
function peerEndpoint(options: GlobalOptions): string | undefined {
  try {
    return resolveProfile(options).peer.endpoint;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    // Exit only once stdout and stderr have flushed: a large --json result written to a pipe is asynchronous
    // and process.exit would cut it short.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
