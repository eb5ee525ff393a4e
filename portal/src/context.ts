import type { ActingIdentity } from '@smartmeter/client/dist/commands/context';
import { resolveChannel } from '@smartmeter/client/dist/commands/context';
import type { CommandDeps, ReportStore } from '@smartmeter/client/dist/commands/deps';
import { openReportStore } from '@smartmeter/client/dist/commands/report';
import type { ServeOptions } from '@smartmeter/client/dist/commands/serve';
import { UsageError } from '@smartmeter/client/dist/errors';
import type { ConnectionProfile } from '@smartmeter/client/dist/profile';
import type { Party } from './api';
import { PortalCode, PortalError } from './errors';

/**
 * What every route works with: the party the server acts for (fixed at launch, from the identity's certificate
 * and the profile), and meterctl's command dependencies, so that a route does what the command does.
 */
export interface PortalContext {
  readonly party: Party;
  readonly profile: ConnectionProfile;
  readonly channel: string;
  readonly identity: ActingIdentity;
  readonly options: ServeOptions;
  /** meterctl's dependencies for the served profile, identity, keystore and channel. */
  readonly deps: CommandDeps;
  /**
   * Runs a meterctl command and answers with what it printed as --json: the API does exactly what the
   * command does (its checks before anything is sent, its refusals), and the CLI and the pages agree.
   */
  command<T>(run: (deps: CommandDeps) => Promise<void> | void): Promise<T>;
  /** The authority's reporting database (the authority pages). */
  reportStore(): Promise<ReportStore>;
  /** Refuses a route that is not for the party this server acts for: NOT_FOR_PARTY, nothing sent. */
  requireParty(...parties: Party[]): void;
}

/**
 * household: an identity whose certificate says role=subscriber. authority: the authority's profile.
 * distributor: a distributor's profile. A meter's identity, or a households profile with an identity that
 * is not a household's, serves nothing.
 */
export function partyOf(profile: ConnectionProfile, identity: ActingIdentity): Party {
  if (identity.role === 'subscriber') return 'household';
  if (identity.role === 'meter')
    throw new UsageError(
      `identity ${identity.name} is a meter's: the portal is for households and organizations`,
    );
  if (profile.mspId === profile.authorityMspId) return 'authority';
  if (profile.org.startsWith('households'))
    throw new UsageError(
      `identity ${identity.name} of the ${profile.org} profile has role ${identity.role ?? '(none)'}: a households profile serves households (role=subscriber) only`,
    );
  return 'distributor';
}

export function portalContext(deps: CommandDeps, options: ServeOptions): PortalContext {
  const profile = deps.profile();
  const identity = deps.identity();
  const party = partyOf(profile, identity);
  const channel = resolveChannel(profile, deps.globals);
  // Every command of this server acts on the served channel, also when meterctl's -c was not given.
  const served: CommandDeps = { ...deps, globals: { ...deps.globals, channel } };
  return {
    party,
    profile,
    channel,
    identity,
    options,
    deps: served,
    command: (run) => captured(served, run),
    reportStore: () =>
      openReportStore(served, { dbUrl: options.reportDb.url, dbName: options.reportDb.name }),
    requireParty: (...parties) => {
      if (!parties.includes(party))
        throw new PortalError(
          403,
          PortalCode.NotForParty,
          `this is for the ${parties.join(' or ')}; this server acts for ${identity.name}, a ${party}`,
        );
    },
  };
}

async function captured<T>(deps: CommandDeps, run: (deps: CommandDeps) => Promise<void> | void): Promise<T> {
  let printed = '';
  const output = {
    ...deps.output,
    json: true,
    csv: false,
    stdout: {
      write: (text: string) => {
        printed += text;
      },
    },
    // Progress and notes are for a terminal; the answer is what the command prints.
    stderr: { write: () => undefined, isTTY: false },
  };
  await run({ ...deps, output, globals: { ...deps.globals, json: true, csv: false } });
  return JSON.parse(printed) as T;
}
