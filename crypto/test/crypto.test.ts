import {
  CryptoInputError,
  decryptReading,
  DecryptionError,
  encryptReading,
  keyIdOf,
  newOrgKeyPair,
  newSessionKey,
  pairingCommitment,
  pairingProof,
  pairingProofMatches,
  publicPointOf,
  READING_CIPHERTEXT_BYTES,
  unwrapSessionKey,
  validateWrappedKey,
  wrapSessionKey,
  type ReadingPayload,
  type ReadingSlot,
} from '../src';
import { generateKeyPairSync } from 'node:crypto';

const payload: ReadingPayload = { energyWh: 250, utility: 'electricity', unit: 'Wh', quality: 'measured' };
const slot: ReadingSlot = {
  channel: 'northgrid',
  subscriptionId: 'sub_aaaaaaaaaaaaaaaaaaaaaaaa',
  sequence: 7,
  periodStart: '2026-02-01T00:30:00Z',
};

describe('reading ciphertexts do not reveal the value by their size', () => {
  it('when very different values are encrypted then every ciphertext has the same length', () => {
    const key = newSessionKey();
    const lengths = new Set(
      [0, 7, 42, 999, 12_345, 9_999_999, Number.MAX_SAFE_INTEGER].flatMap((energyWh) =>
        (['measured', 'estimated'] as const).map(
          (quality) =>
            Buffer.from(encryptReading({ ...payload, energyWh, quality }, key, slot).ciphertext, 'base64')
              .length,
        ),
      ),
    );
    expect([...lengths]).toEqual([READING_CIPHERTEXT_BYTES]);
  });

  it('when a padded reading is decrypted then the payload comes back without the padding', () => {
    const key = newSessionKey();
    const encrypted = encryptReading({ ...payload, energyWh: 3 }, key, slot);
    expect(decryptReading(encrypted, key, slot)).toEqual({ ...payload, energyWh: 3 });
  });
});

describe('reading encryption is bound to its slot', () => {
  const key = newSessionKey();
  const encrypted = encryptReading(payload, key, slot);

  it('when decrypted in its own slot then the payload comes back', () => {
    expect(decryptReading(encrypted, key, slot)).toEqual(payload);
  });

  it.each([
    ['another channel', { ...slot, channel: 'southgrid' }],
    ['another subscription', { ...slot, subscriptionId: 'sub_bbbbbbbbbbbbbbbbbbbbbbbb' }],
    ['another sequence', { ...slot, sequence: 8 }],
    ['another period', { ...slot, periodStart: '2026-02-01T01:00:00Z' }],
  ])('when the ciphertext is moved to %s then it fails to decrypt', (_label, otherSlot) => {
    expect(() => decryptReading(encrypted, key, otherSlot)).toThrow(DecryptionError);
  });

  it('when another session key is used then decryption is refused by keyId', () => {
    expect(() => decryptReading(encrypted, newSessionKey(), slot)).toThrow(/encrypted under key/);
  });

  it('when one ciphertext byte is flipped then it fails to decrypt', () => {
    const bytes = Buffer.from(encrypted.ciphertext, 'base64');
    bytes[0] ^= 1;
    expect(() => decryptReading({ ...encrypted, ciphertext: bytes.toString('base64') }, key, slot)).toThrow(
      DecryptionError,
    );
  });

  it('when the same reading is encrypted twice then fresh nonces give different ciphertexts', () => {
    expect(encryptReading(payload, key, slot).ciphertext).not.toBe(encrypted.ciphertext);
  });
});

describe('reading payload validation', () => {
  const key = newSessionKey();
  it.each([
    ['a negative energy', { ...payload, energyWh: -1 }, /non-negative integer/],
    ['a fractional energy', { ...payload, energyWh: 1.5 }, /non-negative integer/],
    ['an unknown utility', { ...payload, utility: 'steam' }, /utility must be one of/],
    ['a unit that does not match the utility', { ...payload, unit: 'kWh' }, /unit of electricity is Wh/],
    ['an unknown quality', { ...payload, quality: 'guessed' }, /quality must be one of/],
  ])('when a payload has %s then encryption refuses it', (_label, bad, message) => {
    expect(() => encryptReading(bad as ReadingPayload, key, slot)).toThrow(message);
  });

  it('when the session key is not 32 bytes then it is refused', () => {
    expect(() => encryptReading(payload, Buffer.alloc(16), slot)).toThrow(CryptoInputError);
    expect(() => keyIdOf(Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});

describe('session key wrapping', () => {
  it('when wrapped for an organization then only that organization unwraps it', () => {
    const key = newSessionKey();
    const distributor = newOrgKeyPair();
    const authority = newOrgKeyPair();
    const wrapped = wrapSessionKey(key, distributor.publicKeyPem);
    expect(unwrapSessionKey(wrapped, distributor.privateKeyPem)).toEqual(key);
    expect(() => unwrapSessionKey(wrapped, authority.privateKeyPem)).toThrow(DecryptionError);
  });

  it('when a key that is not P-256 is offered then wrapping refuses it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => publicPointOf(rsa.toString())).toThrow(/P-256/);
    expect(() => publicPointOf(p384.toString())).toThrow(/P-256/);
    expect(() => publicPointOf('not a key')).toThrow(/one PEM block "-----BEGIN PUBLIC KEY-----"/);
  });

  it('when a private key or a key with other text is offered as a public key then it is refused', () => {
    const pair = newOrgKeyPair();
    expect(() => publicPointOf(pair.privateKeyPem)).toThrow(/one PEM block "-----BEGIN PUBLIC KEY-----"/);
    expect(() => publicPointOf(`${pair.publicKeyPem}${pair.publicKeyPem}`)).toThrow(/one PEM block/);
    expect(() => publicPointOf(`comment\n${pair.publicKeyPem}`)).toThrow(/one PEM block/);
    expect(publicPointOf(pair.publicKeyPem)).toHaveLength(65);
  });

  it('when a wrapped key has the wrong shape then validation says which field', () => {
    const wrapped = wrapSessionKey(newSessionKey(), newOrgKeyPair().publicKeyPem);
    expect(() => validateWrappedKey({ ...wrapped, version: 2 })).toThrow(/version must be 1/);
    expect(() => validateWrappedKey({ ...wrapped, nonce: 'AAAA' })).toThrow(/nonce must be 12 bytes/);
    expect(() => validateWrappedKey({ ...wrapped, ciphertext: 'not base64!' })).toThrow(/ciphertext must be/);
    expect(() => validateWrappedKey(null)).toThrow(/must be an object/);
  });
});

describe('pairing', () => {
  it('when the meter holds the session key then its proof matches the commitment; another key does not', () => {
    const key = newSessionKey();
    const commitment = pairingCommitment(pairingProof(key, 'MTR-7'));
    expect(pairingProofMatches(pairingProof(key, 'MTR-7'), commitment)).toBe(true);
    expect(pairingProofMatches(pairingProof(newSessionKey(), 'MTR-7'), commitment)).toBe(false);
    expect(pairingProofMatches(pairingProof(key, 'MTR-8'), commitment)).toBe(false);
  });
});
