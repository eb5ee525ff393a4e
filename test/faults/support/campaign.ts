import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogEvent } from '../../support/meterSim';
import type { OutboxWatcher } from '../../support/faults';

/**
 * The fault campaign's bookkeeping: when each reading committed (from the meters' own log events), how full the
 * outboxes were (from their files), and for each fault the numbers issue 21 asks for.
 */

export interface FaultRecord {
  fault: string;
  /** Whether the fault makes commits impossible until it is repaired (no quorum, no endorsement). */
  blocksCommits: boolean;
  /** Seconds the fault lasted: from injecting it to repairing it (restart, reconnect). */
  outageSeconds: number;
  /** Seconds from the fault until commits resumed, counted from the repair when the fault blocks commits. */
  resumeSeconds: number;
  /** The longest time without any commit, from the fault until the network had recovered. */
  longestStallSeconds: number;
  /** Readings committed between the fault and the recovery. */
  committedDuringFault: number;
  /** Distinct readings that waited in an outbox during the fault. */
  readingsWaited: number;
  /** The most readings waiting in all outboxes at once. */
  peakOutbox: number;
  /** Seconds from the fault until the network was whole again (every node back and caught up). */
  recoverySeconds: number;
}

/** When each delivery (a committed reading, or a period's published shares) happened, from the meters' logs. */
export class CommitTimeline {
  /** Epoch ms of every delivery, in arrival order. */
  readonly commits: number[] = [];
  /** Warnings and errors the meters logged, with the time they came. */
  readonly troubles: LogEvent[] = [];

  constructor(private readonly deliveryEvent: 'reading.committed' | 'shares.published') {}

  record(event: LogEvent): void {
    if (event.event === this.deliveryEvent) this.commits.push(Date.parse(event.time));
    else if (event.level !== 'info') this.troubles.push(event);
  }

  committedBetween(fromMs: number, toMs: number): number {
    return this.commits.filter((t) => t >= fromMs && t < toMs).length;
  }

  firstCommitAfter(ms: number): number | undefined {
    return this.commits.find((t) => t >= ms);
  }

  longestGap(fromMs: number, toMs: number): number {
    const inside = [fromMs, ...this.commits.filter((t) => t > fromMs && t < toMs), toMs].sort(
      (a, b) => a - b,
    );
    return inside.slice(1).reduce((gap, t, i) => Math.max(gap, t - inside[i]), 0);
  }
}

/** Samples the outboxes every second while a fault lasts: the peak, and every reading seen waiting. */
export class OutboxSampler {
  peak = 0;
  readonly waited = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly watchers: OutboxWatcher[]) {}

  start(): void {
    this.peak = 0;
    this.waited.clear();
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
    }, 1000);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }

  private sample(): void {
    let total = 0;
    for (const watcher of this.watchers) {
      for (const [subscription, periods] of watcher.sample()) {
        total += periods.size;
        for (const period of periods) this.waited.add(`${subscription}@${period}`);
      }
    }
    this.peak = Math.max(this.peak, total);
  }
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function faultRecord(
  fault: string,
  blocksCommits: boolean,
  timeline: CommitTimeline,
  sampler: OutboxSampler,
  times: { injected: number; repaired: number; recovered: number },
): FaultRecord {
  const resumeFrom = blocksCommits ? times.repaired : times.injected;
  const resumedAt = timeline.firstCommitAfter(resumeFrom) ?? times.recovered;
  return {
    fault,
    blocksCommits,
    outageSeconds: seconds(times.repaired - times.injected),
    resumeSeconds: seconds(resumedAt - resumeFrom),
    longestStallSeconds: seconds(timeline.longestGap(times.injected, times.recovered)),
    committedDuringFault: timeline.committedBetween(times.injected, times.recovered),
    readingsWaited: sampler.waited.size,
    peakOutbox: sampler.peak,
    recoverySeconds: seconds(times.recovered - times.injected),
  };
}

const COLUMNS: [keyof FaultRecord, string][] = [
  ['fault', 'fault'],
  ['outageSeconds', 'outage s'],
  ['resumeSeconds', 'resume s'],
  ['longestStallSeconds', 'longest stall s'],
  ['recoverySeconds', 'whole again s'],
  ['committedDuringFault', 'committed meanwhile'],
  ['readingsWaited', 'readings waited'],
  ['peakOutbox', 'peak outbox'],
];

/** The table a person reads: one row per fault, numbers right-aligned. */
export function faultTable(records: FaultRecord[]): string {
  const rows = [
    COLUMNS.map(([, header]) => header),
    ...records.map((r) => COLUMNS.map(([key]) => String(r[key]))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    )
    .join('\n');
}

/** Writes the campaign's numbers to <dir>/faults.json and the table to <dir>/faults.txt. */
export function writeCampaignReport(dir: string, report: object, table: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'faults.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'faults.txt'), `${table}\n`);
}
