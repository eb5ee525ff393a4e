import type { Command } from 'commander';
import { enrollIdentity, registerIdentity, registrationTarget, validateAttributes } from '../identities';
import type { Role } from '@smartmeter/chaincode/dist/api/records';
import { identityFiles } from '../profile';
import { print, resolveKeystore, resolveProfile, type GlobalOptions } from './context';

interface RegisterOptions {
  role: Role;
  meterId?: string;
  subscriberId?: string;
  secret?: string;
  registrar?: string;
}

export function registerIdentityCommands(program: Command, globals: () => GlobalOptions): void {
  const identity = program
    .command('identity')
    .description(
      "identities at the organization's Fabric CA (role and pseudonymous ids go into the certificate)",
    );
  identity
    .command('register <name>')
    .description('register an identity with its role and attributes; prints the enrollment secret')
    .requiredOption('--role <role>', 'operator, auditor, subscriber or meter')
    .option('--meter-id <id>', 'the meter id (role meter)')
    .option('--subscriber-id <id>', 'the pseudonymous subscriber id (role subscriber)')
    .option('--secret <secret>', 'enrollment secret (default: a random one)')
    .option(
      '--registrar <identity>',
      'profile identity with registrar rights (default: households-registrar for households and meters, else registrar)',
    )
    .addHelpText(
      'after',
      "\nHouseholds and meters are registered at the distributor's households CA (MSP <Distributor>HouseholdsMSP),\noperators and auditors at the organization's own CA.\nExample:\n  meterctl -p .network/profiles/distributor1.json identity register mtr-0042 --role meter --meter-id mtr-0042",
    )
    .action(async (name: string, commandOptions: RegisterOptions) => {
      const options = globals();
      validateAttributes(commandOptions);
      const profile = resolveProfile(options);
      const target = registrationTarget(profile, commandOptions.role);
      const registrar = identityFiles(profile, commandOptions.registrar ?? target.registrar);
      const secret = await registerIdentity(target, registrar, {
        name,
        role: commandOptions.role,
        meterId: commandOptions.meterId,
        subscriberId: commandOptions.subscriberId,
        secret: commandOptions.secret,
      });
      print(options, { name, mspId: target.mspId, role: commandOptions.role, secret }, () =>
        [
          `registered ${name} at ${target.ca.caName} (${target.mspId}) as ${commandOptions.role}`,
          `secret ${secret}`,
        ].join('\n'),
      );
    });
  identity
    .command('enroll <name>')
    .description('enroll a registered identity; certificate and key (0600) go into the keystore')
    .requiredOption('--secret <secret>', 'the enrollment secret from register')
    .addHelpText(
      'after',
      "\nThe key pair is made here and never leaves this keystore. Households use their distributor's households profile.\nExample:\n  meterctl -p .network/profiles/households1.json identity enroll hh-17 --secret 5f0c...\n  then use it with: meterctl -p .network/profiles/households1.json -i hh-17 ...",
    )
    .action(async (name: string, commandOptions: { secret: string }) => {
      const options = globals();
      const profile = resolveProfile(options);
      const files = await enrollIdentity(profile, resolveKeystore(options), name, commandOptions.secret);
      print(options, { name, mspId: profile.mspId, ...files }, () =>
        [
          `enrolled ${name} of ${profile.mspId}`,
          `certificate ${files.certPath}`,
          `private key ${files.keyPath} (0600)`,
        ].join('\n'),
      );
    });
}
