import type { Logger } from '../../src/log';

export interface LogLine {
  time: string;
  level: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

/** A logger that keeps every JSON line it writes, parsed, and lets a test wait for one. */
export class CapturedLogs {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly logger: Logger;
  private waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(echo = process.env.AGGREGATOR_TEST_LOGS === '1') {
    this.logger = {
      log: (level, event, message, fields = {}) => {
        const text = JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields });
        if (echo) process.stderr.write(`${text}\n`);
        this.raw.push(text);
        const line = JSON.parse(text) as LogLine;
        this.lines.push(line);
        this.waiters = this.waiters.filter((waiter) => {
          if (!waiter.test(line)) return true;
          waiter.resolve(line);
          return false;
        });
      },
    };
  }

  of(event: string, fields: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter(
      (line) => line.event === event && Object.entries(fields).every(([key, value]) => line[key] === value),
    );
  }

  /** The first line (already written or to come) of this event with these fields. */
  waitFor(event: string, fields: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<LogLine> {
    const test = (line: LogLine) =>
      line.event === event && Object.entries(fields).every(([key, value]) => line[key] === value);
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no log line ${event} ${JSON.stringify(fields)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Waits until count lines of this event with these fields were written. */
  async waitForCount(
    event: string,
    fields: Record<string, unknown>,
    count: number,
    timeoutMs = 15_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.of(event, fields).length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `${this.of(event, fields).length} of ${count} log lines ${event} ${JSON.stringify(fields)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
