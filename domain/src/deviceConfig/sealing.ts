import { CryptoInputError, DecryptionError, openSealed, sealForRecipient } from '@smartmeter/crypto';
import { DEVICE_CONFIG_PADDED_BYTES } from './records';
import { canonicalConfigBytes, configHash, validateDeviceConfig, type DeviceConfig } from './schema';

/** Why a sealed configuration cannot be applied; the meter acknowledges `refused` with the message. */
export type DeviceConfigErrorCode = 'UNREADABLE' | 'NOT_JSON' | 'SCHEMA' | 'HASH_MISMATCH';

export class DeviceConfigError extends Error {
  constructor(
    readonly code: DeviceConfigErrorCode,
    text: string,
  ) {
    super(`${code}: ${text}`);
    this.name = 'DeviceConfigError';
  }
}

/** The canonical configuration sealed for one device key, padded to DEVICE_CONFIG_PADDED_BYTES. */
export function sealConfigForDevice(
  config: DeviceConfig,
  devicePublicKeyPem: string,
  context: string,
): Buffer {
  return sealForRecipient(
    canonicalConfigBytes(config),
    devicePublicKeyPem,
    context,
    DEVICE_CONFIG_PADDED_BYTES,
  );
}

function openBytes(sealed: Uint8Array, devicePrivateKeyPem: string, context: string): Buffer {
  try {
    return openSealed(sealed, devicePrivateKeyPem, context);
  } catch (err) {
    if (err instanceof DecryptionError || err instanceof CryptoInputError)
      throw new DeviceConfigError('UNREADABLE', err.message);
    throw err;
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DeviceConfigError('NOT_JSON', 'the opened configuration is not JSON');
  }
}

/**
 * What the meter does with a published version before applying it: open it with its device key, parse it,
 * validate it again (the meter trusts no one's validation but its own) and check it is the version whose hash
 * the ledger recorded.
 */
export function openConfigForDevice(
  sealed: Uint8Array | string,
  devicePrivateKeyPem: string,
  context: string,
  expectedHash: string,
): DeviceConfig {
  const bytes = typeof sealed === 'string' ? Buffer.from(sealed, 'base64') : sealed;
  const { config, errors } = validateDeviceConfig(parseJson(openBytes(bytes, devicePrivateKeyPem, context)));
  if (!config) throw new DeviceConfigError('SCHEMA', errors.join('; '));
  const hash = configHash(config);
  if (hash !== expectedHash)
    throw new DeviceConfigError('HASH_MISMATCH', `the configuration hashes to ${hash}, not ${expectedHash}`);
  return config;
}
