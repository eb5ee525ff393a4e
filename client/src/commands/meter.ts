import type { Command } from 'commander';
import { sealPersonalData } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import * as ids from '../ids';
import { writeSecretFile } from '../keystore';
import { printResult } from '../output';
import { buildPairBundle, certificateAttribute } from '../pairBundle';
import type { IdentityFiles } from '../profile';
import { resolveIdentity } from './context';
import type { CommandDeps } from './deps';

export interface PairBundleOptions {
  /** A meter identity (profile or keystore) to put into the bundle instead of letting the meter enroll. */
  meterIdentity?: string;
  /** Name of the subscription's session key in the keystore. */
  key: string;
  /** File with the personal data the meter keeps sealed. */
  personalData?: string;
  /** The bundle file to write (0600). */
  out: string;
}

/** Why the bundle would not work for this subscription; empty when it would. */
function bundleProblems(
  subscriptionId: string,
  subscription: SubscriptionRecord,
  options: PairBundleOptions,
  sessionKeyId: string,
  meterIdentity: IdentityFiles | undefined,
): string[] {
  const problems: string[] = [];
  if (meterIdentity) {
    const meterId = certificateAttribute(readFileSync(meterIdentity.certPath, 'utf8'), 'meterId');
    if (meterId !== subscription.meterId)
      problems.push(
        `identity ${options.meterIdentity} is meter ${meterId ?? '(none)'}, the subscription's meter is ${subscription.meterId}`,
      );
  }
  if (subscription.keyId !== sessionKeyId)
    problems.push(`session key ${options.key} is not the subscription's key ${subscription.keyId}`);
  if (subscription.status === 'ENDED' || subscription.status === 'REJECTED')
    problems.push(`subscription ${subscriptionId} is ${subscription.status}`);
  return problems;
}

export async function runMeterPairBundle(
  deps: CommandDeps,
  subscriptionId: string,
  options: PairBundleOptions,
): Promise<void> {
  const keystore = deps.keystore();
  const sessionKey = keystore.sessionKeyBytes(options.key);
  const bundle = await deps.withChannel(async ({ subscriptions }, { profile, channel }) => {
    const subscription = await subscriptions.get(subscriptionId);
    const meterIdentity = options.meterIdentity
      ? resolveIdentity(profile, options.meterIdentity, keystore).files
      : undefined;
    const sessionKeyId = keystore.sessionKey(options.key).keyId;
    const problems = bundleProblems(subscriptionId, subscription, options, sessionKeyId, meterIdentity);
    if (problems.length > 0) throw new UsageError(problems.join('; '));
    const personalData = options.personalData ? readFileSync(options.personalData) : undefined;
    return buildPairBundle({
      profile,
      channel,
      subscriptionId,
      meterId: subscription.meterId,
      meterIdentity,
      sessionKey,
      sealedPersonalData: personalData && sealPersonalData(personalData, sessionKey, subscriptionId),
      privacyMode: subscription.privacyMode ?? 'disclosed',
    });
  });
  writeSecretFile(options.out, `${JSON.stringify(bundle, null, 2)}\n`);
  printResult(
    deps.output,
    { out: options.out, subscriptionId, meterId: bundle.meterId, channel: bundle.channel },
    () => `wrote pair bundle for meter ${bundle.meterId} of ${subscriptionId} to ${options.out} (0600)`,
  );
}

export function registerMeterCommands(program: Command, deps: () => CommandDeps): void {
  const meter = program
    .command('meter')
    .description('smart meters')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 meter pair-bundle sub_3f... --key home --out ~/meter.json',
    );
  meter
    .command('pair-bundle <subscriptionId>')
    .description(
      'export what a meter needs (session key, sealed personal data, peer, its CA) as one 0600 file',
    )
    .option(
      '--meter-identity <name>',
      'put this meter identity (role=meter, from the profile or keystore) into the bundle instead of letting the meter enroll itself',
    )
    .requiredOption('--key <name>', "the subscription's session key from the keystore")
    .option(
      '--personal-data <file>',
      'personal data the meter keeps sealed, handed over only on a granted request',
    )
    .requiredOption('--out <file>', 'bundle file to write')
    .addHelpText(
      'after',
      '\nRun as the household (-i), which must be able to read the subscription. The meter then makes its own key\nand enrolls with its one-time secret (meter-sim enroll), so its private key never leaves it.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 meter pair-bundle sub_3f... --key home --out ~/meter.json',
    )
    .action((id: string, options: PairBundleOptions) =>
      runMeterPairBundle(deps(), ids.subscriptionId(id), options),
    );
}
