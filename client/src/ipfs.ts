import { cidOfBytes } from './cid';
import { ServiceUnreachable, UsageError } from './errors';
import { redactUrl } from './reporting/reportDb';

/**
 * A small client of Kubo's RPC API (https://docs.ipfs.tech/reference/kubo/rpc/), over plain HTTP: every call
 * is a POST to <api>/api/v0/<command>, as Kubo requires. The test network runs one private, offline Kubo
 * node (network/network.conf, kind ipfs); IPFS_API_URL or --ipfs-url point at another.
 *
 * Content is added as CIDv1 with raw leaves (base32, "bafk..." up to 256 KiB, "bafy..." above) and pinned,
 * so the node's garbage collection never drops it. Reads ask for local blocks only (offline=true): a node
 * that does not hold a CID says so at once instead of searching the public network for it.
 */

/** The stable codes of the IPFS node's refusals; IpfsError's message starts with one ("CODE: text"). */
export type IpfsErrorCode = 'IPFS_NOT_FOUND' | 'IPFS_REFUSED' | 'IPFS_TOO_LARGE';

/** The IPFS node answered, but not with what was asked for: unknown content, too large, or an error. */
export class IpfsError extends Error {
  constructor(
    readonly code: IpfsErrorCode,
    text: string,
  ) {
    super(`${code}: ${text}`);
    this.name = 'IpfsError';
  }
}

/** How long a call may take, answer included, before the node counts as unreachable. */
export const DEFAULT_IPFS_TIMEOUT_MS = 30_000;

export interface IpfsClientOptions {
  /** Per call, from the request until the last byte of the answer (default DEFAULT_IPFS_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export interface IpfsAdded {
  /** CIDv1, base32 ("bafk..." or "bafy..."). */
  cid: string;
  /** How many bytes were stored. */
  bytes: number;
}

export interface IpfsNodeId {
  peerId: string;
  /** e.g. "kubo/0.43.1/". */
  agentVersion: string;
  /** The node's libp2p addresses (none for an offline node). */
  addresses: string[];
}

/**
 * Where the IPFS node's RPC API is: --ipfs-url, then IPFS_API_URL, then the profile's ipfsApiUrl (which
 * ./test-network.sh up writes into every application org's profile). An empty value counts as not given.
 */
export function resolveIpfsApiUrl(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  profile: { ipfsApiUrl?: string },
): string {
  const sources: [string | undefined, string][] = [
    [explicit, '--ipfs-url'],
    [env.IPFS_API_URL, 'IPFS_API_URL'],
    [profile.ipfsApiUrl, "the profile's ipfsApiUrl"],
  ];
  for (const [value, source] of sources) {
    if (value !== undefined && value !== '') return normalizeApiUrl(value, source);
  }
  throw new UsageError(
    'no IPFS node: pass --ipfs-url <url>, set IPFS_API_URL, or use a connection profile with ipfsApiUrl (./test-network.sh up writes it)',
  );
}

/**
 * Whether text looks like a CID this client stores: CIDv1 in lowercase base32 ("b" and at least 58 of
 * a-z, 2-7; a sha2-256 CID is 59 characters). A syntactic check only: it neither decodes the multihash nor
 * accepts CIDv0 ("Qm...") or other multibases.
 */
export function isValidCid(text: string): boolean {
  return /^b[a-z2-7]{58,}$/.test(text);
}

