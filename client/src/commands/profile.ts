import type { Command } from 'commander';
import { printResult } from '../output';
import { identityFiles } from '../profile';
import type { CommandDeps } from './deps';

export function runProfileShow(deps: CommandDeps): void {
  const loaded = deps.profile();
  const identity = deps.globals.identity ?? loaded.defaultIdentity;
  const files = identityFiles(loaded, identity);
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
  const profile = program.command('profile').description('connection profiles');
  profile
    .command('show')
    .description('print the connection profile and identity in use')
    .action(() => {
      runProfileShow(deps());
    });
}
