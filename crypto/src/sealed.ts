import { createCipheriv, createDecipheriv, createECDH, randomBytes } from 'node:crypto';
import { CryptoInputError, DecryptionError } from './encoding';
import { eciesKey, privateScalarOf, publicPointOf, type WrapRandomness } from './keyWrap';

/**
 * Data sealed for one recipient's P-256 public key (ECIES, the same construction as session-key wrapping but
 * with its own HKDF info): a fresh ephemeral key per message, so every message has its own data key, which only
 * the holder of the recipient's private key can derive. `context` (e.g. a request id) is the AES-GCM AAD: a
 * sealed blob handed over for one purpose does not open as another.
 *
 * Layout: version (1) | ephemeral point (65) | nonce (12) | ciphertext | tag (16). The plaintext is padded to a
 * fixed size first (4-byte big-endian length, data, zeros), so the length of what is sealed tells nothing about
 * the data.
 */
export const SEALED_VERSION = 1;
export const SEALED_INFO = 'smartmeter/sealed-for-recipient/ecies-p256-hkdf-sha256-aes256gcm/v1';
const HEADER_BYTES = 1 + 65 + 12;
const TAG_BYTES = 16;
const LENGTH_BYTES = 4;

/** The size of a sealed message whose plaintext was padded to `paddedBytes`. */
export function sealedSize(paddedBytes: number): number {
  return HEADER_BYTES + paddedBytes + TAG_BYTES;
}

/** The most data that fits a padded size. */
export function maxSealedData(paddedBytes: number): number {
  return paddedBytes - LENGTH_BYTES;
}

export function sealForRecipient(
  data: Uint8Array,
  recipientPublicKeyPem: string,
  context: string,
  paddedBytes: number,
  randomness?: WrapRandomness,
): Buffer {
  if (data.length > maxSealedData(paddedBytes)) {
    throw new CryptoInputError(
      `at most ${maxSealedData(paddedBytes)} bytes can be sealed (got ${data.length})`,
    );
  }
  const padded = Buffer.alloc(paddedBytes);
  padded.writeUInt32BE(data.length, 0);
  Buffer.from(data).copy(padded, LENGTH_BYTES);
  const recipientPoint = publicPointOf(recipientPublicKeyPem);
  const ephemeral = createECDH('prime256v1');
  if (randomness) ephemeral.setPrivateKey(Buffer.from(randomness.ephemeralPrivateKey));
  else ephemeral.generateKeys();
  const ephemeralPoint = ephemeral.getPublicKey();
  const key = eciesKey(ephemeral.computeSecret(recipientPoint), ephemeralPoint, recipientPoint, SEALED_INFO);
  const nonce = Buffer.from(randomness?.nonce ?? randomBytes(12));
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  return Buffer.concat([
    Buffer.from([SEALED_VERSION]),
    ephemeralPoint,
    nonce,
    cipher.update(padded),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
}

/** Checks what the chaincode can check without the key: version, point, and exactly the padded size. */
export function validateSealed(sealed: Uint8Array, paddedBytes: number): void {
  if (sealed.length !== sealedSize(paddedBytes)) {
    throw new CryptoInputError(
      `sealed data must be exactly ${sealedSize(paddedBytes)} bytes (got ${sealed.length})`,
    );
  }
  if (sealed[0] !== SEALED_VERSION)
    throw new CryptoInputError(`sealed data version must be ${SEALED_VERSION}`);
  if (sealed[1] !== 4) throw new CryptoInputError('sealed data must start with an uncompressed P-256 point');
}

export function openSealed(sealed: Uint8Array, recipientPrivateKeyPem: string, context: string): Buffer {
  const bytes = Buffer.from(sealed);
  if (bytes.length < HEADER_BYTES + LENGTH_BYTES + TAG_BYTES || bytes[0] !== SEALED_VERSION) {
    throw new CryptoInputError('not sealed data of a known version');
  }
  const ephemeralPoint = bytes.subarray(1, 66);
  const nonce = bytes.subarray(66, HEADER_BYTES);
  const recipient = createECDH('prime256v1');
  recipient.setPrivateKey(privateScalarOf(recipientPrivateKeyPem));
  let padded: Buffer;
  try {
    const key = eciesKey(
      recipient.computeSecret(ephemeralPoint),
      ephemeralPoint,
      recipient.getPublicKey(),
      SEALED_INFO,
    );
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    padded = Buffer.concat([
      decipher.update(bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError(
      'sealed data does not open: not sealed for this key, for another purpose, or tampered',
    );
  }
  const length = padded.readUInt32BE(0);
  if (length > padded.length - LENGTH_BYTES) throw new DecryptionError('sealed data has a bad length');
  return padded.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
}
