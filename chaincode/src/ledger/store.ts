import type { Context } from 'fabric-contract-api';
import type { Iterators } from 'fabric-shim-api';
import type { EventName, Page } from '@smartmeter/domain';
import { invalidArgument, notFound } from '../contractError';
import type { CompositeKeyType } from './keys';
import { canonicalJson, marshal, unmarshal } from './marshal';

/** Index entries carry no data of their own: the key is the information. */
const INDEX_VALUE = new Uint8Array([0]);

export async function readOptional<T>(ctx: Context, key: string): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(key);
  return bytes.length > 0 ? unmarshal<T>(bytes) : undefined;
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
  return bytes.length > 0;
}

/**
 * How most transactions end: store the record, emit one event (ids only, never ciphertext or anything
 * about the household), and return the stored JSON so that every endorser returns identical bytes.
 */
export async function saveAndEmit(
  ctx: Context,
  key: string,
  record: object,
  event: EventName,
  eventPayload: Record<string, string | number | boolean>,
): Promise<string> {
  await write(ctx, key, record);
  ctx.stub.setEvent(event, marshal(eventPayload));
  return canonicalJson(record);
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

/** The records under a partial key: a leading run of the key type's attributes. */
export async function valuesByPartialKey<T, Part extends string>(
  ctx: Context,
  keyType: CompositeKeyType<Part>,
  leading: Partial<Record<Part, string>>,
): Promise<T[]> {
  return collectValues<T>(
    await ctx.stub.getStateByPartialCompositeKey(keyType.objectType, keyType.leading(leading)),
  );
}

/** The ids an index holds under a partial key: the last attribute of each of its keys. */
export async function idsByPartialKey<Part extends string>(
  ctx: Context,
  indexType: CompositeKeyType<Part>,
  leading: Partial<Record<Part, string>>,
): Promise<string[]> {
  const entries = await collectEntries(
    await ctx.stub.getStateByPartialCompositeKey(indexType.objectType, indexType.leading(leading)),
  );
  return entries.map((entry) => lastAttribute(ctx, entry.key));
}

function lastAttribute(ctx: Context, key: string): string {
  const id = ctx.stub.splitCompositeKey(key).attributes.at(-1);
  if (id === undefined) throw new Error(`index key ${JSON.stringify(key)} has no attributes`);
  return id;
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

/** A page under a partial key, once the bookmark is known to lie under that same key (see requireBookmarkIn). */
async function checkedPage<Part extends string>(
  ctx: Context,
  keyType: CompositeKeyType<Part>,
  leading: Partial<Record<Part, string>>,
  pageSize: number,
  bookmark: string,
) {
  const attributes = keyType.leading(leading);
  requireBookmarkIn(bookmark, ...partialKeyRange(ctx, keyType.objectType, attributes));
  return ctx.stub.getStateByPartialCompositeKeyWithPagination(
    keyType.objectType,
    attributes,
    pageSize,
    bookmark,
  );
}

/** One page of records under a partial key (read-only transactions only, as Fabric requires). */
export async function pageByPartialKey<T, Part extends string>(
  ctx: Context,
  keyType: CompositeKeyType<Part>,
  leading: Partial<Record<Part, string>>,
  pageSize: number,
  bookmark: string,
): Promise<Page<T>> {
  const { iterator, metadata } = await checkedPage(ctx, keyType, leading, pageSize, bookmark);
  return { records: await collectValues<T>(iterator), bookmark: nextBookmark(metadata) };
}

/** One page of index entries resolved to the records they point at (the last key attribute is the id). */
export async function pageThroughIndex<T, Part extends string>(
  ctx: Context,
  indexType: CompositeKeyType<Part>,
  leading: Partial<Record<Part, string>>,
  pageSize: number,
  bookmark: string,
  recordKeyOf: (id: string) => string,
): Promise<Page<T>> {
  const { iterator, metadata } = await checkedPage(ctx, indexType, leading, pageSize, bookmark);
  const records: T[] = [];
  for (const entry of await collectEntries(iterator)) {
    const record = await readOptional<T>(ctx, recordKeyOf(lastAttribute(ctx, entry.key)));
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

/** The records with plain keys in [startKey, endKey), all of them. */
export async function valuesByRange<T>(ctx: Context, startKey: string, endKey: string): Promise<T[]> {
  return collectValues<T>(await ctx.stub.getStateByRange(startKey, endKey));
}

/**
 * The bookmark of the next page, empty when there is none. A peer sends no metadata at all for an empty page,
 * so the shim's metadata may be undefined.
 */
export function nextBookmark(metadata: { bookmark?: string } | undefined): string {
  return metadata?.bookmark ?? '';
}
