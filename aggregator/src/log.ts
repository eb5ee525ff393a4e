export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

/**
 * One JSON object per line, always: every refusal, drop and closed round is a line a log shipper (journald,
 * Loki) can count by its `event` and `reason`. Share values never go into a line, nor any payload.
 */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return {
    log(level, event, message, fields = {}) {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields })}\n`);
    },
  };
}
