export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

/**
 * One line per event: readable text by default, one JSON object per line with --json-logs (for journald). Info
 * lines (what the meter measured, committed, published; its start, stop and summary) go to stdout; warnings and
 * errors (what needs someone's attention: an unreachable ledger, a refused reading, a meter that cannot go on)
 * go to stderr, in the same format, so `2>` or a log shipper can watch them apart.
 */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

export interface LogStreams {
  /** info lines */
  out: (line: string) => void;
  /** warn and error lines */
  err: (line: string) => void;
}

const processStreams: LogStreams = {
  out: (line) => process.stdout.write(line),
  err: (line) => process.stderr.write(line),
};

export function createLogger(json: boolean, streams: LogStreams = processStreams): Logger {
  return {
    log(level, event, message, fields = {}) {
      const time = new Date().toISOString();
      const write = level === 'info' ? streams.out : streams.err;
      if (json) {
        write(`${JSON.stringify({ time, level, event, message, ...fields })}\n`);
      } else {
        const who = fields.meterId ? ` ${fields.meterId}` : '';
        write(`${time}${level === 'info' ? '' : ` ${level.toUpperCase()}`}${who} ${message}\n`);
      }
    },
  };
}
