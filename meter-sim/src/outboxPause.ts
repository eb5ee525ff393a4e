import { backoffDelayMs } from '@smartmeter/client/dist/errors';
import { dirname } from 'node:path';
import { OutboxErrorCode, type OutboxWriteError } from './journal';
import type { LogLevel } from './log';

type Say = (
  level: LogLevel,
  event: string,
  message: string,
  fields?: Record<string, string | number>,
) => void;

/** Tries to store new periods again after 1 s, doubling to 60 s (with jitter). */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
/** While it lasts, a pause is recalled at most this often: enough for someone watching, not a flood. */
export const REMIND_EVERY_MS = 10 * 60_000;

/** What the meter tells the pause: what still goes out, and the first period it could not store. */
export interface PauseContext {
  /** "3 readings", "8 shares": already stored, they are still submitted or published. */
  pending: string;
  /** The first period waiting to be measured, ISO. */
  from: string;
}

/**
 * A meter whose outbox cannot be written (a full disk, a failing SD card) takes no new readings: a reading is
 * only submitted once it is in the outbox. It keeps submitting what the outbox holds, tries to store the
 * waiting periods again on a back-off, and measures them once it can (a source measures a period the same
 * whenever asked), so no period is skipped. It runs on until space is freed rather than exit: a meter that
 * exits stops submitting too, and a restarted one would meet the same full disk. It says so once (error), at
 * most every 10 minutes while it lasts (warning), and once when it is over (info).
 */
export class OutboxPause {
  /** Epoch milliseconds the pause began; undefined while the outbox takes writes. */
  private since: number | undefined;
  private failures = 0;
  private retryAtMs = 0;
  private remindedAtMs = 0;

  constructor(
    private readonly say: Say,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get paused(): boolean {
    return this.since !== undefined;
  }

  /** Whether the meter may try to write new readings or shares now. */
  mayStore(): boolean {
    return this.since === undefined || this.nowMs() >= this.retryAtMs;
  }

  /** Milliseconds until the next attempt; 0 when not paused. */
  msUntilRetry(): number {
    return this.since === undefined ? 0 : Math.max(0, this.retryAtMs - this.nowMs());
  }

  /** A write of new readings or shares failed: the first one begins the pause. */
  failed(err: OutboxWriteError, context: PauseContext): void {
    const now = this.nowMs();
    if (this.since === undefined) this.begin(err, context, now);
    else if (now - this.remindedAtMs >= REMIND_EVERY_MS) this.remind(err, context, now);
    this.retryAtMs = now + backoffDelayMs(this.failures, FIRST_RETRY_MS, MAX_RETRY_MS);
    this.failures += 1;
  }

  /** New readings or shares were written: a pause, if any, is over. */
  stored(from: string): void {
    if (this.since === undefined) return;
    const seconds = Math.round((this.nowMs() - this.since) / 1000);
    this.say(
      'info',
      'outbox.resumed',
      `the outbox takes writes again after ${seconds} s; the periods from ${from} on are measured now`,
      { from, pausedSeconds: seconds },
    );
    this.since = undefined;
    this.failures = 0;
    this.retryAtMs = 0;
  }

  private begin(err: OutboxWriteError, context: PauseContext, now: number): void {
    this.since = now;
    this.remindedAtMs = now;
    const full = err.code === OutboxErrorCode.Full;
    const until = full ? `space is freed in ${dirname(err.path)}` : `${err.path} can be written again`;
    this.say(
      'error',
      full ? 'outbox.full' : 'outbox.unwritable',
      `${err.message}: new readings are paused until ${until}; the meter tries again at least once a minute and ` +
        `then measures every period from ${context.from} on, none lost. The ${context.pending} already in the ` +
        'outbox are still sent',
      fieldsOf(err, context),
    );
  }

  private remind(err: OutboxWriteError, context: PauseContext, now: number): void {
    this.remindedAtMs = now;
    const minutes = Math.round((now - (this.since ?? now)) / 60_000);
    this.say(
      'warn',
      'outbox.paused',
      `${err.message}: new readings still paused after ${minutes} min; the periods from ${context.from} on wait ` +
        'to be measured',
      fieldsOf(err, context),
    );
  }
}

function fieldsOf(err: OutboxWriteError, context: PauseContext): Record<string, string> {
  return { code: err.code, systemCode: err.systemCode, path: err.path, from: context.from };
}
