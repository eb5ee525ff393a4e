import type { Context } from 'fabric-contract-api';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Public test certificates (support/certs/make-certs.sh): the chaincode binds records to their keys. */
export type TestCertificate = 'key-a' | 'key-b' | 'key-c' | 'key-d' | 'subscriber-hh-001' | 'meter-MTR-001';

/** The certificates sit beside this file; compiled benchmarks (.bench-dist/) read them from the sources. */
const certificateDir = existsSync(join(__dirname, 'certs'))
  ? join(__dirname, 'certs')
  : join(__dirname, '..', '..', '..', '..', 'chaincode', 'test', 'support', 'certs');

export function testCertificate(name: TestCertificate): string {
  return readFileSync(join(certificateDir, `${name}.pem`), 'utf8');
}

/**
 * What a test says about the submitter: its MSP, the Fabric CA attributes in its certificate and which test
 * certificate (public key) it presents; two identities with the same attributes but another certificate are a
 * clone and its original.
 */
export interface FakeIdentity {
  mspId: string;
  attributes?: Record<string, string>;
  certificate?: TestCertificate;
}

export interface EmittedEvent {
  name: string;
  payload: string;
}

export interface TxOptions {
  /** Transaction timestamp; defaults to the ledger's clock, which advances one minute per transaction. */
  time?: Date;
  transient?: Record<string, Uint8Array>;
  channel?: string;
  /** What getFunctionAndParameters reports (for unknownTransaction). */
  fcn?: string;
}

interface HistoryEntry {
  txId: string;
  timestamp: { seconds: number; nanos: number };
  isDelete: boolean;
  value: Uint8Array;
}

interface KV {
  key: string;
  value: Uint8Array;
}

const MIN_UNICODE = '\u0000';
const MAX_UNICODE = '\u{10FFFF}';

function iteratorOver<T>(items: T[]) {
  let index = 0;
  return {
    next: async () =>
      index < items.length ? { value: items[index++], done: false } : { value: undefined, done: true },
    close: async () => undefined,
  };
}

/**
 * An in-memory stand-in for the chaincode stub, for unit tests of contract logic. Like a peer, it keeps a
 * transaction's writes apart until the transaction succeeds (a failed transaction writes nothing) and does
 * not let a transaction read its own writes. Integration tests cover the real peer.
 */
export class MemoryLedger {
  readonly state = new Map<string, Uint8Array>();
  readonly privateState = new Map<string, Map<string, Uint8Array>>();
  readonly events: EmittedEvent[] = [];
  /** Every state read the chaincode asked the "peer" for, in order: `get <key>` or `range <start>`. */
  readonly reads: string[] = [];
  private readonly history = new Map<string, HistoryEntry[]>();
  private txCounter = 0;
  /** The ledger clock: each transaction without an explicit time happens one minute after the previous. */
  clock = new Date('2026-01-15T10:00:00Z');

  /** Runs one transaction; commits its writes and event only if it succeeds. */
  async invoke<T>(
    identity: FakeIdentity,
    fn: (ctx: Context) => Promise<T>,
    options: TxOptions = {},
  ): Promise<T> {
    const { ctx, commit } = this.transaction(identity, options);
    const result = await fn(ctx);
    commit();
    return result;
  }

  private transaction(identity: FakeIdentity, options: TxOptions): { ctx: Context; commit: () => void } {
    this.txCounter += 1;
    // Like Fabric's, transaction ids look random: ids derived from them must not collide.
    const txId = createHash('sha256').update(`tx-${this.txCounter}`).digest('hex');
    const time = options.time ?? this.tick();
    const timestamp = { seconds: Math.floor(time.getTime() / 1000), nanos: (time.getTime() % 1000) * 1e6 };
    const writes = new Map<string, Uint8Array | null>();
    const privateWrites = new Map<string, Map<string, Uint8Array>>();
    let event: EmittedEvent | undefined;

    const sortedEntries = (from: string, to: string): KV[] =>
      [...this.state.entries()]
        .filter(([key]) => key >= from && key < to)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ({ key, value }));
    const page = (entries: KV[], pageSize: number, bookmark: string) => {
      const start = bookmark ? entries.findIndex((entry) => entry.key >= bookmark) : 0;
      const from = start < 0 ? entries.length : start;
      const slice = entries.slice(from, from + pageSize);
      const next = entries.at(from + pageSize);
      return {
        iterator: iteratorOver(slice),
        // Like a peer: an empty page comes without metadata.
        metadata:
          slice.length === 0
            ? undefined
            : { fetchedRecordsCount: slice.length, bookmark: next ? next.key : '' },
      };
    };
    const composite = (objectType: string, attributes: string[]) =>
      MIN_UNICODE + [objectType, ...attributes].join(MIN_UNICODE) + MIN_UNICODE;

