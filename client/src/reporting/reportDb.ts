import type { AccessRequestRecord, AnomalyFinding, IntervalChange } from '@smartmeter/domain';
import nano, { type DocumentScope, type MangoSelector } from 'nano';
import { ServiceUnreachable } from '../errors';

/**
 * The authority's off-chain reporting database (CouchDB API: pouchdb-server locally, Apache CouchDB in
 * production), fed by `meterctl report sync`. Document ids start with their type, so a type's documents are
 * one key range; aggregates hold sums and counts only, never an individual plaintext reading.
 */
export const DEFAULT_REPORT_DB_NAME = 'smartmeter_reports';

export interface ReportSubscription {
  docType: 'subscription';
  channel: string;
  subscriptionId: string;
  distributorMspId: string;
  status: string;
  regionCode?: string;
  intervalSeconds?: number;
  intervalChanges?: IntervalChange[];
  tariffId?: string;
  startDate?: string;
  endEffectiveAt?: string;
  requestedAt: string;
  updatedAt: string;
  readingCount: number;
  lastPeriodStart?: string;
}

export interface ReportBill {
  docType: 'bill';
  channel: string;
  billId: string;
  subscriptionId: string;
  distributorMspId: string;
  periodFrom: string;
  periodTo: string;
  status: string;
  currency: string;
  energyWh: number;
  totalMinor: number;
  readingCount: number;
  expectedReadings: number;
  issuedAt: string;
}

/** The access log entry as on the ledger, without the delivered data's collection and hash. */
export type ReportAccessRequest = Pick<
  AccessRequestRecord,
  | 'docType'
  | 'requestId'
  | 'subscriptionId'
  | 'requesterMspId'
  | 'requesterRole'
  | 'reason'
  | 'status'
  | 'requestedAt'
  | 'decidedAt'
> & { channel: string };

/** Energy of one region in one period, summed over the households that reported. */
export interface ReportLoad {
  docType: 'load';
  channel: string;
  regionCode: string;
  periodStart: string;
  intervalSeconds: number;
  energyWh: number;
  readingCount: number;
  /** Short hashes of the (subscription, period) slots already counted, so a replayed block adds nothing. */
  contributions: string[];
  /** Short hashes of the subscriptions counted: how many households a sum covers (k-anonymity). */
  households: string[];
  /** A regional load from the aggregate mode (an Aggregation round): how many meters it sums. */
  aggregateMeters?: number;
}

/**
 * An anomaly finding of a scan (meterctl anomalies scan --save): pseudonymous (the subscription id), with its
 * evidence, keyed by anomalyId so that scanning the same range again updates it instead of adding another.
 */
export interface ReportAnomaly extends AnomalyFinding {
  docType: 'anomaly';
  channel: string;
  anomalyId: string;
  /** When the scan that found it ran, and for which organization. */
  foundAt: string;
  foundByMspId: string;
}

export type ReportDoc = ReportSubscription | ReportBill | ReportAccessRequest | ReportLoad | ReportAnomaly;
export type StoredDoc = ReportDoc & { _id: string; _rev?: string };

export const docIds = {
  subscription: (channel: string, id: string) => `subscription|${channel}|${id}`,
  bill: (channel: string, id: string) => `bill|${channel}|${id}`,
  accessRequest: (channel: string, id: string) => `accessRequest|${channel}|${id}`,
  load: (regionCode: string, periodStart: string, channel: string) =>
    `load|${regionCode}|${periodStart}|${channel}`,
  anomaly: (channel: string, anomalyId: string) => `anomaly|${channel}|${anomalyId}`,
};

/** Mango indexes the reports filter on. */
const INDEXES: { name: string; fields: string[] }[] = [
  { name: 'by-type-status', fields: ['docType', 'status'] },
  { name: 'by-type-distributor', fields: ['docType', 'distributorMspId'] },
  { name: 'by-type-region-period', fields: ['docType', 'regionCode', 'periodStart'] },
  { name: 'by-type-requester', fields: ['docType', 'requesterMspId'] },
];

/** A URL with its credentials hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * What meterctl says (exit 3) when the reporting database cannot be reached, at open or at any later call. The
 * failure it stands for is kept as the cause, so that its connection error code can still be told.
 */
export function reportDbUnreachable(url: string, cause?: unknown): ServiceUnreachable {
  const err = new ServiceUnreachable(
    `cannot reach the reporting database at ${redactUrl(url)}; is the network up? ./test-network.sh status`,
  );
  if (cause !== undefined) err.cause = cause;
  return err;
}

/** Node's and undici's error codes for a connection that could not be made, or broke off. */
const CONNECTION_FAILURES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
];

/** The connection failure's code an error (or its cause, or theirs) carries, if any. */
export function connectionFailureCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth += 1) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === 'string' && CONNECTION_FAILURES.includes(code)) return code;
    e = cause;
  }
  return undefined;
}

