import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CryptoInputError, decodeHex } from '../encoding';
import { BF2_CONTEXT, H2_CONTEXT } from './constants';
import { parsePeriodStart } from './time';

/** A one-period pseudonym: PRID (the Ed25519 public key, 64 hex) and the private key that signs its share. */
export interface Pseudonym {
  prid: string;
  privateKey: KeyObject;
}

const LEAF_BYTES = 32;
const PRID_BYTES = 32;
/** ASN.1 of an Ed25519 PKCS#8 private key up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const H2_PREFIX = Buffer.from(H2_CONTEXT, 'utf8');

/** The raw 32-byte Ed25519 public key of a private (or public) KeyObject, as 64 hex. */
export function ed25519PublicHex(key: KeyObject): string {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') {
    throw new CryptoInputError('not an Ed25519 key');
  }
  return Buffer.from(x, 'base64url').toString('hex');
}

/** Any 43-character base64url string: Node requires `x` in a private OKP JWK but derives the key from `d`. */
const JWK_X_PLACEHOLDER = 'A'.repeat(43);

/**
 * The Ed25519 private key with this 32-byte seed. Importing it as a JWK (raw seed) takes about 30 us;
 * decoding the equivalent PKCS#8 DER (prefix + seed, RFC 8410) through OpenSSL 3's decoders about 320 us,
 * and a distributor derives two keys per meter per period. Should a Node version ever refuse the JWK form,
 * the DER form gives the same key. The vectors test derives every PRID through the DER form as well.
 */
function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  const d = Buffer.from(seed).toString('base64url');
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: JWK_X_PLACEHOLDER }, format: 'jwk' });
  } catch {
    return createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
  }
}

/** SPRID = H2(t) = SHA-256("smartmeter/aggregate/v1/h2" || t) is the Ed25519 seed; PRID its public key. */
export function pseudonymFromLeaf(leaf: Uint8Array): Pseudonym {
  if (!(leaf instanceof Uint8Array) || leaf.length !== LEAF_BYTES) {
    throw new CryptoInputError(`a pseudonym leaf must be ${LEAF_BYTES} bytes`);
  }
  const privateKey = privateKeyFromSeed(sha256(Buffer.concat([H2_PREFIX, leaf])));
  return { prid: ed25519PublicHex(privateKey), privateKey };
}

/**
 * A PRID as a curve point: canonical encoding only (RFC 8032 decoding, y < p), so every PRID has exactly
 * one spelling and a sum never depends on how a point was written.
 */
export function pridPoint(prid: string): InstanceType<typeof ed25519.Point> {
  decodeHex(prid, PRID_BYTES, 'a PRID');
  try {
    return ed25519.Point.fromHex(prid, false);
  } catch {
    throw new CryptoInputError(`a PRID must encode an Ed25519 point: ${prid}`);
  }
}

/** PRID as a KeyObject for node:crypto's verify; throws CryptoInputError for a non-point. */
export function pridPublicKey(prid: string): KeyObject {
  pridPoint(prid);
  const x = Buffer.from(prid, 'hex').toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/**
 * T = the sum of the PRIDs as Ed25519 points (the paper's product in multiplicative notation), encoded as
 * 64 hex. Point addition is commutative, so any order of the same multiset gives the same T; no PRIDs give
 * the identity point's encoding (01 followed by 31 zero bytes).
 */
export function sumPrids(prids: readonly string[]): string {
  let sum = ed25519.Point.ZERO;
  for (const prid of prids) {
    sum = sum.add(pridPoint(prid));
  }
  return sum.toHex();
}

/** The BF2 entry of a period: SHA-256("smartmeter/aggregate/v1/bf2|" || periodStart || "|" || T), 64 hex. */
export function bf2Entry(periodStart: string, pridSum: string): string {
  parsePeriodStart(periodStart);
  decodeHex(pridSum, PRID_BYTES, 'a PRID sum');
  return Buffer.from(sha256(Buffer.from(`${BF2_CONTEXT}${periodStart}|${pridSum}`, 'utf8'))).toString('hex');
}