/** The http(s) URL without credentials or trailing slashes, and its Basic credentials if it had any. */
function normalizeApiUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} is not a URL: ${JSON.stringify(value)} (e.g. http://127.0.0.1:5991)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `${source} must be an http:// or https:// URL (Kubo's RPC API), not ${redactUrl(value)}`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`${source} must not have a query or fragment: ${redactUrl(value)}`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** Kubo's error answer: {"Message": "...", "Code": 0, "Type": "error"}. */
class KuboRefusal extends Error {
  constructor(
    readonly status: number,
    readonly kuboMessage: string | undefined,
    readonly body: string,
  ) {
    super(kuboMessage ?? `HTTP ${status}`);
    this.name = 'KuboRefusal';
  }
}

/** Arguments of add and cidOf: the same, so that cidOf(bytes) is the CID add(bytes) stores them under. */
const ADD_ARGS = { 'cid-version': '1', 'raw-leaves': 'true', hash: 'sha2-256', progress: 'false' } as const;

export class IpfsClient {
  /** The API's base URL, without credentials (they go into an Authorization header). */
  readonly apiUrl: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(apiUrl: string, options: IpfsClientOptions = {}) {
    const url = new URL(normalizeApiUrl(apiUrl, 'the IPFS API URL'));
    this.authorization =
      url.username || url.password
        ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
        : undefined;
    url.username = '';
    url.password = '';
    this.apiUrl = url.toString().replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_IPFS_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive integer, not ${this.timeoutMs}`);
    }
  }

  /** The node's identity: a cheap call that succeeds once the node is up (readiness). */
  async id(): Promise<IpfsNodeId> {
    const answer = asRecord(await this.refusalsAsErrors('id', undefined, () => this.json('id', {})));
    const peerId = answer?.ID;
    if (typeof peerId !== 'string') throw this.unexpected('id', answer);
    return {
      peerId,
      agentVersion: typeof answer?.AgentVersion === 'string' ? answer.AgentVersion : '',
      addresses: Array.isArray(answer?.Addresses)
        ? answer.Addresses.filter((a): a is string => typeof a === 'string')
        : [],
    };
  }

  /** Stores bytes on the node and pins them (recursively); resolves once both are done. */
  async add(bytes: Uint8Array): Promise<IpfsAdded> {
    const cid = await this.addCall(bytes, { pin: 'true' }, 'add');
    return { cid, bytes: bytes.byteLength };
  }

  /**
   * The CID add(bytes) would store bytes under, computed here (cid.ts), not asked of the node: bytes the node
   * returned are checked against a CID on the ledger, and the node is the one party not to ask; a reader's
   * credentials (households) cannot call add at all.
   */
  cidOf(bytes: Uint8Array): Promise<string> {
    return Promise.resolve(cidOfBytes(bytes));
  }

  /** The CID the node itself gives bytes (add with only-hash: nothing stored); for checking cidOf against Kubo. */
  async nodeCidOf(bytes: Uint8Array): Promise<string> {
    return this.addCall(bytes, { 'only-hash': 'true', pin: 'false' }, 'add (only-hash)');
  }

  /**
   * The content stored under cid, from the node's own blocks. IPFS_NOT_FOUND when the node does not hold it,
   * IPFS_TOO_LARGE when it is larger than maxBytes (at most maxBytes + 1 bytes are transferred).
   */
  async cat(cid: string, maxBytes: number): Promise<Buffer> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be a non-negative integer, not ${maxBytes}`);
    }
    const response = await this.refusalsAsErrors('cat', cid, () =>
      this.post('cat', { arg: cid, length: String(maxBytes + 1), offline: 'true' }),
    );
    const chunks: Buffer[] = [];
    let received = 0;
    const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
    try {
      for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
        received += read.value.byteLength;
        if (received > maxBytes) break;
        chunks.push(Buffer.from(read.value));
      }
    } catch (err) {
      throw this.unreachable(err);
    }
    if (received > maxBytes) {
      await reader?.cancel().catch(() => undefined);
      throw new IpfsError('IPFS_TOO_LARGE', `${cid} is larger than ${maxBytes} bytes`);
    }
    // Kubo announces the size it is about to send; an error half-way through comes only in an HTTP trailer
    // (X-Stream-Error), which fetch does not expose, so a short answer is how it shows.
    const announced = Number(response.headers.get('x-content-length') ?? NaN);
    if (Number.isSafeInteger(announced) && received < Math.min(announced, maxBytes + 1)) {
      throw new IpfsError(
        'IPFS_REFUSED',
        `the IPFS node at ${this.apiUrl} broke off sending ${cid} after ${received} of ${announced} bytes`,
      );
    }
    return Buffer.concat(chunks, received);
  }

  /** Whether the node holds cid pinned (recursively, as add pins). */
  async isPinned(cid: string): Promise<boolean> {
    let answer: unknown;
    try {
      answer = await this.json('pin/ls', { arg: cid, type: 'recursive', offline: 'true' });
    } catch (err) {
      // Kubo answers 500 "path '<cid>' is not pinned" for a CID it holds unpinned or not at all.
      if (err instanceof KuboRefusal && /is not pinned/.test(err.kuboMessage ?? '')) return false;
      throw this.refusal('pin/ls', cid, err);
    }
    const keys = asRecord(asRecord(answer)?.Keys);
    if (!keys) throw this.unexpected('pin/ls', answer);
    return Object.keys(keys).length > 0;
  }

  private async addCall(bytes: Uint8Array, extra: Record<string, string>, what: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'data');
    const answer = await this.refusalsAsErrors(what, undefined, async () =>
      lastJsonLine(await this.readText(await this.post('add', { ...ADD_ARGS, ...extra }, form))),
    );
    const cid = asRecord(answer)?.Hash;
    if (typeof cid !== 'string' || !isValidCid(cid)) throw this.unexpected(what, answer);
    return cid;
  }

  /** POSTs a command whose answer is one JSON value. */
  private async json(command: string, args: Record<string, string>): Promise<unknown> {
    const text = await this.readText(await this.post(command, args));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.unexpected(command, text);
    }
  }

  /**
   * POST <api>/api/v0/<command>?<args>. A connection that cannot be made, breaks or times out is
   * ServiceUnreachable; an answer other than 200 is a KuboRefusal (callers turn it into an IpfsError).
   */
  private async post(command: string, args: Record<string, string>, body?: FormData): Promise<Response> {
    const query = new URLSearchParams(args).toString();
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}/api/v0/${command}${query ? `?${query}` : ''}`, {
        method: 'POST',
        body,
        headers: this.authorization ? { authorization: this.authorization } : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (response.status === 200) return response;
    const text = await this.readText(response);
    let message: unknown;
    try {
      message = asRecord(JSON.parse(text))?.Message;
    } catch {
      message = undefined;
    }
    throw new KuboRefusal(response.status, typeof message === 'string' ? message : undefined, text);
  }

  private async readText(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /** Runs a call, turning Kubo's refusal into an IpfsError. */
  private async refusalsAsErrors<T>(
    what: string,
    cid: string | undefined,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.refusal(what, cid, err);
    }
  }

  private refusal(what: string, cid: string | undefined, err: unknown): unknown {
    if (!(err instanceof KuboRefusal)) return err;
    const about = cid === undefined ? '' : ` ${cid}`;
    if (err.kuboMessage === undefined) {
      return new IpfsError(
        'IPFS_REFUSED',
        `${what}${about}: HTTP ${err.status} from ${this.apiUrl} (is it a Kubo RPC API?): ${oneLine(err.body).slice(0, 200)}`,
      );
    }
    // Offline, a missing block is "block was not found locally (offline): ipld: could not find <cid>".
    const code = /not found|could not find/i.test(err.kuboMessage) ? 'IPFS_NOT_FOUND' : 'IPFS_REFUSED';
    return new IpfsError(code, `${what}${about}: ${oneLine(err.kuboMessage)} (${this.apiUrl})`);
  }

  private unexpected(what: string, answer: unknown): IpfsError {
    // JSON.stringify(undefined) is undefined, whatever its type says.
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer ?? null);
    return new IpfsError(
      'IPFS_REFUSED',
      `unexpected answer to ${what} from ${this.apiUrl}: ${oneLine(text).slice(0, 200)}`,
    );
  }

  private unreachable(err: unknown): ServiceUnreachable {
    // By name: fetch's DOMException need not be an instance of this realm's Error.
    const name = (err as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const why = timedOut ? `no answer within ${this.timeoutMs} ms` : failureCode(err);
    return new ServiceUnreachable(
      `cannot reach the IPFS node at ${this.apiUrl} (${why}); is the network up? ./test-network.sh status; ` +
        'or point --ipfs-url / IPFS_API_URL at a running Kubo node',
    );
  }
}

/** The add answer: one JSON object per line (one per file added; the last is the root). */
function lastJsonLine(text: string): unknown {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  try {
    return JSON.parse(lines.at(-1) ?? '') as unknown;
  } catch {
    return text;
  }
}

/** The system error code under fetch's "fetch failed" (ECONNREFUSED, ENOTFOUND, ...), else its message. */
function failureCode(err: unknown): string {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth += 1) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    e = cause;
  }
  return oneLine(err instanceof Error ? err.message : String(err));
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
