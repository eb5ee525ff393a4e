import { certificateAttributes, CryptoInputError } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import type { Keystore } from '../keystore';
import {
  identityIn,
  noDefaultIdentity,
  ProfileError,
  type ConnectionProfile,
  type IdentityFiles,
} from '../profile';
import { NotOnChannel, UsageError } from '../errors';
import type { OutputOptions } from '../output';

/** Options every command shares. */
export interface GlobalOptions extends OutputOptions {
  profile?: string;
  identity?: string;
  channel?: string;
  keystore?: string;
}

/**
 * A command has printed everything it has to say and ends with this exit code (bill verify on a mismatch):
 * main returns the code and prints nothing more.
 */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
  }
}

/**
 * The identity's name and files: from the profile, or one enrolled into the keystore with meterctl identity.
 * name: the one asked for (-i), else the profile's default.
 */
export function resolveIdentity(
  profile: ConnectionProfile,
  requested: string | undefined,
  keystore: Keystore,
): { name: string; files: IdentityFiles } {
  const name = requested ?? profile.defaultIdentity;
  if (name === '') throw new ProfileError(noDefaultIdentity(profile));
  const files = identityIn(profile, name) ?? keystore.identity(profile.mspId, name);
  if (!files) {
    const known = Object.keys(profile.identities).join(', ');
    throw new ProfileError(
      `no identity "${name}" for ${profile.mspId}: not in the profile (${known}) nor in the keystore ${keystore.dir}`,
    );
  }
  return { name, files };
}

/**
 * The channel a command acts on: -c, or the organization's only channel. A channel the organization is not a
 * member of is refused as the peers would refuse it (exit 1: NotOnChannel), before anything is sent.
 */
export function resolveChannel(profile: ConnectionProfile, options: GlobalOptions): string {
  if (options.channel) {
    if (!profile.channels.includes(options.channel)) {
      throw new NotOnChannel(
        `${profile.mspId} is not a member of channel ${options.channel}: its channels are ${profile.channels.join(', ')} (-c ${profile.channels[0]})`,
      );
    }
    return options.channel;
  }
  if (profile.channels.length !== 1)
    throw new UsageError(
      `${profile.mspId} is on channels ${profile.channels.join(', ')}: choose one with -c <channel>, e.g. -c ${profile.channels[0]}`,
    );
  return profile.channels[0];
}

/** The identity a command acts as: -i, else the profile's default; its role from its certificate. */
export interface ActingIdentity {
  name: string;
  files: IdentityFiles;
  /** Whether -i named it; false for the profile's default identity. */
  chosen: boolean;
  /** The certificate's role attribute (subscriber for a household), undefined when it has none. */
  role?: string;
}

/** resolveIdentity, with the role its certificate carries (for requireHousehold). */
export function actingIdentity(
  profile: ConnectionProfile,
  requested: string | undefined,
  keystore: Keystore,
): ActingIdentity {
  const { name, files } = resolveIdentity(profile, requested, keystore);
  let role: string | undefined;
  try {
    role = certificateAttributes(readFileSync(files.certPath)).role;
  } catch (err) {
    const reason =
      err instanceof CryptoInputError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new ProfileError(`cannot read the certificate of identity ${name} ${files.certPath}: ${reason}`);
  }
  return { name, files, chosen: requested !== undefined, role };
}

/**
 * A household's own command (dispute a bill, decide on a personal-data request, rebind a subscription) run as
 * an identity that is not a household: refused here, naming the identity it would have run as, instead of a
 * refusal from the chaincode that does not say who asked.
 */
export function requireHousehold(
  deps: { identity(): ActingIdentity; profile(): ConnectionProfile },
  command: string,
): void {
  const identity = deps.identity();
  if (identity.role === 'subscriber') return;
  const profile = deps.profile();
  const which = identity.chosen
    ? `identity ${identity.name}`
    : `${identity.name}, the default identity of the ${profile.org} profile,`;
  throw new UsageError(
    `${command} is for the household: it would run as ${which} whose role is ${identity.role ?? '(none)'}, not subscriber; pass -i <the household's identity> with its households profile`,
  );
}

/**
 * Who endorses a transaction that carries secrets as transient data (bill issue the session key, personal-data
 * grant the sealed data): with transient data the gateway endorses only on the organizations named, and the
 * endorsement policy needs the channel's distributor and the authority.
 */
export function transientEndorsers(
  subscription: Pick<SubscriptionRecord, 'distributorMspId'>,
  profile: Pick<ConnectionProfile, 'authorityMspId'>,
): string[] {
  return [subscription.distributorMspId, profile.authorityMspId];
}

/** Parses an integer option, or explains which option is wrong. */
export function integerOption(name: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
  return Number(value);
}

/** Accepts ISO 8601 UTC with seconds ("2026-01-15T10:00:00Z") or a date ("2026-01-15" = midnight UTC). */
export function isoOption(name: string, value: string): string {
  const full = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(full) || Number.isNaN(Date.parse(full)))
    throw new UsageError(
      `${name} must be a UTC time like 2026-01-15T10:00:00Z or a date like 2026-01-15 (got "${value}")`,
    );
  return full;
}

/** An optional time option: undefined when absent (or given empty), else checked like isoOption. */
export function optionalIsoOption(name: string, value: string | undefined): string | undefined {
  return value ? isoOption(name, value) : undefined;
}
