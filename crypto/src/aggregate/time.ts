import { CryptoInputError } from '../encoding';
import { AGGREGATE_SLOT_SECONDS } from './constants';

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** 10000-01-01T00:00:00Z: the first instant a four-digit year cannot write. */
const END_OF_TIME_SECONDS = 253_402_300_800;

/** Whole seconds since the epoch, in the range a four-digit ISO year can write. */
export function requireEpochSeconds(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= END_OF_TIME_SECONDS) {
    throw new CryptoInputError(`${what} must be whole seconds between 1970 and 9999`);
  }
}

/** Seconds since the epoch -> "2026-01-15T10:00:00Z". */
export function isoSeconds(seconds: number, what: string): string {
  requireEpochSeconds(seconds, what);
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** "2026-01-15T10:00:00Z" -> seconds since the epoch; rejects any other spelling of the same instant. */
export function parseIsoSeconds(value: unknown, what: string): number {
  if (typeof value !== 'string' || !ISO_SECONDS.test(value)) {
    throw new CryptoInputError(
      `${what} must be ISO 8601 UTC with seconds precision, like 2026-01-15T10:00:00Z`,
    );
  }
  const millis = Date.parse(value);
  if (!Number.isFinite(millis) || new Date(millis).toISOString().replace('.000Z', 'Z') !== value) {
    throw new CryptoInputError(`${what} is not a real date and time: ${value}`);
  }
  return millis / 1000;
}

/** A period start: whole seconds on a slot boundary. */
export function requirePeriodStartSeconds(value: number, what = 'periodStart'): void {
  requireEpochSeconds(value, what);
  if (value % AGGREGATE_SLOT_SECONDS !== 0) {
    throw new CryptoInputError(`${what} must fall on a ${AGGREGATE_SLOT_SECONDS}-second slot boundary`);
  }
}

/** A period start as written in shares and filters: ISO seconds on a slot boundary. Returns epoch seconds. */
export function parsePeriodStart(value: unknown, what = 'periodStart'): number {
  const seconds = parseIsoSeconds(value, what);
  requirePeriodStartSeconds(seconds, what);
  return seconds;
}
