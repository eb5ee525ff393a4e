import { checkpointers, type Checkpointer, type Network } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { decryptReading, DecryptionError } from '@smartmeter/crypto';
import {
  LEDGER_RECORD_TYPES,
  type LedgerRecord,
  type LedgerRecordOf,
  type LedgerRecordType,
  type AccessRequestRecord,
  type ReadingCursorRecord,
  type ReadingRecord,
  type SubscriptionRecord,
  type BillRecord,
  type AggregationRoundRecord,
  intervalOfPeriod,
} from '@smartmeter/domain';
import { createHash } from 'node:crypto';
import type { ChaincodeChannel } from '../contracts/invoke';
import { SubscriptionClient } from '../contracts/SubscriptionClient';
import { isValid, jsonValue, transactionsOf, type BlockTransaction, type LedgerWrite } from './blocks';
import { ServiceRefusal } from '../errors';
import {
  ABORTED,
  DEFAULT_RETRY_TIMING,
  httpStatusOf,
  Outage,
  peerOutageReason,
  persist,
  reportDbOutageReason,
  type Aborted,
  type OutageEvent,
  type RetryTiming,
} from './outage';
import {
  docIds,
  redactUrl,
  type ReportAccessRequest,
  type ReportBill,
  type ReportDb,
  type ReportLoad,
  type ReportSubscription,
  type StoredDoc,
} from './reportDb';

/**
 * Where report documents are read and written: the reporting database, or a map in unit tests. Its URL, when it
 * has one, names it in a refusal.
 */
export type DocStore = Pick<ReportDb, 'fetch' | 'save'> & { readonly url?: string };

/** A change to one reporting document: returns the new document, or undefined to leave it as it is. */
export interface DocChange {
  id: string;
  apply(current: StoredDoc | undefined): StoredDoc | undefined;
}

/** Why readings are left out of the load. */
export type SkipKind =
  /** The subscription's session key is not granted to the organization (e.g. aggregate privacy mode). */
  | 'no-grant'
  /** This keystore holds no private key of the organization key version the grant is wrapped for. */
  | 'no-private-key'
  /** The grant does not unwrap with that private key. */
  | 'key-does-not-unwrap'
  /** The reading does not decrypt in its slot with the subscription's key (INVALID_READING on bills). */
  | 'invalid-reading';

/** Why a subscription's session key cannot be had; kind groups the warnings of a sync. */
export interface KeyUnavailable {
  unavailable: string;
  kind?: SkipKind;
}

/** The readings a sync left out of the load for one reason, summed: one warning line instead of one each. */
export interface SkipSummary {
  kind: SkipKind;
  readings: number;
  /** The subscriptions whose readings these are, in the order first met. */
  subscriptionIds: string[];
  /** The first reason given, which says what to do (e.g. which keystore holds the key). */
  reason: string;
}

/** What turning ledger writes into report documents needs from outside. */
export interface SyncSources {
  channel: string;
  /** The chaincode whose writes are reported (other namespaces, e.g. _lifecycle, are not). */
  chaincodeName: string;
  /** The subscription record, from this sync's cache or the ledger. */
  subscription(subscriptionId: string): Promise<SubscriptionRecord>;
  /** The subscription's session key as the authority unwraps it, or why it cannot. */
  sessionKey(subscription: SubscriptionRecord): Buffer | KeyUnavailable;
  /** Told once per reading that cannot be counted (its key is not available, or it does not decrypt). */
  skipReading(subscriptionId: string, reason: string, kind: SkipKind): void;
}

/**
 * What the report makes of each record type the chaincode writes. The map is over every LedgerRecordType, so a
 * new record type does not compile until it is handled here or explicitly left out (with the reason).
 */
type RecordHandlers = {
  [T in LedgerRecordType]:
    | ((
        record: LedgerRecordOf<T>,
        sources: SyncSources,
        remember: (r: SubscriptionRecord) => void,
      ) => DocChange[] | Promise<DocChange[]>)
    | { notReported: string };
};

