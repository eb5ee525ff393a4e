import type { Context } from 'fabric-contract-api';
import type { OrgKeyPointer, OrgKeyRecord } from '@smartmeter/domain';
import { fixedWidth, Keys } from './ledger/keys';
import { readOptional, readRequired } from './ledger/store';

/** Organizations' published encryption keys, as the contracts that check key grants read them. */

export function orgKeyVersionKey(ctx: Context, mspId: string, version: number): string {
  return Keys.orgKey.key(ctx, { mspId, version: fixedWidth(version) });
}

export async function currentOrgKey(ctx: Context, mspId: string): Promise<OrgKeyRecord | undefined> {
  const pointer = await readOptional<OrgKeyPointer>(ctx, Keys.orgKeyCurrent.key(ctx, { mspId }));
  if (!pointer) return undefined;
  return readRequired<OrgKeyRecord>(
    ctx,
    orgKeyVersionKey(ctx, mspId, pointer.version),
    `key version ${pointer.version}`,
  );
}
