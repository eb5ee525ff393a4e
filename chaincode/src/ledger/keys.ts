import type { Context } from 'fabric-contract-api';

/** Object types used as the first part of composite keys; one per record kind. */
export const KeyType = {
  Ping: 'ping',
} as const;

export function pingKey(ctx: Context, pingId: string): string {
  return ctx.stub.createCompositeKey(KeyType.Ping, [pingId]);
}
