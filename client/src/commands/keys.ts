import type { Command } from 'commander';
import { OrgKeyClient } from '../contracts/OrgKeyClient';
import { printRows } from '../output';
import { onChannel, print, resolveKeystore, type GlobalOptions } from './context';

export function registerKeyCommands(program: Command, globals: () => GlobalOptions): void {
  const keys = program
    .command('keys')
    .description('encryption keys: organization keys on the ledger, session keys in the local keystore');
  keys
    .command('publish')
    .description("create a new encryption key pair for the caller's organization and publish the public key")
    .addHelpText(
      'after',
      '\nThe private key stays in the keystore (0600); publish once per channel the organization is on.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid keys publish',
    )
    .action(async () => {
      const options = globals();
      const keystore = resolveKeystore(options);
      const record = await onChannel(options, async (network, { profile, channel }) => {
        const pending = keystore.newPendingOrgKey(channel, profile.mspId);
        const published = await new OrgKeyClient(network).publish(pending.pair.publicKeyPem);
        keystore.commitOrgKey(pending.pendingPath, channel, profile.mspId, published.version);
        return published;
      });
      print(
        options,
        record,
        () =>
          `published ${record.mspId} encryption key v${record.version} (fingerprint ${record.fingerprint.slice(0, 16)}...)`,
      );
    });
  keys
    .command('show <mspId>')
    .description("an organization's current published encryption key")
    .option('--history', 'every version')
    .action(async (mspId: string, commandOptions: { history?: boolean }) => {
      const options = globals();
      const records = await onChannel(options, async (network) => {
        const client = new OrgKeyClient(network);
        return commandOptions.history ? client.history(mspId) : [await client.current(mspId)];
      });
      printRows(options, records, [
        { header: 'msp', value: (r) => r.mspId },
        { header: 'version', value: (r) => r.version },
        { header: 'published', value: (r) => r.publishedAt },
        { header: 'fingerprint', value: (r) => r.fingerprint },
      ]);
    });
  keys
    .command('new <name>')
    .description('create a session key for a subscription (households); prints its key id')
    .addHelpText('after', '\nExample:\n  meterctl keys new home')
    .action((name: string) => {
      const options = globals();
      const stored = resolveKeystore(options).newSessionKey(name);
      print(
        options,
        { name, keyId: stored.keyId, createdAt: stored.createdAt },
        () => `session key ${name}: key id ${stored.keyId}`,
      );
    });
  keys
    .command('rotate <name>')
    .description(
      'replace a session key after its subscription ended; the old one is kept to read old readings',
    )
    .addHelpText('after', '\nExample:\n  meterctl keys rotate home')
    .action((name: string) => {
      const options = globals();
      const stored = resolveKeystore(options).rotateSessionKey(name);
      const previous = stored.previousKeyIds.at(-1);
      print(
        options,
        { name, keyId: stored.keyId, previousKeyId: previous },
        () => `session key ${name}: new key id ${stored.keyId} (was ${previous})`,
      );
    });
  keys
    .command('list')
    .description('session keys in the local keystore (ids only, never the keys)')
    .action(() => {
      const options = globals();
      printRows(
        options,
        resolveKeystore(options)
          .sessionKeys()
          .map(({ name, keyId, createdAt, previousKeyIds }) => ({ name, keyId, createdAt, previousKeyIds })),
        [
          { header: 'name', value: (r) => r.name },
          { header: 'key id', value: (r) => r.keyId },
          { header: 'created', value: (r) => r.createdAt },
          { header: 'rotations', value: (r) => r.previousKeyIds.length },
        ],
      );
    });
}
