import type { Command } from 'commander';
import { printResult } from '../output';
import { resolveIdentity } from './context';
import type { CommandDeps } from './deps';

/** The identity is found as commands find it: in the profile, or enrolled into the keystore. */
export function runProfileShow(deps: CommandDeps): void {
  const loaded = deps.profile();
  const { name: identity, files } = resolveIdentity(loaded, deps.globals.identity, deps.keystore());
  printResult(deps.output, { ...loaded, identity, identityFiles: files }, () =>
    [
      `organization  ${loaded.org} (${loaded.mspId})`,
      `channels      ${loaded.channels.join(', ')}`,
      `peer          ${loaded.peer.endpoint} (TLS name ${loaded.peer.hostAlias})`,
      `CA            ${loaded.ca.url} (${loaded.ca.caName})`,
      `identity      ${identity}: ${files.certPath}`,
    ].join('\n'),
  );
}

export function registerProfileCommands(program: Command, deps: () => CommandDeps): void {
  const profile = program
    .command('profile')
    .description('connection profiles')
    .addHelpText('after', '\nExample:\n  meterctl -p .network/profiles/distributor1.json profile show');
  profile
    .command('show')
    .description('print the connection profile and identity in use')
    .addHelpText(
      'after',
      '\nThe identity (-i) may be one of the profile or one enrolled into the keystore (meterctl identity enroll).\nExample:\n  meterctl -p .network/profiles/households1.json -k ~/.hh -i hh-17 profile show',
    )
    .action(() => {
      runProfileShow(deps());
    });
}