const recordHandlers: RecordHandlers = {
  subscription: (record, sources, remember) => {
    remember(record);
    return [subscriptionChange(sources.channel, record)];
  },
  readingCursor: (record, sources) => [cursorChange(sources.channel, record)],
  reading: async (record, sources) => {
    const change = await loadChange(sources, record);
    return change ? [change] : [];
  },
  bill: (record, sources) => [billChange(sources.channel, record)],
  accessRequest: (record, sources) => [accessRequestChange(sources.channel, record)],
  ping: { notReported: 'smoke-test records' },
  orgKey: { notReported: 'public keys: on the ledger for anyone on the channel' },
  orgKeyPointer: { notReported: 'which key version is current: ledger bookkeeping' },
  sessionKey: { notReported: 'which subscription a session key id belongs to: ledger bookkeeping' },
  retiredKey: { notReported: 'retired session key ids: ledger bookkeeping' },
  tariff: { notReported: 'tariffs are read from the ledger by the bill reports that need them' },
  tariffPointer: { notReported: 'which tariff version is current: ledger bookkeeping' },
  priceSignal: { notReported: 'price signals are read from the ledger (meterctl price-signal show)' },
  pricePolicy: { notReported: 'price policies are read from the ledger (meterctl price-policy show)' },
  pricePolicyPointer: { notReported: 'which price policy version is current: ledger bookkeeping' },
  aggregationRound: (record, sources) => {
    const change = gridLoadChange(sources.channel, record);
    return change ? [change] : [];
  },
  aggregationFilters: { notReported: "Bloom filters and mask sums: only the ledger's checks need them" },
  aggregationBf1Part: { notReported: "Bloom filter parts: only the ledger's checks need them" },
  gridShare: { notReported: 'pseudonymous shares stay on the ledger; their rounds carry the load' },
  faultyMeter: { notReported: 'findings are read from the ledger (meterctl grid faulty-meters)' },
  wallet: { notReported: 'prepaid wallets are read from the ledger (meterctl wallet show)' },
  walletEntry: { notReported: 'wallet histories are read from the ledger (meterctl wallet history)' },
  topUp: { notReported: 'top-up references: ledger bookkeeping' },
  settlement: { notReported: 'settlements are read from the ledger (meterctl wallet settlements)' },
  supplierAccount: {
    notReported: "the supplier's token account is read from the ledger (meterctl wallet supply)",
  },
  deviceKey: { notReported: 'device keys are read from the ledger (meterctl device config)' },
  deviceConfig: { notReported: 'sealed device configurations: meterctl device config history' },
  deviceConfigPointer: { notReported: 'ledger bookkeeping of the latest configuration version' },
  deviceConfigAck: {
    notReported: 'acknowledgements are read from the ledger (meterctl device config status)',
  },
  deviceHealth: { notReported: 'device health is read from the ledger (meterctl device health)' },
  confirmedAnomaly: {
    notReported:
      'sealed under the session key: opened by meterctl anomalies list; scan --save reports findings',
  },
};

/**
 * A regional load from the aggregate mode, stored beside the disclosed readings' load of the same period so
 * that meterctl report load adds both. Rounds without a load (FAULT) have no document until resolved.
 */
function gridLoadChange(channel: string, round: AggregationRoundRecord): DocChange | undefined {
  if (round.load === undefined) return undefined;
  const id = `${docIds.load(round.regionCode, round.periodStart, channel)}|aggregate`;
  const meters = round.expectedShares / 2 - (round.resolution?.missingMeters.length ?? 0);
  return {
    id,
    apply: (current) => {
      const doc: ReportLoad & StoredDoc = {
        ...identityOf(id, current),
        docType: 'load',
        channel,
        regionCode: round.regionCode,
        periodStart: round.periodStart,
        intervalSeconds: round.periodSeconds,
        energyWh: Number(round.load),
        readingCount: meters,
        contributions: [],
        households: [],
        aggregateMeters: meters,
      };
      return doc;
    },
  };
}

/** Index entries carry no record: a single zero byte under a composite key. */
function isIndexEntry(write: LedgerWrite): boolean {
  return write.value.length === 1 && write.value[0] === 0;
}

/**
 * The record a write holds. Fails closed: a value that is neither an index entry nor a record of a known type
 * stops the sync (with the key), rather than being skipped unseen.
 */
