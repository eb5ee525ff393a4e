import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { encryptReading, newSessionKey } from '@smartmeter/crypto';
import type { ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import type { StoredDoc } from '../../src/reporting/reportDb';
import type { DocStore } from '../../src/reporting/sync';

/** Blocks, readings and an in-memory document store for the report sync tests. */

export const utf8 = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A block as the peer delivers it: one endorser transaction per write list, with its validation code. */
export function blockOf(
  transactions: { txId: string; writes: { key: string; value: unknown }[]; code: number }[],
): common.Block {
  const block = new common.Block();
  const data = new common.BlockData();
  for (const tx of transactions) {
    const kv = new ledger.rwset.kvrwset.KVRWSet();
    for (const w of tx.writes) {
      const write = new ledger.rwset.kvrwset.KVWrite();
      write.setKey(w.key);
      write.setValue(utf8(w.value));
      kv.addWrites(write);
    }
    const ns = new ledger.rwset.NsReadWriteSet();
    ns.setNamespace('smartmeter');
    ns.setRwset(kv.serializeBinary());
    const rwset = new ledger.rwset.TxReadWriteSet();
    rwset.addNsRwset(ns);
    const action = new peer.ChaincodeAction();
    action.setResults(rwset.serializeBinary());
    const response = new peer.ProposalResponsePayload();
    response.setExtension$(action.serializeBinary());
    const endorsed = new peer.ChaincodeEndorsedAction();
    endorsed.setProposalResponsePayload(response.serializeBinary());
    const actionPayload = new peer.ChaincodeActionPayload();
    actionPayload.setAction(endorsed);
    const txAction = new peer.TransactionAction();
    txAction.setPayload(actionPayload.serializeBinary());
    const transaction = new peer.Transaction();
    transaction.addActions(txAction);
    const channelHeader = new common.ChannelHeader();
    channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
    channelHeader.setTxId(tx.txId);
    const header = new common.Header();
    header.setChannelHeader(channelHeader.serializeBinary());
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(transaction.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    data.addData(envelope.serializeBinary());
  }
  block.setData(data);
  const metadata = new common.BlockMetadata();
  const list: Uint8Array[] = [new Uint8Array(), new Uint8Array(), new Uint8Array()];
  list[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from(transactions.map((t) => t.code));
  metadata.setMetadataList(list);
  block.setMetadata(metadata);
  return block;
}

export const sessionKey = newSessionKey();
export const subscription = {
  docType: 'subscription',
  subscriptionId: 'sub_a',
  channel: 'northgrid',
  distributorMspId: 'Distributor1MSP',
  status: 'ACTIVE',
  requestedAt: '2026-11-01T00:00:00Z',
  updatedAt: '2026-11-01T00:10:00Z',
  approval: {
    intervalSeconds: 1800,
    tariffId: 't',
    regionCode: 'north/d1',
    startDate: '2026-11-01T00:00:00Z',
    approvedAt: '2026-11-01T00:05:00Z',
  },
} as SubscriptionRecord;

export function reading(sequence: number, energyWh: number): ReadingRecord {
  const periodStart = new Date(Date.parse('2026-11-01T00:00:00Z') + (sequence - 1) * 1_800_000)
    .toISOString()
    .replace('.000Z', 'Z');
  const slot = { channel: 'northgrid', subscriptionId: 'sub_a', sequence, periodStart };
  return {
    docType: 'reading',
    subscriptionId: 'sub_a',
    sequence,
    periodStart,
    ...encryptReading(
      { energyWh, utility: 'electricity', unit: 'Wh', quality: 'measured' },
      sessionKey,
      slot,
    ),
    submittedAt: '2026-11-02T00:00:00Z',
    txId: `tx${sequence}`,
  };
}

export class MemoryStore implements DocStore {
  readonly docs = new Map<string, StoredDoc>();
  private revision = 0;
  async fetch(ids: string[]) {
    return new Map(
      ids
        .filter((id) => this.docs.has(id))
        .map((id) => [id, structuredClone(this.docs.get(id) as StoredDoc)]),
    );
  }
  async save(docs: StoredDoc[]) {
    for (const doc of docs)
      this.docs.set(doc._id, { ...structuredClone(doc), _rev: `${(this.revision += 1)}` });
  }
  content() {
    return [...this.docs.values()]
      .map((doc) => {
        const rest: Partial<StoredDoc> = { ...doc };
        delete rest._rev;
        return rest as StoredDoc;
      })
      .sort((a, b) => (a._id < b._id ? -1 : 1));
  }
}

/** What a scripted write does: succeed, or fail in one of the ways a reporting database fails. */
export type WriteOutcome =
  | 'ok'
  /** The connection is refused: nothing is written. */
  | 'refused'
  /** The documents are written, then the connection breaks before the answer: the client sees a failure. */
  | 'written-then-reset'
  /** The server answers with this HTTP status (nano's error shape): nothing is written. */
  | { status: number }
  /** The request never gets an answer. */
  | 'hangs';

/** What CouchDB says with some statuses (nano makes it the error's message). */
const COUCH_REASONS: Record<number, string> = {
  401: 'Name or password is incorrect.',
  403: 'You are not allowed to access this db.',
};

/**
 * A store that checks revisions as CouchDB does (a document written with a revision other than its current one
 * is a 409 conflict) and does with its next writes what is scripted (then succeeds). It counts every document
 * version it stores.
 */
export class CouchLikeStore extends MemoryStore {
  readonly script: WriteOutcome[] = [];
  /** Every save that reached the store, by what it did. */
  readonly attempts: string[] = [];
  /** How many versions of each document were stored. */
  readonly versions = new Map<string, number>();
  private rev = 0;

  override async save(docs: StoredDoc[]): Promise<void> {
    const outcome = this.script.shift() ?? 'ok';
    this.attempts.push(typeof outcome === 'object' ? String(outcome.status) : outcome);
    if (outcome === 'hangs') return new Promise<void>(() => undefined);
    if (outcome === 'refused')
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5990'), { code: 'ECONNREFUSED' });
    if (typeof outcome === 'object')
      throw Object.assign(new Error(COUCH_REASONS[outcome.status] ?? `couch returned ${outcome.status}`), {
        statusCode: outcome.status,
      });
    this.write(docs);
    if (outcome === 'written-then-reset')
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }

  private write(docs: StoredDoc[]): void {
    const conflicts = docs.filter((doc) => doc._rev !== this.docs.get(doc._id)?._rev);
    if (conflicts.length > 0)
      throw new Error(
        `the reporting database refused ${conflicts.length} writes: ${conflicts[0]._id}: conflict`,
      );
    for (const doc of docs) {
      this.docs.set(doc._id, { ...structuredClone(doc), _rev: `${(this.rev += 1)}-x` });
      this.versions.set(doc._id, (this.versions.get(doc._id) ?? 0) + 1);
    }
  }
}
