import type { Command } from 'commander';
import { pairingProof, UTILITIES, type Utility } from '@smartmeter/crypto';
import {
  isoSeconds,
  PRIVACY_MODES,
  type PrivacyMode,
  type SubscriptionRecord,
  type SubscriptionStatus,
  utilityOf,
} from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import { checkGrant } from '../grants';
import { UsageError } from '../errors';
import * as ids from '../ids';
import { printResult, printRows, type Column } from '../output';
import type { ConnectionProfile } from '../profile';
import { buildSubscriptionRequest } from '../subscriptionRequest';
import { integerOption, optionalIsoOption, requireHousehold } from './context';
import type { ChannelContext, CommandDeps, ContractClients } from './deps';

/** A subscription is requested by a household, through its households profile. */
function requireHouseholdsProfile(profile: ConnectionProfile): string {
  if (!profile.distributorMspId) {
    throw new UsageError(
      `${profile.org} is not a households profile: a household requests with its distributor's households profile (e.g. .network/profiles/households1.json) and its own identity (-i)`,
    );
  }
  return profile.distributorMspId;
}

const STATUSES: readonly SubscriptionStatus[] = ['REQUESTED', 'APPROVED', 'REJECTED', 'ACTIVE', 'ENDED'];

export const subscriptionColumns: Column<SubscriptionRecord>[] = [
  { header: 'subscription', value: (s) => s.subscriptionId },
  { header: 'status', value: (s) => s.status },
  { header: 'distributor', value: (s) => s.distributorMspId },
  { header: 'meter', value: (s) => s.meterId },
  { header: 'region', value: (s) => s.approval?.regionCode },
  {
    header: 'interval',
    value: (s) => (s.approval ? `${s.approval.intervalSeconds}s` : undefined),
    csv: [{ header: 'interval_seconds', value: (s) => s.approval?.intervalSeconds }],
  },
  { header: 'updated', value: (s) => s.updatedAt },
];

export function describeSubscription(s: SubscriptionRecord): string {
  const lines = [
    `subscription ${s.subscriptionId} (${s.channel}): ${s.status}`,
    `  distributor ${s.distributorMspId}, ${utilityOf(s)} meter ${s.meterId}, subscriber ${s.subscriberId}, plan ${s.requestedPlan}`,
    `  session key ${s.keyId}, wrapped for ${s.keyGrants.map((g) => `${g.mspId} (key v${g.orgKeyVersion})`).join(', ')}`,
    `  requested ${s.requestedAt}, updated ${s.updatedAt}`,
  ];
  if (s.approval)
    lines.push(
      `  approved ${s.approval.approvedAt}: every ${s.approval.intervalSeconds}s from ${s.approval.startDate}, tariff ${s.approval.tariffId}, region ${s.approval.regionCode}`,
    );
  for (const change of s.approval?.intervalChanges ?? [])
    lines.push(
      `  interval changed ${change.changedAt}: every ${change.intervalSeconds}s from ${change.effectiveFrom} (was ${change.previousIntervalSeconds}s)`,
    );
  if (s.rejection) lines.push(`  rejected ${s.rejection.rejectedAt}: ${s.rejection.reason}`);
  if (s.pairedAt) lines.push(`  meter paired ${s.pairedAt}`);
  if (s.end)
    lines.push(
      `  ended ${s.end.endedAt} by ${s.end.endedByRole}, effective ${s.end.effectiveAt}: ${s.end.reason}`,
    );
  return lines.join('\n');
}

/** Runs one change (or read) of a subscription and prints the subscription as it is afterwards. */
async function showSubscription(
  deps: CommandDeps,
  change: (clients: ContractClients, context: ChannelContext) => Promise<SubscriptionRecord>,
): Promise<void> {
  const record = await deps.withChannel(change);
  printResult(deps.output, record, () => describeSubscription(record));
}

