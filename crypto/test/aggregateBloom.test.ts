import { BloomFilter } from 'bloom-filters';
import { createHash } from 'node:crypto';
import {
  BF1_FALSE_POSITIVE_RATE,
  BF2_FALSE_POSITIVE_RATE,
  bf2Entry,
  BLOOM_MAX_HASHES,
  bloomFilterHas,
  buildBloomFilter,
  CryptoInputError,
  parseBloomFilterJson,
  periodSecrets,
  sumPrids,
  type BloomFilterJson,
} from '../src';

// Deterministic "random" strings, so measured rates are the same on every run.
const pseudoRandom = (label: string, i: number): string =>
  createHash('sha256').update(`${label}|${i}`).digest('hex');
const countHits = (filter: BloomFilterJson, label: string, trials: number): number => {
  let hits = 0;
  for (let i = 0; i < trials; i++) {
    if (bloomFilterHas(filter, pseudoRandom(label, i))) hits++;
  }
  return hits;
};

// 20 meters, a day of 96 quarter-hour periods, two PRIDs each: what the distributor publishes for a region.
const DAY_START = Date.parse('2026-01-15T00:00:00Z') / 1000;
const keys = Array.from({ length: 20 }, (_, i) => createHash('sha256').update(`meter ${i}`).digest());
const periods = Array.from({ length: 96 }, (_, k) => {
  const secrets = keys.map((key) => periodSecrets(key, DAY_START + k * 900));
  const prids = secrets.flatMap((s) => [s.first.prid, s.second.prid]);
  return { prids, entry: bf2Entry(secrets[0].periodStart, sumPrids(prids)) };
});
const bf1Items = periods.flatMap((period) => period.prids);
const bf2Items = periods.map((period) => period.entry);

describe('BF1 and BF2 for 20 meters x 96 periods', () => {
  const bf1 = buildBloomFilter(bf1Items, BF1_FALSE_POSITIVE_RATE);
  const bf2 = buildBloomFilter(bf2Items, BF2_FALSE_POSITIVE_RATE);

  it('when every PRID and every BF2 entry is looked up then each is found', () => {
    expect(new Set(bf1Items).size).toBe(20 * 96 * 2);
    expect(bf1Items.every((prid) => bloomFilterHas(bf1, prid))).toBe(true);
    expect(bf2Items.every((entry) => bloomFilterHas(bf2, entry))).toBe(true);
  });

  it('when 200,000 non-members are looked up then none is found (targets 2^-30 and 2^-40)', () => {
    expect(countHits(bf1, 'bf1 non-member', 200_000)).toBe(0);
    expect(countHits(bf2, 'bf2 non-member', 200_000)).toBe(0);
  });

  it('when a PRID sum is off by one share then its BF2 entry is not found', () => {
    const [first] = periods;
    const short = bf2Entry('2026-01-15T00:00:00Z', sumPrids(first.prids.slice(1)));
    expect(bloomFilterHas(bf2, short)).toBe(false);
    expect(bloomFilterHas(bf2, bf2Entry('2026-01-15T00:15:00Z', sumPrids(first.prids)))).toBe(false);
  });

  it('when the filter is built at 1e-3 instead then the measured rate on 200,000 non-members is near 1e-3', () => {
    const loose = buildBloomFilter(bf1Items, 1e-3);
    const rate = countHits(loose, 'loose non-member', 200_000) / 200_000;
    expect(rate).toBeGreaterThanOrEqual(0.5e-3);
    expect(rate).toBeLessThanOrEqual(2e-3);
  });
});

describe('independent probes', () => {
  // bloom-filters derives all indexes from one pair of 32-bit hashes, so a non-member whose pair collides
  // with a member's (mod m) is always a false positive: a floor of about n/m^2 under any target rate.
  const items = Array.from({ length: 16 }, (_, i) => pseudoRandom('small member', i));
  const target = 2 ** -20;

  it('when a small filter has a low target then plain bloom-filters sits on its floor and probes do not', () => {
    const plain = BloomFilter.create(items.length, target);
    for (const item of items) plain.add(item);
    let plainHits = 0;
    for (let i = 0; i < 100_000; i++) {
      if (plain.has(pseudoRandom('small non-member', i))) plainHits++;
    }
    const floor = items.length / plain.size ** 2;
    expect(floor).toBeGreaterThan(50 * target);
    // Expected about 100,000 x 7.5e-5 = 7.5 with the plain filter and 0.1 with probes.
    expect(plainHits).toBeGreaterThanOrEqual(5);
    expect(countHits(buildBloomFilter(items, target), 'small non-member', 100_000)).toBeLessThanOrEqual(2);
  });
});

