import type { Command } from 'commander';
import { pairingProof } from '@smartmeter/crypto';
import type { SubscriptionRecord, SubscriptionStatus } from '@smartmeter/chaincode/dist/api/records';
import { readFileSync } from 'node:fs';
import { checkGrant } from '../grants';
import { OrgKeyClient } from '../contracts/OrgKeyClient';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { UsageError } from '../errors';
import { printRows, type Column } from '../output';
import { buildSubscriptionRequest } from '../subscriptionRequest';
import {
  integerOption,
  isoOption,
  onChannel,
  print,
  resolveKeystore,
  resolveProfile,
  type GlobalOptions,
} from './context';
import type { ConnectionProfile } from '../profile';

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
  { header: 'interval', value: (s) => (s.approval ? `${s.approval.intervalSeconds}s` : undefined) },
  { header: 'updated', value: (s) => s.updatedAt },
];

export function describeSubscription(s: SubscriptionRecord): string {
  const lines = [
    `subscription ${s.subscriptionId} (${s.channel}): ${s.status}`,
    `  distributor ${s.distributorMspId}, meter ${s.meterId}, subscriber ${s.subscriberId}, plan ${s.requestedPlan}`,
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

export function registerSubscriptionCommands(program: Command, globals: () => GlobalOptions): void {
  const subscription = program.command('subscription').description('household subscriptions');
  const run = async (fn: (client: SubscriptionClient) => Promise<SubscriptionRecord>): Promise<void> => {
    const options = globals();
    const record = await onChannel(options, (network) => fn(new SubscriptionClient(network)));
    print(options, record, () => describeSubscription(record));
  };

  subscription
    .command('request')
    .description("a household asks its distributor (the caller's organization) for a subscription")
    .requiredOption('--meter <meterId>', 'id of the meter that will report the readings')
    .requiredOption('--key <name>', 'session key from the keystore (meterctl keys new <name>)')
    .option('--plan <plan>', 'requested plan', 'standard')
    .addHelpText(
      'after',
      '\nRun as the household, with its households profile and its own identity (-i).\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription request --meter mtr-0042 --key home',
    )
    .action(async (commandOptions: { meter: string; key: string; plan: string }) => {
      const stored = resolveKeystore(globals()).sessionKey(commandOptions.key);
      const options = globals();
      const record = await onChannel(options, async (network, { profile }) => {
        const distributorMspId = requireHouseholdsProfile(profile);
        const orgKeys = new OrgKeyClient(network);
        const recipients = [];
        for (const mspId of [distributorMspId, profile.authorityMspId]) {
          const current = await orgKeys.current(mspId);
          recipients.push({ mspId, version: current.version, publicKeyPem: current.publicKeyPem });
        }
        return new SubscriptionClient(network).request(
          buildSubscriptionRequest({
            distributorMspId,
            meterId: commandOptions.meter,
            requestedPlan: commandOptions.plan,
            sessionKey: Buffer.from(stored.key, 'hex'),
            recipients,
          }),
        );
      });
      print(options, record, () => describeSubscription(record));
    });

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
    .action(async (id: string, o: { tariff: string; region: string; interval: string; start?: string }) => {
      const intervalSeconds = integerOption('--interval', o.interval, 60, 86_400);
      const startDate = o.start ? isoOption('--start', o.start) : nextBoundary(intervalSeconds);
      const options = globals();
      await run(async (client) => {
        checkGrant(await client.get(id), resolveProfile(options).mspId, resolveKeystore(options));
        return client.approve(id, { intervalSeconds, tariffId: o.tariff, regionCode: o.region, startDate });
      });
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
    .action(async (id: string) => {
      const options = globals();
      const result = await onChannel(options, async (network, { profile }) =>
        checkGrant(await new SubscriptionClient(network).get(id), profile.mspId, resolveKeystore(options)),
      );
      print(
        options,
        { ok: true, ...result },
        () =>
          `OK: the key granted to ${result.mspId} (org key v${result.orgKeyVersion}) is ${result.keyId}, the key of ${result.subscriptionId}`,
      );
    });
  subscription
    .command('rebind <subscriptionId>')
    .description("the household moves its subscription (or its meter) to a new certificate's key")
    .requiredOption('--party <party>', 'subscriber (the household itself) or meter')
    .requiredOption('--certificate <file>', 'the new certificate (PEM), of the same subscriber or meter id')
    .addHelpText(
      'after',
      "\nSigned with the household's current identity: only the key a subscription is bound to can move it.\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 subscription rebind sub_3f... --party meter --certificate new-meter.pem",
    )
    .action(async (id: string, o: { party: string; certificate: string }) => {
      if (o.party !== 'subscriber' && o.party !== 'meter')
        throw new UsageError('--party must be subscriber or meter');
      const party = o.party;
      let pem: string;
      try {
        pem = readFileSync(o.certificate, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read certificate ${o.certificate}: ${(err as Error).message}`);
      }
      await run((client) => client.rebindKey(id, party, pem));
    });
  subscription
    .command('reject <subscriptionId>')
    .description('the distributor operator rejects a request')
    .requiredOption('--reason <text>', 'why')
    .action(async (id: string, o: { reason: string }) => run((client) => client.reject(id, o.reason)));
  subscription
    .command('pair <subscriptionId>')
    .description(
      'the meter confirms pairing by proving it holds the session key (run with the meter identity)',
    )
    .requiredOption('--key <name>', 'session key from the keystore')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json -i mtr-0042 subscription pair sub_3f... --key home',
    )
    .action(async (id: string, o: { key: string }) => {
      const key = Buffer.from(resolveKeystore(globals()).sessionKey(o.key).key, 'hex');
      await run(async (client) =>
        client.confirmPairing(id, pairingProof(key, (await client.get(id)).meterId)),
      );
    });
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
    .action(async (id: string, o: { interval: string; from?: string }) => {
      const intervalSeconds = integerOption('--interval', o.interval, 60, 86_400);
      const from = o.from ? isoOption('--from', o.from) : '';
      await run((client) => client.changeInterval(id, intervalSeconds, from));
    });
  subscription
    .command('end <subscriptionId>')
    .description('the household or the distributor operator ends a subscription; its session key is retired')
    .requiredOption('--reason <text>', 'why')
    .option('--effective-at <time>', 'readings from this period on are refused (default: now)')
    .action(async (id: string, o: { reason: string; effectiveAt?: string }) => {
      const effectiveAt = o.effectiveAt ? isoOption('--effective-at', o.effectiveAt) : '';
      await run((client) => client.end(id, o.reason, effectiveAt));
    });
  subscription
    .command('show <subscriptionId>')
    .description('one subscription')
    .action(async (id: string) => run((client) => client.get(id)));
  subscription
    .command('list')
    .description(
      "the channel's subscriptions (operators: their own; auditors: all) or, with --mine, the caller's",
    )
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--mine', "the caller's own subscriptions (households and meters)")
    .action(async (o: { status?: string; mine?: boolean }) => {
      const status = o.status?.toUpperCase() ?? '';
      if (status !== '' && !STATUSES.includes(status as SubscriptionStatus))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const options = globals();
      const records = await onChannel(options, async (network) => {
        const client = new SubscriptionClient(network);
        const list = o.mine ? await client.mine() : await client.all(status as SubscriptionStatus | '');
        return o.mine && status ? list.filter((s) => s.status === status) : list;
      });
      printRows(options, records, subscriptionColumns);
    });
  subscription
    .command('history <subscriptionId>')
    .description('every committed version of a subscription, oldest first')
    .action(async (id: string) => {
      const options = globals();
      const versions = await onChannel(options, (network) => new SubscriptionClient(network).history(id));
      printRows(options, versions, [
        { header: 'time', value: (v) => v.timestamp },
        { header: 'status', value: (v) => v.record?.status ?? 'deleted' },
        { header: 'transaction', value: (v) => v.txId },
      ]);
    });
}

/** The next multiple of the interval from now (UTC epoch), so the first period has not started yet. */
export function nextBoundary(intervalSeconds: number, nowMs = Date.now()): string {
  const next = Math.ceil(nowMs / 1000 / intervalSeconds) * intervalSeconds;
  return new Date(next * 1000).toISOString().replace('.000Z', 'Z');
}
