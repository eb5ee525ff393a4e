import type { Command } from 'commander';
import {
  maxSealedData,
  openPersonalData,
  openSealed,
  PERSONAL_DATA_PADDED_BYTES,
  sealForRecipient,
} from '@smartmeter/crypto';
import { ErrorCode } from '@smartmeter/chaincode/dist/api/errors';
import type { AccessRequestRecord } from '@smartmeter/chaincode/dist/api/records';
import { readFileSync } from 'node:fs';
import { PersonalDataClient } from '../contracts/PersonalDataClient';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { refusalOf, UsageError } from '../errors';
import { writeSecretFile } from '../keystore';
import { printRows, type Column } from '../output';
import {
  onChannel,
  print,
  resolveChannel,
  resolveKeystore,
  resolveProfile,
  type GlobalOptions,
} from './context';

type AccessRequestSummary = Pick<
  AccessRequestRecord,
  'requestId' | 'subscriptionId' | 'requesterMspId' | 'requesterRole' | 'status' | 'requestedAt' | 'reason'
>;

export const accessRequestColumns: Column<AccessRequestSummary>[] = [
  { header: 'request', value: (r) => r.requestId },
  { header: 'subscription', value: (r) => r.subscriptionId },
  { header: 'requester', value: (r) => `${r.requesterMspId} (${r.requesterRole})` },
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

export function registerPersonalDataCommands(program: Command, globals: () => GlobalOptions): void {
  const personal = program
    .command('personal-data')
    .description("consented, logged access to a household's personal data (never stored on the ledger)");
  const show = async (fn: (client: PersonalDataClient) => Promise<AccessRequestRecord>) => {
    const options = globals();
    const record = await onChannel(options, (network) => fn(new PersonalDataClient(network)));
    print(options, record, () => describeRequest(record));
  };
  personal
    .command('request <subscriptionId>')
    .description("the distributor or the authority asks for a household's personal data, with a reason")
    .requiredOption('--reason <text>', 'why (logged on the ledger)')
    .addHelpText(
      'after',
      '\nA key pair is made for this request alone; its private key stays in the keystore (request-keys/, 0600)\nand is destroyed when the data is purged, so no copy left on any peer\'s disk can be opened afterwards.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data request sub_3f... --reason "fraud case 117"',
    )
    .action(async (id: string, o: { reason: string }) => {
      const options = globals();
      const keystore = resolveKeystore(options);
      const record = await onChannel(options, async (network, { channel }) => {
        const pending = keystore.newPendingRequestKey(channel);
        try {
          const request = await new PersonalDataClient(network).request(
            id,
            o.reason,
            pending.pair.publicKeyPem,
          );
          keystore.commitRequestKey(pending.pendingPath, channel, request.requestId);
          return request;
        } catch (err) {
          keystore.discardPendingKey(pending.pendingPath);
          throw err;
        }
      });
      print(options, record, () => describeRequest(record));
    });
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
    .addHelpText('after', '\nGive exactly one of --data-file and --sealed-file.')
    .action(async (requestId: string, o: { dataFile?: string; sealedFile?: string; key: string }) => {
      if ((o.dataFile === undefined) === (o.sealedFile === undefined)) {
        throw new UsageError('give exactly one of --data-file and --sealed-file');
      }
      const key = Buffer.from(resolveKeystore(globals()).sessionKey(o.key).key, 'hex');
      const options = globals();
      const record = await onChannel(options, async (network, { profile }) => {
        const client = new PersonalDataClient(network);
        const request = await client.get(requestId);
        const subscription = await new SubscriptionClient(network).get(request.subscriptionId);
        const data = o.sealedFile
          ? openedSealedFile(o.sealedFile, key, request.subscriptionId)
          : readPersonalDataFile(o.dataFile as string);
        // Sealed for the requester's key of this request: the other endorser, which also receives the
        // transient data, cannot open it even though it holds the session key.
        const sealed = sealForRecipient(
          data,
          request.requestPublicKeyPem,
          request.requestId,
          PERSONAL_DATA_PADDED_BYTES,
        );
        // The endorsement policy needs the channel's distributor and the authority.
        return client.grant(requestId, sealed, [subscription.distributorMspId, profile.authorityMspId]);
      });
      print(options, record, () => describeRequest(record));
    });
  personal
    .command('deny <requestId>')
    .description('the household refuses a request')
    .requiredOption('--reason <text>', 'why')
    .action(async (requestId: string, o: { reason: string }) =>
      show((client) => client.deny(requestId, o.reason)),
    );
  personal
    .command('fetch <requestId>')
    .description('the requesting organization reads and decrypts what the household granted')
    .option('--out <file>', 'write the decrypted data to this file (0600) instead of stdout')
    .addHelpText(
      'after',
      "\nOpened with the request's own key from the keystore. Once the peers have purged the data (block-to-live),\nfetch destroys that key too: every copy left anywhere is then unreadable.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data fetch par_3f...",
    )
    .action(async (requestId: string, o: { out?: string }) => {
      const options = globals();
      const keystore = resolveKeystore(options);
      const result = await onChannel(options, async (network, { channel }) => {
        const client = new PersonalDataClient(network);
        let delivery;
        try {
          delivery = await client.fetch(requestId);
        } catch (err) {
          if (refusalOf(err)?.code === ErrorCode.NotFound && keystore.shredRequestKey(channel, requestId)) {
            process.stderr.write(
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
        return {
          requestId,
          subscriptionId: delivery.subscriptionId,
          deliveredAt: delivery.deliveredAt,
          data,
        };
      });
      if (o.out) {
        writeSecretFile(o.out, result.data);
        process.stderr.write(`wrote the personal data of ${result.subscriptionId} to ${o.out}\n`);
        return;
      }
      print(options, { ...result, data: result.data.toString('utf8') }, () => result.data.toString('utf8'));
    });
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
      const options = globals();
      const profile = resolveProfile(options);
      const channel = resolveChannel(profile, options);
      const destroyed = resolveKeystore(options).shredRequestKey(channel, requestId);
      print(options, { requestId, destroyed }, () =>
        destroyed
          ? `destroyed the key of ${requestId}`
          : `no key of ${requestId} in this keystore (already destroyed?)`,
      );
    });
  personal
    .command('show <requestId>')
    .description('one access request')
    .action(async (requestId: string) => show((client) => client.get(requestId)));
  personal
    .command('list')
    .description('access requests: of one subscription, or all the caller may see')
    .option('--subscription <subscriptionId>', 'only this subscription (households use this)')
    .action(async (o: { subscription?: string }) => {
      const options = globals();
      const records = await onChannel(options, (network) => {
        const client = new PersonalDataClient(network);
        return o.subscription ? client.forSubscription(o.subscription) : client.all();
      });
      printRows(options, records, accessRequestColumns);
    });
}

/** The meter's sealed copy, opened with this subscription's key (the household re-seals it for the requester). */
function openedSealedFile(path: string, key: Buffer, subscriptionId: string): Buffer {
  let sealed: Buffer;
  try {
    sealed = readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return openPersonalData(sealed, key, subscriptionId);
  } catch {
    throw new UsageError(`${path} does not open with the session key of ${subscriptionId}`);
  }
}
