import { IpfsClient, resolveIpfsApiUrl } from '../ipfs';
import { fetchBillEvidence } from '../billVerify';
import { contractAdapters } from '../contracts/adapters';
import { chaincodeChannel, type ChaincodeChannel } from '../contracts/invoke';
import { UsageError } from '../errors';
import { withGateway } from '../gateway';
import { enrollIdentity, registerIdentity } from '../identities';
import { Keystore } from '../keystore';
import type { Streams } from '../output';
import { loadProfile, type ConnectionProfile } from '../profile';
import {
  docIds,
  ReportDb,
  type ReportAccessRequest,
  type ReportBill,
  type ReportSubscription,
} from '../reporting/reportDb';
import { collect, loadReport } from '../reporting/reports';
import { syncChannel } from '../reporting/sync';
import { actingIdentity, resolveChannel, resolveIdentity, type GlobalOptions } from './context';
import type { ChannelContext, CommandDeps, CommandFactory, ContractClients, ReportStore } from './deps';

/** meterctl's own factory: the process's streams and environment, the profile's gateway peer and CA. */
export const defaultFactory: CommandFactory = {
  streams: {
    // Looked up at each write, so that whoever replaces process.stdout.write (tests) sees the output.
    stdout: { write: (text) => void process.stdout.write(text) },
    stderr: {
      write: (text) => void process.stderr.write(text),
      get isTTY() {
        return process.stderr.isTTY;
      },
      get columns() {
        return process.stderr.columns;
      },
    },
  },
  deps: (globals) => gatewayDeps(globals, defaultFactory.streams),
};

export function resolveProfile(options: GlobalOptions): ConnectionProfile {
  const path = options.profile ?? process.env.METERCTL_PROFILE;
  if (!path) throw new UsageError('no connection profile: pass --profile <file> or set METERCTL_PROFILE');
  return loadProfile(path);
}

function resolveKeystore(options: GlobalOptions): Keystore {
  return Keystore.resolve(options.keystore);
}

type ChaincodeUser<T> = (chaincode: ChaincodeChannel, context: ChannelContext) => Promise<T>;

/** Runs fn against the profile's channel and chaincode with a gateway that is always closed afterwards. */
async function onChannel<T>(options: GlobalOptions, fn: ChaincodeUser<T>): Promise<T> {
  const profile = resolveProfile(options);
  const channel = resolveChannel(profile, options);
  const { files } = resolveIdentity(profile, options.identity, resolveKeystore(options));
  return withGateway(profile, { files }, (gateway) =>
    fn(chaincodeChannel(gateway, channel, profile.chaincodeName), { profile, channel }),
  );
}

function contractClients(chaincode: ChaincodeChannel): ContractClients {
  const clients = contractAdapters(chaincode);
  const channel = chaincode.network.getName();
  return { ...clients, billEvidence: (billId) => fetchBillEvidence(clients, channel, billId) };
}

function gatewayDeps(globals: GlobalOptions, streams: Streams): CommandDeps {
  return {
    globals,
    output: { json: globals.json, csv: globals.csv, stdout: streams.stdout, stderr: streams.stderr },
    env: process.env,
    now: () => new Date(),
    profile: () => resolveProfile(globals),
    keystore: () => resolveKeystore(globals),
    identity: () => actingIdentity(resolveProfile(globals), globals.identity, resolveKeystore(globals)),
    withChannel: (fn) => onChannel(globals, (chaincode, context) => fn(contractClients(chaincode), context)),
    ca: { register: registerIdentity, enroll: enrollIdentity },
    openReportDb: async (serverUrl, name) =>
      reportStore(await ReportDb.open(serverUrl, name), (channel, fn) =>
        onChannel({ ...globals, channel }, fn),
      ),
    ipfs: (explicitUrl) =>
      new IpfsClient(resolveIpfsApiUrl(explicitUrl, process.env, resolveProfile(globals))),
    onInterrupt: (stop) => {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      };
    },
  };
}

function reportStore(
  db: ReportDb,
  onChannel: <T>(channel: string, fn: ChaincodeUser<T>) => Promise<T>,
): ReportStore {
  return {
    load: (regionCode, from, to, bucketSeconds, minHouseholds) =>
      loadReport(db, regionCode, from, to, bucketSeconds, minHouseholds),
    subscriptions: () => collect(db.find<ReportSubscription>('subscription')),
    accessRequests: (selector) => collect(db.find<ReportAccessRequest>('accessRequest', selector)),
    bills: (selector) => collect(db.find<ReportBill>('bill', selector)),
    saveAnomalies: async (findings) => {
      const ids = findings.map((f) => docIds.anomaly(f.channel, f.anomalyId));
      const existing = await db.fetch(ids);
      await db.save(findings.map((f, i) => ({ ...f, _id: ids[i], _rev: existing.get(ids[i])?._rev })));
      return { added: findings.length - existing.size, updated: existing.size };
    },
    syncChannel: (channel, sessionKey, options) =>
      onChannel(channel, (chaincode) => syncChannel(chaincode, db, sessionKey, options)),
  };
}
