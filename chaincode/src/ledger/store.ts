import type { Context } from 'fabric-contract-api';
import type { Iterators } from 'fabric-shim-api';
import type { Page } from '../api/records';
import { invalidArgument, notFound } from '../contractError';
import { marshal, unmarshal } from './marshal';

/** Index entries carry no data of their own: the key is the information. */
const INDEX_VALUE = new Uint8Array([0]);

export async function readOptional<T>(ctx: Context, key: string): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(key);
  return bytes && bytes.length > 0 ? unmarshal<T>(bytes) : undefined;
}

export async function readRequired<T>(ctx: Context, key: string, what: string): Promise<T> {
  const record = await readOptional<T>(ctx, key);
  if (record === undefined) throw notFound(`${what} does not exist`);
  return record;
}

export async function write(ctx: Context, key: string, record: unknown): Promise<void> {
  await ctx.stub.putState(key, marshal(record));
}

export async function writeIndex(ctx: Context, key: string): Promise<void> {
  await ctx.stub.putState(key, INDEX_VALUE);
}

export async function exists(ctx: Context, key: string): Promise<boolean> {
  const bytes = await ctx.stub.getState(key);
  return !!bytes && bytes.length > 0;
}

/** Drains a state iterator into the parsed values, closing it whatever happens. */
export async function collectValues<T>(iterator: Iterators.StateQueryIterator): Promise<T[]> {
  return (await collectEntries(iterator)).map((entry) => unmarshal<T>(entry.value));
}

export async function collectEntries(
  iterator: Iterators.StateQueryIterator,
): Promise<{ key: string; value: Uint8Array }[]> {
  const entries: { key: string; value: Uint8Array }[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      entries.push({ key: next.value.key, value: next.value.value });
    }
  } finally {
    await iterator.close();
  }
  return entries;
}

/** The attributes after the object type of a composite key. */
export function keyAttributes(ctx: Context, key: string): string[] {
  return ctx.stub.splitCompositeKey(key).attributes;
}

/**
 * A bookmark is the key a page starts at, and the peer starts there without checking that it lies inside the
 * query's range: a crafted bookmark would page through other records (another household's bills). So every
 * page checks that its bookmark is empty or inside [startKey, endKey).
 */
export function requireBookmarkIn(bookmark: string, startKey: string, endKey: string): void {
  if (bookmark !== '' && (bookmark < startKey || bookmark >= endKey)) {
    throw invalidArgument(
      'bookmark does not belong to this query: pass back only the bookmark of its last page',
    );
  }
}

/** The key range a partial composite key covers: its prefix up to the highest code point. */
function partialKeyRange(ctx: Context, objectType: string, attributes: string[]): [string, string] {
  const prefix = ctx.stub.createCompositeKey(objectType, attributes);
  return [prefix, `${prefix}\u{10FFFF}`];
}

/** One page of records under a partial composite key (read-only transactions only, as Fabric requires). */
export async function pageByPartialKey<T>(
  ctx: Context,
  objectType: string,
  attributes: string[],
  pageSize: number,
  bookmark: string,
): Promise<Page<T>> {
  requireBookmarkIn(bookmark, ...partialKeyRange(ctx, objectType, attributes));
  const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
    objectType,
    attributes,
    pageSize,
    bookmark,
  );
  return { records: await collectValues<T>(iterator), bookmark: nextBookmark(metadata) };
}

/** One page of index entries resolved to the records they point at (the last key attribute is the id). */
export async function pageThroughIndex<T>(
  ctx: Context,
  indexType: string,
  attributes: string[],
  pageSize: number,
  bookmark: string,
  recordKeyOf: (id: string) => string,
): Promise<Page<T>> {
  requireBookmarkIn(bookmark, ...partialKeyRange(ctx, indexType, attributes));
  const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
    indexType,
    attributes,
    pageSize,
    bookmark,
  );
  const entries = await collectEntries(iterator);
  const records: T[] = [];
  for (const entry of entries) {
    const id = keyAttributes(ctx, entry.key).at(-1) as string;
    const record = await readOptional<T>(ctx, recordKeyOf(id));
    if (record !== undefined) records.push(record);
  }
  return { records, bookmark: nextBookmark(metadata) };
}

/** One page of records with plain keys in [startKey, endKey). */
export async function pageByRange<T>(
  ctx: Context,
  startKey: string,
  endKey: string,
  pageSize: number,
  bookmark: string,
): Promise<Page<T>> {
  requireBookmarkIn(bookmark, startKey, endKey);
  const { iterator, metadata } = await ctx.stub.getStateByRangeWithPagination(
    startKey,
    endKey,
    pageSize,
    bookmark,
  );
  return { records: await collectValues<T>(iterator), bookmark: nextBookmark(metadata) };
}

/**
 * The bookmark of the next page, empty when there is none. A peer sends no metadata at all for an empty page,
 * so the shim's metadata may be undefined.
 */
export function nextBookmark(metadata: { bookmark?: string } | undefined): string {
  return metadata?.bookmark ?? '';
}