/** Whether an error (or its cause) carries a connection failure's code. */
export function isConnectionFailure(err: unknown): boolean {
  return connectionFailureCode(err) !== undefined;
}

/**
 * Counts the requests nano could not get an HTTP response for. nano rejects those with a plain Error that keeps
 * neither the code nor the cause, but logs each as { err: 'socket' } just before: that entry is the signal.
 */
class TransportFailures {
  count = 0;

  readonly log = (entry: unknown): void => {
    if ((entry as { err?: unknown } | null)?.err === 'socket') this.count += 1;
  };
}

export class ReportDb {
  private constructor(
    readonly db: DocumentScope<ReportDoc>,
    readonly url: string,
    private readonly transport: TransportFailures,
  ) {}

  /** Connects, creates the database and its indexes if needed. */
  static async open(serverUrl: string, name = DEFAULT_REPORT_DB_NAME): Promise<ReportDb> {
    const transport = new TransportFailures();
    const server = nano({ url: serverUrl, log: transport.log });
    const report = new ReportDb(server.use<ReportDoc>(name), serverUrl, transport);
    await report.call(async () => {
      try {
        await server.db.create(name);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 412) throw err;
      }
    });
    for (const index of INDEXES)
      await report.call(() =>
        report.db.createIndex({ index: { fields: index.fields }, name: index.name, ddoc: index.name }),
      );
    return report;
  }

  /**
   * One request to the database: a failure to reach it (no HTTP response, or a connection error's code)
   * becomes ServiceUnreachable with the URL, wherever the database is used; CouchDB's own errors pass through.
   */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    const before = this.transport.count;
    try {
      return await request();
    } catch (err) {
      const noResponse =
        this.transport.count > before && (err as { statusCode?: unknown }).statusCode === undefined;
      if (noResponse || isConnectionFailure(err)) throw reportDbUnreachable(this.url, err);
      throw err;
    }
  }

  /** The current documents with these ids (missing ones are absent from the map). */
  async fetch(ids: string[]): Promise<Map<string, StoredDoc>> {
    const found = new Map<string, StoredDoc>();
    if (ids.length === 0) return found;
    const response = await this.call(() => this.db.fetch({ keys: ids }, { include_docs: true }));
    for (const row of response.rows) {
      if ('doc' in row && row.doc) found.set(row.id, row.doc);
    }
    return found;
  }

  /** Writes the documents; each must carry the _rev it was read with (or none if new). */
  async save(docs: StoredDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const results = await this.call(() => this.db.bulk({ docs }));
    const failed = results.filter((r) => r.error);
    if (failed.length > 0)
      throw new Error(
        `the reporting database refused ${failed.length} writes: ${failed[0].id}: ${failed[0].error} ${failed[0].reason ?? ''}`,
      );
  }

  /** All documents whose ids lie in [startId, endId), a page at a time (no _find bookmarks needed). */
  async *range(startId: string, endId: string, pageSize = 500): AsyncGenerator<StoredDoc> {
    let startkey = startId;
    let skip = 0;
    for (;;) {
      const page = await this.call(() =>
        this.db.list({
          startkey,
          endkey: endId,
          inclusive_end: false,
          include_docs: true,
          limit: pageSize,
          skip,
        }),
      );
      for (const row of page.rows) if (row.doc) yield row.doc;
      if (page.rows.length < pageSize) return;
      startkey = page.rows[page.rows.length - 1].id;
      skip = 1;
    }
  }

  /**
   * Documents of one type matching a Mango selector, paged by seeking past the last _id seen: works on
   * CouchDB and on pouchdb-server, which has no _find bookmarks.
   */
  async *find<T extends ReportDoc>(
    docType: T['docType'],
    selector: MangoSelector = {},
    pageSize = 200,
  ): AsyncGenerator<T & { _id: string }> {
    let after = `${docType}|`;
    for (;;) {
      const result = await this.call(() =>
        this.db.find({
          selector: { ...selector, docType, _id: { $gt: after, $lt: `${docType}|\ufff0` } },
          sort: [{ _id: 'asc' }],
          limit: pageSize,
        }),
      );
      for (const doc of result.docs) yield doc as unknown as T & { _id: string };
      if (result.docs.length < pageSize) return;
      after = result.docs[result.docs.length - 1]._id;
    }
  }

  /** Every document without its _rev, sorted by id: what two sync runs are compared on. */
  async snapshot(): Promise<Record<string, unknown>[]> {
    const docs: Record<string, unknown>[] = [];
    const page = await this.call(() => this.db.list({ include_docs: true }));
    for (const row of page.rows) {
      if (!row.doc || row.id.startsWith('_design/')) continue;
      const rest: Record<string, unknown> = { ...(row.doc as unknown as Record<string, unknown>) };
      delete rest._rev;
      docs.push(rest);
    }
    return docs;
  }
}