function recordOf(write: LedgerWrite): LedgerRecord | undefined {
  if (write.isDelete || isIndexEntry(write)) return undefined; // only index entries are ever deleted
  const value = jsonValue(write);
  const docType = value?.docType;
  if (typeof docType !== 'string' || !(LEDGER_RECORD_TYPES as readonly string[]).includes(docType)) {
    throw new Error(
      `the write of ${JSON.stringify(write.key)} holds no record of a known type (docType ${JSON.stringify(docType)}): the chaincode is newer than this client`,
    );
  }
  return value as unknown as LedgerRecord;
}

async function changesForRecord(
  record: LedgerRecord,
  sources: SyncSources,
  remember: (r: SubscriptionRecord) => void,
): Promise<DocChange[]> {
  const handler = recordHandlers[record.docType] as
    | ((
        r: LedgerRecord,
        s: SyncSources,
        m: (r: SubscriptionRecord) => void,
      ) => DocChange[] | Promise<DocChange[]>)
    | { notReported: string };
  return typeof handler === 'function' ? await handler(record, sources, remember) : [];
}

/** The report document changes a block's valid transactions imply, in block order. */
export async function changesForTransactions(
  transactions: BlockTransaction[],
  sources: SyncSources,
  remember: (record: SubscriptionRecord) => void,
): Promise<DocChange[]> {
  const changes: DocChange[] = [];
  for (const transaction of transactions.filter(isValid)) {
    for (const write of transaction.writes) {
      if (write.namespace !== sources.chaincodeName) continue;
      const record = recordOf(write);
      if (record) changes.push(...(await changesForRecord(record, sources, remember)));
    }
  }
  return changes;
}

/** The document's id and, when it exists already, the revision it is being updated from. */
function identityOf(id: string, current: StoredDoc | undefined): { _id: string; _rev?: string } {
  return current?._rev ? { _id: id, _rev: current._rev } : { _id: id };
}

function subscriptionChange(channel: string, record: SubscriptionRecord): DocChange {
  const id = docIds.subscription(channel, record.subscriptionId);
  return {
    id,
    apply: (current) => {
      const previous = current as (ReportSubscription & StoredDoc) | undefined;
      const doc: ReportSubscription & StoredDoc = {
        ...identityOf(id, previous),
        docType: 'subscription',
        channel,
        subscriptionId: record.subscriptionId,
        distributorMspId: record.distributorMspId,
        status: record.status,
        requestedAt: record.requestedAt,
        updatedAt: record.updatedAt,
        readingCount: previous?.readingCount ?? 0,
        ...(previous?.lastPeriodStart ? { lastPeriodStart: previous.lastPeriodStart } : {}),
        ...(record.approval
          ? {
              regionCode: record.approval.regionCode,
              intervalSeconds: record.approval.intervalSeconds,
              ...(record.approval.intervalChanges
                ? { intervalChanges: record.approval.intervalChanges }
                : {}),
              tariffId: record.approval.tariffId,
              startDate: record.approval.startDate,
            }
          : {}),
        ...(record.end ? { endEffectiveAt: record.end.effectiveAt } : {}),
      };
      return doc;
    },
  };
}

function cursorChange(channel: string, cursor: ReadingCursorRecord): DocChange {
  const id = docIds.subscription(channel, cursor.subscriptionId);
  return {
    id,
    apply: (current) => {
      // The subscription record is always written before its first reading, so the document exists.
      if (!current || current.docType !== 'subscription') return undefined;
      return { ...current, readingCount: cursor.readingCount, lastPeriodStart: cursor.lastPeriodStart };
    },
  };
}

function billChange(channel: string, bill: BillRecord): DocChange {
  const id = docIds.bill(channel, bill.billId);
  return {
    id,
    apply: (current) => {
      const doc: ReportBill & StoredDoc = {
        ...identityOf(id, current),
        docType: 'bill',
        channel,
        billId: bill.billId,
        subscriptionId: bill.subscriptionId,
        distributorMspId: bill.distributorMspId,
        periodFrom: bill.periodFrom,
        periodTo: bill.periodTo,
        status: bill.status,
        currency: bill.currency,
        energyWh: bill.energyWh,
        totalMinor: bill.totalMinor,
        readingCount: bill.readingCount,
        expectedReadings: bill.expectedReadings,
        issuedAt: bill.issuedAt,
      };
      return doc;
    },
  };
}

