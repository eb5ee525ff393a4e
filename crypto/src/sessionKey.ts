import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { randomBytes } from 'node:crypto';
import { CryptoInputError, decodeHex } from './encoding';

export const SESSION_KEY_BYTES = 32;
const PAIRING_CONTEXT = 'smartmeter/pairing/v1';

/** A fresh 32-byte session key, created by the subscriber. */
export function newSessionKey(): Buffer {
  return randomBytes(SESSION_KEY_BYTES);
}

export function requireSessionKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== SESSION_KEY_BYTES) {
    throw new CryptoInputError(`a session key is ${SESSION_KEY_BYTES} bytes`);
  }
}

/** keyId: the first 16 bytes of SHA-256(key), as 32 lowercase hex characters. Safe to publish. */
export function keyIdOf(key: Uint8Array): string {
  requireSessionKey(key);
  return Buffer.from(sha256(key).subarray(0, 16)).toString('hex');
}

export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}

/**
 * What the meter reveals to prove it holds the session key: HMAC-SHA-256 under the session key over the
 * meter id and keyId. Revealing it does not reveal the key.
 */
export function pairingProof(sessionKey: Uint8Array, meterId: string): string {
  const message = `${PAIRING_CONTEXT}|${meterId}|${keyIdOf(sessionKey)}`;
  return Buffer.from(hmac(sha256, sessionKey, Buffer.from(message, 'utf8'))).toString('hex');
}

/** What the subscriber puts on the ledger at request time: SHA-256 of the pairing proof. */
export function pairingCommitment(proofHex: string): string {
  return Buffer.from(sha256(decodeHex(proofHex, 32, 'pairing proof'))).toString('hex');
}

/** Checks a revealed proof against the commitment (both hex). */
export function pairingProofMatches(proofHex: string, commitmentHex: string): boolean {
  return pairingCommitment(proofHex) === commitmentHex;
}
