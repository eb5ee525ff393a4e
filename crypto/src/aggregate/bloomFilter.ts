import { BloomFilter } from 'bloom-filters';
import { CryptoInputError, decodeBase64 } from '../encoding';

/**
 * Bloom filters for BF1 and BF2, built and queried with bloom-filters 3.0.4.
 *
 * Why probes. bloom-filters derives all k indexes of an element from two 32-bit xxhash64 halves by double
 * hashing (index_i = h1 + i*h2 + (i^3 - i)/6 mod m), so two elements whose (h1 mod m, h2 mod m) agree share
 * every index. That puts a floor of about n/m^2 under the false-positive rate whatever k is: for BF2 (96
 * entries at a 2^-40 target, m = 5,540 bits) the floor is 2^-18.3, and 3,000,000 random non-members gave
 * 12 false positives (4e-6) where 2^-40 predicts none. So an item is inserted as `probes` independent
 * strings "<j>|<item>" (j = 0 .. probes - 1), each with at most HASHES_PER_PROBE indexes; an item is present
 * only if every probe is. Each probe has its own xxhash pair, the floors multiply, and the measured rate
 * follows the classic (1 - e^(-kn/m))^k again. The filter size m and total index count k are what
 * BloomFilter.create(n, p) chooses.
 *
 * Determinism (two endorsing peers must agree). bloom-filters seeds xxhash with the constant
 * getDefaultSeed() = 0x1234567890 (the `_seed` field, which fromJSON restores; its seeded PRNG is unused by
 * BloomFilter), and xxhashjs is pure JavaScript over the UTF-8 bytes, so a query has one answer on every
 * platform. Setting bits is an OR, and duplicates are dropped before sizing, so the same set of items and
 * rate always give byte-identical JSON whatever the insertion order. The lockfile pins bloom-filters 3.0.4;
 * aggregate-vectors.json holds a built filter, so an upgrade that changed hashing or layout fails its test.
 */

/** BloomFilter.saveAsJSON() of bloom-filters 3.0.4 (key order as it writes them). */
export type BloomFilterExport = {
  readonly type: 'BloomFilter';
  /** m: the number of bits the indexes are reduced modulo. */
  readonly _size: number;
  /** Indexes per probe string. */
  readonly _nbHashes: number;
  /** The bits: size is m rounded up to a whole byte, content the bytes in padded base64. */
  readonly _filter: { readonly size: number; readonly content: string };
  readonly _seed: number;
};

/** A published filter (BF1 or BF2): an item is present when all `probes` strings "<j>|<item>" are. */
export type BloomFilterJson = {
  readonly v: 1;
  readonly probes: number;
  readonly filter: BloomFilterExport;
};

/** At most 8 MiB of bits: BF1 for 1,000 meters a day at 2^-30 is about 1 MiB. */
export const BLOOM_MAX_BITS = 8 * 1024 * 1024 * 8;
/** At most 64 indexes per item in total (probes x hashes per probe); 2^-40 needs 41. */
export const BLOOM_MAX_HASHES = 64;
/** Indexes per probe string: small enough that the double-hashing floor of one probe stays negligible. */
const HASHES_PER_PROBE = 8;
/** Filters are sized for at least this many items, so a filter of one or two items is not a few bits wide. */
const MIN_CAPACITY = 16;
const DEFAULT_SEED = 0x1234567890;
const ITEM_MAX_LENGTH = 1024;

/**
 * Parsed filters, oldest out first: the chaincode checks many shares against the same few filters. The key
 * is the base64 bits themselves (with the sizes checked on a hit), so a hit means exactly the same filter;
 * a Map compares long string keys natively, far cheaper than hashing them again on every query.
 */
const PARSED_CACHE_LIMIT = 8;
interface CacheEntry {
  readonly probes: number;
  readonly size: number;
  readonly hashes: number;
  readonly bits: BloomFilter;
}
const parsedByContent = new Map<string, CacheEntry>();
/** Frozen filters this module returned, recognised by identity with no further checks. */
const parsedByIdentity = new WeakMap<BloomFilterJson, BloomFilter>();

function probeString(probe: number, item: string): string {
  return `${probe}|${item}`;
}

