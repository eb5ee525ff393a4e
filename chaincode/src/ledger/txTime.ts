import type { Context } from 'fabric-contract-api';

/** The transaction timestamp as ISO 8601 UTC: identical on every endorser, unlike the wall clock. */
export function txTimestampIso(ctx: Context): string {
  const ts = ctx.stub.getTxTimestamp();
  const millis = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return new Date(millis).toISOString();
}
