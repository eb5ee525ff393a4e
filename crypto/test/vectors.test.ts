import { createDecipheriv, createECDH, createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decryptReading,
  encryptReading,
  keyIdOf,
  KEY_WRAP_INFO,
  orgKeyPairFromPrivateScalar,
  pairingCommitment,
  pairingProof,
  publicKeyFingerprint,
  readingAad,
  unwrapSessionKey,
  wrapSessionKey,
  type ReadingPayload,
  type ReadingSlot,
  type WrappedKey,
  openSealed,
  READING_PLAINTEXT_BYTES,
  SEALED_INFO,
  sealForRecipient,
} from '../src';

interface Vectors {
  sessionKeyHex: string;
  keyId: string;
  orgKey: { privateScalarHex: string; publicKeyPem: string; fingerprint: string };
  keyWrap: { info: string; ephemeralPrivateScalarHex: string; nonceHex: string; wrapped: WrappedKey };
  reading: {
    slot: ReadingSlot;
    payload: ReadingPayload;
    nonceHex: string;
    aad: string;
    encrypted: { ciphertext: string; nonce: string; keyId: string };
  };
  pairing: { meterId: string; proof: string; commitment: string };
  sealedForRecipient: {
    info: string;
    context: string;
    paddedBytes: number;
    data: string;
    ephemeralPrivateScalarHex: string;
    nonceHex: string;
    sealed: string;
  };
}

const vectors = JSON.parse(readFileSync(join(__dirname, '..', 'test-vectors.json'), 'utf8')) as Vectors;
const sessionKey = Buffer.from(vectors.sessionKeyHex, 'hex');
const hex = (value: string): Buffer => Buffer.from(value, 'hex');

describe('published test vectors', () => {
  it('when the vector session key is hashed then keyId is the first 16 bytes of its SHA-256', () => {
    expect(keyIdOf(sessionKey)).toBe(vectors.keyId);
    expect(createHash('sha256').update(sessionKey).digest('hex').slice(0, 32)).toBe(vectors.keyId);
  });

  it('when the vector org scalar is loaded then the public key and fingerprint match', () => {
    const pair = orgKeyPairFromPrivateScalar(hex(vectors.orgKey.privateScalarHex));
    expect(pair.publicKeyPem).toBe(vectors.orgKey.publicKeyPem);
    expect(publicKeyFingerprint(pair.publicKeyPem)).toBe(vectors.orgKey.fingerprint);
  });

  it('when the session key is wrapped with the vector randomness then the wrapped key is byte-identical', () => {
    const wrapped = wrapSessionKey(sessionKey, vectors.orgKey.publicKeyPem, {
      ephemeralPrivateKey: hex(vectors.keyWrap.ephemeralPrivateScalarHex),
      nonce: hex(vectors.keyWrap.nonceHex),
    });
    expect(wrapped).toEqual(vectors.keyWrap.wrapped);
    expect(vectors.keyWrap.info).toBe(KEY_WRAP_INFO);
  });

  it('when the vector wrapped key is opened with only node:crypto then it yields the session key', () => {
    // An independent implementation of the documented scheme: ECDH, HKDF-SHA-256, AES-256-GCM.
    const recipient = createECDH('prime256v1');
    recipient.setPrivateKey(hex(vectors.orgKey.privateScalarHex));
    const ephemeralPoint = Buffer.from(vectors.keyWrap.wrapped.ephemeralPublicKey, 'base64');
    const salt = Buffer.concat([ephemeralPoint, recipient.getPublicKey()]);
    const key = Buffer.from(
      hkdfSync('sha256', recipient.computeSecret(ephemeralPoint), salt, KEY_WRAP_INFO, 32),
    );
    const sealed = Buffer.from(vectors.keyWrap.wrapped.ciphertext, 'base64');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      key,
      Buffer.from(vectors.keyWrap.wrapped.nonce, 'base64'),
    );
    decipher.setAAD(Buffer.from(KEY_WRAP_INFO));
    decipher.setAuthTag(sealed.subarray(32));
    expect(Buffer.concat([decipher.update(sealed.subarray(0, 32)), decipher.final()])).toEqual(sessionKey);

    const pair = orgKeyPairFromPrivateScalar(hex(vectors.orgKey.privateScalarHex));
    expect(unwrapSessionKey(vectors.keyWrap.wrapped, pair.privateKeyPem)).toEqual(sessionKey);
  });

  it('when the vector reading is encrypted with the vector nonce then the ciphertext is byte-identical', () => {
    const { slot, payload, nonceHex, aad, encrypted } = vectors.reading;
    expect(readingAad(slot).toString('utf8')).toBe(aad);
    expect(encryptReading(payload, sessionKey, slot, hex(nonceHex))).toEqual(encrypted);
    expect(decryptReading(encrypted, sessionKey, slot)).toEqual(payload);
  });

  it('when the vector reading is opened with only node:crypto then its plaintext is the padded canonical JSON', () => {
    const { slot, payload, encrypted } = vectors.reading;
    const sealed = Buffer.from(encrypted.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', sessionKey, Buffer.from(encrypted.nonce, 'base64'));
    decipher.setAAD(readingAad(slot));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plaintext = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - 16)),
      decipher.final(),
    ]);
    const json = JSON.stringify({
      energyWh: payload.energyWh,
      quality: payload.quality,
      unit: payload.unit,
      utility: payload.utility,
    });
    expect(plaintext.length).toBe(READING_PLAINTEXT_BYTES);
    expect(plaintext.toString('utf8')).toBe(json.padEnd(READING_PLAINTEXT_BYTES, ' '));
  });

  it('when data is sealed for the vector recipient with the vector randomness then it is byte-identical and opens', () => {
    const v = vectors.sealedForRecipient;
    const recipient = orgKeyPairFromPrivateScalar(hex(vectors.orgKey.privateScalarHex));
    const sealed = sealForRecipient(Buffer.from(v.data), recipient.publicKeyPem, v.context, v.paddedBytes, {
      ephemeralPrivateKey: hex(v.ephemeralPrivateScalarHex),
      nonce: hex(v.nonceHex),
    });
    expect(sealed.toString('base64')).toBe(v.sealed);
    expect(v.info).toBe(SEALED_INFO);
    expect(openSealed(sealed, recipient.privateKeyPem, v.context).toString()).toBe(v.data);
  });

  it('when the pairing proof is computed then it is the HMAC the vectors name and the commitment its SHA-256', () => {
    const { meterId, proof, commitment } = vectors.pairing;
    expect(pairingProof(sessionKey, meterId)).toBe(proof);
    expect(
      createHmac('sha256', sessionKey)
        .update(`smartmeter/pairing/v1|${meterId}|${vectors.keyId}`)
        .digest('hex'),
    ).toBe(proof);
    expect(pairingCommitment(proof)).toBe(commitment);
  });
});