function requireItem(item: unknown): string {
  if (typeof item !== 'string' || item.length === 0 || item.length > ITEM_MAX_LENGTH) {
    throw new CryptoInputError(`a Bloom filter item must be a string of 1 to ${ITEM_MAX_LENGTH} characters`);
  }
  return item;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireKeys(
  value: unknown,
  keys: readonly string[],
  what: string,
): Readonly<Record<string, unknown>> {
  if (!isRecord(value)) {
    throw new CryptoInputError(`${what} must be a JSON object`);
  }
  const actual = Object.keys(value);
  const wrong = actual.filter((key) => !keys.includes(key));
  const missing = keys.filter((key) => !actual.includes(key));
  if (wrong.length > 0 || missing.length > 0) {
    throw new CryptoInputError(`${what} must have exactly the fields ${keys.join(', ')}`);
  }
  return value;
}

function requireCount(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CryptoInputError(`${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Checks everything except the base64 of the bits itself, in constant time; returns a fresh copy. */
function checkShape(value: unknown): BloomFilterJson {
  const envelope = requireKeys(value, ['v', 'probes', 'filter'], 'a Bloom filter');
  if (envelope.v !== 1) {
    throw new CryptoInputError('a Bloom filter v must be the number 1');
  }
  const probes = requireCount(envelope.probes, 1, BLOOM_MAX_HASHES, 'Bloom filter probes');
  const filter = requireKeys(
    envelope.filter,
    ['type', '_size', '_nbHashes', '_filter', '_seed'],
    'Bloom filter.filter',
  );
  if (filter.type !== 'BloomFilter') {
    throw new CryptoInputError('Bloom filter.filter.type must be "BloomFilter"');
  }
  const size = requireCount(filter._size, 1, BLOOM_MAX_BITS, 'Bloom filter._size (bits)');
  const hashes = requireCount(filter._nbHashes, 1, BLOOM_MAX_HASHES, 'Bloom filter._nbHashes');
  if (probes * hashes > BLOOM_MAX_HASHES) {
    throw new CryptoInputError(`a Bloom filter may use at most ${BLOOM_MAX_HASHES} hashes per item`);
  }
  if (filter._seed !== DEFAULT_SEED) {
    throw new CryptoInputError('Bloom filter._seed must be the bloom-filters default seed 0x1234567890');
  }
  const bits = requireKeys(filter._filter, ['size', 'content'], 'Bloom filter._filter');
  const bytes = Math.ceil(size / 8);
  if (bits.size !== bytes * 8) {
    throw new CryptoInputError('Bloom filter._filter.size must be _size rounded up to whole bytes');
  }
  if (typeof bits.content !== 'string' || bits.content.length !== 4 * Math.ceil(bytes / 3)) {
    throw new CryptoInputError(`Bloom filter._filter.content must be ${bytes} bytes of padded base64`);
  }
  return {
    v: 1,
    probes,
    filter: {
      type: 'BloomFilter',
      _size: size,
      _nbHashes: hashes,
      _filter: { size: bytes * 8, content: bits.content },
      _seed: DEFAULT_SEED,
    },
  };
}

function freeze(json: BloomFilterJson): BloomFilterJson {
  Object.freeze(json.filter._filter);
  Object.freeze(json.filter);
  return Object.freeze(json);
}

/** The cached parse of a filter with exactly these bits and sizes, if any. */
function cachedParse(json: BloomFilterJson): BloomFilter | undefined {
  const entry = parsedByContent.get(json.filter._filter.content);
  const same =
    entry?.probes === json.probes &&
    entry.size === json.filter._size &&
    entry.hashes === json.filter._nbHashes;
  return same ? entry.bits : undefined;
}

function remember(json: BloomFilterJson, bits: BloomFilter): void {
  const key = json.filter._filter.content;
  parsedByContent.delete(key);
  if (parsedByContent.size >= PARSED_CACHE_LIMIT) {
    const oldest = parsedByContent.keys().next();
    if (!oldest.done) {
      parsedByContent.delete(oldest.value);
    }
  }
  parsedByContent.set(key, {
    probes: json.probes,
    size: json.filter._size,
    hashes: json.filter._nbHashes,
    bits,
  });
}

/**
 * Validates an untrusted value as a BloomFilterJson (known type and seed, at most BLOOM_MAX_BITS bits and
 * BLOOM_MAX_HASHES hashes per item, bits in canonical base64 of exactly the stated size) and returns a
 * frozen copy that bloomFilterHas recognises by identity. Parse a stored filter once per transaction.
 */
export function parseBloomFilterJson(value: unknown): BloomFilterJson {
  const json = checkShape(value);
  const { content } = json.filter._filter;
  const bytes = decodeBase64(content, 'Bloom filter._filter.content');
  // Canonical base64 only (no stray bits in the last character), so one filter has one spelling.
  if (bytes.length !== json.filter._filter.size / 8 || bytes.toString('base64') !== content) {
    throw new CryptoInputError(
      `Bloom filter._filter.content must be ${json.filter._filter.size / 8} bytes of canonical base64`,
    );
  }
  const frozen = freeze(json);
  let parsed = cachedParse(frozen);
  if (!parsed) {
    parsed = BloomFilter.fromJSON(frozen.filter as unknown as JSON) as BloomFilter;
    remember(frozen, parsed);
  }
  parsedByIdentity.set(frozen, parsed);
  return frozen;
}

/**
 * Builds a filter holding every item, for a target false-positive rate. Duplicates are ignored and the
 * result depends only on the set of items and the rate, not on their order.
 */
export function buildBloomFilter(items: readonly string[], falsePositiveRate: number): BloomFilterJson {
  if (
    typeof falsePositiveRate !== 'number' ||
    !Number.isFinite(falsePositiveRate) ||
    falsePositiveRate <= 0 ||
    falsePositiveRate >= 1
  ) {
    throw new CryptoInputError('a Bloom filter false-positive rate must be a number between 0 and 1');
  }
  const distinct = [...new Set(items.map(requireItem))];
  const sizing = BloomFilter.create(Math.max(distinct.length, MIN_CAPACITY), falsePositiveRate);
  if (sizing.size > BLOOM_MAX_BITS || sizing._nbHashes > BLOOM_MAX_HASHES) {
    throw new CryptoInputError(
      `a Bloom filter of ${distinct.length} items at rate ${falsePositiveRate} exceeds ${BLOOM_MAX_BITS} bits or ${BLOOM_MAX_HASHES} hashes`,
    );
  }
  const probes = Math.ceil(sizing._nbHashes / HASHES_PER_PROBE);
  const filter = new BloomFilter(sizing.size, Math.ceil(sizing._nbHashes / probes));
  for (const item of distinct) {
    for (let probe = 0; probe < probes; probe++) {
      filter.add(probeString(probe, item));
    }
  }
  const exported: unknown = filter.saveAsJSON();
  return parseBloomFilterJson({ v: 1, probes, filter: exported });
}

interface ParsedFilter {
  readonly bits: BloomFilter;
  readonly probes: number;
}

function parsedFilter(json: BloomFilterJson): ParsedFilter {
  const known = parsedByIdentity.get(json);
  if (known) {
    return { bits: known, probes: json.probes };
  }
  const shape = checkShape(json);
  const cached = cachedParse(shape);
  if (cached) {
    return { bits: cached, probes: shape.probes };
  }
  const frozen = parseBloomFilterJson(json);
  const parsed = parsedByIdentity.get(frozen);
  if (!parsed) {
    throw new CryptoInputError('a Bloom filter could not be parsed');
  }
  return { bits: parsed, probes: frozen.probes };
}

/**
 * True when every probe of the item is in the filter (a member always is; a non-member with the filter's
 * false-positive rate). The object parseBloomFilterJson or buildBloomFilter returned is recognised by
 * identity; any other object is shape-checked and looked up by its bits (validated in full the first time
 * they are seen), so a chaincode that JSON-parses the stored filter per transaction pays one string
 * comparison per call. Answers never depend on the cache.
 */
export function bloomFilterHas(filter: BloomFilterJson, item: string): boolean {
  const key = requireItem(item);
  const { bits, probes } = parsedFilter(filter);
  for (let probe = 0; probe < probes; probe++) {
    if (!bits.has(probeString(probe, key))) {
      return false;
    }
  }
  return true;
}
