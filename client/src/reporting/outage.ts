import { status as GrpcStatus } from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { backoffDelayMs, grpcStatusName, refusalOf, ServiceUnreachable } from '../errors';
import { connectionFailureCode } from './reportDb';

/**
 * What `report sync --follow` waits out instead of exiting: the reporting database or the gateway peer going
 * away for a while (restarted, killed, overloaded). A real refusal (HTTP 4xx, a chaincode error, a denied
 * identity) is never waited out: waiting would not change the answer.
 */
export type OutageService = 'reportDb' | 'peer';

/** Stable codes of the outage events, for --json consumers. */
export const OUTAGE_CODES: Readonly<Record<OutageService, string>> = {
  reportDb: 'REPORT_DB_UNREACHABLE',
  peer: 'PEER_UNREACHABLE',
};

export type OutageEvent =
  /** The service failed for a reason worth waiting out; told once per outage. */
  | { kind: 'waiting'; service: OutageService; reason: string }
  /** The service answered again, awayMs after the outage began; told once per outage. */
  | { kind: 'back'; service: OutageService; awayMs: number };

/** How an outage is waited out; tests make the delays short and the clock their own. */
export interface RetryTiming {
  baseMs: number;
  capMs: number;
  random: () => number;
  now: () => number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = {
  baseMs: 1000,
  capMs: 30_000,
  random: Math.random,
  now: Date.now,
};

/** HTTP statuses that say "not now" rather than "no": the server is there but cannot serve the request yet. */
const RETRY_LATER_STATUSES: readonly number[] = [408, 429];

/**
 * Why a reporting database call failed for a reason worth waiting out, or undefined when the failure is real.
 * Classified by error class, connection error code and HTTP status, never by message text.
 */
export function reportDbOutageReason(err: unknown): string | undefined {
  const code = connectionFailureCode(err);
  if (code) return code;
  if (err instanceof ServiceUnreachable) return 'no response';
  const status = httpStatusOf(err);
  if (status !== undefined && (status >= 500 || RETRY_LATER_STATUSES.includes(status)))
    return `HTTP ${status}`;
  return undefined;
}

/** The HTTP status nano puts on a CouchDB error answer, if the error is one. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * gRPC statuses of a peer that is down, restarting or overloaded. INTERNAL is among them because a connection
 * cut mid-frame resets the HTTP/2 stream with it; CANCELLED because a peer shutting down cancels its streams
 * (a stream this process closes is told apart by the abort signal before this is asked).
 */
const PEER_AWAY: readonly number[] = [
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.CANCELLED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.INTERNAL,
];

/** Why a call to the gateway peer failed for a reason worth waiting out, or undefined when it is real. */
export function peerOutageReason(err: unknown): string | undefined {
  if (!(err instanceof GatewayError) || refusalOf(err)) return undefined;
  return PEER_AWAY.includes(err.code) ? grpcStatusName(err.code) : undefined;
}

/** What a wait gives when the abort signal came first. */
export const ABORTED: unique symbol = Symbol('aborted');
export type Aborted = typeof ABORTED;

/** Resolves after ms, or at once when the signal aborts (the timer is cleared either way). */
export function delayUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/**
 * The call's result, or ABORTED as soon as the signal aborts: a request to a service that hangs must not hold
 * up SIGINT. The call is left to settle on its own; what it wrote is idempotent and not checkpointed.
 */
export function unlessAborted<T>(call: Promise<T>, signal?: AbortSignal): Promise<T | Aborted> {
  if (!signal) return call;
  if (signal.aborted) {
    call.catch(() => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      resolve(ABORTED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/**
 * One service's outage as a follower lives through it: "waiting" is told at its first failure and "back" at the
 * first success after, once each; the back-off grows with each failed attempt until real progress is made.
 */
export class Outage {
  private since: number | undefined;
  private attempt = 0;

  constructor(
    readonly service: OutageService,
    private readonly tell: (event: OutageEvent) => void,
    private readonly timing: RetryTiming,
    private readonly signal?: AbortSignal,
  ) {}

  /** A failure worth waiting out: tells "waiting" if the service was up, then waits; false if aborted. */
  async failed(reason: string): Promise<boolean> {
    if (this.since === undefined) {
      this.since = this.timing.now();
      this.tell({ kind: 'waiting', service: this.service, reason });
    }
    const { baseMs, capMs, random } = this.timing;
    await delayUnlessAborted(backoffDelayMs(this.attempt, baseMs, capMs, random), this.signal);
    this.attempt += 1;
    return !this.signal?.aborted;
  }

  /** The service answered: tells "back" if it was away. */
  answered(): void {
    if (this.since === undefined) return;
    this.tell({ kind: 'back', service: this.service, awayMs: this.timing.now() - this.since });
    this.since = undefined;
  }

  /** Work got done: the next outage's back-off starts short again. */
  progressed(): void {
    this.answered();
    this.attempt = 0;
  }
}

/**
 * Calls attempt until it succeeds (then the service has answered), waiting out the failures reasonOf names with
 * the outage's back-off and throwing any other at once; ABORTED when the signal aborts first.
 */
export async function persist<T>(
  outage: Outage,
  attempt: () => Promise<T>,
  reasonOf: (err: unknown) => string | undefined,
  signal?: AbortSignal,
): Promise<T | Aborted> {
  for (;;) {
    try {
      const value = await unlessAborted(attempt(), signal);
      if (value !== ABORTED) outage.answered();
      return value;
    } catch (err) {
      const reason = reasonOf(err);
      if (reason === undefined) throw err;
      if (!(await outage.failed(reason))) return ABORTED;
    }
  }
}
