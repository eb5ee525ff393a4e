import { createHmac, randomBytes } from 'node:crypto';
import {
  AGGREGATE_SLOT_SECONDS,
  bf2Entry,
  CryptoInputError,
  ggmLeaf,
  GGM_DEPTH,
  h3,
  maskSum,
  monthlySeeds,
  monthOf,
  periodSecrets,
  prg,
  pseudonymFromLeaf,
  SHARE_RANGE_MAX,
  SHARE_RANGE_MIN,
  slotIndex,
  sumPrids,
  type PeriodSecrets,
} from '../src';
import { digestToShareRange } from '../src/aggregate/masks';

const sessionKey = Buffer.alloc(32, 7);
const seconds = (iso: string): number => Date.parse(iso) / 1000;
const IDENTITY = `01${'00'.repeat(31)}`;

describe('month seeds and slots', () => {
  it('when the month or key is malformed then monthlySeeds throws CryptoInputError', () => {
    for (const month of ['2026-1', '2026-13', '2026-00', '26-01', '2026-01-01', '', 'YYYY-MM']) {
      expect(() => monthlySeeds(sessionKey, month)).toThrow(CryptoInputError);
    }
    expect(() => monthlySeeds(Buffer.alloc(31), '2026-01')).toThrow(CryptoInputError);
  });

  it('when two months or two keys are used then all eight seeds differ', () => {
    const a = monthlySeeds(sessionKey, '2026-01');
    const b = monthlySeeds(sessionKey, '2026-02');
    const c = monthlySeeds(Buffer.alloc(32, 8), '2026-01');
    const all = [a, b, c].flatMap((seeds) => [seeds.s, seeds.sPrime, seeds.r, seeds.rPrime]);
    expect(new Set(all.map((seed) => seed.toString('hex'))).size).toBe(12);
  });

  it('when an instant is given then monthOf is its UTC month', () => {
    expect(monthOf(seconds('2026-01-31T23:55:00Z'))).toBe('2026-01');
    expect(monthOf(seconds('2026-02-01T00:00:00Z'))).toBe('2026-02');
    expect(monthOf(0)).toBe('1970-01');
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => monthOf(bad)).toThrow(CryptoInputError);
    }
  });

  it('when a period starts in a month then its slot counts 300-second slots from the 1st, 00:00Z', () => {
    expect(slotIndex(seconds('2026-01-01T00:00:00Z'))).toBe(0);
    expect(slotIndex(seconds('2026-01-01T00:05:00Z'))).toBe(1);
    expect(slotIndex(seconds('2026-01-15T10:00:00Z'))).toBe(14 * 288 + 120);
    expect(slotIndex(seconds('2026-01-31T23:55:00Z'))).toBe(8927);
    expect(slotIndex(seconds('2026-02-28T23:55:00Z'))).toBe(28 * 288 - 1);
    expect(8927).toBeLessThan(2 ** GGM_DEPTH);
    expect(AGGREGATE_SLOT_SECONDS).toBe(300);
  });

  it('when a period start is not on a slot boundary then slotIndex throws', () => {
    expect(() => slotIndex(seconds('2026-01-15T10:01:00Z'))).toThrow(CryptoInputError);
    expect(() => slotIndex(seconds('2026-01-15T10:00:00Z') + 0.5)).toThrow(CryptoInputError);
  });
});

describe('GGM tree', () => {
  const seed = Buffer.alloc(32, 3);

  it('when the tree is one level deep then the leaves are the two PRG halves', () => {
    const [left, right] = prg(seed);
    expect(ggmLeaf(seed, 0, 1)).toEqual(left);
    expect(ggmLeaf(seed, 1, 1)).toEqual(right);
    expect(left).toEqual(createHmac('sha256', seed).update(Buffer.of(0)).digest());
  });

  it('when a leaf is taken then it is the subtree of its most significant bit', () => {
    const [left, right] = prg(seed);
    expect(ggmLeaf(seed, 5, 3)).toEqual(ggmLeaf(right, 1, 2));
    expect(ggmLeaf(seed, 2, 3)).toEqual(ggmLeaf(left, 2, 2));
  });

  it('when every leaf of a small tree is taken then they are distinct', () => {
    const leaves = Array.from({ length: 256 }, (_, i) => ggmLeaf(seed, i, 8).toString('hex'));
    expect(new Set(leaves).size).toBe(256);
  });

  it('when the seed, index or depth is bad then ggmLeaf throws CryptoInputError', () => {
    expect(() => ggmLeaf(Buffer.alloc(16), 0)).toThrow(CryptoInputError);
    expect(() => prg(Buffer.alloc(33))).toThrow(CryptoInputError);
    for (const index of [-1, 2 ** GGM_DEPTH, 1.5, Number.NaN]) {
      expect(() => ggmLeaf(seed, index)).toThrow(CryptoInputError);
    }
    expect(() => ggmLeaf(seed, 0, 0)).toThrow(CryptoInputError);
    expect(() => ggmLeaf(seed, 0, 31)).toThrow(CryptoInputError);
  });
});

