/**
 * Time on the ledger and in reports: ISO 8601 UTC with seconds precision ("2026-01-15T10:00:00Z"), which is
 * fixed-width and sorts in time order inside keys. One formatter for every package.
 */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Date (default: now) in the same form, its milliseconds dropped. */
export function isoSecondsOf(date: Date = new Date()): string {
  return isoSeconds(Math.floor(date.getTime() / 1000));
}

export function epochSecondsOf(iso: string): number {
  return Date.parse(iso) / 1000;
}
