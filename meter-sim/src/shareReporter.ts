import { AggregationLimits, epochSecondsOf, isoSeconds } from '@smartmeter/domain';
import {
  periodSecrets,
  signShare,
  splitReading,
  type GridShare,
  type PeriodSecrets,
} from '@smartmeter/crypto';
import type { LogLevel } from './log';
import type { SharePublisher } from './publisher';
import type { PendingShare, ShareOutbox } from './shareOutbox';
import { liveMoments, secureRandomInt, spreadOrder, type RandomInt } from './shareSchedule';

export interface ShareSettings {
  /**
   * Live (speed 1): each share of a period goes at its own random second in the first `shareWindowSeconds`
   * after the period ends, at least `minShareGapSeconds` from the other. Otherwise (simulated speed, or a
   * period whose window has passed) shares go promptly, in random order across the backlog.
   */
  live: boolean;
  shareWindowSeconds: number;
  minShareGapSeconds: number;
}

/** A measured period, ready to be split. */
export interface MeasuredPeriod {
  startSeconds: number;
  intervalSeconds: number;
  wattHours: number;
}

export interface ShareStats {
  queued: number;
  published: number;
  dropped: number;
}

/**
 * The ledger refuses a share whose period ended more than 2 days before the transaction that brings it; the
 * aggregator needs some minutes to batch and submit, so the meter gives up on a share 10 minutes earlier.
 */
export const MAX_SHARE_AGE_SECONDS = AggregationLimits.maxShareDelaySeconds - 600;

/** Shares published and not yet acknowledged, at most, when the publisher does not say. */
const MAX_IN_FLIGHT = 16;
/**
 * Periods whose secrets stay in memory while their shares wait, so that signing a share again with its
 * publish moment need not derive them anew (the GGM walk is most of a share's CPU time on a Pi).
 */
const SECRETS_KEPT = 256;
/** After a failed publish, wait this long before the next (the connection's own back-off is the publisher's). */
const HOLD_AFTER_FAILURE_MS = 1000;

export function topicOf(region: string): string {
  return `grid/${region}/shares`;
}

type Say = (
  level: LogLevel,
  event: string,
  message: string,
  fields?: Record<string, string | number>,
) => void;

export interface ShareReporterOptions {
  sessionKey: Buffer;
  outbox: ShareOutbox;
  publisher: SharePublisher;
  settings: ShareSettings;
  say: Say;
  /** Wall clock, epoch milliseconds (tests move it by hand). */
  nowMs?: () => number;
  random?: RandomInt;
}

/**
 * Aggregate mode's half of the meter: splits each period's reading into its two masked, pseudonymous shares
 * (docs/aggregation.md), keeps them in the share outbox, and publishes each on grid/<region>/shares at its
 * own moment; a share leaves the outbox only once the broker acknowledged it. Publishing never waits for
 * acknowledgements: the meter goes on measuring while shares are in flight.
 */
export class ShareReporter {
  readonly stats: ShareStats = { queued: 0, published: 0, dropped: 0 };
  private readonly sessionKey: Buffer;
  private readonly outbox: ShareOutbox;
  private readonly publisher: SharePublisher;
  private readonly settings: ShareSettings;
  private readonly say: Say;
  private readonly nowMs: () => number;
  private readonly random: RandomInt;
  private readonly inFlight = new Set<string>();
  /** Acknowledged, not yet written: one fsync for all acknowledgements that arrive together. */
  private readonly acked: string[] = [];
  private ackFlush: NodeJS.Immediate | undefined;
  /** Shares acknowledged in this run, by period: for the "published" log line. */
  private readonly publishedOfPeriod = new Map<string, number>();
  private lastPublishedPeriod: string | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly secretsOfPeriod = new Map<string, PeriodSecrets>();
  private holdUntilMs = 0;

  constructor(options: ShareReporterOptions) {
    this.sessionKey = options.sessionKey;
    this.outbox = options.outbox;
    this.publisher = options.publisher;
    this.settings = options.settings;
    this.say = options.say;
    this.nowMs = options.nowMs ?? Date.now;
    this.random = options.random ?? secureRandomInt;
    this.publisher.onChange(() => {
      this.wakeUp();
    });
  }