describe('H3 masks', () => {
  it('when many leaves are hashed then every mask is in [-2^31, 2^31] and both signs occur', () => {
    let min = SHARE_RANGE_MAX;
    let max = SHARE_RANGE_MIN;
    for (let i = 0; i < 20_000; i++) {
      const mask = h3(randomBytes(32));
      if (mask < min) min = mask;
      if (mask > max) max = mask;
    }
    expect(min).toBeGreaterThanOrEqual(SHARE_RANGE_MIN);
    expect(max).toBeLessThanOrEqual(SHARE_RANGE_MAX);
    // 20,000 uniform draws from 2^32 + 1 values reach within 2^24 of each end: the chance that none does is
    // (1 - 2^24 / 2^32)^20000 = e^-78. (A 2^20 margin missed about once in 130 runs: e^-4.9.)
    expect(min).toBeLessThan(SHARE_RANGE_MIN + 2n ** 24n);
    expect(max).toBeGreaterThan(SHARE_RANGE_MAX - 2n ** 24n);
  });

  it('when the digest is at the edges of the reduction then H3 is exactly -2^31 or 2^31', () => {
    const digest = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
    const modulus = 2n ** 32n + 1n;
    expect(digestToShareRange(digest(0n))).toBe(SHARE_RANGE_MIN);
    expect(digestToShareRange(digest(2n ** 32n))).toBe(SHARE_RANGE_MAX);
    expect(digestToShareRange(digest(modulus))).toBe(SHARE_RANGE_MIN);
    expect(digestToShareRange(digest(2n ** 31n))).toBe(0n);
    expect(digestToShareRange(digest(5n * modulus - 1n))).toBe(SHARE_RANGE_MAX);
    const top = 2n ** 256n - 1n;
    expect(digestToShareRange(digest(top))).toBe((top % modulus) - 2n ** 31n);
  });

  it('when the leaf is not 32 bytes then h3 throws CryptoInputError', () => {
    expect(() => h3(Buffer.alloc(31))).toThrow(CryptoInputError);
  });

  it('when masks are summed then maskSum adds both masks of every meter', () => {
    const secrets = [-(2n ** 31n), 2n ** 31n, 5n, -7n].map(
      (firstMask) => ({ firstMask, secondMask: 2n ** 31n }) as PeriodSecrets,
    );
    expect(maskSum(secrets)).toBe(-2n + 4n * 2n ** 31n);
    expect(maskSum([])).toBe(0n);
    expect(() => maskSum([{ firstMask: 2n ** 31n + 1n, secondMask: 0n } as PeriodSecrets])).toThrow(
      CryptoInputError,
    );
  });
});