function accessRequestChange(channel: string, request: AccessRequestRecord): DocChange {
  const id = docIds.accessRequest(channel, request.requestId);
  return {
    id,
    apply: (current) => {
      const doc: ReportAccessRequest & StoredDoc = {
        ...identityOf(id, current),
        docType: 'accessRequest',
        channel,
        requestId: request.requestId,
        subscriptionId: request.subscriptionId,
        requesterMspId: request.requesterMspId,
        requesterRole: request.requesterRole,
        reason: request.reason,
        status: request.status,
        requestedAt: request.requestedAt,
        ...(request.decidedAt ? { decidedAt: request.decidedAt } : {}),
      };
      return doc;
    },
  };
}

/** Adds one decrypted reading to its region's aggregate for the period, once. */
async function loadChange(sources: SyncSources, reading: ReadingRecord): Promise<DocChange | undefined> {
  const subscription = await sources.subscription(reading.subscriptionId);
  const approval = subscription.approval;
  if (!approval) throw new Error(`reading of ${reading.subscriptionId} but the subscription has no approval`);
  const key = sources.sessionKey(subscription);
  if (!Buffer.isBuffer(key)) {
    sources.skipReading(reading.subscriptionId, key.unavailable, key.kind ?? 'no-private-key');
    return undefined;
  }
  let energyWh: number;
  try {
    ({ energyWh } = decryptReading(reading, key, {
      channel: sources.channel,
      subscriptionId: reading.subscriptionId,
      sequence: reading.sequence,
      periodStart: reading.periodStart,
    }));
  } catch (err) {
    // A ciphertext moved to another slot, or not made with the key: the ledger holds it, bills list it as
    // INVALID_READING, and the load does not count it.
    if (!(err instanceof DecryptionError)) throw err;
    sources.skipReading(
      reading.subscriptionId,
      `the reading of ${reading.periodStart} does not decrypt in its slot: ${err.message}`,
      'invalid-reading',
    );
    return undefined;
  }
  const contribution = createHash('sha256')
    .update(`${sources.channel}|${reading.subscriptionId}|${reading.periodStart}`)
    .digest('hex')
    .slice(0, 16);
  const household = createHash('sha256')
    .update(`${sources.channel}|${reading.subscriptionId}`)
    .digest('hex')
    .slice(0, 16);
  const id = docIds.load(approval.regionCode, reading.periodStart, sources.channel);
  return {
    id,
    apply: (current) => {
      const load = current as (ReportLoad & StoredDoc) | undefined;
      if (load?.contributions.includes(contribution)) return undefined;
      const doc: ReportLoad & StoredDoc = {
        ...identityOf(id, load),
        docType: 'load',
        channel: sources.channel,
        regionCode: approval.regionCode,
        periodStart: reading.periodStart,
        intervalSeconds:
          intervalOfPeriod(approval, Date.parse(reading.periodStart) / 1000) ?? approval.intervalSeconds,
        energyWh: (load?.energyWh ?? 0) + energyWh,
        readingCount: (load?.readingCount ?? 0) + 1,
        contributions: [...(load?.contributions ?? []), contribution].sort(),
        households: [...new Set([...(load?.households ?? []), household])].sort(),
      };
      return doc;
    },
  };
}

/** Applies the changes in order on top of the stored documents and writes what changed in one bulk request. */
export async function applyChanges(db: DocStore, changes: DocChange[]): Promise<number> {
  const ids = [...new Set(changes.map((c) => c.id))];
  const stored = await db.fetch(ids);
  const working = new Map(stored);
  const touched = new Set<string>();
  for (const change of changes) {
    const next = change.apply(working.get(change.id));
    if (next === undefined) continue;
    const before = working.get(change.id);
    if (before && sameContent(before, next)) continue;
    working.set(change.id, next);
    touched.add(change.id);
  }
  const docs = [...touched].map((id) => working.get(id) as StoredDoc);
  await db.save(docs);
  return docs.length;
}

