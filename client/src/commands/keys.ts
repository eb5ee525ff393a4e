import type { Command } from 'commander';
import { ErrorCode, type OrgKeyRecord } from '@smartmeter/domain';
import { refusalOf, UsageError } from '../errors';
import type { Keystore } from '../keystore';
import { printResult, printRows } from '../output';
import type { CommandDeps, ContractClients } from './deps';

export interface KeysPublishOptions {
  /** Replace the organization's current key on the channel; without it, publish only when it has none. */
  rotate?: boolean;
}

/** The organization's current key on the channel, or undefined when it has published none there. */
async function currentOrgKey(
  orgKeys: ContractClients['orgKeys'],
  mspId: string,
): Promise<OrgKeyRecord | undefined> {
  try {
    return await orgKeys.current(mspId);
  } catch (err) {
    if (refusalOf(err)?.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
}

/**
 * Why publishing would replace the current key: requests after it are wrapped for the new version only, and the
 * keystore that published the old one could no longer approve or bill them.
 */
function replaceRefusal(current: OrgKeyRecord, channel: string, keystore: Keystore): string {
  const held = keystore.holdsOrgKey(channel, current.mspId, current.version, current.fingerprint);
  const head = `${current.mspId}'s current encryption key on ${channel} is v${current.version} (published ${current.publishedAt})`;
  return held
    ? `${head}, and this keystore (${keystore.dir}) holds its private key: nothing to publish. To replace it with a new key (v${current.version + 1}), add --rotate`
    : `${head}, and this keystore (${keystore.dir}) does not hold its private key: it was published from another keystore; use that one (-k <folder> or METERCTL_HOME). Publishing here would make new requests wrapped for a key only this keystore opens; to do so anyway, add --rotate`;
}

/**
 * A new key pair for the caller's organization: the private key stays in the keystore, the public one is
 * published. An organization's current key is replaced only when asked (--rotate): subscription requests are
 * wrapped for the current key, so a second keystore publishing by mistake would take the organization's new
 * subscriptions away from the first.
 */
export async function runKeysPublish(deps: CommandDeps, options: KeysPublishOptions = {}): Promise<void> {
  const keystore = deps.keystore();
  const { record, replaced } = await deps.withChannel(async ({ orgKeys }, { profile, channel }) => {
    const current = await currentOrgKey(orgKeys, profile.mspId);
    if (current && !options.rotate) throw new UsageError(replaceRefusal(current, channel, keystore));
    const pending = keystore.newPendingOrgKey(channel, profile.mspId);
    const published = await orgKeys.publish(pending.pair.publicKeyPem);
    keystore.commitOrgKey(pending.pendingPath, channel, profile.mspId, published.version);
    return { record: published, replaced: current?.version };
  });
  printResult(
    deps.output,
    record,
    () =>
      `published ${record.mspId} encryption key v${record.version} (fingerprint ${record.fingerprint.slice(0, 16)}...)${replaced === undefined ? '' : `, replacing v${replaced}`}`,
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
    .description('encryption keys: organization keys on the ledger, session keys in the local keystore')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json keys show Distributor1MSP --history',
    );
  keys
    .command('publish')
    .description("create a new encryption key pair for the caller's organization and publish the public key")
    .option(
      '--rotate',
      "replace the organization's current key on the channel (without it, publish only when it has none)",
    )
    .addHelpText(
      'after',
      "\nThe private key stays in the keystore (0600); publish once per channel the organization is on, from the\nkeystore that approves and bills. An organization's current key is replaced only with --rotate: new requests\nare wrapped for the new key; the old private key stays in its keystore for the subscriptions granted to it.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid keys publish\n  meterctl -p .network/profiles/distributor1.json keys publish --rotate",
    )
    .action((flags: { rotate?: boolean }) => runKeysPublish(deps(), { rotate: flags.rotate }));
  keys
    .command('show <mspId>')
    .description("an organization's current published encryption key")
    .option('--history', 'every version')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json keys show AuthorityMSP --history',
    )
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
    .addHelpText('after', '\nExample:\n  meterctl -k ~/.hh keys list')
    .action(() => {
      runKeysList(deps());
    });
}
