import type { Command } from 'commander';
import { printResult, printRows } from '../output';
import type { CommandDeps } from './deps';

/** A new key pair for the caller's organization: the private key stays in the keystore, the public one is published. */
export async function runKeysPublish(deps: CommandDeps): Promise<void> {
  const keystore = deps.keystore();
  const record = await deps.withChannel(async ({ orgKeys }, { profile, channel }) => {
    const pending = keystore.newPendingOrgKey(channel, profile.mspId);
    const published = await orgKeys.publish(pending.pair.publicKeyPem);
    keystore.commitOrgKey(pending.pendingPath, channel, profile.mspId, published.version);
    return published;
  });
  printResult(
    deps.output,
    record,
    () =>
      `published ${record.mspId} encryption key v${record.version} (fingerprint ${record.fingerprint.slice(0, 16)}...)`,
  );
}

export async function runKeysShow(
  deps: CommandDeps,
  mspId: string,
  options: { history?: boolean },
): Promise<void> {
  const records = await deps.withChannel(async ({ orgKeys }) =>
    options.history ? orgKeys.history(mspId) : [await orgKeys.current(mspId)],
  );
  printRows(deps.output, records, [
    { header: 'msp', value: (r) => r.mspId },
    { header: 'version', value: (r) => r.version },
    { header: 'published', value: (r) => r.publishedAt },
    { header: 'fingerprint', value: (r) => r.fingerprint },
  ]);
}

export function runKeysNew(deps: CommandDeps, name: string): void {
  const stored = deps.keystore().newSessionKey(name);
  printResult(
    deps.output,
    { name, keyId: stored.keyId, createdAt: stored.createdAt },
    () => `session key ${name}: key id ${stored.keyId}`,
  );
}

export function runKeysRotate(deps: CommandDeps, name: string): void {
  const stored = deps.keystore().rotateSessionKey(name);
  const previous = stored.previousKeyIds.at(-1);
  printResult(
    deps.output,
    { name, keyId: stored.keyId, previousKeyId: previous },
    () => `session key ${name}: new key id ${stored.keyId} (was ${previous})`,
  );
}

/** Session keys by name and id; never the keys themselves. */
export function runKeysList(deps: CommandDeps): void {
  printRows(
    deps.output,
    deps
      .keystore()
      .sessionKeys()
      .map(({ name, keyId, createdAt, previousKeyIds }) => ({ name, keyId, createdAt, previousKeyIds })),
    [
      { header: 'name', value: (r) => r.name },
      { header: 'key id', value: (r) => r.keyId },
      { header: 'created', value: (r) => r.createdAt },
      { header: 'rotations', value: (r) => r.previousKeyIds.length },
    ],
  );
}

export function registerKeyCommands(program: Command, deps: () => CommandDeps): void {
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
    .action(() => runKeysPublish(deps()));
  keys
    .command('show <mspId>')
    .description("an organization's current published encryption key")
    .option('--history', 'every version')
    .action((mspId: string, options: { history?: boolean }) => runKeysShow(deps(), mspId, options));
  keys
    .command('new <name>')
    .description('create a session key for a subscription (households); prints its key id')
    .addHelpText('after', '\nExample:\n  meterctl keys new home')
    .action((name: string) => {
      runKeysNew(deps(), name);
    });
  keys
    .command('rotate <name>')
    .description(
      'replace a session key after its subscription ended; the old one is kept to read old readings',
    )
    .addHelpText('after', '\nExample:\n  meterctl keys rotate home')
    .action((name: string) => {
      runKeysRotate(deps(), name);
    });
  keys
    .command('list')
    .description('session keys in the local keystore (ids only, never the keys)')
    .action(() => {
      runKeysList(deps());
    });
}
