import type { Command } from 'commander';
import { openPersonalData, sealPersonalData } from '@smartmeter/crypto';
import { AUTHORITY_MSP_ID, type AccessRequestRecord } from '@smartmeter/chaincode/dist/api/records';
import { readFileSync } from 'node:fs';
import { PersonalDataClient } from '../contracts/PersonalDataClient';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { UsageError } from '../errors';
import { writeSecretFile } from '../keystore';
import { printRows, type Column } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { onChannel, print, resolveKeystore, type GlobalOptions } from './context';

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
  if (bytes.length === 0 || bytes.length > 8 * 1024)
    throw new UsageError(`personal data file ${path} must hold 1 byte to 8 KiB`);
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
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid personal-data request sub_3f... --reason "fraud case 117"',
    )
    .action(async (id: string, o: { reason: string }) => show((client) => client.request(id, o.reason)));
  personal
    .command('grant <requestId>')
    .description(
      'the household consents: its personal data goes sealed with the session key, as transient data',
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
      const record = await onChannel(options, async (network) => {
        const client = new PersonalDataClient(network);
        const request = await client.get(requestId);
        const subscription = await new SubscriptionClient(network).get(request.subscriptionId);
        const sealed = o.sealedFile
          ? checkedSealedFile(o.sealedFile, key, request.subscriptionId)
          : sealPersonalData(readPersonalDataFile(o.dataFile as string), key, request.subscriptionId);
        // The endorsement policy needs the channel's distributor and the authority.
        return client.grant(requestId, sealed, [subscription.distributorMspId, AUTHORITY_MSP_ID]);
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
    .action(async (requestId: string, o: { out?: string }) => {
      const options = globals();
      const result = await onChannel(options, async (network, { profile }) => {
        const client = new PersonalDataClient(network);
        const delivery = await client.fetch(requestId);
        const subscription = await new SubscriptionClient(network).get(delivery.subscriptionId);
        const { key } = sessionKeyFor(subscription, profile.mspId, resolveKeystore(options));
        const data = openPersonalData(
          Buffer.from(delivery.encryptedPersonalData, 'base64'),
          key,
          delivery.subscriptionId,
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

/** The meter's sealed copy, checked to open with this subscription's key before it is handed over. */
function checkedSealedFile(path: string, key: Buffer, subscriptionId: string): Buffer {
  const sealed = readFileSync(path);
  try {
    openPersonalData(sealed, key, subscriptionId);
  } catch {
    throw new UsageError(`${path} does not open with the session key of ${subscriptionId}`);
  }
  return sealed;
}