export interface SubscriptionRequestOptions {
  meterId: string;
  /** Name of the household's session key in the keystore. */
  keyName: string;
  plan: string;
  privacyMode: PrivacyMode;
  /** What the meter measures; its readings and its tariff must be of the same utility. */
  utility: Utility;
}

export function parseUtility(value: string): Utility {
  const utility = UTILITIES.find((known) => known === value);
  if (!utility) throw new UsageError(`--utility must be ${UTILITIES.join(', ')} (got "${value}")`);
  return utility;
}

export function parsePrivacyMode(value: string): PrivacyMode {
  const mode = PRIVACY_MODES.find((known) => known === value);
  if (!mode) throw new UsageError(`--privacy-mode must be ${PRIVACY_MODES.join(' or ')} (got "${value}")`);
  return mode;
}

/** The household asks with its session key wrapped for its distributor's and the authority's current keys. */
export async function runSubscriptionRequest(
  deps: CommandDeps,
  options: SubscriptionRequestOptions,
): Promise<void> {
  const sessionKey = deps.keystore().sessionKeyBytes(options.keyName);
  // The household's own key, for which its bill reports are sealed (made on first use, kept 0600).
  const householdPublicKeyPem = deps.keystore().householdKeyPair().publicKeyPem;
  await showSubscription(deps, async ({ orgKeys, subscriptions }, { profile }) => {
    const distributorMspId = requireHouseholdsProfile(profile);
    const recipients = [];
    // In aggregate mode the authority gets no key: it sees regional sums only.
    const grantees =
      options.privacyMode === 'aggregate' ? [distributorMspId] : [distributorMspId, profile.authorityMspId];
    for (const mspId of grantees) {
      const current = await orgKeys.current(mspId);
      recipients.push({ mspId, version: current.version, publicKeyPem: current.publicKeyPem });
    }
    return subscriptions.request(
      buildSubscriptionRequest({
        distributorMspId,
        meterId: options.meterId,
        requestedPlan: options.plan,
        sessionKey,
        recipients,
        privacyMode: options.privacyMode,
        householdPublicKeyPem,
        utility: options.utility,
      }),
    );
  });
}

export interface SubscriptionApproveOptions {
  tariffId: string;
  regionCode: string;
  intervalSeconds: number;
  /** First period start; the next interval boundary when absent. */
  startDate?: string;
}

export function parseApproveOptions(flags: {
  tariff: string;
  region: string;
  interval: string;
  start?: string;
}): SubscriptionApproveOptions {
  return {
    tariffId: flags.tariff,
    regionCode: flags.region,
    intervalSeconds: integerOption('--interval', flags.interval, 60, 86_400),
    startDate: optionalIsoOption('--start', flags.start),
  };
}

/** Approves only once the grant to the caller's organization is checked: a bad one is INVALID_GRANT, nothing sent. */
export async function runSubscriptionApprove(
  deps: CommandDeps,
  subscriptionId: string,
  options: SubscriptionApproveOptions,
): Promise<void> {
  const { tariffId, regionCode, intervalSeconds } = options;
  const startDate = options.startDate ?? nextBoundary(intervalSeconds, deps.now().getTime());
  await showSubscription(deps, async ({ subscriptions }, { profile }) => {
    checkGrant(await subscriptions.get(subscriptionId), profile.mspId, deps.keystore());
    return subscriptions.approve(subscriptionId, { intervalSeconds, tariffId, regionCode, startDate });
  });
}

export async function runSubscriptionCheckGrant(deps: CommandDeps, subscriptionId: string): Promise<void> {
  const result = await deps.withChannel(async ({ subscriptions }, { profile }) =>
    checkGrant(await subscriptions.get(subscriptionId), profile.mspId, deps.keystore()),
  );
  printResult(
    deps.output,
    { ok: true, ...result },
    () =>
      `OK: the key granted to ${result.mspId} (org key v${result.orgKeyVersion}) is ${result.keyId}, the key of ${result.subscriptionId}`,
  );
}

export interface SubscriptionRebindOptions {
  party: 'subscriber' | 'meter';
  certificatePem: string;
}

