import { createHash } from 'node:crypto';

/**
 * Device configuration (issue 19): what a distributor's configuration administrator sets on its meters. One
 * schema, versioned, that the endorsers check before anything is stored and the meter checks again after it
 * decrypts: a configuration that passes here is one every meter of this schema version can apply.
 */
export const DEVICE_CONFIG_SCHEMA_VERSION = 1;

/** The reading intervals a subscription may have (the Subscription contract allows the same). */
export const READING_INTERVALS_SECONDS = [300, 600, 900, 1800, 3600] as const;
export type ReadingIntervalSeconds = (typeof READING_INTERVALS_SECONDS)[number];

export const DeviceConfigLimits = {
  maxJitterSeconds: 600,
  maxFirmwarePinLength: 64,
  maxTariffNameLength: 64,
  maxMessageLength: 140,
  /** Far above any real meter's alarm level; keeps the integers small. */
  maxThresholdPerHour: 1_000_000_000,
} as const;

export interface DeviceConfig {
  schemaVersion: 1;
  readingIntervalSeconds?: ReadingIntervalSeconds;
  /** The meter delays each report by a random 0..maxJitterSeconds, so that a region does not report at once. */
  maxJitterSeconds?: number;
  /** The firmware version the meter must run, e.g. 2.4.1 or 2.5.0-rc.1. */
  firmwarePin?: string;
  display?: { tariffName?: string; message?: string };
  alertThresholds?: { maxPerHour?: number; leakMinPerHour?: number };
}

const TOP_FIELDS = [
  'schemaVersion',
  'readingIntervalSeconds',
  'maxJitterSeconds',
  'firmwarePin',
  'display',
  'alertThresholds',
];
const SETTING_FIELDS = TOP_FIELDS.filter((field) => field !== 'schemaVersion');
const DISPLAY_FIELDS = ['tariffName', 'message'];
const THRESHOLD_FIELDS = ['maxPerHour', 'leakMinPerHour'];
const SEMVER = /^\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z.-]{1,32})?$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unknownFields(where: string, value: Fields, allowed: readonly string[]): string[] {
  return Object.keys(value)
    .filter((field) => !allowed.includes(field))
    .map((field) => `${where}${field}: unknown field`);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function textError(field: string, value: unknown, maxLength: number): string[] {
  if (typeof value !== 'string' || value.trim().length === 0) return [`${field}: must be a non-empty string`];
  if (value.length > maxLength) return [`${field}: at most ${maxLength} characters (got ${value.length})`];
  if (CONTROL_CHARACTERS.test(value)) return [`${field}: must not contain control characters`];
  return [];
}

function intervalErrors(value: unknown): string[] {
  if (value === undefined) return [];
  return (READING_INTERVALS_SECONDS as readonly unknown[]).includes(value)
    ? []
    : [`readingIntervalSeconds: one of ${READING_INTERVALS_SECONDS.join(', ')}`];
}

function jitterErrors(value: unknown): string[] {
  if (value === undefined || isIntegerIn(value, 0, DeviceConfigLimits.maxJitterSeconds)) return [];
  return [`maxJitterSeconds: an integer from 0 to ${DeviceConfigLimits.maxJitterSeconds}`];
}

function firmwareErrors(value: unknown): string[] {
  if (value === undefined) return [];
  if (
    typeof value !== 'string' ||
    value.length > DeviceConfigLimits.maxFirmwarePinLength ||
    !SEMVER.test(value)
  )
    return ['firmwarePin: a version like 2.4.1 or 2.5.0-rc.1'];
  return [];
}

function displayErrors(value: unknown): string[] {
  if (value === undefined) return [];
  if (!isObject(value)) return ['display: must be an object'];
  const errors = unknownFields('display.', value, DISPLAY_FIELDS);
  if (Object.keys(value).length === 0) errors.push('display: give tariffName or message');
  if (value.tariffName !== undefined)
    errors.push(...textError('display.tariffName', value.tariffName, DeviceConfigLimits.maxTariffNameLength));
  if (value.message !== undefined)
    errors.push(...textError('display.message', value.message, DeviceConfigLimits.maxMessageLength));
  return errors;
}

function thresholdErrors(value: unknown): string[] {
  if (value === undefined) return [];
  if (!isObject(value)) return ['alertThresholds: must be an object'];
  const errors = unknownFields('alertThresholds.', value, THRESHOLD_FIELDS);
  if (Object.keys(value).length === 0) errors.push('alertThresholds: give maxPerHour or leakMinPerHour');
  for (const field of THRESHOLD_FIELDS) {
    const given = value[field];
    if (given !== undefined && !isIntegerIn(given, 1, DeviceConfigLimits.maxThresholdPerHour))
      errors.push(
        `alertThresholds.${field}: a positive integer up to ${DeviceConfigLimits.maxThresholdPerHour}`,
      );
  }
  return errors;
}

/**
 * Checks a configuration against schema version 1; every error names its field, unknown fields included.
 * Nothing is returned when there is any error, so a half-valid configuration cannot be applied or stored.
 */
export function validateDeviceConfig(value: unknown): { config?: DeviceConfig; errors: string[] } {
  if (!isObject(value)) return { errors: ['the configuration must be a JSON object'] };
  const errors = unknownFields('', value, TOP_FIELDS);
  if (value.schemaVersion !== DEVICE_CONFIG_SCHEMA_VERSION)
    errors.push(`schemaVersion: must be ${DEVICE_CONFIG_SCHEMA_VERSION}`);
  if (!SETTING_FIELDS.some((field) => value[field] !== undefined))
    errors.push(`the configuration must set at least one of ${SETTING_FIELDS.join(', ')}`);
  errors.push(
    ...intervalErrors(value.readingIntervalSeconds),
    ...jitterErrors(value.maxJitterSeconds),
    ...firmwareErrors(value.firmwarePin),
    ...displayErrors(value.display),
    ...thresholdErrors(value.alertThresholds),
  );
  return errors.length > 0 ? { errors } : { config: value as unknown as DeviceConfig, errors };
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isObject(value)) return value;
  const sorted: Fields = {};
  for (const key of Object.keys(value).sort()) {
    if (value[key] !== undefined) sorted[key] = sortKeysDeep(value[key]);
  }
  return sorted;
}

/** The bytes that are hashed and sealed: sorted-key JSON, so the admin, the ledger and the meter agree. */
export function canonicalConfigBytes(config: DeviceConfig): Buffer {
  return Buffer.from(JSON.stringify(sortKeysDeep(config)), 'utf8');
}

/** SHA-256 (lowercase hex) of the canonical bytes: what the ledger records and the meter acknowledges. */
export function configHash(config: DeviceConfig): string {
  return createHash('sha256').update(canonicalConfigBytes(config)).digest('hex');
}
