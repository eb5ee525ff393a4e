import type { ReportStorage } from '../aggregateBilling';
import type { BillEvidence } from '../billVerify';
import type { ContractAdapters } from '../contracts/adapters';
import type { RegistrationRequest, RegistrationTarget } from '../identities';
import type { IdentityFilePair, Keystore } from '../keystore';
import type { OutputSink, Streams } from '../output';
import type { ConnectionProfile, IdentityFiles } from '../profile';
import type {
  ReportAccessRequest,
  ReportAnomaly,
  ReportBill,
  ReportSubscription,
} from '../reporting/reportDb';
import type { LoadRow } from '../reporting/reports';
import type { SyncOptions, SyncResult, SyncSources } from '../reporting/sync';
import type { ActingIdentity, GlobalOptions } from './context';

/**
 * What the commands need from outside, after the GitHub CLI's cmdutil.Factory: meterctl's factory opens gateways,
 * files and databases (factory.ts); a test's factory hands out fakes. Command logic reaches for nothing else.
 */
export interface CommandFactory {
  /** Where commander's help and usage errors go, and main's error line. */
  readonly streams: Streams;
  /** The dependencies of one command for the global options it was called with; opens nothing yet. */
  deps(globals: GlobalOptions): CommandDeps;
}

export interface CommandDeps {
  /** The global options as given: commands that act for an --identity or --channel read them here. */
  readonly globals: GlobalOptions;
  readonly output: OutputSink;
  /** The environment (REPORT_DB_URL, REPORT_MIN_HOUSEHOLDS, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  /** The connection profile in use (--profile or METERCTL_PROFILE). */
  profile(): ConnectionProfile;
  /** The party's local keystore (--keystore, METERCTL_HOME or ~/.meterctl). */
  keystore(): Keystore;
  /** The identity commands act as (-i, else the profile's default) and its role; opens nothing. */
  identity(): ActingIdentity;
  /** Runs fn with the contract clients of the channel in use, as the identity in use; always disconnects. */
  withChannel<T>(fn: (clients: ContractClients, context: ChannelContext) => Promise<T>): Promise<T>;
  readonly ca: CertificateAuthority;
  /** Connects to the reporting database (creating it and its indexes when needed). */
  openReportDb(serverUrl: string, name: string): Promise<ReportStore>;
  /**
   * The IPFS node bill reports are stored on: --ipfs-url (explicit), else IPFS_API_URL, else the profile's
   * ipfsApiUrl (./test-network.sh up writes it). Opens nothing until used.
   */
  ipfs(explicitUrl?: string): ReportStorage;
  /** Calls stop on Ctrl-C or SIGTERM until the returned function is called. */
  onInterrupt(stop: () => void): () => void;
}

export interface ChannelContext {
  profile: ConnectionProfile;
  channel: string;
}

/** An adapter's public methods: what commands call and what a fake implements (not its private contract). */
export type PublicApi<T> = Pick<T, keyof T>;

/** The typed contract clients of one channel (client/src/contracts/adapters.ts), and what is built on them. */
export type ContractClients = {
  readonly [Name in keyof ContractAdapters]: PublicApi<ContractAdapters[Name]>;
} & {
  /** A bill with everything it was computed from (billVerify.fetchBillEvidence). */
  readonly billEvidence: (billId: string) => Promise<BillEvidence>;
};

/** The organization's Fabric CA (identities.ts). */
export interface CertificateAuthority {
  /** Registers an identity for its role with the registrar's credentials; resolves to the secret. */
  register(
    target: RegistrationTarget,
    registrar: IdentityFiles,
    request: RegistrationRequest,
  ): Promise<string>;
  /** Enrolls a registered identity into the keystore. */
  enroll(
    profile: ConnectionProfile,
    keystore: Keystore,
    name: string,
    secret: string,
  ): Promise<IdentityFilePair>;
}

/** The authority's reporting database, as the report commands read and fill it. */
export interface ReportStore {
  /** A region's load in [from, to) in buckets of bucketSeconds (reports.loadReport). */
  load(
    regionCode: string,
    from: string,
    to: string,
    bucketSeconds: number,
    minHouseholds: number,
  ): Promise<LoadRow[]>;
  subscriptions(): Promise<ReportSubscription[]>;
  accessRequests(selector: Record<string, string>): Promise<ReportAccessRequest[]>;
  bills(selector: Record<string, string>): Promise<ReportBill[]>;
  /** Writes scan findings, replacing those already there under the same anomaly id; returns how many were new. */
  saveAnomalies(findings: ReportAnomaly[]): Promise<{ added: number; updated: number }>;
  /** Follows a channel's blocks into the database, connected to that channel as the identity in use. */
  syncChannel(
    channel: string,
    sessionKey: SyncSources['sessionKey'],
    options: SyncOptions,
  ): Promise<SyncResult>;
}