export function parseRebindOptions(flags: { party: string; certificate: string }): SubscriptionRebindOptions {
  const party = flags.party;
  if (party !== 'subscriber' && party !== 'meter')
    throw new UsageError('--party must be subscriber or meter');
  try {
    return { party, certificatePem: readFileSync(flags.certificate, 'utf8') };
  } catch (err) {
    throw new UsageError(`cannot read certificate ${flags.certificate}: ${(err as Error).message}`);
  }
}

export function runSubscriptionRebind(
  deps: CommandDeps,
  subscriptionId: string,
  options: SubscriptionRebindOptions,
): Promise<void> {
  requireHousehold(deps, 'subscription rebind');
  return showSubscription(deps, ({ subscriptions }) =>
    subscriptions.rebindKey(subscriptionId, options.party, options.certificatePem),
  );
}

export function runSubscriptionReject(
  deps: CommandDeps,
  subscriptionId: string,
  reason: string,
): Promise<void> {
  return showSubscription(deps, ({ subscriptions }) => subscriptions.reject(subscriptionId, reason));
}

/** The meter proves it holds the session key named keyName; the proof is bound to its meter id. */
export function runSubscriptionPair(
  deps: CommandDeps,
  subscriptionId: string,
  keyName: string,
): Promise<void> {
  const key = deps.keystore().sessionKeyBytes(keyName);
  return showSubscription(deps, async ({ subscriptions }) =>
    subscriptions.confirmPairing(
      subscriptionId,
      pairingProof(key, (await subscriptions.get(subscriptionId)).meterId),
    ),
  );
}

export interface ChangeIntervalOptions {
  intervalSeconds: number;
  /** First period with the new interval; empty for the next boundary of both intervals. */
  effectiveFrom: string;
}

export function parseChangeIntervalOptions(flags: {
  interval: string;
  from?: string;
}): ChangeIntervalOptions {
  return {
    intervalSeconds: integerOption('--interval', flags.interval, 60, 86_400),
    effectiveFrom: optionalIsoOption('--from', flags.from) ?? '',
  };
}

export function runSubscriptionChangeInterval(
  deps: CommandDeps,
  subscriptionId: string,
  options: ChangeIntervalOptions,
): Promise<void> {
  return showSubscription(deps, ({ subscriptions }) =>
    subscriptions.changeInterval(subscriptionId, options.intervalSeconds, options.effectiveFrom),
  );
}

export interface SubscriptionEndOptions {
  reason: string;
  /** Empty for now (the transaction time). */
  effectiveAt: string;
}

export function parseEndOptions(flags: { reason: string; effectiveAt?: string }): SubscriptionEndOptions {
  return { reason: flags.reason, effectiveAt: optionalIsoOption('--effective-at', flags.effectiveAt) ?? '' };
}

export function runSubscriptionEnd(
  deps: CommandDeps,
  subscriptionId: string,
  options: SubscriptionEndOptions,
): Promise<void> {
  return showSubscription(deps, ({ subscriptions }) =>
    subscriptions.end(subscriptionId, options.reason, options.effectiveAt),
  );
}

export function runSubscriptionShow(deps: CommandDeps, subscriptionId: string): Promise<void> {
  return showSubscription(deps, ({ subscriptions }) => subscriptions.get(subscriptionId));
}

export interface SubscriptionListOptions {
  /** Empty for every status. */
  status: SubscriptionStatus | '';
  mine: boolean;
}

export function parseListOptions(flags: { status?: string; mine?: boolean }): SubscriptionListOptions {
  const status = flags.status?.toUpperCase() ?? '';
  if (status !== '' && !STATUSES.includes(status as SubscriptionStatus))
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  return { status: status as SubscriptionStatus | '', mine: Boolean(flags.mine) };
}