function sameContent(a: StoredDoc, b: StoredDoc): boolean {
  const strip = (doc: StoredDoc) =>
    JSON.stringify(
      Object.entries(doc)
        .filter(([k]) => k !== '_rev')
        .sort(([x], [y]) => (x < y ? -1 : 1)),
    );
  return strip(a) === strip(b);
}

/**
 * The checkpoint file of this very chain: the path with the first 16 hex characters of SHA-256 of the channel's
 * genesis block before ".json". A network created again (same channel name, new chain) starts from block 0
 * instead of skipping every block below an old checkpoint.
 */
export async function chainCheckpointPath(network: Network, checkpointPath: string): Promise<string> {
  const genesis = await network
    .getContract('qscc')
    .evaluateTransaction('GetBlockByNumber', network.getName(), '0');
  const chain = createHash('sha256').update(genesis).digest('hex').slice(0, 16);
  return checkpointPath.replace(/(\.json)?$/, `.${chain}.json`);
}

/** Number of blocks on the channel, from the peer's query system chaincode. */
export async function chainHeight(network: Network): Promise<bigint> {
  const bytes = await network.getContract('qscc').evaluateTransaction('GetChainInfo', network.getName());
  return BigInt(common.BlockchainInfo.deserializeBinary(bytes).getHeight());
}

export interface SyncResult {
  blocks: number;
  written: number;
  height: bigint;
  /** Readings left out of the load because their session key could not be unwrapped or they do not decrypt. */
  skippedReadings: number;
  /** Those readings by reason, in the order the reasons were first met. */
  skipped: SkipSummary[];
}

export interface SyncOptions {
  checkpointPath: string;
  /**
   * Keep following new blocks until the signal aborts; otherwise stop once caught up. A follower waits out the
   * reporting database or the gateway peer going away (onOutage is told) instead of failing.
   */
  follow: boolean;
  signal?: AbortSignal;
  /** Told once, before the first block: the sync goes from block `from` to the chain's height (exclusive). */
  onStart?: (from: bigint, height: bigint) => void;
  onBlock?: (blockNumber: bigint, written: number) => void;
  /** Told the first time a subscription's readings cannot be counted for a reason, and why. */
  onSkip?: (subscriptionId: string, reason: string, kind: SkipKind) => void;
  /** Told, with --follow, when the reporting database or the gateway peer goes away, and when it is back. */
  onOutage?: (event: OutageEvent) => void;
  /** How a follower waits out an outage (default: back-off from 1 s doubling to 30 s, with jitter). */
  retry?: Partial<RetryTiming>;
  /**
   * Called after a block's documents are written and before its checkpoint: the one point where a crash must
   * not lose or double anything (tests crash here on purpose).
   */
  afterBlockWritten?: (blockNumber: bigint) => Promise<void> | void;
}

/** Follows the channel's blocks from the file checkpoint, writing report documents, then checkpointing each block. */
export async function syncChannel(
  chaincode: ChaincodeChannel,
  db: DocStore,
  sessionKey: SyncSources['sessionKey'],
  options: SyncOptions,
): Promise<SyncResult> {
  const { network } = chaincode;
  const checkpointer = await checkpointers.file(await chainCheckpointPath(network, options.checkpointPath));
  const height = await chainHeight(network);
  const startBlock = checkpointer.getBlockNumber() ?? 0n;
  options.onStart?.(startBlock, height);
  const sync = new ChannelSync(chaincode, db, sessionKey, options, checkpointer, height);
  if (options.follow || startBlock < height) await sync.run();
  return sync.result();
}

type StreamOutcome =
  /** Past the height the sync started at, without --follow. */
  | 'caught-up'
  /** The peer ended the stream without an error. */
  | 'ended'
  /** The abort signal stopped the sync. */
  | 'stopped';

