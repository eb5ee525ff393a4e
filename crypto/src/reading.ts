import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoInputError, decodeBase64, DecryptionError, encodeBase64 } from './encoding';
import { keyIdOf, requireSessionKey } from './sessionKey';

export const UTILITIES = ['electricity', 'gas', 'water'] as const;
export type Utility = (typeof UTILITIES)[number];
/** The unit each utility is metered in: energy in watt-hours, gas and water volume in litres. */
export const UNIT_OF: Readonly<Record<Utility, string>> = { electricity: 'Wh', gas: 'L', water: 'L' };
export const QUALITIES = ['measured', 'estimated'] as const;
export type Quality = (typeof QUALITIES)[number];

/**
 * The plaintext of one reading. `energyWh` is the integer quantity consumed in the period, in `unit`
 * (for electricity, watt-hours).
 */
export interface ReadingPayload {
  energyWh: number;
  utility: Utility;
  unit: string;
  quality: Quality;
}

/** Which ledger slot a reading belongs to; bound into the ciphertext as additional authenticated data. */
export interface ReadingSlot {
  channel: string;
  subscriptionId: string;
  sequence: number;
  /** ISO 8601 UTC, seconds precision: 2026-01-15T10:00:00Z. */
  periodStart: string;
}

export interface EncryptedReading {
  /** AES-256-GCM ciphertext followed by its 16-byte tag, base64. */
  ciphertext: string;
  /** 12-byte nonce, base64. */
  nonce: string;
  keyId: string;
}

export function validatePayload(payload: ReadingPayload): ReadingPayload {
  const { energyWh, utility, unit, quality } = payload;
  if (!Number.isSafeInteger(energyWh) || energyWh < 0)
    throw new CryptoInputError('energyWh must be a non-negative integer');
  if (!UTILITIES.includes(utility))
    throw new CryptoInputError(`utility must be one of ${UTILITIES.join(', ')}`);
  if (unit !== UNIT_OF[utility]) throw new CryptoInputError(`the unit of ${utility} is ${UNIT_OF[utility]}`);
  if (!QUALITIES.includes(quality))
    throw new CryptoInputError(`quality must be one of ${QUALITIES.join(', ')}`);
  return { energyWh, utility, unit, quality };
}

/** channel | subscriptionId | sequence | periodStart: a ciphertext only decrypts in the slot it was made for. */
export function readingAad(slot: ReadingSlot): Buffer {
  return Buffer.from(`${slot.channel}|${slot.subscriptionId}|${slot.sequence}|${slot.periodStart}`, 'utf8');
}

/**
 * Every reading's plaintext is this long: its JSON padded with spaces (JSON allows trailing whitespace). So is
 * every ciphertext (plus the 16-byte tag), whatever the value: the length of a ciphertext on the ledger must not
 * tell how many digits a household's consumption has.
 */
export const READING_PLAINTEXT_BYTES = 128;
export const READING_CIPHERTEXT_BYTES = READING_PLAINTEXT_BYTES + 16;

/** Payload bytes with a fixed key order and a fixed length, so equal readings encrypt equal plaintexts. */
function payloadBytes(payload: ReadingPayload): Buffer {
  const { energyWh, quality, unit, utility } = validatePayload(payload);
  const json = Buffer.from(JSON.stringify({ energyWh, quality, unit, utility }), 'utf8');
  if (json.length > READING_PLAINTEXT_BYTES)
    throw new CryptoInputError(`a reading's plaintext exceeds ${READING_PLAINTEXT_BYTES} bytes`);
  return Buffer.concat([json, Buffer.alloc(READING_PLAINTEXT_BYTES - json.length, 0x20)]);
}

export function encryptReading(
  payload: ReadingPayload,
  sessionKey: Uint8Array,
  slot: ReadingSlot,
  nonce: Uint8Array = randomBytes(12),
): EncryptedReading {
  requireSessionKey(sessionKey);
  if (nonce.length !== 12) throw new CryptoInputError('nonce must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(sessionKey), Buffer.from(nonce));
  cipher.setAAD(readingAad(slot));
  const sealed = Buffer.concat([cipher.update(payloadBytes(payload)), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: encodeBase64(sealed), nonce: encodeBase64(nonce), keyId: keyIdOf(sessionKey) };
}

export function decryptReading(
  encrypted: EncryptedReading,
  sessionKey: Uint8Array,
  slot: ReadingSlot,
): ReadingPayload {
  requireSessionKey(sessionKey);
  if (encrypted.keyId !== keyIdOf(sessionKey)) {
    throw new DecryptionError(
      `reading was encrypted under key ${encrypted.keyId}, not ${keyIdOf(sessionKey)}`,
    );
  }
  const sealed = decodeBase64(encrypted.ciphertext, 'ciphertext');
  const nonce = decodeBase64(encrypted.nonce, 'nonce');
  if (sealed.length < 17 || nonce.length !== 12)
    throw new CryptoInputError('ciphertext or nonce has the wrong length');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(sessionKey), nonce);
    decipher.setAAD(readingAad(slot));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new DecryptionError('reading does not decrypt: wrong key, tampered, or moved to another slot');
  }
  let parsed: ReadingPayload;
  try {
    parsed = JSON.parse(plaintext.toString('utf8')) as ReadingPayload;
  } catch {
    throw new CryptoInputError('the reading decrypts, but not to a reading');
  }
  return validatePayload(parsed);
}
