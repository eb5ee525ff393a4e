import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoDir } from './network';

export const meterSimPath = join(repoDir, 'meter-sim', 'dist', 'bin.js');

export interface LogEvent {
  time: string;
  event: string;
  level: string;
  message: string;
  periodStart?: string;
  sequence?: number;
  quantity?: number;
  batch?: number;
  [field: string]: unknown;
}

/**
 * A running meter-sim process with --json-logs, its parsed log events, and its exit. Info events come on stdout,
 * warnings and errors on stderr (meter-sim/src/log.ts); both are parsed, and kept in the order of their time.
 */
export class MeterSimProcess {
  readonly events: LogEvent[] = [];
  /** Everything on stderr: warn and error events (JSON lines) and any other message. */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { test: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }[] = [];
  private readonly listeners: ((event: LogEvent) => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn('node', [meterSimPath, 'run', '--json-logs', ...args], {
      env: { ...process.env, ...env },
    });
    this.child.stdout.on(
      'data',
      jsonLines((line) => {
        this.record(JSON.parse(line) as LogEvent);
      }),
    );
    this.child.stderr.on('data', (chunk) => (this.stderr += String(chunk)));
    // Lines such as "meter-sim: <error>" before the logger starts are not JSON: they stay in stderr only.
    this.child.stderr.on(
      'data',
      jsonLines((line) => {
        if (line.startsWith('{')) this.record(JSON.parse(line) as LogEvent);
      }),
    );
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

  /** Called with every event from now on, in the order they arrive. */
  onEvent(listener: (event: LogEvent) => void): void {
    this.listeners.push(listener);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  committed(): LogEvent[] {
    return this.events.filter((e) => e.event === 'reading.committed');
  }

  private record(event: LogEvent): void {
    // The two streams arrive independently: place each event after every one logged at the same time or earlier.
    let at = this.events.length;
    while (at > 0 && this.events[at - 1].time > event.time) at -= 1;
    this.events.splice(at, 0, event);
    this.listeners.forEach((listener) => {
      listener(event);
    });
    const ready = this.waiters.filter((w) => w.test(event));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => {
      w.resolve(event);
    });
  }
}

/** A 'data' listener that calls onLine with each complete, non-empty line. */
function jsonLines(onLine: (line: string) => void): (chunk: unknown) => void {
  let buffered = '';
  return (chunk) => {
    buffered += String(chunk);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim() !== '')) onLine(line);
  };
}
