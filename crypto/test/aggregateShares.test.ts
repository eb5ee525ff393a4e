import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  CryptoInputError,
  maskSum,
  parseGridShare,
  periodSecrets,
  randomSplitPart,
  SHARE_RANGE_MAX,
  SHARE_RANGE_MIN,
  SHARE_VALUE_LIMIT,
  shareDigest,
  signShare,
  splitReading,
  sumPrids,
  verifyShareSignature,
  type GridShare,
  type UnsignedGridShare,
} from '../src';

const START = Date.parse('2026-01-15T10:00:00Z') / 1000;
const SENT: [string, string] = ['2026-01-15T10:16:05Z', '2026-01-15T10:16:09Z'];
const keys = Array.from({ length: 20 }, (_, i) => Buffer.alloc(32, i + 1));

function sharesOf(wattHours: bigint, key: Buffer, randomPart?: bigint): [GridShare, GridShare] {
  return splitReading({
    wattHours,
    secrets: periodSecrets(key, START),
    region: 'north/d3',
    sentAt: SENT,
    randomPart,
  });
}

describe('splitting readings into masked shares', () => {
  it('when 20 meters send their shares then sum(values) - maskSum is exactly the total consumption', () => {
    const readings = keys.map((_, i) => BigInt(i * 977 + (i % 3 === 0 ? 0 : 2 ** 31)));
    const shares = keys.flatMap((key, i) => sharesOf(readings[i], key));
    const total = shares.reduce((sum, share) => sum + BigInt(share.value), 0n);
    const z = maskSum(keys.map((key) => periodSecrets(key, START)));
    expect(total - z).toBe(readings.reduce((a, b) => a + b, 0n));
    expect(shares.every(verifyShareSignature)).toBe(true);
    expect(new Set(shares.map((share) => share.prid)).size).toBe(40);
  });

  it("when a reading is split then the shares carry c' + H3(z) and c - c' + H3(z') under PRID and PRID'", () => {
    const secrets = periodSecrets(keys[0], START);
    const [first, second] = sharesOf(1234n, keys[0], -5n);
    expect(first).toMatchObject({
      v: 1,
      region: 'north/d3',
      periodStart: '2026-01-15T10:00:00Z',
      sentAt: SENT[0],
    });
    expect(first.prid).toBe(secrets.first.prid);
    expect(second.prid).toBe(secrets.second.prid);
    expect(BigInt(first.value)).toBe(-5n + secrets.firstMask);
    expect(BigInt(second.value)).toBe(1239n + secrets.secondMask);
    expect(second.sentAt).toBe(SENT[1]);
  });

  it('when the largest reading is split at the range edges then both values stay within 2^33', () => {
    for (const randomPart of [SHARE_RANGE_MIN, SHARE_RANGE_MAX, 0n]) {
      for (const share of sharesOf(2n ** 32n, keys[1], randomPart)) {
        const value = BigInt(share.value);
        expect(value <= SHARE_VALUE_LIMIT && value >= -SHARE_VALUE_LIMIT).toBe(true);
      }
    }
  });

  it('when the reading or the random part is out of range then splitReading throws CryptoInputError', () => {
    const secrets = periodSecrets(keys[0], START);
    const base = { secrets, region: 'north/d3', sentAt: SENT };
    for (const wattHours of [-1n, 2n ** 32n + 1n, 1.5, -1, Number.NaN]) {
      expect(() => splitReading({ ...base, wattHours })).toThrow(CryptoInputError);
    }
    for (const randomPart of [SHARE_RANGE_MAX + 1n, SHARE_RANGE_MIN - 1n]) {
      expect(() => splitReading({ ...base, wattHours: 1n, randomPart })).toThrow(CryptoInputError);
    }
    expect(() => splitReading({ ...base, wattHours: 1, region: 'North' })).toThrow(CryptoInputError);
    expect(() => splitReading({ ...base, wattHours: 1, sentAt: ['2026-01-15 10:16:05', SENT[1]] })).toThrow(
      CryptoInputError,
    );
    expect(splitReading({ ...base, wattHours: 0 })).toHaveLength(2);
  });

  it("when c' is drawn many times then it stays in [-2^31, 2^31] and covers both halves", () => {
    const draws = Array.from({ length: 2000 }, randomSplitPart);
    expect(draws.every((d) => d >= SHARE_RANGE_MIN && d <= SHARE_RANGE_MAX)).toBe(true);
    expect(draws.some((d) => d < -(2n ** 30n))).toBe(true);
    expect(draws.some((d) => d > 2n ** 30n)).toBe(true);
  });
});