/** One channel's sync under way: what it has done so far, and the outages it waits out with --follow. */
class ChannelSync {
  private blocks = 0;
  private written = 0;
  private readonly skips = new SkipCounter();
  private readonly blockSkips: BlockSkips;
  private readonly cache = new Map<string, SubscriptionRecord>();
  private readonly sources: SyncSources;
  private readonly network: Network;
  private readonly dbOutage: Outage;
  private readonly peerOutage: Outage;

  constructor(
    chaincode: ChaincodeChannel,
    private readonly db: DocStore,
    sessionKey: SyncSources['sessionKey'],
    private readonly options: SyncOptions,
    private readonly checkpointer: Checkpointer,
    private readonly height: bigint,
  ) {
    this.network = chaincode.network;
    this.blockSkips = new BlockSkips(this.skips, options.onSkip);
    this.sources = ledgerSources(chaincode, this.cache, sessionKey, (id, reason, kind) => {
      this.blockSkips.add(id, reason, kind);
    });
    const timing = { ...DEFAULT_RETRY_TIMING, ...options.retry };
    const tell = (event: OutageEvent) => options.onOutage?.(event);
    this.dbOutage = new Outage('reportDb', tell, timing, options.signal);
    this.peerOutage = new Outage('peer', tell, timing, options.signal);
  }

  result(): SyncResult {
    return { blocks: this.blocks, written: this.written, height: this.height, ...this.skips.result() };
  }

  /**
   * Reads block event streams until caught up (without --follow) or aborted. Without --follow a broken stream
   * fails the sync; with it, a peer outage is waited out and the stream opened again at the checkpoint, so the
   * block under way when it broke is read again, and none is skipped.
   */
  async run(): Promise<void> {
    while (!this.aborted()) {
      let reason: string | undefined;
      try {
        const outcome = await this.readStream();
        if (outcome !== 'ended' || !this.options.follow) return;
        reason = 'the block stream ended';
      } catch (err) {
        if (this.aborted()) return;
        reason = this.options.follow ? peerOutageReason(err) : undefined;
        if (reason === undefined) throw err;
      }
      if (!(await this.waitForPeer(reason))) return;
    }
  }

  private aborted(): boolean {
    return this.options.signal?.aborted === true;
  }

  /** One block event stream from the checkpoint, closed when it is done with or the signal aborts. */
  private async readStream(): Promise<StreamOutcome> {
    const events = await this.network.getBlockEvents({ checkpoint: this.checkpointer, startBlock: 0n });
    const stop = () => {
      events.close();
    };
    this.options.signal?.addEventListener('abort', stop);
    try {
      if (this.aborted()) return 'stopped';
      for await (const block of events) {
        const number = BigInt(block.getHeader()?.getNumber() ?? 0);
        if (!(await this.syncBlock(number, block))) return 'stopped';
        if (!this.options.follow && number >= this.height - 1n) return 'caught-up';
      }
      return 'ended';
    } finally {
      this.options.signal?.removeEventListener('abort', stop);
      events.close();
    }
  }

  /** The block's documents, all written, then its checkpoint; false when aborted before they were all written. */
  private async syncBlock(number: bigint, block: common.Block): Promise<boolean> {
    this.blockSkips.begin();
    const changes = await changesForTransactions(transactionsOf(block), this.sources, (r) =>
      this.cache.set(r.subscriptionId, r),
    );
    const count = await this.writeBlock(number, changes);
    if (count === ABORTED) return false;
    await finishBlock(number, count, this.checkpointer, this.options);
    // Counted once checkpointed: a block read again after a failure before its checkpoint is counted once.
    this.blocks += 1;
    this.written += count;
    this.blockSkips.commit();
    this.dbOutage.progressed();
    this.peerOutage.progressed();
    return true;
  }

  /**
   * Writes the block's document changes. With --follow, a database that is down or answers 5xx is waited out and
   * the same changes applied again: applyChanges reads the documents afresh each time, so a write that landed
   * before the connection broke is seen (no stale revision, no 409) and nothing is counted twice.
   */
  private writeBlock(number: bigint, changes: DocChange[]): Promise<number | Aborted> {
    const write = () =>
      applyChanges(this.db, changes).catch((err: unknown) => {
        throw reportDbRefusal(err, this.db.url, this.network.getName(), number) ?? err;
      });
    if (!this.options.follow) return write();
    return persist(this.dbOutage, write, reportDbOutageReason, this.options.signal);
  }

