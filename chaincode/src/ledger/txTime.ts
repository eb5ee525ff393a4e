import type { Context } from 'fabric-contract-api';
import { isoSeconds } from '@smartmeter/domain';
import { invalidArgument } from '../contractError';

/**
 * Time on the ledger: the transaction timestamp (identical on every endorser, unlike the wall clock),
 * written as ISO 8601 UTC with seconds precision, e.g. 2026-01-15T10:00:00Z.
 */
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Transaction time in whole seconds since the epoch. */
export function txEpochSeconds(ctx: Context): number {
  return Number(ctx.stub.getTxTimestamp().seconds);
}

export { isoSeconds };

/** The transaction time as ISO 8601 UTC, seconds precision. */
export function txTimeIso(ctx: Context): string {
  return isoSeconds(txEpochSeconds(ctx));
}

/** The transaction timestamp with milliseconds, for records that want them (System.Ping). */
export function txTimestampIso(ctx: Context): string {
  const ts = ctx.stub.getTxTimestamp();
  const millis = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return new Date(millis).toISOString();
}

/** Parses an ISO 8601 UTC time with seconds precision; anything else is INVALID_ARGUMENT. */
export function parseIsoSeconds(name: string, value: unknown): number {
  if (typeof value !== 'string' || !ISO_SECONDS.test(value)) {
    throw invalidArgument(`${name} must be an ISO 8601 UTC time with seconds, like 2026-01-15T10:00:00Z`);
  }
  const millis = Date.parse(value);
  if (Number.isNaN(millis) || isoSeconds(millis / 1000) !== value) {
    throw invalidArgument(`${name} is not a real calendar time: ${value}`);
  }
  return millis / 1000;
}
