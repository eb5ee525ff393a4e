import { CryptoInputError, DecryptionError } from './encoding';
import { requireSessionKey } from './sessionKey';
import { openWithSessionKey, sealWithSessionKey, SESSION_SEAL_OVERHEAD } from './sessionSeal';

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
  nonce?: Uint8Array,
): Buffer {
  return sealWithSessionKey(plaintext, sessionKey, personalDataAad(subscriptionId), nonce);
}

export function openPersonalData(sealed: Uint8Array, sessionKey: Uint8Array, subscriptionId: string): Buffer {
  requireSessionKey(sessionKey);
  if (sealed.length < SESSION_SEAL_OVERHEAD) throw new CryptoInputError('sealed personal data is too short');
  try {
    return openWithSessionKey(sealed, sessionKey, personalDataAad(subscriptionId));
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
