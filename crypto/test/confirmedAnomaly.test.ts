import {
  anomalyTagOf,
  CryptoInputError,
  DecryptionError,
  newSessionKey,
  openConfirmedAnomaly,
  SEALED_ANOMALY_BYTES,
  sealConfirmedAnomaly,
} from '../src';

describe('confirmed anomaly sealing', () => {
  const key = newSessionKey();
  const anomalyId = 'a'.repeat(32);
  const tag = anomalyTagOf(key, 'sub_1', anomalyId);
  const slot = { channel: 'northgrid', subscriptionId: 'sub_1', anomalyTag: tag };
  const json = JSON.stringify({ kind: 'leak', periodStart: '2026-02-01T01:00:00Z', value: 120 });

  it('when sealed then it opens to the same JSON with the same key and slot', () => {
    expect(openConfirmedAnomaly(sealConfirmedAnomaly(json, key, slot), key, slot)).toBe(json);
  });

  it('when two findings of different lengths are sealed then both sealed findings have the same size', () => {
    const short = sealConfirmedAnomaly('{}', key, slot);
    const long = sealConfirmedAnomaly(JSON.stringify({ reason: 'x'.repeat(1500) }), key, slot);
    expect([short.length, long.length]).toEqual([SEALED_ANOMALY_BYTES, SEALED_ANOMALY_BYTES]);
  });

  it('when opened in another slot, with another key, or with a changed byte then it does not open', () => {
    const sealed = sealConfirmedAnomaly(json, key, slot);
    expect(() => openConfirmedAnomaly(sealed, key, { ...slot, subscriptionId: 'sub_2' })).toThrow(
      DecryptionError,
    );
    expect(() => openConfirmedAnomaly(sealed, key, { ...slot, channel: 'southgrid' })).toThrow(
      DecryptionError,
    );
    expect(() => openConfirmedAnomaly(sealed, key, { ...slot, anomalyTag: 'b'.repeat(32) })).toThrow(
      DecryptionError,
    );
    expect(() => openConfirmedAnomaly(sealed, newSessionKey(), slot)).toThrow(DecryptionError);
    sealed[40] ^= 1;
    expect(() => openConfirmedAnomaly(sealed, key, slot)).toThrow(DecryptionError);
  });

  it('when the JSON is longer than the padded size or the sealed bytes are cut then it is refused as bad input', () => {
    expect(() => sealConfirmedAnomaly('x'.repeat(2049), key, slot)).toThrow(CryptoInputError);
    expect(() => openConfirmedAnomaly(Buffer.alloc(100), key, slot)).toThrow(CryptoInputError);
  });

  it('when the tag is computed then it depends on the key, so one who knows only the anomaly id cannot compute it', () => {
    expect(anomalyTagOf(key, 'sub_1', anomalyId)).toBe(tag);
    expect(tag).toMatch(/^[0-9a-f]{32}$/);
    expect(anomalyTagOf(newSessionKey(), 'sub_1', anomalyId)).not.toBe(tag);
    expect(anomalyTagOf(key, 'sub_2', anomalyId)).not.toBe(tag);
    expect(tag).not.toBe(anomalyId);
  });

  it('when the anomaly id is not 32 hex characters then the tag is refused', () => {
    expect(() => anomalyTagOf(key, 'sub_1', 'not-an-id')).toThrow(CryptoInputError);
  });
});
