import type { Command } from 'commander';
import { printResult } from '../output';
import { integerOption } from './context';
import type { CommandDeps } from './deps';

/** meterctl ping: a smoke test that also makes blocks (each Ping is a committed transaction). */
export interface PingOptions {
  count: number;
  message: string;
}

export async function runPing(deps: CommandDeps, options: PingOptions): Promise<void> {
  const pings = await deps.withChannel(async ({ system }, { channel }) => {
    const records = [];
    for (let i = 0; i < options.count; i++) records.push(await system.ping(options.message));
    return { channel, records };
  });
  printResult(
    deps.output,
    pings.records,
    () =>
      `${pings.records.length} ping(s) committed on ${pings.channel}, the last at ${pings.records.at(-1)?.recordedAt ?? '-'}`,
  );
}

export function registerSystemCommands(program: Command, deps: () => CommandDeps): void {
  program
    .command('ping')
    .description('submit System:Ping and wait until it commits: checks the connection, and makes blocks')
    .option('--count <n>', 'how many pings, one after the other (each is a block on an idle network)', '1')
    .option('--message <text>', 'what the ping record says', 'ping from meterctl')
    .addHelpText(
      'after',
      '\nPersonal data is purged after PERSONAL_DATA_BLOCK_TO_LIVE blocks; on an idle test network, make them with:\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid ping --count 20',
    )
    .action((flags: { count: string; message: string }) =>
      runPing(deps(), { count: integerOption('--count', flags.count, 1, 1000), message: flags.message }),
    );
}
