import { createHmac } from 'node:crypto';
import { CryptoInputError, DecryptionError } from './encoding';
import { keyIdOf, requireSessionKey } from './sessionKey';
import { openWithSessionKey, sealWithSessionKey, SESSION_SEAL_OVERHEAD } from './sessionSeal';

/**
 * A finding the distributor confirms (issue 19) rests on the ledger sealed under the subscription's session key,
 * so only those who hold that key open it: the household, its distributor and, in disclosed mode only, the
 * authority. Two things would otherwise leak:
 *
 * - The finding's id. `anomalyId` is a hash of subscription, kind and period start: anyone who knows the
 *   subscription id could try the five kinds at every half hour of a year (under 100,000 hashes) and learn what
 *   was found and when. The ledger keys a confirmation by a tag keyed with the session key instead, which only
 *   the key holders can compute, and which is still the same for the same finding, so a replay is refused.
 * - Its length. The plaintext (JSON) is padded with spaces to one size, so every sealed finding is as long as
 *   every other whatever its evidence says.
 */
export const CONFIRMED_ANOMALY_PLAINTEXT_BYTES = 2048;
/** nonce (12) | ciphertext (2048) | GCM tag (16). */
export const SEALED_ANOMALY_BYTES = CONFIRMED_ANOMALY_PLAINTEXT_BYTES + SESSION_SEAL_OVERHEAD;
const TAG_CONTEXT = 'smartmeter/anomaly-tag/v1';
const AAD_CONTEXT = 'smartmeter/confirmed-anomaly/v1';

/** What a sealed finding is bound to: opened for another subscription, channel or tag, it does not open. */
export interface ConfirmedAnomalySlot {
  channel: string;
  subscriptionId: string;
  /** anomalyTagOf(sessionKey, subscriptionId, anomalyId). */
  anomalyTag: string;
}

/** The ledger's name for one finding: HMAC-SHA-256 under the session key, first 16 bytes, lowercase hex. */
export function anomalyTagOf(sessionKey: Uint8Array, subscriptionId: string, anomalyId: string): string {
  requireSessionKey(sessionKey);
  if (!/^[0-9a-f]{32}$/.test(anomalyId))
    throw new CryptoInputError('anomalyId must be 32 lowercase hex characters');
  return createHmac('sha256', Buffer.from(sessionKey))
    .update(`${TAG_CONTEXT}|${subscriptionId}|${anomalyId}`)
    .digest('hex')
    .slice(0, 32);
}

export function isAnomalyTag(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}

function aadOf(slot: ConfirmedAnomalySlot, keyId: string): Buffer {
  for (const [name, value] of Object.entries(slot)) {
    if (typeof value !== 'string' || value.length === 0 || value.includes('|'))
      throw new CryptoInputError(`the confirmed anomaly's ${name} must be a non-empty string without "|"`);
  }
  return Buffer.from(
    `${AAD_CONTEXT}|${slot.channel}|${slot.subscriptionId}|${slot.anomalyTag}|${keyId}`,
    'utf8',
  );
}

/** Seals a confirmed finding (its JSON) under the session key; a CryptoInputError when it is too long. */
export function sealConfirmedAnomaly(
  json: string,
  sessionKey: Uint8Array,
  slot: ConfirmedAnomalySlot,
  nonce?: Uint8Array,
): Buffer {
  requireSessionKey(sessionKey);
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > CONFIRMED_ANOMALY_PLAINTEXT_BYTES)
    throw new CryptoInputError(
      `a confirmed finding holds at most ${CONFIRMED_ANOMALY_PLAINTEXT_BYTES} bytes of JSON (got ${bytes.length})`,
    );
  const padded = Buffer.alloc(CONFIRMED_ANOMALY_PLAINTEXT_BYTES, ' ');
  bytes.copy(padded);
  return sealWithSessionKey(padded, sessionKey, aadOf(slot, keyIdOf(sessionKey)), nonce);
}

/** Opens a sealed finding to its JSON text (padding removed); a DecryptionError for another key, slot or a changed byte. */
export function openConfirmedAnomaly(
  sealed: Uint8Array,
  sessionKey: Uint8Array,
  slot: ConfirmedAnomalySlot,
): string {
  requireSessionKey(sessionKey);
  const bytes = Buffer.from(sealed);
  if (bytes.length !== SEALED_ANOMALY_BYTES)
    throw new CryptoInputError(`a sealed finding is ${SEALED_ANOMALY_BYTES} bytes (got ${bytes.length})`);
  // A malformed slot is the caller's input error, not a finding that fails to open: built outside the try.
  const aad = aadOf(slot, keyIdOf(sessionKey));
  try {
    const padded = openWithSessionKey(bytes, sessionKey, aad);
    return padded.toString('utf8').trimEnd();
  } catch {
    throw new DecryptionError('the confirmed finding does not open: wrong key, tampered, or another slot');
  }
}