  /** Waits out a peer outage: back-off, then the chain's height asked until the peer answers; false if aborted. */
  private async waitForPeer(reason: string): Promise<boolean> {
    if (!(await this.peerOutage.failed(reason))) return false;
    const answer = await persist(
      this.peerOutage,
      () => chainHeight(this.network),
      peerOutageReason,
      this.options.signal,
    );
    return answer !== ABORTED;
  }
}

/** HTTP 4xx from the reporting database, other than "not now": a refusal naming the block, else undefined. */
function reportDbRefusal(
  err: unknown,
  url: string | undefined,
  channel: string,
  blockNumber: bigint,
): ServiceRefusal | undefined {
  const status = httpStatusOf(err);
  if (status === undefined || status < 400 || status >= 500 || reportDbOutageReason(err) !== undefined)
    return undefined;
  const where = url ? ` at ${redactUrl(url)}` : '';
  const said = err instanceof Error && err.message ? `: ${err.message}` : '';
  return new ServiceRefusal(
    'REPORT_DB_REFUSED',
    `the reporting database${where} refused the documents of block ${blockNumber} of ${channel} (HTTP ${status}${said})`,
  );
}

/** Skipped readings summed by reason and subscription. */
export class SkipCounter {
  private readonly byKind = new Map<SkipKind, SkipSummary>();

  /** Counts one reading; true the first time its subscription is skipped for this reason. */
  add(subscriptionId: string, reason: string, kind: SkipKind): boolean {
    const summary = this.byKind.get(kind) ?? { kind, readings: 0, subscriptionIds: [], reason };
    this.byKind.set(kind, summary);
    summary.readings += 1;
    if (summary.subscriptionIds.includes(subscriptionId)) return false;
    summary.subscriptionIds.push(subscriptionId);
    return true;
  }

  result(): Pick<SyncResult, 'skippedReadings' | 'skipped'> {
    const skipped = [...this.byKind.values()].map((s) => ({ ...s, subscriptionIds: [...s.subscriptionIds] }));
    return { skippedReadings: skipped.reduce((sum, s) => sum + s.readings, 0), skipped };
  }
}

/**
 * The skipped readings of the block under way, counted only once the block is checkpointed: a block read again
 * after a broken stream must not count its skips twice.
 */
class BlockSkips {
  private pending: [string, string, SkipKind][] = [];

  constructor(
    private readonly counter: SkipCounter,
    private readonly onSkip?: SyncOptions['onSkip'],
  ) {}

  begin(): void {
    this.pending = [];
  }

  add(subscriptionId: string, reason: string, kind: SkipKind): void {
    this.pending.push([subscriptionId, reason, kind]);
  }

  commit(): void {
    for (const [subscriptionId, reason, kind] of this.pending)
      if (this.counter.add(subscriptionId, reason, kind)) this.onSkip?.(subscriptionId, reason, kind);
    this.pending = [];
  }
}

/** A block's documents are written: the crash point tests use, then its checkpoint, then progress. */
async function finishBlock(
  number: bigint,
  written: number,
  checkpointer: Checkpointer,
  options: SyncOptions,
): Promise<void> {
  await options.afterBlockWritten?.(number);
  await checkpointer.checkpointBlock(number);
  options.onBlock?.(number, written);
}

/** Subscriptions from the ledger through a per-sync cache; each skipped reading told to onSkip. */
function ledgerSources(
  chaincode: ChaincodeChannel,
  cache: Map<string, SubscriptionRecord>,
  sessionKey: SyncSources['sessionKey'],
  onSkip: SyncSources['skipReading'],
): SyncSources {
  const subscriptions = new SubscriptionClient(chaincode);
  return {
    channel: chaincode.network.getName(),
    chaincodeName: chaincode.chaincodeName,
    subscription: async (id) => {
      const cached = cache.get(id);
      if (cached) return cached;
      const record = await subscriptions.get(id);
      cache.set(id, record);
      return record;
    },
    sessionKey,
    skipReading: onSkip,
  };
}
