import type { Command } from 'commander';
import { identityFiles } from '../profile';
import { print, resolveProfile, type GlobalOptions } from './context';

export function registerProfileCommands(program: Command, globals: () => GlobalOptions): void {
  const profile = program.command('profile').description('connection profiles');
  profile
    .command('show')
    .description('print the connection profile and identity in use')
    .action(() => {
      const options = globals();
      const loaded = resolveProfile(options);
      const identity = options.identity ?? loaded.defaultIdentity;
      const files = identityFiles(loaded, identity);
      print(options, { ...loaded, identity, identityFiles: files }, () =>
        [
          `organization  ${loaded.org} (${loaded.mspId})`,
          `channels      ${loaded.channels.join(', ')}`,
          `peer          ${loaded.peer.endpoint} (TLS name ${loaded.peer.hostAlias})`,
          `CA            ${loaded.ca.url} (${loaded.ca.caName})`,
          `identity      ${identity}: ${files.certPath}`,
        ].join('\n'),
      );
    });
}
