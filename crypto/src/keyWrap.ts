import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createPrivateKey,
  createPublicKey,
  randomBytes,
} from 'node:crypto';
import { CryptoInputError, decodeBase64, DecryptionError, encodeBase64 } from './encoding';
import { requireSessionKey } from './sessionKey';

/**
 * ECIES over P-256: an ephemeral ECDH key agreement with the recipient organization's public key, HKDF-SHA-256
 * to derive an AES-256-GCM key, which encrypts the session key. Only the holder of the organization's private
 * key can unwrap it.
 */
export const KEY_WRAP_VERSION = 1;
export const KEY_WRAP_INFO = 'smartmeter/ecies-p256-hkdf-sha256-aes256gcm/v1';
const CURVE = 'prime256v1';

export interface WrappedKey {
  version: number;
  /** Uncompressed P-256 point of the ephemeral key, base64. */
  ephemeralPublicKey: string;
  /** 12-byte AES-GCM nonce, base64. */
  nonce: string;
  /** Encrypted session key followed by the 16-byte GCM tag, base64. */
  ciphertext: string;
}

export interface OrgKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

/** A new P-256 key pair for an organization's encryption key (PEM: SPKI public, PKCS#8 private). */
export function newOrgKeyPair(): OrgKeyPair {
  const ecdh = createECDH(CURVE);
  ecdh.generateKeys();
  return orgKeyPairFromPrivateScalar(ecdh.getPrivateKey());
}

/** The key pair for a given private scalar (32 bytes); used for fixed test vectors. */
export function orgKeyPairFromPrivateScalar(scalar: Uint8Array): OrgKeyPair {
  const ecdh = createECDH(CURVE);
  ecdh.setPrivateKey(Buffer.from(scalar));
  const point = ecdh.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33, 65).toString('base64url'),
  };
  const privateKey = createPrivateKey({
    key: { ...jwk, d: Buffer.from(scalar).toString('base64url') },
    format: 'jwk',
  });
  return {
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Exactly one SubjectPublicKeyInfo block: "-----BEGIN PUBLIC KEY-----", base64 lines, the END line. */
const SPKI_PEM =
  /^-----BEGIN PUBLIC KEY-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+-----END PUBLIC KEY-----\r?\n?$/;

/**
 * The uncompressed point of a P-256 public key given as an SPKI PEM; rejects other key types and curves, and
 * anything that is not a public key PEM. Node's createPublicKey also accepts a private key (and derives its
 * public key), so a private key handed in by mistake would otherwise be published.
 */
export function publicPointOf(publicKeyPem: string): Buffer {
  if (typeof publicKeyPem !== 'string' || !SPKI_PEM.test(publicKeyPem)) {
    throw new CryptoInputError(
      'an encryption public key must be one PEM block "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo), and nothing else',
    );
  }
  let jwk: { crv?: string; x?: string; y?: string };
  try {
    const key = createPublicKey({ key: publicKeyPem, format: 'pem', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== CURVE) {
      throw new CryptoInputError('an organization encryption key must be a P-256 (prime256v1) EC key');
    }
    jwk = key.export({ format: 'jwk' });
  } catch (err) {
    if (err instanceof CryptoInputError) throw err;
    throw new CryptoInputError(`not a PEM public key: ${(err as Error).message}`);
  }
  return Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
}

/** SHA-256 fingerprint of the public point, hex: identifies an organization key version. */
export function publicKeyFingerprint(publicKeyPem: string): string {
  return Buffer.from(sha256(publicPointOf(publicKeyPem))).toString('hex');
}

/** HKDF-SHA-256 over an ECDH secret, salted with both points: the AES-256-GCM key of one ECIES message. */
export function eciesKey(
  sharedSecret: Uint8Array,
  ephemeralPoint: Uint8Array,
  recipientPoint: Uint8Array,
  info: string,
): Buffer {
  const salt = Buffer.concat([ephemeralPoint, recipientPoint]);
  return Buffer.from(hkdf(sha256, sharedSecret, salt, info, 32));
}

/** The P-256 private scalar of a PKCS#8 PEM. */
export function privateScalarOf(privateKeyPem: string): Buffer {
  const jwk = createPrivateKey(privateKeyPem).export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d) throw new CryptoInputError('the private key must be a P-256 EC key');
  return Buffer.from(jwk.d, 'base64url');
}

function wrappingKey(
  sharedSecret: Uint8Array,
  ephemeralPoint: Uint8Array,
  recipientPoint: Uint8Array,
): Buffer {
  return eciesKey(sharedSecret, ephemeralPoint, recipientPoint, KEY_WRAP_INFO);
}

export interface WrapRandomness {
  /** Ephemeral private scalar, 32 bytes. */
  ephemeralPrivateKey: Uint8Array;
  nonce: Uint8Array;
}

export function wrapSessionKey(
  sessionKey: Uint8Array,
  recipientPublicKeyPem: string,
  randomness?: WrapRandomness,
): WrappedKey {
  requireSessionKey(sessionKey);
  const recipientPoint = publicPointOf(recipientPublicKeyPem);
  const ephemeral = createECDH(CURVE);
  if (randomness) ephemeral.setPrivateKey(Buffer.from(randomness.ephemeralPrivateKey));
  else ephemeral.generateKeys();
  const ephemeralPoint = ephemeral.getPublicKey();
  const key = wrappingKey(ephemeral.computeSecret(recipientPoint), ephemeralPoint, recipientPoint);
  const nonce = Buffer.from(randomness?.nonce ?? randomBytes(12));
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(KEY_WRAP_INFO, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(sessionKey), cipher.final(), cipher.getAuthTag()]);
  return {
    version: KEY_WRAP_VERSION,
    ephemeralPublicKey: encodeBase64(ephemeralPoint),
    nonce: encodeBase64(nonce),
    ciphertext: encodeBase64(ciphertext),
  };
}