  /** Shares not yet acknowledged, in flight included. */
  get pendingCount(): number {
    return this.outbox.size;
  }

  lastPeriodStart(): string | undefined {
    return this.outbox.lastPeriodStart();
  }

  /** Whether a period that ended then is too old for the ledger to accept its shares. */
  tooOld(periodEndSeconds: number): boolean {
    return this.nowSeconds() - periodEndSeconds > MAX_SHARE_AGE_SECONDS;
  }

  /** Splits each period's reading into its two shares and writes them all (one fsync) before any goes out. */
  queue(periods: readonly MeasuredPeriod[], region: string): void {
    if (periods.length === 0) return;
    const now = this.nowSeconds();
    const { shareWindowSeconds: window, minShareGapSeconds: gap } = this.settings;
    const entries: PendingShare[] = [];
    for (const period of periods) {
      const end = period.startSeconds + period.intervalSeconds;
      const paced = this.settings.live && now < end + window;
      const moments = paced
        ? liveMoments(Math.max(now, end), end + window, gap, this.random)
        : [Math.max(now, end), Math.max(now, end)];
      const shares = splitReading({
        wattHours: period.wattHours,
        secrets: this.secretsOf(period.startSeconds),
        region,
        sentAt: [isoSeconds(moments[0]), isoSeconds(moments[1])],
      });
      shares.forEach((share, i) => {
        entries.push({
          share,
          intervalSeconds: period.intervalSeconds,
          notBefore: moments[i],
          paced,
          fixed: false,
        });
      });
    }
    this.outbox.put(entries);
    this.stats.queued += entries.length;
    for (const period of periods) {
      this.say('info', 'shares.queued', `period ${isoSeconds(period.startSeconds)}: 2 shares queued`, {
        periodStart: isoSeconds(period.startSeconds),
      });
    }
    this.wakeUp();
  }

  /**
   * Drops the pending shares of every period `reasonFor` gives a reason for (an interval change, the end of
   * the subscription); returns whether any went.
   */
  discard(reasonFor: (startSeconds: number, intervalSeconds: number) => string | undefined): boolean {
    let any = false;
    for (const [periodStart, entries] of this.byPeriod(this.outbox.pending())) {
      const reason = reasonFor(epochSecondsOf(periodStart), entries[0].intervalSeconds);
      if (reason === undefined) continue;
      this.drop(periodStart, entries, reason);
      any = true;
    }
    return any;
  }

  /** Publishes every share that is due, in random order; does not wait for the broker's acknowledgements. */
  publishDue(): void {
    if (this.closed) return;
    const now = this.nowSeconds();
    this.dropTooOld();
    const { fixed, sending } = this.chooseDue(now);
    // Written (fsync) before the first byte goes out: a resend after a crash is then identical. The
    // acknowledgements that came in since the last write go in the same append.
    this.commit(fixed);
    for (const entry of sending) this.send(entry);
  }

  /**
   * The shares to publish now (as many as the publisher takes at once), and every entry to write first: each
   * of them fixed with its sentAt and signature, and live, a sibling pushed back by the gap.
   */
  private chooseDue(now: number): { fixed: PendingShare[]; sending: PendingShare[] } {
    const none = { fixed: [], sending: [] };
    if (!this.publisher.connected || this.nowMs() < this.holdUntilMs) return none;
    const capacity = this.maxInFlight - this.busy;
    if (capacity <= 0) return none;
    const due = this.outbox
      .pending()
      .filter((entry) => this.dueAt(entry) <= now && !this.inFlight.has(entry.share.prid));
    if (due.length === 0) return none;
    const chosen = spreadOrder(due, (entry) => entry.share.periodStart, {
      lastGroup: this.lastPublishedPeriod,
      limit: capacity,
      random: this.random,
    });
    const updated = new Map<string, PendingShare>();
    const current = (entry: PendingShare) => updated.get(entry.share.prid) ?? entry;
    const sending: PendingShare[] = [];
    for (const candidate of chosen) {
      const entry = current(candidate);
      // A live share whose sibling was just fixed in this pass now waits for the gap.
      if (this.dueAt(entry) > now) continue;
      if (entry.fixed) {
        sending.push(entry);
        continue;
      }
      const sentAt = isoSeconds(now);
      const fixed: PendingShare = {
        ...entry,
        share: entry.share.sentAt === sentAt ? entry.share : this.resign(entry.share, sentAt),
        fixed: true,
      };
      updated.set(fixed.share.prid, fixed);
      sending.push(fixed);
      if (fixed.paced) {
        const sibling = this.siblingOf(fixed, current);
        if (sibling && !sibling.fixed) {
          const notBefore = Math.max(sibling.notBefore, now + this.settings.minShareGapSeconds);
          updated.set(sibling.share.prid, { ...sibling, notBefore });
        }
      }
    }
    return { fixed: [...updated.values()], sending };
  }

