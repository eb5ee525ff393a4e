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

/** An identifier: letters, digits, dot, underscore, hyphen; 1 to 64 characters. */
export function requireIdentifier(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(value)) {
    throw invalidArgument(`${name} must be 1-64 characters of letters, digits, '.', '_' or '-'`);
  }
  return value;
}

/** Transaction ids are 64 lowercase hex characters. */
export function requireTxId(name: string, value: unknown): string {
  return requireHex(name, value, 32, 'a transaction id');
}

export function requireHex(
  name: string,
  value: unknown,
  bytes: number,
  what = `${bytes * 2} hex characters`,
): string {
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(value)) {
    throw invalidArgument(`${name} must be ${what} (${bytes * 2} lowercase hex characters)`);
  }
  return value;
}

export function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Integers arrive as strings in transaction arguments. */
export function parseIntegerArgument(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) {
    throw invalidArgument(`${name} must be an integer from ${min} to ${max}`);
  }
  return requireInteger(name, Number(value), min, max);
}

function parseJsonText(name: string, value: unknown, maxLength: number, kind: string): unknown {
  if (typeof value !== 'string' || value.length > maxLength) {
    throw invalidArgument(`${name} must be a JSON ${kind} of at most ${maxLength} characters`);
  }
  try {
    return JSON.parse(value);
  } catch {
    throw invalidArgument(`${name} is not valid JSON`);
  }
}

/** Parses a JSON object argument; the caller then validates each field. */
export function parseJsonObject(
  name: string,
  value: unknown,
  maxLength = 64 * 1024,
): Record<string, unknown> {
  const parsed = parseJsonText(name, value, maxLength, 'object');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidArgument(`${name} must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

export function parseJsonArray(name: string, value: unknown, maxLength: number): unknown[] {
  const parsed = parseJsonText(name, value, maxLength, 'array');
  if (!Array.isArray(parsed)) throw invalidArgument(`${name} must be a JSON array`);
  return parsed;
}

/** Ids the chaincode derives from transaction ids: a prefix, an underscore, 24 lowercase hex characters. */
export function requireDerivedId(name: string, prefix: string, value: unknown): string {
  if (typeof value !== 'string' || !new RegExp(`^${prefix}_[0-9a-f]{24}$`).test(value)) {
    throw invalidArgument(`${name} must look like ${prefix}_ followed by 24 lowercase hex characters`);
  }
  return value;
}

/** Rejects fields a JSON argument must not carry (typos, or personal data smuggled in extra fields). */
export function requireOnlyFields(
  name: string,
  value: Record<string, unknown>,
  allowed: readonly string[],
): void {
  const extra = Object.keys(value).filter((field) => !allowed.includes(field));
  if (extra.length > 0) throw invalidArgument(`${name} has unknown field(s): ${extra.join(', ')}`);
}

export const MAX_PAGE_SIZE = 100;

export function parsePageSize(value: unknown): number {
  return parseIntegerArgument('pageSize', value, 1, MAX_PAGE_SIZE);
}

export function parseBookmark(value: unknown): string {
  if (typeof value !== 'string' || value.length > 1024) throw invalidArgument('bookmark must be a string');
  return value;
}

/** An element of a JSON argument that must be an object (a batch entry, a target, a grant). */
export function requireObject(where: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The bytes of a base64 argument, which must be canonical: one spelling per value, so two peers store one text. */
export function requireCanonicalBase64(name: string, value: unknown): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw invalidArgument(`${name} must be base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw invalidArgument(`${name} must be canonical base64`);
  return bytes;
}
