import type { Command } from 'commander';
import {
  maxSealedData,
  openPersonalData,
  openSealed,
  PERSONAL_DATA_PADDED_BYTES,
  sealForRecipient,
} from '@smartmeter/crypto';
import { ErrorCode, type AccessRequestRecord } from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import { refusalOf, UsageError } from '../errors';
import * as ids from '../ids';
import { writeSecretFile } from '../keystore';
import { printResult, printRows, type Column } from '../output';
import { requireHousehold, resolveChannel, transientEndorsers } from './context';
import type { ChannelContext, CommandDeps, ContractClients } from './deps';

type AccessRequestSummary = Pick<
  AccessRequestRecord,
  'requestId' | 'subscriptionId' | 'requesterMspId' | 'requesterRole' | 'status' | 'requestedAt' | 'reason'
>;

export const accessRequestColumns: Column<AccessRequestSummary>[] = [
  { header: 'request', value: (r) => r.requestId },
  { header: 'subscription', value: (r) => r.subscriptionId },
  {
    header: 'requester',
    value: (r) => `${r.requesterMspId} (${r.requesterRole})`,
    csv: [
      { header: 'requester_msp_id', value: (r) => r.requesterMspId },
      { header: 'requester_role', value: (r) => r.requesterRole },
    ],
  },
  { header: 'status', value: (r) => r.status },
  { header: 'requested', value: (r) => r.requestedAt },
  { header: 'reason', value: (r) => r.reason },
];

function describeRequest(r: AccessRequestRecord): string {
  const decided = r.decidedAt ? `, decided ${r.decidedAt}` : '';
  const denial = r.denialReason ? ` (${r.denialReason})` : '';
  return `${r.requestId} for ${r.subscriptionId} by ${r.requesterMspId}: ${r.status}${denial}${decided}\n  reason: ${r.reason}`;
}