describe('pseudonyms and PRID sums', () => {
  const prids = Array.from({ length: 12 }, () => pseudonymFromLeaf(randomBytes(32)).prid);

  it('when a leaf is given then the pseudonym is an Ed25519 key whose public key is the PRID', () => {
    const pseudonym = pseudonymFromLeaf(Buffer.alloc(32, 1));
    expect(pseudonym.prid).toMatch(/^[0-9a-f]{64}$/);
    expect(pseudonym.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(pseudonymFromLeaf(Buffer.alloc(32, 1)).prid).toBe(pseudonym.prid);
    expect(() => pseudonymFromLeaf(Buffer.alloc(16))).toThrow(CryptoInputError);
  });

  it('when the same PRIDs are summed in any order then the sum is the same', () => {
    const sum = sumPrids(prids);
    expect(sumPrids([...prids].reverse())).toBe(sum);
    expect(sumPrids([...prids.slice(5), ...prids.slice(0, 5)])).toBe(sum);
    expect(sumPrids([sumPrids(prids.slice(0, 6)), sumPrids(prids.slice(6))])).toBe(sum);
  });

  it('when a set differs by one PRID then the sum differs', () => {
    expect(sumPrids(prids.slice(1))).not.toBe(sumPrids(prids));
    expect(sumPrids([...prids.slice(1), prids[1]])).not.toBe(sumPrids(prids));
  });

  it('when nothing or one PRID is summed then the result is the identity or that PRID', () => {
    expect(sumPrids([])).toBe(IDENTITY);
    expect(sumPrids([prids[0]])).toBe(prids[0]);
    expect(sumPrids([IDENTITY, prids[0]])).toBe(prids[0]);
  });

  it('when a PRID is not a canonical curve point then sumPrids throws CryptoInputError', () => {
    // y = 2 is not on the curve; y = p (2^255 - 19) is y = 0 written non-canonically.
    const offCurve = `02${'00'.repeat(31)}`;
    const nonCanonical = `ed${'ff'.repeat(30)}7f`;
    for (const bad of [offCurve, nonCanonical, prids[0].toUpperCase(), prids[0].slice(2), '']) {
      expect(() => sumPrids([prids[0], bad])).toThrow(CryptoInputError);
    }
  });

  it('when a BF2 entry is made then it binds the period and the PRID sum', () => {
    const sum = sumPrids(prids);
    const entry = bf2Entry('2026-01-15T10:00:00Z', sum);
    expect(entry).toMatch(/^[0-9a-f]{64}$/);
    expect(bf2Entry('2026-01-15T10:15:00Z', sum)).not.toBe(entry);
    expect(bf2Entry('2026-01-15T10:00:00Z', sumPrids(prids.slice(1)))).not.toBe(entry);
    expect(() => bf2Entry('2026-01-15T10:00:00.000Z', sum)).toThrow(CryptoInputError);
    expect(() => bf2Entry('2026-01-15T10:01:00Z', sum)).toThrow(CryptoInputError);
    expect(() => bf2Entry('2026-01-15T10:00:00Z', 'zz')).toThrow(CryptoInputError);
  });
});

describe('period secrets', () => {
  const start = seconds('2026-03-10T12:30:00Z');

  it('when the secrets of a period are derived then they come from that slot of the month trees', () => {
    const secrets = periodSecrets(sessionKey, start);
    const seeds = monthlySeeds(sessionKey, '2026-03');
    const index = slotIndex(start);
    expect(secrets.periodStart).toBe('2026-03-10T12:30:00Z');
    expect(secrets.first.prid).toBe(pseudonymFromLeaf(ggmLeaf(seeds.s, index)).prid);
    expect(secrets.second.prid).toBe(pseudonymFromLeaf(ggmLeaf(seeds.sPrime, index)).prid);
    expect(secrets.firstMask).toBe(h3(ggmLeaf(seeds.r, index)));
    expect(secrets.secondMask).toBe(h3(ggmLeaf(seeds.rPrime, index)));
  });

  it('when secrets are derived again (from the cache) then they are identical', () => {
    const first = periodSecrets(sessionKey, start);
    const again = periodSecrets(Buffer.from(sessionKey), start);
    expect(again.first.prid).toBe(first.first.prid);
    expect(again.secondMask).toBe(first.secondMask);
    expect(periodSecrets(Buffer.alloc(32, 9), start).first.prid).not.toBe(first.first.prid);
  });

  it('when the same slot of consecutive months or neighbouring slots are used then all PRIDs differ', () => {
    const prids = [
      periodSecrets(sessionKey, start),
      periodSecrets(sessionKey, start + 300),
      periodSecrets(sessionKey, seconds('2026-04-10T12:30:00Z')),
      periodSecrets(sessionKey, seconds('2026-02-10T12:30:00Z')),
    ].flatMap((s) => [s.first.prid, s.second.prid]);
    expect(new Set(prids).size).toBe(prids.length);
  });

  it('when the key or start is bad then periodSecrets throws CryptoInputError', () => {
    expect(() => periodSecrets(Buffer.alloc(16), start)).toThrow(CryptoInputError);
    expect(() => periodSecrets(sessionKey, start + 60)).toThrow(CryptoInputError);
    expect(() => periodSecrets(sessionKey, -300)).toThrow(CryptoInputError);
  });
});
