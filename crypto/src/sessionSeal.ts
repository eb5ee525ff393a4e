import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoInputError } from './encoding';
import { requireSessionKey } from './sessionKey';

/** nonce (12) | AES-256-GCM ciphertext | tag (16): how a blob sealed under a session key is laid out. */
export const SESSION_SEAL_NONCE_BYTES = 12;
export const SESSION_SEAL_TAG_BYTES = 16;
export const SESSION_SEAL_OVERHEAD = SESSION_SEAL_NONCE_BYTES + SESSION_SEAL_TAG_BYTES;

export function sealWithSessionKey(
  plaintext: Uint8Array,
  sessionKey: Uint8Array,
  aad: Uint8Array,
  nonce: Uint8Array = randomBytes(SESSION_SEAL_NONCE_BYTES),
): Buffer {
  requireSessionKey(sessionKey);
  if (nonce.length !== SESSION_SEAL_NONCE_BYTES)
    throw new CryptoInputError(`nonce must be ${SESSION_SEAL_NONCE_BYTES} bytes`);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(sessionKey), Buffer.from(nonce));
  cipher.setAAD(aad);
  return Buffer.concat([Buffer.from(nonce), cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Throws whatever GCM throws on a wrong key, AAD or a changed byte: callers turn it into their DecryptionError. */
export function openWithSessionKey(sealed: Uint8Array, sessionKey: Uint8Array, aad: Uint8Array): Buffer {
  requireSessionKey(sessionKey);
  const bytes = Buffer.from(sealed);
  if (bytes.length < SESSION_SEAL_OVERHEAD) throw new CryptoInputError('a sealed blob is too short');
  const decipher = createDecipheriv(
    'aes-256-gcm',
    Buffer.from(sessionKey),
    bytes.subarray(0, SESSION_SEAL_NONCE_BYTES),
  );
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - SESSION_SEAL_TAG_BYTES));
  return Buffer.concat([
    decipher.update(bytes.subarray(SESSION_SEAL_NONCE_BYTES, bytes.length - SESSION_SEAL_TAG_BYTES)),
    decipher.final(),
  ]);
}