export async function runSubscriptionList(
  deps: CommandDeps,
  options: SubscriptionListOptions,
): Promise<void> {
  const { status, mine } = options;
  const records = await deps.withChannel(async ({ subscriptions }) => {
    // The caller's own list has no status filter on the ledger: filter here.
    const list = mine ? await subscriptions.mine() : await subscriptions.all(status);
    return mine && status ? list.filter((s) => s.status === status) : list;
  });
  printRows(deps.output, records, subscriptionColumns);
}

export async function runSubscriptionHistory(deps: CommandDeps, subscriptionId: string): Promise<void> {
  const versions = await deps.withChannel(({ subscriptions }) => subscriptions.history(subscriptionId));
  printRows(deps.output, versions, [
    { header: 'time', value: (v) => v.timestamp },
    { header: 'status', value: (v) => v.record?.status ?? 'deleted' },
    { header: 'transaction', value: (v) => v.txId },
  ]);
}

export function registerSubscriptionCommands(program: Command, deps: () => CommandDeps): void {
  const subscription = program
    .command('subscription')
    .description('household subscriptions')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json subscription list --status REQUESTED',
    );
  subscription
    .command('request')
    .description("a household asks its distributor (the caller's organization) for a subscription")
    .requiredOption('--meter <meterId>', 'id of the meter that will report the readings')
    .requiredOption('--key <name>', 'session key from the keystore (meterctl keys new <name>)')
    .option('--plan <plan>', 'requested plan', 'standard')
    .option(
      '--privacy-mode <mode>',
      'disclosed (distributor and authority can read each reading) or aggregate (only the distributor; the authority sees regional sums)',
      'disclosed',
    )
    .option(
      '--utility <utility>',
      'what the meter measures: electricity (Wh), gas or water (litres); one subscription per meter',
      'electricity',
    )
    .addHelpText(
      'after',
      '\nRun as the household, with its households profile and its own identity (-i).\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription request --meter mtr-0042 --key home\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription request --meter gas-0042 --key home-gas --utility gas\n  meterctl -p .network/profiles/households1.json -i hh-18 subscription request --meter mtr-0043 --key home --privacy-mode aggregate',
    )
    .action((flags: { meter: string; key: string; plan: string; privacyMode: string; utility: string }) =>
      runSubscriptionRequest(deps(), {
        meterId: flags.meter,
        keyName: flags.key,
        plan: flags.plan,
        privacyMode: parsePrivacyMode(flags.privacyMode),
        utility: parseUtility(flags.utility),
      }),
    );
  subscription
    .command('approve <subscriptionId>')
    .description('the distributor operator approves: reading interval, tariff, grid region, start')
    .requiredOption('--tariff <tariffId>', 'tariff the subscription is billed on')
    .requiredOption('--region <regionCode>', 'grid area, e.g. north/d1')
    .option('--interval <seconds>', 'seconds between readings: 300, 600, 900, 1800 or 3600', '1800')
    .option(
      '--start <time>',
      'first period start, aligned to the interval (default: the next interval boundary)',
    )
    .addHelpText(
      'after',
      "\nBefore approving, the session key granted to the distributor is unwrapped with its key from the keystore\nand checked against the request's key id; a bad grant is refused (INVALID_GRANT) and nothing is sent.\nExample:\n  meterctl -p .network/profiles/distributor1.json subscription approve sub_3f... --tariff tou-2026 --region north/d1 --interval 1800",
    )
    .action((id: string, flags: { tariff: string; region: string; interval: string; start?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const options = parseApproveOptions(flags);
      return runSubscriptionApprove(deps(), subscriptionId, options);
    });
  subscription
    .command('check-grant <subscriptionId>')
    .description(
      "check that the session key granted to the caller's organization opens and is the subscription's",
    )
    .addHelpText(
      'after',
      '\nFor the authority, and for a distributor before it approves (approve checks it too).\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid subscription check-grant sub_3f...',
    )
    .action((id: string) => runSubscriptionCheckGrant(deps(), ids.subscriptionId(id)));
  subscription
    .command('rebind <subscriptionId>')
    .description("the household moves its subscription (or its meter) to a new certificate's key")
    .requiredOption('--party <party>', 'subscriber (the household itself) or meter')
    .requiredOption('--certificate <file>', 'the new certificate (PEM), of the same subscriber or meter id')
    .addHelpText(
      'after',
      "\nSigned with the household's current identity: only the key a subscription is bound to can move it.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription rebind sub_3f... --party meter --certificate new-meter.pem",
    )
    .action((id: string, flags: { party: string; certificate: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const options = parseRebindOptions(flags);
      return runSubscriptionRebind(deps(), subscriptionId, options);
    });
  subscription
    .command('reject <subscriptionId>')
    .description('the distributor operator rejects a request')
    .requiredOption('--reason <text>', 'why')
    .addHelpText(
      'after',
      "\nExample:\n  meterctl -p .network/profiles/distributor1.json subscription reject sub_3f... --reason 'meter not at this address'",
    )
    .action((id: string, flags: { reason: string }) =>
      runSubscriptionReject(deps(), ids.subscriptionId(id), flags.reason),
    );
  subscription
    .command('pair <subscriptionId>')
    .description(
      'the meter confirms pairing by proving it holds the session key (run with the meter identity)',
    )
    .requiredOption('--key <name>', 'session key from the keystore')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i mtr-0042 subscription pair sub_3f... --key home',
    )
    .action((id: string, flags: { key: string }) =>
      runSubscriptionPair(deps(), ids.subscriptionId(id), flags.key),
    );
  subscription
    .command('change-interval <subscriptionId>')
    .description('the distributor operator changes how often the meter reports; the meter follows the ledger')
    .requiredOption('--interval <seconds>', 'new reading interval: 300, 600, 900, 1800 or 3600')
    .option(
      '--from <time>',
      'first period with the new interval, a boundary of both intervals (default: the next such boundary)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json subscription change-interval sub_3f... --interval 900',
    )
    .action((id: string, flags: { interval: string; from?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const options = parseChangeIntervalOptions(flags);
      return runSubscriptionChangeInterval(deps(), subscriptionId, options);
    });
  subscription
    .command('end <subscriptionId>')
    .description('the household or the distributor operator ends a subscription; its session key is retired')
    .requiredOption('--reason <text>', 'why')
    .option('--effective-at <time>', 'readings from this period on are refused (default: now)')
    .addHelpText(
      'after',
      "\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription end sub_3f... --reason 'moving to Distributor2'",
    )
    .action((id: string, flags: { reason: string; effectiveAt?: string }) => {
      const subscriptionId = ids.subscriptionId(id);
      const options = parseEndOptions(flags);
      return runSubscriptionEnd(deps(), subscriptionId, options);
    });
  subscription
    .command('show <subscriptionId>')
    .description('one subscription')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription show sub_3f...',
    )
    .action((id: string) => runSubscriptionShow(deps(), ids.subscriptionId(id)));
  subscription
    .command('list')
    .description(
      "the channel's subscriptions (operators: their own; auditors: all) or, with --mine, the caller's",
    )
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--mine', "the caller's own subscriptions (households and meters)")
    .addHelpText(
      'after',
      '\nWith --csv the interval is a number column, interval_seconds.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription list --mine',
    )
    .action((flags: { status?: string; mine?: boolean }) => {
      const options = parseListOptions(flags);
      return runSubscriptionList(deps(), options);
    });
  subscription
    .command('history <subscriptionId>')
    .description('every committed version of a subscription, oldest first')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json subscription history sub_3f...',
    )
    .action((id: string) => runSubscriptionHistory(deps(), ids.subscriptionId(id)));
}

/** The next multiple of the interval from now (UTC epoch), so the first period has not started yet. */
export function nextBoundary(intervalSeconds: number, nowMs = Date.now()): string {
  const next = Math.ceil(nowMs / 1000 / intervalSeconds) * intervalSeconds;
  return isoSeconds(next);
}
