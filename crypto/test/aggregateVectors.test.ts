import { createHash, createHmac, createPrivateKey, createPublicKey, hkdfSync, verify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bloomFilterHas, parseBloomFilterJson, parseGridShare, verifyShareSignature } from '../src';
import {
  buildAggregateVectors,
  VECTOR_INDEXES,
  VECTOR_MONTH,
  VECTOR_SESSION_KEY_HEX,
  type AggregateVectors,
} from './aggregateVectorsBuilder';

const VECTORS_PATH = join(__dirname, '..', 'aggregate-vectors.json');
const hex = (value: string): Buffer => Buffer.from(value, 'hex');

// AGGREGATE_VECTORS=write npx jest crypto/test/aggregateVectors --selectProjects unit rewrites the file;
// AGGREGATE_VECTORS=print writes the regenerated vectors to stdout instead.
const writeMode = process.env.AGGREGATE_VECTORS === 'write';
const printMode = process.env.AGGREGATE_VECTORS === 'print';

describe('aggregate vectors file', () => {
  // The two modes are tools, not tests: they exist only when asked for (no skipped tests in a normal run).
  if (writeMode) {
    it('when AGGREGATE_VECTORS=write then the file is regenerated', () => {
      writeFileSync(VECTORS_PATH, `${JSON.stringify(buildAggregateVectors(), null, 2)}\n`);
      // The repository's prettier settings decide the layout (prettier's API needs ESM, so run its CLI).
      execFileSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--write', VECTORS_PATH]);
    });
  }
  if (printMode) {
    it('when AGGREGATE_VECTORS=print then the vectors go to stdout', () => {
      process.stdout.write(`${JSON.stringify(buildAggregateVectors(), null, 2)}\n`);
    });
  }

  it('when the vectors are regenerated from their fixed inputs then they equal the published file', () => {
    const published = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as unknown;
    expect(JSON.parse(JSON.stringify(buildAggregateVectors()))).toEqual(published);
  });
});

