import type { GridShare } from '@smartmeter/crypto';
import { Journal, nodeFiles, OutboxWriteError, type JournalFiles } from './journal';

/** A grid share as the meter keeps it until the broker acknowledged it (aggregate mode). */
export interface PendingShare {
  share: GridShare;
  /** The period's length when it was measured: if the distributor changes the interval, it may no longer fit. */
  intervalSeconds: number;
  /** Epoch seconds: not published before then (its random moment in the share window, or when measured). */
  notBefore: number;
  /** Live mode: its sibling goes at least the minimum gap before or after it. */
  paced: boolean;
  /**
   * Set, and written, just before the share is first published: from then on it may be on the broker, so it
   * is only ever resent byte for byte (the ledger skips an identical resend but refuses another share under
   * the same PRID).
   */
  fixed: boolean;
}

type ShareOutboxLine =
  /** Shares added, or replaced (by PRID) when fixed for publishing. */
  | { kind: 'shares'; shares: PendingShare[] }
  | { kind: 'acked'; prids: string[] }
  | { kind: 'dropped'; prids: string[]; reason: string }
  /** Written on compaction: the latest period measured, where the meter resumes. */
  | { kind: 'measured'; periodStart: string };

/**
 * Rewrite the file once this many shares are settled history, so it does not grow without end on a Pi (a
 * period writes about 2 kB: its shares, each again when fixed, the acknowledgements).
 */
const COMPACT_AFTER_SETTLED = 2000;

/**
 * The aggregate-mode outbox, `shares.jsonl` beside the readings outbox: the same durable journal (JSON lines,
 * fsynced, torn last line discarded). Both shares of a period are written before either is published; a
 * share leaves only once the broker acknowledged it (QoS 1 PUBACK) or it can never be accepted (dropped).
 * After a crash the pending shares are published again.
 *
 * When the disk is full, adding or fixing shares fails (an OutboxWriteError; none of them is held, so none may
 * go out); acknowledgements and drops are kept in memory when they cannot be written: after a restart those
 * shares go again byte for byte, which the ledger skips as a resend.
 */
export class ShareOutbox {
  /** Shares written but not yet acknowledged, by PRID (unique: one pseudonym per share). */
  private readonly waiting = new Map<string, PendingShare>();
  /** The latest period measured, pending or settled. */
  private lastMeasured: string | undefined;
  private settledLines = 0;
  private journal!: Journal<ShareOutboxLine>;

  private constructor() {}

  /** `files`: the file operations, for tests that make them fail as a full disk would. */
  static open(path: string, files: JournalFiles = nodeFiles): ShareOutbox {
    const outbox = new ShareOutbox();
    outbox.journal = Journal.open<ShareOutboxLine>(
      path,
      (line) => {
        outbox.replay(line);
      },
      files,
    );
    outbox.compactIfDue();
    outbox.journal.start();
    return outbox;
  }

  /** Pending shares, oldest period first. */
  pending(): PendingShare[] {
    return [...this.waiting.values()].sort(
      (a, b) =>
        a.share.periodStart.localeCompare(b.share.periodStart) || a.share.prid.localeCompare(b.share.prid),
    );
  }

  get size(): number {
    return this.waiting.size;
  }

  get(prid: string): PendingShare | undefined {
    return this.waiting.get(prid);
  }

  /** The latest period the outbox measured (its shares pending, acknowledged or dropped). */
  lastPeriodStart(): string | undefined {
    return this.lastMeasured;
  }

  /**
   * Adds shares, or replaces those already held under the same PRID; one fsync for all. Throws an
   * OutboxWriteError, holding none of them, when they cannot be written.
   */
  put(shares: PendingShare[]): void {
    this.update([], shares);
  }

  markAcked(prids: string[]): void {
    this.update(prids, []);
  }

  /**
   * Settles the acknowledged shares and adds (or replaces) `shares`, in one append and one fsync: a meter
   * that publishes each share over its own connection gets its acknowledgements one by one, and writes each
   * together with the share that takes its place. When the lines cannot be written the acknowledgements are
   * settled all the same, and it throws an OutboxWriteError if there were shares, none of which it holds then.
   */
  update(acked: string[], shares: PendingShare[]): void {
    const held = acked.filter((prid) => this.waiting.has(prid));
    const lines: ShareOutboxLine[] = [];
    if (held.length > 0) lines.push({ kind: 'acked', prids: held });
    if (shares.length > 0) lines.push({ kind: 'shares', shares });
    if (lines.length === 0) return;
    try {
      this.journal.append(lines);
    } catch (err) {
      this.settle(held);
      if (shares.length > 0 || !(err instanceof OutboxWriteError)) throw err;
      return;
    }
    this.settle(held);
    this.store(shares);
    if (held.length > 0) this.compactIfDue();
  }

  markDropped(prids: string[], reason: string): void {
    const held = prids.filter((prid) => this.waiting.has(prid));
    if (held.length === 0) return;
    try {
      this.journal.append([{ kind: 'dropped', prids: held, reason }]);
    } catch (err) {
      if (!(err instanceof OutboxWriteError)) throw err;
    }
    this.settle(held);
  }

  close(): void {
    this.journal.close();
  }

  private store(shares: PendingShare[]): void {
    for (const entry of shares) {
      this.waiting.set(entry.share.prid, entry);
      if (entry.share.periodStart > (this.lastMeasured ?? '')) this.lastMeasured = entry.share.periodStart;
    }
  }

  private settle(prids: string[]): void {
    prids.forEach((prid) => this.waiting.delete(prid));
    this.settledLines += prids.length;
  }

  private replay(line: ShareOutboxLine): void {
    if (line.kind === 'shares') this.store(line.shares);
    else if (line.kind === 'measured') {
      if (line.periodStart > (this.lastMeasured ?? '')) this.lastMeasured = line.periodStart;
    } else this.settle(line.prids);
  }

  /** Compaction needs room for the new file: on a full disk it waits for a later attempt. */
  private compactIfDue(): void {
    if (this.settledLines <= COMPACT_AFTER_SETTLED) return;
    try {
      this.rewrite();
    } catch (err) {
      if (!(err instanceof OutboxWriteError)) throw err;
    }
  }

  private rewrite(): void {
    const lines: ShareOutboxLine[] = [];
    if (this.lastMeasured) lines.push({ kind: 'measured', periodStart: this.lastMeasured });
    const pending = this.pending();
    if (pending.length > 0) lines.push({ kind: 'shares', shares: pending });
    this.journal.rewrite(lines);
    this.settledLines = 0;
  }
}
