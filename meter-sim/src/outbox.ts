import type { ReadingSubmission } from '@smartmeter/client/dist/contracts/MeasurementClient';
import { Journal, nodeFiles, OutboxWriteError, type JournalFiles } from './journal';

/** A reading as the meter keeps it until the ledger has it: exactly what it submits, plus what it logs. */
export interface OutboxReading {
  submission: ReadingSubmission;
  /** The period's length when it was measured: if the distributor changes the interval, it may no longer fit. */
  intervalSeconds: number;
  quantity: number;
  unit: string;
  quality: string;
}

type OutboxLine =
  | { kind: 'reading'; reading: OutboxReading }
  | { kind: 'committed'; periodStarts: string[] }
  /** refused: the ledger refused the reading for good, so the meter goes on after its period (not again). */
  | { kind: 'dropped'; periodStart: string; reason: string; refused?: true };

/** Rewrite the file once this many lines are settled history, so it does not grow without end on a Pi. */
const COMPACT_AFTER_SETTLED = 5000;

/**
 * The meter's durable, append-only outbox (JSON lines). A reading is written and fsynced before it is
 * submitted and marked committed only after the ledger committed it; after a crash or reboot the pending
 * readings are submitted again, identically, which the ledger accepts as already stored. A line cut short by
 * a crash is discarded on open.
 *
 * When the disk is full only `add` fails (with an OutboxWriteError, holding nothing new): a reading not in the
 * file must not be submitted. Marking readings committed or dropped, and compacting, are kept in memory when
 * they cannot be written: after a restart those readings are submitted (or dropped) again, which is harmless.
 */
export class Outbox {
  /** Readings written but not yet committed, by period start. */
  private readonly waiting = new Map<string, OutboxReading>();
  /** The latest committed reading: where the meter resumes after a restart. */
  private lastCommitted: OutboxReading | undefined;
  /** The latest reading the ledger refused for good: the meter resumes after it too, never measures it again. */
  private lastRefused: { periodStart: string; reason: string } | undefined;
  private settledLines = 0;
  private journal!: Journal<OutboxLine>;

  private constructor() {}

  /** `files`: the file operations, for tests that make them fail as a full disk would. */
  static open(path: string, files: JournalFiles = nodeFiles): Outbox {
    const outbox = new Outbox();
    outbox.journal = Journal.open<OutboxLine>(
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

  /** Pending readings, oldest period first. */
  pending(): OutboxReading[] {
    return [...this.waiting.values()].sort((a, b) =>
      a.submission.periodStart.localeCompare(b.submission.periodStart),
    );
  }

  /** The latest period the outbox holds a pending, committed or refused reading for. */
  lastPeriodStart(): string | undefined {
    const latest = [this.lastCommitted, ...this.waiting.values()]
      .map((reading) => reading?.submission.periodStart)
      .concat(this.lastRefused?.periodStart)
      .filter((periodStart): periodStart is string => periodStart !== undefined)
      .sort();
    return latest.at(-1);
  }

  /** Stores the readings durably, or throws an OutboxWriteError and holds none of them. */
  add(readings: OutboxReading[]): void {
    if (readings.length === 0) return;
    this.journal.append(readings.map((reading) => ({ kind: 'reading', reading })));
    for (const reading of readings) this.waiting.set(reading.submission.periodStart, reading);
  }

  markCommitted(periodStarts: string[]): void {
    if (periodStarts.length === 0) return;
    this.appendIfPossible([{ kind: 'committed', periodStarts }]);
    periodStarts.forEach((periodStart) => {
      this.settle(periodStart);
    });
    this.compactIfDue();
  }

  /**
   * Gives a reading up. One the ledger refused for good (refused) still counts as where the meter resumes; one
   * dropped because it no longer fits the schedule (an interval change) does not, so its time is measured again
   * on the new grid.
   */
  markDropped(periodStart: string, reason: string, options: { refused?: boolean } = {}): void {
    const line: OutboxLine = options.refused
      ? { kind: 'dropped', periodStart, reason, refused: true }
      : { kind: 'dropped', periodStart, reason };
    this.appendIfPossible([line]);
    this.dropped(line);
  }

  close(): void {
    this.journal.close();
  }

  private settle(periodStart: string): void {
    const reading = this.waiting.get(periodStart);
    this.waiting.delete(periodStart);
    this.settledLines += 1;
    if (reading && periodStart > (this.lastCommitted?.submission.periodStart ?? '')) {
      this.lastCommitted = reading;
    }
  }

  /** For lines whose loss costs only a harmless repeat after a restart; `add` alone must not lose its lines. */
  private appendIfPossible(lines: OutboxLine[]): void {
    try {
      this.journal.append(lines);
    } catch (err) {
      if (!(err instanceof OutboxWriteError)) throw err;
    }
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

  private replay(entry: OutboxLine): void {
    if (entry.kind === 'reading') this.waiting.set(entry.reading.submission.periodStart, entry.reading);
    else if (entry.kind === 'committed')
      entry.periodStarts.forEach((p) => {
        this.settle(p);
      });
    else this.dropped(entry);
  }

  private dropped(entry: Extract<OutboxLine, { kind: 'dropped' }>): void {
    this.waiting.delete(entry.periodStart);
    this.settledLines += 1;
    if (entry.refused && entry.periodStart > (this.lastRefused?.periodStart ?? ''))
      this.lastRefused = { periodStart: entry.periodStart, reason: entry.reason };
  }

  /** Replaces the file with its essence: the last committed and the last refused reading, then the pending ones. */
  private rewrite(): void {
    const lines: OutboxLine[] = [];
    if (this.lastCommitted) {
      lines.push({ kind: 'reading', reading: this.lastCommitted });
      lines.push({ kind: 'committed', periodStarts: [this.lastCommitted.submission.periodStart] });
    }
    if (this.lastRefused && this.lastRefused.periodStart > (this.lastCommitted?.submission.periodStart ?? ''))
      lines.push({ kind: 'dropped', ...this.lastRefused, refused: true });
    for (const reading of this.pending()) lines.push({ kind: 'reading', reading });
    this.journal.rewrite(lines);
    this.settledLines = 0;
  }
}
