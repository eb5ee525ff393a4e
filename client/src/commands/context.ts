import type { Gateway, Network } from '@hyperledger/fabric-gateway';
import { withGateway } from '../gateway';
import { Keystore } from '../keystore';
import {
  loadProfile,
  noDefaultIdentity,
  ProfileError,
  type ConnectionProfile,
  type IdentityFiles,
} from '../profile';
import { UsageError } from '../errors';
import { printResult, type OutputOptions } from '../output';

/** Options every command shares. */
export interface GlobalOptions extends OutputOptions {
  profile?: string;
  identity?: string;
  channel?: string;
  keystore?: string;
}

export function resolveProfile(options: GlobalOptions): ConnectionProfile {
  const path = options.profile ?? process.env.METERCTL_PROFILE;
  if (!path) throw new UsageError('no connection profile: pass --profile <file> or set METERCTL_PROFILE');
  return loadProfile(path);
}

export function resolveKeystore(options: GlobalOptions): Keystore {
  return Keystore.resolve(options.keystore);
}

/** The identity's name and files: from the profile, or one enrolled into the keystore with meterctl identity. */
export function resolveIdentity(
  profile: ConnectionProfile,
  options: GlobalOptions,
): { name: string; files: IdentityFiles } {
  const name = options.identity ?? profile.defaultIdentity;
  if (name === '') throw new ProfileError(noDefaultIdentity(profile));
  const files = profile.identities[name] ?? resolveKeystore(options).identity(profile.mspId, name);
  if (!files) {
    const known = Object.keys(profile.identities).join(', ');
    throw new ProfileError(
      `no identity "${name}" for ${profile.mspId}: not in the profile (${known}) nor in the keystore ${resolveKeystore(options).dir}`,
    );
  }
  return { name, files };
}

export function resolveChannel(profile: ConnectionProfile, options: GlobalOptions): string {
  if (options.channel) {
    if (!profile.channels.includes(options.channel)) {
      throw new UsageError(
        `${profile.org} is not on channel ${options.channel} (its channels: ${profile.channels.join(', ')})`,
      );
    }
    return options.channel;
  }
  if (profile.channels.length !== 1)
    throw new UsageError(`${profile.org} is on several channels: choose one with --channel`);
  return profile.channels[0];
}

export interface ChannelContext {
  profile: ConnectionProfile;
  channel: string;
  gateway: Gateway;
  network: Network;
}

/** Runs fn against the profile's channel with a gateway that is always closed afterwards. */
export async function onChannel<T>(
  options: GlobalOptions,
  fn: (network: Network, context: ChannelContext) => Promise<T>,
): Promise<T> {
  const profile = resolveProfile(options);
  const channel = resolveChannel(profile, options);
  const { files } = resolveIdentity(profile, options);
  return withGateway(profile, { files }, (gateway) => {
    const network = gateway.getNetwork(channel);
    return fn(network, { profile, channel, gateway, network });
  });
}

export function print(options: GlobalOptions, value: unknown, human: () => string): void {
  printResult(options, value, human);
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
