import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoDir } from './network';

export const meterSimPath = join(repoDir, 'meter-sim', 'dist', 'bin.js');

export interface LogEvent {
  event: string;
  level: string;
  message: string;
  periodStart?: string;
  sequence?: number;
  quantity?: number;
  batch?: number;
  [field: string]: unknown;
}

/** A running meter-sim process with --json-logs, its parsed log events, and its exit. */
export class MeterSimProcess {
  readonly events: LogEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { test: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn('node', [meterSimPath, 'run', '--json-logs', ...args], { env: { ...process.env } });
    let buffered = '';
    this.child.stdout.on('data', (chunk) => {
      buffered += String(chunk);
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim() !== '')) this.record(JSON.parse(line) as LogEvent);
    });
    this.child.stderr.on('data', (chunk) => (this.stderr += String(chunk)));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        resolve({ code, signal });
      }),
    );
  }

  /** The first event (past or future) that passes the test. */
  waitFor(test: (event: LogEvent) => boolean, timeoutMs = 120_000): Promise<LogEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching meter-sim event within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.waiters.push({
        test,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  committed(): LogEvent[] {
    return this.events.filter((e) => e.event === 'reading.committed');
  }

  private record(event: LogEvent): void {
    this.events.push(event);
    const ready = this.waiters.filter((w) => w.test(event));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => {
      w.resolve(event);
    });
  }
}
