import { STEP_SECONDS, type MeasuredQuantity, type ReadingSource } from './source';

/**
 * The London "Smart meters in London" (LCL) half-hourly data: `LCLid,stdorToU,DateTime,KWH/hh (per half hour) `
 * (the last header really ends with a space), times like `2012-10-12 00:30:00.0000000`, and `Null` where the
 * meter sent nothing.
 */
export const LCL_HEADER = ['LCLid', 'stdorToU', 'DateTime', 'KWH/hh (per half hour)'] as const;
const HALF_HOUR = 1800;
const DAY = 86_400;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

export interface LclHousehold {
  lclId: string;
  tariff: string;
  /** Half-hour start (epoch seconds, the file's clock read as UTC) → kWh, null where the file says Null. */
  halfHours: Map<number, number | null>;
}

export class LclFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LclFormatError';
  }
}

/** Parses LCL CSV text; throws one error naming every bad line (up to 10). */
export function parseLcl(text: string): Map<string, LclHousehold> {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '')
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((field) => field.trim());
  if (header.length !== LCL_HEADER.length || LCL_HEADER.some((name, i) => header[i] !== name)) {
    throw new LclFormatError(
      `not an LCL file: the header must be "${LCL_HEADER.join(',')} " (got "${lines[0] ?? ''}")`,
    );
  }
  const households = new Map<string, LclHousehold>();
  const problems: string[] = [];
  for (let n = 1; n < lines.length; n += 1) {
    if (lines[n].trim() === '') continue;
    const fields = lines[n].split(',').map((field) => field.trim());
    const problem = addRow(households, fields);
    if (problem) problems.push(`line ${n + 1}: ${problem}`);
  }
  if (problems.length > 0) {
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new LclFormatError(`bad LCL rows: ${problems.slice(0, 10).join('; ')}${more}`);
  }
  if (households.size === 0) throw new LclFormatError('the LCL file holds no readings');
  return households;
}

function addRow(households: Map<string, LclHousehold>, fields: string[]): string | undefined {
  if (fields.length !== 4) return `expected 4 fields, got ${fields.length}`;
  const [lclId, tariff, dateTime, kwh] = fields;
  if (lclId === '') return 'LCLid is empty';
  const match = DATE_TIME.exec(dateTime);
  if (!match) return `DateTime "${dateTime}" is not like 2012-10-12 00:30:00.0000000`;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  if (seconds % HALF_HOUR !== 0) return `DateTime ${dateTime} is not on a half hour`;
  let value: number | null = null;
  if (kwh !== 'Null') {
    value = Number(kwh);
    if (kwh === '' || !Number.isFinite(value) || value < 0)
      return `KWH/hh "${kwh}" is not a non-negative number or Null`;
  }
  let household = households.get(lclId);
  if (!household) {
    household = { lclId, tariff, halfHours: new Map() };
    households.set(lclId, household);
  }
  household.halfHours.set(seconds, value);
  return undefined;
}

/**
 * Replays one LCL household day by day, cyclically: simulated day k uses the file's day (k mod days), at the
 * same time of day. Null or absent half-hours are estimated from the last value before them and the reading is
 * marked estimated.
 */
export class LclReplaySource implements ReadingSource {
  readonly utility = 'electricity' as const;
  readonly description: string;
  /** Wh per half hour from the file's first midnight, whole days; null where the file has no value. */
  private readonly values: (number | null)[];

  constructor(household: LclHousehold) {
    const times = [...household.halfHours.keys()].sort((a, b) => a - b);
    const firstDay = Math.floor(times[0] / DAY) * DAY;
    const days = Math.floor((times[times.length - 1] - firstDay) / DAY) + 1;
    this.values = Array.from({ length: days * 48 }, (_, i) => {
      const kwh = household.halfHours.get(firstDay + i * HALF_HOUR);
      return kwh === undefined || kwh === null ? null : Math.round(kwh * 1000);
    });
    if (this.values.every((value) => value === null)) {
      throw new LclFormatError(`LCL household ${household.lclId} has only Null readings`);
    }
    this.description = `LCL household ${household.lclId} (${household.tariff}, ${days} days replayed)`;
  }

  measure(startSeconds: number, intervalSeconds: number): MeasuredQuantity {
    let total = 0;
    let estimated = false;
    for (let step = startSeconds; step < startSeconds + intervalSeconds; step += STEP_SECONDS) {
      const { wh, isEstimate } = this.halfHourAt(step);
      total += (wh * STEP_SECONDS) / HALF_HOUR;
      estimated ||= isEstimate;
    }
    return { quantity: Math.round(total), quality: estimated ? 'estimated' : 'measured' };
  }

  private halfHourAt(seconds: number): { wh: number; isEstimate: boolean } {
    const n = this.values.length;
    const index = ((Math.floor(seconds / HALF_HOUR) % n) + n) % n;
    for (let back = 0; back < n; back += 1) {
      const value = this.values[(index - back + n) % n];
      if (value !== null) return { wh: value, isEstimate: back > 0 };
    }
    return { wh: 0, isEstimate: true };
  }
}