    const stub = {
      getTxID: () => txId,
      getChannelID: () => options.channel ?? 'northgrid',
      getTxTimestamp: () => timestamp,
      getFunctionAndParameters: () => ({ fcn: options.fcn ?? 'Test:Unknown', params: [] }),
      createCompositeKey: composite,
      splitCompositeKey: (key: string) => {
        const parts = key.split(MIN_UNICODE).slice(1, -1);
        return { objectType: parts[0], attributes: parts.slice(1) };
      },
      getState: async (key: string) => {
        this.reads.push(`get ${key}`);
        return this.state.get(key) ?? new Uint8Array();
      },
      putState: async (key: string, value: Uint8Array) => {
        writes.set(key, value);
      },
      deleteState: async (key: string) => {
        writes.set(key, null);
      },
      getStateByRange: async (start: string, end: string) => {
        this.reads.push(`range ${start}`);
        if (start.startsWith(MIN_UNICODE) || end.startsWith(MIN_UNICODE)) {
          throw new Error('range queries take plain keys, not composite keys');
        }
        return iteratorOver(sortedEntries(start, end || MAX_UNICODE));
      },
      getStateByRangeWithPagination: async (start: string, end: string, pageSize: number, bookmark: string) =>
        page(sortedEntries(start, end || MAX_UNICODE), pageSize, bookmark),
      getStateByPartialCompositeKey: async (objectType: string, attributes: string[]) => {
        const prefix = composite(objectType, attributes);
        return iteratorOver(sortedEntries(prefix, prefix + MAX_UNICODE));
      },
      getStateByPartialCompositeKeyWithPagination: async (
        objectType: string,
        attributes: string[],
        pageSize: number,
        bookmark: string,
      ) => {
        const prefix = composite(objectType, attributes);
        return page(sortedEntries(prefix, prefix + MAX_UNICODE), pageSize, bookmark);
      },
      // Like Fabric: newest first.
      getHistoryForKey: async (key: string) => iteratorOver([...(this.history.get(key) ?? [])].reverse()),
      getTransient: () => new Map(Object.entries(options.transient ?? {})),
      putPrivateData: async (collection: string, key: string, value: Uint8Array) => {
        if (!privateWrites.has(collection)) privateWrites.set(collection, new Map());
        privateWrites.get(collection)?.set(key, value);
      },
      getPrivateData: async (collection: string, key: string) =>
        this.privateState.get(collection)?.get(key) ?? new Uint8Array(),
      setEvent: (name: string, payload: Uint8Array) => {
        event = { name, payload: Buffer.from(payload).toString('utf8') };
      },
    };
    const clientIdentity = {
      getMSPID: () => identity.mspId,
      getID: () => `x509::CN=test::CN=ca.${identity.mspId}`,
      getAttributeValue: (name: string) => identity.attributes?.[name] ?? null,
      getIDBytes: () => Buffer.from(testCertificate(identity.certificate ?? 'key-a')),
      assertAttributeValue: (name: string, value: string) => identity.attributes?.[name] === value,
    };
    const commit = (): void => {
      for (const [key, value] of writes) {
        if (value === null) this.state.delete(key);
        else this.state.set(key, value);
        const entries = this.history.get(key) ?? [];
        entries.push({ txId, timestamp, isDelete: value === null, value: value ?? new Uint8Array() });
        this.history.set(key, entries);
      }
      writes.clear();
      for (const [collection, entries] of privateWrites) {
        if (!this.privateState.has(collection)) this.privateState.set(collection, new Map());
        for (const [key, value] of entries) this.privateState.get(collection)?.set(key, value);
      }
      privateWrites.clear();
      if (event) this.events.push(event);
      event = undefined;
    };
    return { ctx: { stub, clientIdentity } as unknown as Context, commit };
  }

  private tick(): Date {
    const now = this.clock;
    this.clock = new Date(now.getTime() + 60_000);
    return now;
  }

  /** The stored value under a key as text, or undefined. */
  read(key: string): string | undefined {
    const bytes = this.state.get(key);
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  }

  /** Every key and value as text: for scanning what a test wrote. */
  dump(): string[] {
    return [...this.state.entries()].map(([key, value]) => `${key}=${Buffer.from(value).toString('utf8')}`);
  }
}