describe('aggregate vectors, checked with node:crypto only', () => {
  let vectors: AggregateVectors;
  beforeAll(() => {
    vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as AggregateVectors;
  });
  const sessionKey = hex(VECTOR_SESSION_KEY_HEX);
  const ggm = (seed: Buffer, index: number): Buffer => {
    let node = seed;
    for (let bit = 13; bit >= 0; bit--) {
      node = createHmac('sha256', node)
        .update(Buffer.of((index >> bit) & 1))
        .digest();
    }
    return node;
  };
  const h3 = (leaf: Buffer): bigint =>
    (BigInt(`0x${createHash('sha256').update('smartmeter/aggregate/v1/h3').update(leaf).digest('hex')}`) %
      (2n ** 32n + 1n)) -
    2n ** 31n;

  it('when the month seeds are derived with hkdfSync then they match', () => {
    expect(vectors.sessionKeyHex).toBe(VECTOR_SESSION_KEY_HEX);
    expect(vectors.month).toBe(VECTOR_MONTH);
    for (const [name, seed] of Object.entries(vectors.seeds)) {
      const info = `smartmeter/aggregate/v1/seed/${name}/${VECTOR_MONTH}`;
      expect(
        Buffer.from(hkdfSync('sha256', sessionKey, 'smartmeter/aggregate/v1', info, 32)).toString('hex'),
      ).toBe(seed);
    }
  });

  it('when the GGM tree is walked with createHmac then the PRG halves and every leaf match', () => {
    const s = hex(vectors.seeds.s);
    expect(vectors.prgOfSeedS).toEqual([
      createHmac('sha256', s).update(Buffer.of(0)).digest('hex'),
      createHmac('sha256', s).update(Buffer.of(1)).digest('hex'),
    ]);
    expect(vectors.indexes).toEqual([...VECTOR_INDEXES]);
    for (const [name, leaves] of Object.entries(vectors.leaves)) {
      const seed = hex(vectors.seeds[name as keyof AggregateVectors['seeds']]);
      expect(leaves).toEqual(vectors.indexes.map((index) => ggm(seed, index).toString('hex')));
    }
  });

  it('when SPRID = H2(leaf) is loaded as a PKCS#8 Ed25519 seed then its public key is the PRID', () => {
    for (const name of ['s', "s'"] as const) {
      vectors.pseudonyms[name].forEach(({ privateSeed, prid }, i) => {
        const leaf = hex(vectors.leaves[name][i]);
        expect(createHash('sha256').update('smartmeter/aggregate/v1/h2').update(leaf).digest('hex')).toBe(
          privateSeed,
        );
        const key = createPrivateKey({
          key: Buffer.concat([hex('302e020100300506032b657004220420'), hex(privateSeed)]),
          format: 'der',
          type: 'pkcs8',
        });
        expect(
          createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex'),
        ).toBe(prid);
      });
    }
  });

  it('when H3 is computed with createHash and BigInt then the masks match', () => {
    for (const name of ['r', "r'"] as const) {
      expect(vectors.masks[name]).toEqual(vectors.leaves[name].map((leaf) => h3(hex(leaf)).toString()));
    }
  });

  it('when the period is located in its month then its secrets come from that slot of the four trees', () => {
    const { period } = vectors;
    expect(period.slotIndex).toBe(14 * 288 + 10 * 12);
    const leafAt = (name: keyof AggregateVectors['seeds']): Buffer =>
      ggm(hex(vectors.seeds[name]), period.slotIndex);
    expect(period.firstMask).toBe(h3(leafAt('r')).toString());
    expect(period.secondMask).toBe(h3(leafAt("r'")).toString());
    const pridOf = (leaf: Buffer): string => {
      const seed = createHash('sha256').update('smartmeter/aggregate/v1/h2').update(leaf).digest();
      const key = createPrivateKey({
        key: Buffer.concat([hex('302e020100300506032b657004220420'), seed]),
        format: 'der',
        type: 'pkcs8',
      });
      return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
    };
    expect(period.firstPrid).toBe(pridOf(leafAt('s')));
    expect(period.secondPrid).toBe(pridOf(leafAt("s'")));
  });

  it('when the vector shares are checked then the digests are the documented SHA-256 and the signatures verify', () => {
    const { split, period } = vectors;
    const [first, second] = split.shares;
    expect(BigInt(first.value)).toBe(BigInt(split.randomPart) + BigInt(period.firstMask));
    expect(BigInt(second.value)).toBe(
      BigInt(split.wattHours) - BigInt(split.randomPart) + BigInt(period.secondMask),
    );
    split.shares.forEach((share, i) => {
      expect(parseGridShare(share)).toEqual(share);
      expect(verifyShareSignature(share)).toBe(true);
      const message = `smartmeter/share/v1|${share.region}|${share.periodStart}|${share.prid}|${share.value}|${share.sentAt}`;
      const digest = createHash('sha256').update(message).digest();
      expect(digest.toString('hex')).toBe(split.digests[i]);
      const publicKey = createPublicKey({
        key: Buffer.concat([hex('302a300506032b6570032100'), hex(share.prid)]),
        format: 'der',
        type: 'spki',
      });
      expect(verify(null, digest, publicKey, hex(share.signature))).toBe(true);
    });
  });

  it('when the vector PRID sum and BF2 entry are recomputed then they match', () => {
    const { pridSum } = vectors;
    expect(pridSum.emptySum).toBe(`01${'00'.repeat(31)}`);
    expect(pridSum.bf2Entry).toBe(
      createHash('sha256')
        .update(`smartmeter/aggregate/v1/bf2|${vectors.period.periodStart}|${pridSum.sum}`)
        .digest('hex'),
    );
  });

  it('when the vector Bloom filter is parsed then it holds its items', () => {
    const filter = parseBloomFilterJson(vectors.bloom.filter);
    expect(filter).toEqual(vectors.bloom.filter);
    for (const item of vectors.bloom.items) {
      expect(bloomFilterHas(filter, item)).toBe(true);
    }
  });
});
