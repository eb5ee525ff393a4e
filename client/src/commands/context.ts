import type { Network } from '@hyperledger/fabric-gateway';
import { withGateway } from '../gateway';
import { loadProfile, type ConnectionProfile } from '../profile';
import { UsageError } from '../errors';

/** Options every command shares. */
export interface GlobalOptions {
  profile?: string;
  identity?: string;
  channel?: string;
  json?: boolean;
}

export function resolveProfile(options: GlobalOptions): ConnectionProfile {
  const path = options.profile ?? process.env.METERCTL_PROFILE;
  if (!path) throw new UsageError('no connection profile: pass --profile <file> or set METERCTL_PROFILE');
  return loadProfile(path);
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

/** Runs fn against the profile's channel with a gateway that is always closed afterwards. */
export async function onChannel<T>(options: GlobalOptions, fn: (network: Network) => Promise<T>): Promise<T> {
  const profile = resolveProfile(options);
  const channel = resolveChannel(profile, options);
  return withGateway(profile, { identity: options.identity }, (gateway) => fn(gateway.getNetwork(channel)));
}

export function print(options: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