describe('deterministic filters', () => {
  const items = bf2Items.slice(0, 50);

  it('when the same items are added in another order or twice then the JSON is byte-identical', () => {
    const a = buildBloomFilter(items, BF2_FALSE_POSITIVE_RATE);
    const b = buildBloomFilter([...items].reverse().concat(items.slice(0, 10)), BF2_FALSE_POSITIVE_RATE);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.filter._seed).toBe(0x1234567890);
  });

  it('when a filter is JSON round-tripped then a fresh parse gives the same answers', () => {
    const built = buildBloomFilter(items, BF2_FALSE_POSITIVE_RATE);
    const copy = JSON.parse(JSON.stringify(built)) as BloomFilterJson;
    expect(Object.isFrozen(built)).toBe(true);
    for (let i = 0; i < 500; i++) {
      const probe = i < 50 ? items[i] : pseudoRandom('round trip', i);
      expect(bloomFilterHas(copy, probe)).toBe(bloomFilterHas(built, probe));
    }
    expect(parseBloomFilterJson(copy)).toEqual(built);
  });

  it('when a filter differs only in its bits then the cache never answers for the other one', () => {
    const built = buildBloomFilter(items, BF2_FALSE_POSITIVE_RATE);
    const bytes = built.filter._filter.size / 8;
    const empty = {
      ...built,
      filter: {
        ...built.filter,
        _filter: { ...built.filter._filter, content: Buffer.alloc(bytes).toString('base64') },
      },
    };
    expect(bloomFilterHas(built, items[0])).toBe(true);
    expect(bloomFilterHas(empty, items[0])).toBe(false);
    expect(bloomFilterHas(built, items[0])).toBe(true);
  });

  it('when no items are given then nothing is a member', () => {
    const none = buildBloomFilter([], BF1_FALSE_POSITIVE_RATE);
    expect(bloomFilterHas(none, items[0])).toBe(false);
  });
});

describe('validating filters and items', () => {
  const built = buildBloomFilter(['a', 'b', 'c'], 1e-6);
  const json = JSON.parse(JSON.stringify(built)) as {
    v: number;
    probes: number;
    filter: Record<string, unknown> & { _filter: Record<string, unknown> };
  };
  const withFilter = (patch: Record<string, unknown>): unknown => ({
    ...json,
    filter: { ...json.filter, ...patch },
  });
  const withBits = (patch: Record<string, unknown>): unknown =>
    withFilter({ _filter: { ...json.filter._filter, ...patch } });
  const content = String(json.filter._filter.content);
  const lastChar = content.replace(/=+$/, '').slice(-1);
  const strayBits = content.replace(/[A-Za-z0-9+/](=*)$/, `${lastChar === 'B' ? 'C' : 'B'}$1`);

  it.each([
    ['not an object', null],
    ['an array', [json]],
    ['another version', { ...json, v: 2 }],
    ['an extra field', { ...json, extra: true }],
    ['no filter', { v: 1, probes: json.probes }],
    ['zero probes', { ...json, probes: 0 }],
    ['too many probes', { ...json, probes: BLOOM_MAX_HASHES + 1 }],
    ['too many hashes in total', { ...json, probes: 64 }],
    ['another filter type', withFilter({ type: 'CountingBloomFilter' })],
    ['a fractional size', withFilter({ _size: 10.5 })],
    ['a size over 8 MiB', withFilter({ _size: 8 * 1024 * 1024 * 8 + 1 })],
    ['zero hashes', withFilter({ _nbHashes: 0 })],
    ['another seed', withFilter({ _seed: 1 })],
    ['a bit-set size that is not the rounded size', withBits({ size: Number(json.filter._filter.size) + 8 })],
    ['bits of the wrong length', withBits({ content: content.slice(4) })],
    ['bits that are not base64', withBits({ content: `*${content.slice(1)}` })],
    ['bits in non-canonical base64', withBits({ content: strayBits })],
    ['bits as an array (the old format)', withBits({ content: [0, 1] })],
  ])('when a filter has %s then parseBloomFilterJson throws CryptoInputError', (_label, value) => {
    expect(() => parseBloomFilterJson(value)).toThrow(CryptoInputError);
    expect(() => bloomFilterHas(value as BloomFilterJson, 'a')).toThrow(CryptoInputError);
  });

  it('when the stray-bits case is built then it differs from the original only in its last character', () => {
    expect(strayBits).not.toBe(content);
    expect(Buffer.from(strayBits, 'base64')).toEqual(Buffer.from(content, 'base64'));
  });

  it('when the rate, the items or the size is unusable then buildBloomFilter throws CryptoInputError', () => {
    for (const rate of [0, 1, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => buildBloomFilter(['a'], rate)).toThrow(CryptoInputError);
    }
    expect(() => buildBloomFilter(['a'], 1e-25)).toThrow('hashes');
    expect(() => buildBloomFilter([''], 1e-3)).toThrow(CryptoInputError);
    expect(() => buildBloomFilter([7 as unknown as string], 1e-3)).toThrow(CryptoInputError);
    const many = Array.from({ length: 1_200_000 }, (_, i) => i.toString(36));
    expect(() => buildBloomFilter(many, BF2_FALSE_POSITIVE_RATE)).toThrow('bits');
  });

  it('when an item is not a non-empty string then bloomFilterHas throws CryptoInputError', () => {
    expect(() => bloomFilterHas(built, '')).toThrow(CryptoInputError);
    expect(() => bloomFilterHas(built, 'x'.repeat(1025))).toThrow(CryptoInputError);
    expect(bloomFilterHas(built, 'a')).toBe(true);
  });
});
