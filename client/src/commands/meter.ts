import type { Command } from 'commander';
import { sealPersonalData } from '@smartmeter/crypto';
import { readFileSync } from 'node:fs';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { UsageError } from '../errors';
import { writeSecretFile } from '../keystore';
import { buildPairBundle, certificateAttribute } from '../pairBundle';
import { onChannel, print, resolveIdentity, resolveKeystore, type GlobalOptions } from './context';

interface PairBundleOptions {
  meterIdentity?: string;
  key: string;
  personalData?: string;
  out: string;
}

export function registerMeterCommands(program: Command, globals: () => GlobalOptions): void {
  const meter = program.command('meter').description('smart meters');
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
    .action(async (subscriptionId: string, o: PairBundleOptions) => {
      const options = globals();
      const keystore = resolveKeystore(options);
      const sessionKey = Buffer.from(keystore.sessionKey(o.key).key, 'hex');
      const bundle = await onChannel(options, async (network, { profile, channel }) => {
        const subscription = await new SubscriptionClient(network).get(subscriptionId);
        const meterIdentity = o.meterIdentity
          ? resolveIdentity(profile, { ...options, identity: o.meterIdentity }).files
          : undefined;
        const problems: string[] = [];
        if (meterIdentity) {
          const meterId = certificateAttribute(readFileSync(meterIdentity.certPath, 'utf8'), 'meterId');
          if (meterId !== subscription.meterId)
            problems.push(
              `identity ${o.meterIdentity} is meter ${meterId ?? '(none)'}, the subscription's meter is ${subscription.meterId}`,
            );
        }
        if (subscription.keyId !== keystore.sessionKey(o.key).keyId)
          problems.push(`session key ${o.key} is not the subscription's key ${subscription.keyId}`);
        if (subscription.status === 'ENDED' || subscription.status === 'REJECTED')
          problems.push(`subscription ${subscriptionId} is ${subscription.status}`);
        if (problems.length > 0) throw new UsageError(problems.join('; '));
        const personalData = o.personalData ? readFileSync(o.personalData) : undefined;
        return buildPairBundle({
          profile,
          channel,
          subscriptionId,
          meterId: subscription.meterId,
          meterIdentity,
          sessionKey,
          sealedPersonalData: personalData && sealPersonalData(personalData, sessionKey, subscriptionId),
        });
      });
      writeSecretFile(o.out, `${JSON.stringify(bundle, null, 2)}\n`);
      print(
        options,
        { out: o.out, subscriptionId, meterId: bundle.meterId, channel: bundle.channel },
        () => `wrote pair bundle for meter ${bundle.meterId} of ${subscriptionId} to ${o.out} (0600)`,
      );
    });
}
