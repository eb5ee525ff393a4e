import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoInputError, DecryptionError } from './encoding';
import { requireSessionKey } from './sessionKey';

/**
 * A household's personal data (name, address, ...) sealed with its session key: nonce (12) | ciphertext |
 * tag (16). The AAD binds it to the subscription, so a sealed blob handed over for one subscription does not
 * open as another's. It only ever leaves the household as transient data on a consented request.
 */
export function personalDataAad(subscriptionId: string): Buffer {
  return Buffer.from(`personal-data|${subscriptionId}`, 'utf8');
}

export function sealPersonalData(
  plaintext: Uint8Array,
  sessionKey: Uint8Array,
  subscriptionId: string,
  nonce: Uint8Array = randomBytes(12),
): Buffer {
  requireSessionKey(sessionKey);
  if (nonce.length !== 12) throw new CryptoInputError('nonce must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(sessionKey), Buffer.from(nonce));
  cipher.setAAD(personalDataAad(subscriptionId));
  return Buffer.concat([Buffer.from(nonce), cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function openPersonalData(sealed: Uint8Array, sessionKey: Uint8Array, subscriptionId: string): Buffer {
  requireSessionKey(sessionKey);
  const bytes = Buffer.from(sealed);
  if (bytes.length < 28) throw new CryptoInputError('sealed personal data is too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(sessionKey), bytes.subarray(0, 12));
    decipher.setAAD(personalDataAad(subscriptionId));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
  } catch {
    throw new DecryptionError('personal data does not open: wrong key, tampered, or another subscription');
  }
}

/**
 * Personal data handed to a requesting organization is padded to this size before it is sealed for the
 * request's key, so every grant on the ledger's transient path has the same length whatever the name or
 * address.
 */
export const PERSONAL_DATA_PADDED_BYTES = 8192;
