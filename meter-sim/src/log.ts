export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

/** One line per event: readable text by default, one JSON object per line with --json-logs (for journald). */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

export function createLogger(
  json: boolean,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  return {
    log(level, event, message, fields = {}) {
      const time = new Date().toISOString();
      if (json) {
        write(`${JSON.stringify({ time, level, event, message, ...fields })}\n`);
      } else {
        const who = fields.meterId ? ` ${fields.meterId}` : '';
        write(`${time}${level === 'info' ? '' : ` ${level.toUpperCase()}`}${who} ${message}\n`);
      }
    },
  };
}