  /** Milliseconds until the next share falls due; Infinity when none will before something else happens. */
  msUntilNextDue(): number {
    if (!this.publisher.connected || this.busy >= this.maxInFlight) return Infinity;
    const nowMs = this.nowMs();
    let next = Infinity;
    for (const entry of this.outbox.pending()) {
      if (!this.inFlight.has(entry.share.prid)) next = Math.min(next, this.dueAt(entry) * 1000);
    }
    return next === Infinity ? Infinity : Math.max(0, next - nowMs, this.holdUntilMs - nowMs);
  }

  /** Resolves after `ms`, on stop, or as soon as an acknowledgement, a failure or a (re)connection arrives. */
  wait(ms: number, stop: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (stop.aborted || ms <= 0) {
        resolve();
        return;
      }
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      this.wake = done;
      stop.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  async close(): Promise<void> {
    this.flushAcks();
    this.closed = true;
    await this.publisher.close();
    this.outbox.close();
  }

  /** One connection per share: a few at once; one persistent connection: mqtt.js pipelines 16. */
  private get maxInFlight(): number {
    return this.publisher.maxInFlight ?? MAX_IN_FLIGHT;
  }

  /** Shares published and not yet acknowledged (acknowledged ones not yet written no longer count). */
  private get busy(): number {
    return this.inFlight.size - this.acked.length;
  }

  private send(entry: PendingShare): void {
    const { prid, periodStart, region } = entry.share;
    this.inFlight.add(prid);
    this.lastPublishedPeriod = periodStart;
    this.publisher.publish(topicOf(region), JSON.stringify(entry.share)).then(
      () => {
        if (this.closed) return;
        this.acked.push(prid);
        // The meter's loop, woken, writes it with the share that takes its place (one fsync); when the loop is
        // busy elsewhere, it is written on the next turn of the event loop.
        this.ackFlush ??= setImmediate(() => {
          this.flushAcks();
        });
        this.wakeUp();
      },
      () => {
        // The publisher says why (broker unreachable); the share is fixed and goes again, byte for byte.
        this.inFlight.delete(prid);
        this.holdUntilMs = this.nowMs() + HOLD_AFTER_FAILURE_MS;
        this.wakeUp();
      },
    );
  }

  private flushAcks(): void {
    if (this.closed || this.acked.length === 0) {
      if (this.ackFlush) clearImmediate(this.ackFlush);
      this.ackFlush = undefined;
      return;
    }
    this.commit([]);
    this.wakeUp();
  }

  /** Writes the acknowledgements that came in, and `fixed`, in one append (one fsync). */
  private commit(fixed: PendingShare[]): void {
    if (this.ackFlush) clearImmediate(this.ackFlush);
    this.ackFlush = undefined;
    const prids = this.closed ? [] : this.acked.splice(0);
    const periodOf = new Map<string, string>();
    for (const prid of prids) {
      const entry = this.outbox.get(prid);
      if (entry) periodOf.set(prid, entry.share.periodStart);
    }
    try {
      this.outbox.update(prids, fixed);
    } finally {
      // On a full disk the outbox settles the acknowledgements and refuses only the fixed shares (which then do
      // not go out): the acknowledged ones are done with here too, or they would hold their places in flight.
      this.acknowledged(prids, periodOf);
    }
  }

  private acknowledged(prids: string[], periodOf: Map<string, string>): void {
    for (const prid of prids) this.inFlight.delete(prid);
    if (periodOf.size === 0) return;
    this.stats.published += periodOf.size;
    for (const periodStart of periodOf.values())
      this.publishedOfPeriod.set(periodStart, (this.publishedOfPeriod.get(periodStart) ?? 0) + 1);
    const stillPending = new Set(this.outbox.pending().map((entry) => entry.share.periodStart));
    for (const periodStart of new Set(periodOf.values())) {
      if (stillPending.has(periodStart)) continue;
      this.settled(periodStart);
      const count = this.publishedOfPeriod.get(periodStart) ?? 0;
      this.publishedOfPeriod.delete(periodStart);
      this.say(
        'info',
        'shares.published',
        `period ${periodStart}: ${count === 1 ? 'its last share' : `${count} shares`} published`,
        { periodStart, shares: count },
      );
    }
  }

  private dropTooOld(): void {
    for (const [periodStart, entries] of this.byPeriod(this.outbox.pending())) {
      const end = epochSecondsOf(periodStart) + entries[0].intervalSeconds;
      if (!this.tooOld(end)) continue;
      const idle = entries.filter((entry) => !this.inFlight.has(entry.share.prid));
      if (idle.length === 0) continue;
      this.drop(
        periodStart,
        idle,
        `the period ended more than ${Math.round(MAX_SHARE_AGE_SECONDS / 3600)} h ago and the ledger refuses shares 2 days after a period`,
      );
    }
  }

  private drop(periodStart: string, entries: PendingShare[], reason: string): void {
    this.outbox.markDropped(
      entries.map((entry) => entry.share.prid),
      reason,
    );
    this.stats.dropped += entries.length;
    if (!this.outbox.pending().some((entry) => entry.share.periodStart === periodStart))
      this.settled(periodStart);
    this.say(
      'warn',
      'shares.dropped',
      `period ${periodStart}: ${entries.length} share${entries.length === 1 ? '' : 's'} dropped: ${reason}`,
      { periodStart },
    );
  }

  /** Not before its moment, and never before its period ended (the ledger refuses an earlier sentAt). */
  private dueAt(entry: PendingShare): number {
    return Math.max(entry.notBefore, epochSecondsOf(entry.share.periodStart) + entry.intervalSeconds);
  }

  private siblingOf(
    entry: PendingShare,
    current: (entry: PendingShare) => PendingShare,
  ): PendingShare | undefined {
    const sibling = this.outbox
      .pending()
      .find(
        (other) =>
          other.share.periodStart === entry.share.periodStart && other.share.prid !== entry.share.prid,
      );
    return sibling && current(sibling);
  }

  /** The same share with another sentAt, signed again under its pseudonym (derived anew from the session key). */
  private resign(share: GridShare, sentAt: string): GridShare {
    const secrets = this.secretsOf(epochSecondsOf(share.periodStart));
    const pseudonym = [secrets.first, secrets.second].find((candidate) => candidate.prid === share.prid);
    if (!pseudonym)
      throw new Error(`share of ${share.periodStart} is under no pseudonym of this session key`);
    const { v, region, periodStart, prid, value } = share;
    return signShare({ v, region, periodStart, prid, value, sentAt }, pseudonym.privateKey);
  }

  private secretsOf(startSeconds: number): PeriodSecrets {
    const periodStart = isoSeconds(startSeconds);
    let secrets = this.secretsOfPeriod.get(periodStart);
    if (!secrets) {
      secrets = periodSecrets(this.sessionKey, startSeconds);
      if (this.secretsOfPeriod.size >= SECRETS_KEPT) {
        const oldest = this.secretsOfPeriod.keys().next();
        if (!oldest.done) this.secretsOfPeriod.delete(oldest.value);
      }
      this.secretsOfPeriod.set(periodStart, secrets);
    }
    return secrets;
  }

  /** The period's shares are all settled: its secrets need not stay in memory. */
  private settled(periodStart: string): void {
    this.secretsOfPeriod.delete(periodStart);
  }

  private byPeriod(entries: PendingShare[]): Map<string, PendingShare[]> {
    const periods = new Map<string, PendingShare[]>();
    for (const entry of entries) {
      const list = periods.get(entry.share.periodStart) ?? [];
      list.push(entry);
      periods.set(entry.share.periodStart, list);
    }
    return periods;
  }

  private nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