/** Checks the shape of a wrapped key without unwrapping it (what the chaincode can verify). */
export function validateWrappedKey(value: unknown): WrappedKey {
  const wrapped = value as Partial<WrappedKey> | null;
  if (wrapped === null || typeof wrapped !== 'object')
    throw new CryptoInputError('a wrapped key must be an object');
  if (wrapped.version !== KEY_WRAP_VERSION)
    throw new CryptoInputError(`wrapped key version must be ${KEY_WRAP_VERSION}`);
  const point = decodeBase64(wrapped.ephemeralPublicKey as string, 'ephemeralPublicKey');
  if (point.length !== 65 || point[0] !== 4)
    throw new CryptoInputError('ephemeralPublicKey must be an uncompressed P-256 point');
  if (decodeBase64(wrapped.nonce as string, 'nonce').length !== 12)
    throw new CryptoInputError('nonce must be 12 bytes');
  if (decodeBase64(wrapped.ciphertext as string, 'ciphertext').length !== 32 + 16) {
    throw new CryptoInputError('ciphertext must be a wrapped 32-byte key with its 16-byte tag');
  }
  return {
    version: wrapped.version,
    ephemeralPublicKey: wrapped.ephemeralPublicKey as string,
    nonce: wrapped.nonce as string,
    ciphertext: wrapped.ciphertext as string,
  };
}

export function unwrapSessionKey(wrapped: WrappedKey, recipientPrivateKeyPem: string): Buffer {
  const valid = validateWrappedKey(wrapped);
  const recipient = createECDH(CURVE);
  recipient.setPrivateKey(privateScalarOf(recipientPrivateKeyPem));
  const ephemeralPoint = Buffer.from(valid.ephemeralPublicKey, 'base64');
  const key = wrappingKey(recipient.computeSecret(ephemeralPoint), ephemeralPoint, recipient.getPublicKey());
  const sealed = Buffer.from(valid.ciphertext, 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(valid.nonce, 'base64'));
    decipher.setAAD(Buffer.from(KEY_WRAP_INFO, 'utf8'));
    decipher.setAuthTag(sealed.subarray(32));
    return Buffer.concat([decipher.update(sealed.subarray(0, 32)), decipher.final()]);
  } catch {
    throw new DecryptionError(
      'cannot unwrap the session key: not wrapped for this organization key, or tampered',
    );
  }
}
