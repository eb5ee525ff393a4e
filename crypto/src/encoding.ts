/** Strict base64 (standard alphabet, padded): rejects anything Buffer.from would silently skip. */
export function decodeBase64(value: string, what: string): Buffer {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length % 4 !== 0 ||
    !/^[A-Za-z0-9+/]*={0,2}$/.test(value)
  ) {
    throw new CryptoInputError(`${what} must be standard padded base64`);
  }
  return Buffer.from(value, 'base64');
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function decodeHex(value: string, bytes: number, what: string): Buffer {
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(value)) {
    throw new CryptoInputError(`${what} must be ${bytes * 2} lowercase hex characters`);
  }
  return Buffer.from(value, 'hex');
}

/** Input that cannot be used (wrong length, not base64, wrong curve, ...). */
export class CryptoInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CryptoInputError';
  }
}

/** Authenticated decryption failed: wrong key, tampered data, or data moved to another slot. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}
