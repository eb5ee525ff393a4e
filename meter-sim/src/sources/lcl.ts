import { STEP_SECONDS, type MeasuredQuantity, type ReadingSource } from './source';

/**
 * The London "Smart meters in London" (LCL) half-hourly data: `LCLid,stdorToU,DateTime,KWH/hh (per half hour) `
 * (the last header really ends with a space), times like `2012-10-12 00:30:00.0000000`, and `Null` where the
 * meter sent nothing. The widely distributed single file adds `Acorn,Acorn_grouped`; columns are found by their
 * header name and any others are ignored.
 */
export const LCL_HEADER = ['LCLid', 'stdorToU', 'DateTime', 'KWH/hh (per half hour)'] as const;
/** The columns a file must have; stdorToU (the tariff) may be absent. */
const REQUIRED_COLUMNS = ['LCLid', 'DateTime', 'KWH/hh (per half hour)'] as const;
const HALF_HOUR = 1800;
const DAY = 86_400;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

export interface LclHousehold {
  lclId: string;
  /** Std or ToU; empty when the file has no stdorToU column. */
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

/** Where each column the replay reads is, by header name. */
interface Columns {
  count: number;
  lclId: number;
  tariff: number | undefined;
  dateTime: number;
  kwh: number;
}

function columnsOf(headerLine: string): Columns {
  const header = headerLine
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((field) => field.trim());
  const find = (name: string): number | undefined => {
    const index = header.findIndex((field) => field.toLowerCase() === name.toLowerCase());
    return index < 0 ? undefined : index;
  };
  const missing = REQUIRED_COLUMNS.filter((name) => find(name) === undefined);
  if (missing.length > 0) {
    throw new LclFormatError(
      `not an LCL file: the header has no ${missing.map((name) => `"${name}"`).join(', ')} column ` +
        `(an LCL file starts "${LCL_HEADER.join(',')} ", other columns are ignored; got "${headerLine}")`,
    );
  }
  return {
    count: header.length,
    lclId: find('LCLid') as number,
    tariff: find('stdorToU'),
    dateTime: find('DateTime') as number,
    kwh: find('KWH/hh (per half hour)') as number,
  };
}

/** Parses LCL CSV text; throws one error naming every bad line (up to 10). */
export function parseLcl(text: string): Map<string, LclHousehold> {
  const lines = text.split(/\r?\n/);
  const columns = columnsOf(lines[0] ?? '');
  const households = new Map<string, LclHousehold>();
  const problems: string[] = [];
  for (let n = 1; n < lines.length; n += 1) {
    if (lines[n].trim() === '') continue;
    const fields = lines[n].split(',').map((field) => field.trim());
    const problem = addRow(households, columns, fields);
    if (problem) problems.push(`line ${n + 1}: ${problem}`);
  }
  if (problems.length > 0) {
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new LclFormatError(`bad LCL rows: ${problems.slice(0, 10).join('; ')}${more}`);
  }
  if (households.size === 0) throw new LclFormatError('the LCL file holds no readings');
  return households;
}

function addRow(
  households: Map<string, LclHousehold>,
  columns: Columns,
  fields: string[],
): string | undefined {
  if (fields.length !== columns.count)
    return `expected ${columns.count} fields, as in the header, got ${fields.length}`;
  const lclId = fields[columns.lclId];
  const tariff = columns.tariff === undefined ? '' : fields[columns.tariff];
  const dateTime = fields[columns.dateTime];
  const kwh = fields[columns.kwh];
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

export interface LclReplayOptions {
  /** The file day (UTC midnight, epoch seconds) that plays on the subscription's first day; default its first day. */
  fromDaySeconds?: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** 2013-01-07 (Mon) */
function dayName(daySeconds: number): string {
  return `${isoDay(daySeconds)} (${WEEKDAYS[new Date(daySeconds * 1000).getUTCDay()]})`;
}

/** The first and last day (UTC midnights, epoch seconds) of a household's half hours in the file. */
export function lclDays(household: LclHousehold): { firstDay: number; lastDay: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const seconds of household.halfHours.keys()) {
    first = Math.min(first, seconds);
    last = Math.max(last, seconds);
  }
  return { firstDay: Math.floor(first / DAY) * DAY, lastDay: Math.floor(last / DAY) * DAY };
}

/**
 * Replays one LCL household in order, day after day, from the day the replay starts at: the subscription's
 * first day (UTC) plays that file day (the file's first, or --lcl-from), the next day the file's next day, at the
 * same time of day; after the file's last day it goes on from the file's first day. So the file's seasons and
 * weekdays stay in order (choose --lcl-from to put a weekday on the same weekday). Null or absent half-hours are
 * estimated from the last value before them and the reading is marked estimated.
 */
export class LclReplaySource implements ReadingSource {
  readonly utility = 'electricity' as const;
  /** Wh per half hour from the file's first midnight, whole days; null where the file has no value. */
  private readonly values: (number | null)[];
  private readonly firstDay: number;
  private readonly days: number;
  /** The file day the replay starts with (UTC midnight, epoch seconds). */
  private readonly fromDay: number;
  /**
   * The simulated midnight that plays fromDay: the subscription's first day once the meter has aligned the
   * replay (alignTo), until then fromDay itself (the file's days play on their own dates).
   */
  private anchorSeconds: number | undefined;

  constructor(
    private readonly household: LclHousehold,
    options: LclReplayOptions = {},
  ) {
    const { firstDay, lastDay } = lclDays(household);
    this.firstDay = firstDay;
    this.days = (lastDay - firstDay) / DAY + 1;
    this.values = Array.from({ length: this.days * 48 }, (_, i) => {
      const kwh = household.halfHours.get(this.firstDay + i * HALF_HOUR);
      return kwh === undefined || kwh === null ? null : Math.round(kwh * 1000);
    });
    if (this.values.every((value) => value === null)) {
      throw new LclFormatError(`LCL household ${household.lclId} has only Null readings`);
    }
    const fromDay = options.fromDaySeconds ?? firstDay;
    if (fromDay % DAY !== 0 || fromDay < firstDay || fromDay > lastDay) {
      throw new LclFormatError(
        `the replay cannot start on ${isoDay(fromDay)}: LCL household ${household.lclId} has ${isoDay(firstDay)} to ${isoDay(lastDay)}`,
      );
    }
    this.fromDay = fromDay;
  }

  get description(): string {
    const { lclId, tariff } = this.household;
    const on =
      this.anchorSeconds === undefined ? "the subscription's first day" : dayName(this.anchorSeconds);
    return (
      `LCL household ${lclId} (${tariff === '' ? '' : `${tariff}, `}${this.days} day${this.days === 1 ? '' : 's'} from ${isoDay(this.firstDay)}); ` +
      `file day ${dayName(this.fromDay)} plays on ${on}`
    );
  }

  /** Starts the replay on the day of the subscription's start: that day plays the replay's first file day. */
  alignTo(subscriptionStartSeconds: number): void {
    this.anchorSeconds = Math.floor(subscriptionStartSeconds / DAY) * DAY;
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
    const played = this.fromDay + seconds - (this.anchorSeconds ?? this.fromDay);
    const index = ((Math.floor((played - this.firstDay) / HALF_HOUR) % n) + n) % n;
    for (let back = 0; back < n; back += 1) {
      const value = this.values[(index - back + n) % n];
      if (value !== null) return { wh: value, isEstimate: back > 0 };
    }
    return { wh: 0, isEstimate: true };
  }
}

function isoDay(daySeconds: number): string {
  return new Date(daySeconds * 1000).toISOString().slice(0, 10);
}
