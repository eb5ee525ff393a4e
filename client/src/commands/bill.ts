import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { verifyBill } from '../billVerify';
import { ExitCode, UsageError } from '../errors';
import { onChannel, print, type GlobalOptions } from './context';

/** A session key file holds the 32-byte key as 64 hex characters. */
export function readSessionKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read session key file ${path}: ${(err as Error).message}`);
  }
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new UsageError(`session key file ${path} must hold 64 lowercase hex characters`);
  return Buffer.from(text, 'hex');
}

export function registerBillCommands(program: Command, globals: () => GlobalOptions): void {
  const bill = program.command('bill').description('bills');
  bill
    .command('verify <billId>')
    .description("recompute a bill from the ledger with the household's own session key and compare")
    .requiredOption('--session-key-file <file>', 'file with the session key (64 hex characters)')
    .action(async (billId: string, commandOptions: { sessionKeyFile: string }) => {
      const options = globals();
      const key = readSessionKeyFile(commandOptions.sessionKeyFile);
      const result = await onChannel(options, (network) => verifyBill(network, billId, key));
      print(options, { billId, ok: result.ok, differences: result.differences }, () =>
        result.ok
          ? `OK: bill ${billId} matches the ledger`
          : [`MISMATCH: bill ${billId}`, ...result.differences.map((d) => `  ${d}`)].join('\n'),
      );
      if (!result.ok) process.exitCode = ExitCode.Refused;
    });
}
