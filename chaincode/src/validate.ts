import { invalidArgument } from './contractError';

/** A non-empty, trimmed string of at most maxLength characters without control characters. */
export function requireText(name: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw invalidArgument(`${name} must be a non-empty string`);
  }
  if (value.length > maxLength) {
    throw invalidArgument(`${name} must be at most ${maxLength} characters (got ${value.length})`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw invalidArgument(`${name} must not contain control characters`);
  }
  return value;
}

/** Transaction ids are 64 lowercase hex characters. */
export function requireTxId(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw invalidArgument(`${name} must be a transaction id (64 lowercase hex characters)`);
  }
  return value;
}