function readPersonalDataFile(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read personal data file ${path}: ${(err as Error).message}`);
  }
  const limit = maxSealedData(PERSONAL_DATA_PADDED_BYTES);
  if (bytes.length === 0 || bytes.length > limit)
    throw new UsageError(`personal data file ${path} must hold 1 to ${limit} bytes`);
  return bytes;
}

/** Runs one decision (or read) of an access request and prints the request as it is afterwards. */
async function showRequest(
  deps: CommandDeps,
  decide: (clients: ContractClients, context: ChannelContext) => Promise<AccessRequestRecord>,
): Promise<void> {
  const record = await deps.withChannel(decide);
  printResult(deps.output, record, () => describeRequest(record));
}

/**
 * The request's own key pair is made first and kept as pending: it becomes the request's key once the ledger
 * has the request, and is destroyed if the request fails.
 */
export function runPersonalDataRequest(
  deps: CommandDeps,
  subscriptionId: string,
  reason: string,
): Promise<void> {
  const keystore = deps.keystore();
  return showRequest(deps, async ({ personalData }, { channel }) => {
    const pending = keystore.newPendingRequestKey(channel);
    try {
      const request = await personalData.request(subscriptionId, reason, pending.pair.publicKeyPem);
      keystore.commitRequestKey(pending.pendingPath, channel, request.requestId);
      return request;
    } catch (err) {
      keystore.discardPendingKey(pending.pendingPath);
      throw err;
    }
  });
}

/** What the household hands over: its personal data as is, or the meter's copy, sealed with the session key. */
export type GrantedData = { plain: Buffer } | { sealedFile: string; sealed: Buffer };

export interface PersonalDataGrantOptions {
  data: GrantedData;
  /** Name of the subscription's session key in the keystore. */
  key: string;
}

export function parseGrantOptions(flags: {
  dataFile?: string;
  sealedFile?: string;
  key: string;
}): PersonalDataGrantOptions {
  if ((flags.dataFile === undefined) === (flags.sealedFile === undefined)) {
    throw new UsageError('give exactly one of --data-file and --sealed-file');
  }
  const data: GrantedData =
    flags.sealedFile !== undefined
      ? { sealedFile: flags.sealedFile, sealed: readInputFile(flags.sealedFile) }
      : { plain: readPersonalDataFile(flags.dataFile as string) };
  return { data, key: flags.key };
}

/** The household consents: the data goes sealed for the request's own key, as transient data. */
export async function runPersonalDataGrant(
  deps: CommandDeps,
  requestId: string,
  options: PersonalDataGrantOptions,
): Promise<void> {
  requireHousehold(deps, 'personal-data grant');
  const key = deps.keystore().sessionKeyBytes(options.key);
  await showRequest(deps, async ({ personalData, subscriptions }, { profile }) => {
    const request = await personalData.get(requestId);
    const subscription = await subscriptions.get(request.subscriptionId);
    const data =
      'plain' in options.data
        ? options.data.plain
        : openedSealedFile(options.data.sealedFile, options.data.sealed, key, request.subscriptionId);
    // Sealed for the requester's key of this request: the other endorser, which also receives the
    // transient data, cannot open it even though it holds the session key.
    const sealed = sealForRecipient(
      data,
      request.requestPublicKeyPem,
      request.requestId,
      PERSONAL_DATA_PADDED_BYTES,
    );
    return personalData.grant(requestId, sealed, transientEndorsers(subscription, profile));
  });
}

export function runPersonalDataDeny(deps: CommandDeps, requestId: string, reason: string): Promise<void> {
  requireHousehold(deps, 'personal-data deny');
  return showRequest(deps, ({ personalData }) => personalData.deny(requestId, reason));
}

export interface PersonalDataFetchOptions {
  /** Write the data to this file (0600) instead of stdout. */
  out?: string;
}

/**
 * Opens the delivered data with the request's own key. Once the peers have purged it (NOT_FOUND), the key is
 * destroyed too, so that no copy left anywhere can be opened.
 */
export async function runPersonalDataFetch(
  deps: CommandDeps,
  requestId: string,
  options: PersonalDataFetchOptions,
): Promise<void> {
  const keystore = deps.keystore();
  const result = await deps.withChannel(async ({ personalData }, { channel }) => {
    let delivery;
    try {
      delivery = await personalData.fetch(requestId);
    } catch (err) {
      if (refusalOf(err)?.code === ErrorCode.NotFound && keystore.shredRequestKey(channel, requestId)) {
        deps.output.stderr.write(
          `destroyed the key of ${requestId}: its data was purged, no copy can be opened\n`,
        );
      }
      throw err;
    }
    const data = openSealed(
      Buffer.from(delivery.sealedPersonalData, 'base64'),
      keystore.requestPrivateKey(channel, requestId),
      requestId,
    );
    return { requestId, subscriptionId: delivery.subscriptionId, deliveredAt: delivery.deliveredAt, data };
  });
  if (options.out) {
    writeSecretFile(options.out, result.data);
    deps.output.stderr.write(`wrote the personal data of ${result.subscriptionId} to ${options.out}\n`);
    return;
  }
  printResult(deps.output, { ...result, data: result.data.toString('utf8') }, () =>
    result.data.toString('utf8'),
  );
}

/** Destroys the request's key in this keystore; nothing is sent. */
export function runPersonalDataForget(deps: CommandDeps, requestId: string): void {
  const channel = resolveChannel(deps.profile(), deps.globals);
  const destroyed = deps.keystore().shredRequestKey(channel, requestId);
  printResult(deps.output, { requestId, destroyed }, () =>
    destroyed
      ? `destroyed the key of ${requestId}`
      : `no key of ${requestId} in this keystore (already destroyed?)`,
  );
}

export function runPersonalDataShow(deps: CommandDeps, requestId: string): Promise<void> {
  return showRequest(deps, ({ personalData }) => personalData.get(requestId));
}

export async function runPersonalDataList(
  deps: CommandDeps,
  options: { subscription?: string },
): Promise<void> {
  const records = await deps.withChannel(({ personalData }) =>
    options.subscription ? personalData.forSubscription(options.subscription) : personalData.all(),
  );
  printRows(deps.output, records, accessRequestColumns);
}

export function registerPersonalDataCommands(program: Command, deps: () => CommandDeps): void {
  const personal = program
    .command('personal-data')
    .description("consented, logged access to a household's personal data (never stored on the ledger)")
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 personal-data list --subscription sub_3f...',
    );
  personal
    .command('request <subscriptionId>')
    .description("the distributor or the authority asks for a household's personal data, with a reason")
    .requiredOption('--reason <text>', 'why (logged on the ledger)')
    .addHelpText(
      'after',
      '\nA key pair is made for this request alone; its private key stays in the keystore (request-keys/, 0600)\nand is destroyed when the data is purged, so no copy left on any peer\'s disk can be opened afterwards.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data request sub_3f... --reason "fraud case 117"',
    )
    .action((id: string, flags: { reason: string }) =>
      runPersonalDataRequest(deps(), ids.subscriptionId(id), flags.reason),
    );
  personal
    .command('grant <requestId>')
    .description(
      "the household consents: its personal data goes sealed for the request's own key, as transient data",
    )
    .option('--data-file <file>', 'the personal data (e.g. JSON with name and address), sealed here')
    .option(
      '--sealed-file <file>',
      'the data as the meter keeps it, already sealed (<meter state>/<subscription>/personal-data.sealed)',
    )
    .requiredOption('--key <name>', "the subscription's session key from the keystore")
    .addHelpText(
      'after',
      '\nGive exactly one of --data-file and --sealed-file. Run as the household (-i).\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 personal-data grant par_3f... --sealed-file meter-state/sub_3f.../personal-data.sealed --key home',
    )
    .action((requestId: string, flags: { dataFile?: string; sealedFile?: string; key: string }) => {
      const id = ids.requestId(requestId);
      const options = parseGrantOptions(flags);
      return runPersonalDataGrant(deps(), id, options);
    });
  personal
    .command('deny <requestId>')
    .description('the household refuses a request')
    .requiredOption('--reason <text>', 'why')
    .addHelpText(
      'after',
      "\nRun as the household (-i).\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 personal-data deny par_3f... --reason 'not without a court order'",
    )
    .action((requestId: string, flags: { reason: string }) =>
      runPersonalDataDeny(deps(), ids.requestId(requestId), flags.reason),
    );
  personal
    .command('fetch <requestId>')
    .description('the requesting organization reads and decrypts what the household granted')
    .option('--out <file>', 'write the decrypted data to this file (0600) instead of stdout')
    .addHelpText(
      'after',
      "\nOpened with the request's own key from the keystore. Once the peers have purged the data (block-to-live),\nfetch destroys that key too: every copy left anywhere is then unreadable.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data fetch par_3f...",
    )
    .action((requestId: string, options: PersonalDataFetchOptions) =>
      runPersonalDataFetch(deps(), ids.requestId(requestId), options),
    );
  personal
    .command('forget <requestId>')
    .description(
      "the requester destroys a request's key, so what the household gave can never be opened again",
    )
    .addHelpText(
      'after',
      '\nFor when the data is no longer needed before its block-to-live ends (fetch does this by itself after).\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data forget par_3f...',
    )
    .action((requestId: string) => {
      runPersonalDataForget(deps(), ids.requestId(requestId));
    });
  personal
    .command('show <requestId>')
    .description('one access request')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/households1.json -i hh-17 personal-data show par_3f...',
    )
    .action((requestId: string) => runPersonalDataShow(deps(), ids.requestId(requestId)));
  personal
    .command('list')
    .description('access requests: of one subscription, or all the caller may see')
    .option('--subscription <subscriptionId>', 'only this subscription (households use this)')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data list',
    )
    .action((options: { subscription?: string }) =>
      runPersonalDataList(deps(), { subscription: ids.optionalSubscriptionId(options.subscription) }),
    );
}

/** An input file as bytes; one that cannot be read is a usage mistake. */
function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The meter's sealed copy, opened with this subscription's key (the household re-seals it for the requester). */
function openedSealedFile(path: string, sealed: Buffer, key: Buffer, subscriptionId: string): Buffer {
  try {
    return openPersonalData(sealed, key, subscriptionId);
  } catch {
    throw new UsageError(`${path} does not open with the session key of ${subscriptionId}`);
  }
}
