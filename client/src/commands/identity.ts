import type { Command } from 'commander';
import type { Role } from '@smartmeter/domain';
import { registrationTarget, validateAttributes } from '../identities';
import { printResult } from '../output';
import { identityFiles } from '../profile';
import type { CommandDeps } from './deps';

export interface IdentityRegisterOptions {
  role: Role;
  meterId?: string;
  subscriberId?: string;
  secret?: string;
  registrar?: string;
}

/** Registers at the CA for the role (options already checked with validateAttributes). */
export async function runIdentityRegister(
  deps: CommandDeps,
  name: string,
  options: IdentityRegisterOptions,
): Promise<void> {
  const profile = deps.profile();
  const target = registrationTarget(profile, options.role);
  const registrar = identityFiles(profile, options.registrar ?? target.registrar);
  const secret = await deps.ca.register(target, registrar, {
    name,
    role: options.role,
    meterId: options.meterId,
    subscriberId: options.subscriberId,
    secret: options.secret,
  });
  printResult(deps.output, { name, mspId: target.mspId, role: options.role, secret }, () =>
    [
      `registered ${name} at ${target.ca.caName} (${target.mspId}) as ${options.role}`,
      `secret ${secret}`,
    ].join('\n'),
  );
}

export async function runIdentityEnroll(deps: CommandDeps, name: string, secret: string): Promise<void> {
  const profile = deps.profile();
  const files = await deps.ca.enroll(profile, deps.keystore(), name, secret);
  printResult(deps.output, { name, mspId: profile.mspId, ...files }, () =>
    [
      `enrolled ${name} of ${profile.mspId}`,
      `certificate ${files.certPath}`,
      `private key ${files.keyPath} (0600)`,
    ].join('\n'),
  );
}

export function registerIdentityCommands(program: Command, deps: () => CommandDeps): void {
  const identity = program
    .command('identity')
    .description(
      "identities at the organization's Fabric CA (role and pseudonymous ids go into the certificate)",
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json identity register hh-17 --role subscriber --subscriber-id hh-17',
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
    .action((name: string, options: IdentityRegisterOptions) => {
      validateAttributes(options);
      return runIdentityRegister(deps(), name, options);
    });
  identity
    .command('enroll <name>')
    .description('enroll a registered identity; certificate and key (0600) go into the keystore')
    .requiredOption('--secret <secret>', 'the enrollment secret from register')
    .addHelpText(
      'after',
      "\nThe key pair is made here and never leaves this keystore. Households use their distributor's households profile.\nExample:\n  meterctl -p .network/profiles/households1.json identity enroll hh-17 --secret 5f0c...\n  then use it with: meterctl -p .network/profiles/households1.json -i hh-17 ...",
    )
    .action((name: string, options: { secret: string }) => runIdentityEnroll(deps(), name, options.secret));
}