describe('share signatures', () => {
  const [share] = sharesOf(500n, keys[2], 77n);

  it('when a share is untouched then its signature verifies', () => {
    expect(verifyShareSignature(share)).toBe(true);
    expect(shareDigest(share)).toHaveLength(32);
  });

  it('when the value, period, region, PRID, sentAt or signature is changed then verification fails', () => {
    const other = sharesOf(500n, keys[3], 77n)[0];
    const tampered: GridShare[] = [
      { ...share, value: (BigInt(share.value) + 1n).toString() },
      { ...share, periodStart: '2026-01-15T10:15:00Z' },
      { ...share, region: 'north/d4' },
      { ...share, sentAt: '2026-01-15T10:16:06Z' },
      { ...share, prid: other.prid },
      { ...share, signature: other.signature },
      { ...share, signature: `${share.signature.slice(0, 127)}${share.signature.endsWith('0') ? '1' : '0'}` },
    ];
    for (const candidate of tampered) {
      expect(verifyShareSignature(candidate)).toBe(false);
    }
  });

  it('when the PRID is well-formed hex but no curve point then verification is false, not an error', () => {
    expect(verifyShareSignature({ ...share, prid: `02${'00'.repeat(31)}` })).toBe(false);
  });

  it('when a field is malformed then verifyShareSignature throws CryptoInputError', () => {
    expect(() => verifyShareSignature({ ...share, value: '+1' })).toThrow(CryptoInputError);
  });

  it("when the signing key is not the PRID's key or not Ed25519 then signShare throws", () => {
    const unsigned: Partial<GridShare> = { ...share };
    delete unsigned.signature;
    const stranger = generateKeyPairSync('ed25519').privateKey;
    expect(() => signShare(unsigned as UnsignedGridShare, stranger)).toThrow('not the key of the share prid');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(() => signShare(unsigned as UnsignedGridShare, p256)).toThrow(CryptoInputError);
    const secrets = periodSecrets(keys[2], START);
    expect(signShare(unsigned as UnsignedGridShare, secrets.first.privateKey)).toEqual(share);
  });
});

describe('parsing untrusted shares', () => {
  const [share] = sharesOf(500n, keys[4], 1n);
  const expectRejected = (value: unknown, field: string): void => {
    expect(() => parseGridShare(value)).toThrow(CryptoInputError);
    expect(() => parseGridShare(value)).toThrow(field);
  };

  it('when a share is well formed then parseGridShare returns an equal fresh object in wire order', () => {
    const parsed = parseGridShare(JSON.parse(JSON.stringify(share)));
    expect(parsed).toEqual(share);
    expect(Object.keys(parsed)).toEqual([
      'v',
      'region',
      'periodStart',
      'prid',
      'value',
      'sentAt',
      'signature',
    ]);
  });

  it('when the value is not an object or the key set is wrong then it is rejected', () => {
    for (const value of [null, 'share', 42, [share]]) {
      expectRejected(value, 'JSON object');
    }
    expectRejected({ ...share, extra: 1 }, 'extra');
    const missing: Partial<GridShare> = { ...share };
    delete missing.sentAt;
    expectRejected(missing, 'sentAt');
  });

  it.each([
    ['v', 2],
    ['v', '1'],
    ['region', 'North/d3'],
    ['region', 'north//d3'],
    ['region', '/north'],
    ['region', 'a/b/c/d/e/f/g'],
    ['region', 'x'.repeat(17)],
    ['region', 7],
    ['periodStart', '2026-01-15T10:00:00.000Z'],
    ['periodStart', '2026-01-15T10:00:00+00:00'],
    ['periodStart', '2026-01-15T10:01:00Z'],
    ['periodStart', '2026-02-30T10:00:00Z'],
    ['periodStart', 1768471200],
    ['prid', share.prid.toUpperCase()],
    ['prid', share.prid.slice(2)],
    ['prid', `${share.prid}00`],
    ['value', '007'],
    ['value', '-0'],
    ['value', '+7'],
    ['value', '1e3'],
    ['value', ' 7'],
    ['value', 7],
    ['value', (SHARE_VALUE_LIMIT + 1n).toString()],
    ['value', (-SHARE_VALUE_LIMIT - 1n).toString()],
    ['value', '1'.repeat(400)],
    ['sentAt', '2026-01-15T10:16:05'],
    ['sentAt', '2026-01-15T25:16:05Z'],
    ['sentAt', null],
    ['signature', share.signature.slice(1)],
    ['signature', share.signature.toUpperCase()],
    ['signature', randomBytes(64).toString('base64')],
  ])('when %s is %p then the share is rejected naming the field', (field, bad) => {
    expectRejected({ ...share, [field]: bad }, field);
  });

  it('when the value is exactly +-2^33 or zero then it is accepted', () => {
    for (const value of [SHARE_VALUE_LIMIT, -SHARE_VALUE_LIMIT, 0n]) {
      expect(parseGridShare({ ...share, value: value.toString() }).value).toBe(value.toString());
    }
  });

  it('when shares of a round are summed by PRID then the PRID sum is order-independent', () => {
    const shares = keys.slice(0, 5).flatMap((key) => sharesOf(10n, key));
    expect(sumPrids(shares.map((s) => s.prid))).toBe(sumPrids([...shares].reverse().map((s) => s.prid)));
  });
});
