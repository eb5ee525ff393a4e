import { hkdfSync } from 'node:crypto';
import { CryptoInputError } from '../encoding';
import { requireSessionKey } from '../sessionKey';
import { AGGREGATE_SALT, AGGREGATE_SEED_INFO_PREFIX, AGGREGATE_SLOT_SECONDS } from './constants';
import { requireEpochSeconds, requirePeriodStartSeconds } from './time';

/** The four GGM roots of a month: s and s' for the two pseudonyms, r and r' for the two masks. */
export type SeedName = 's' | "s'" | 'r' | "r'";

export interface MonthlySeeds {
  s: Buffer;
  sPrime: Buffer;
  r: Buffer;
  rPrime: Buffer;
}

const SEED_BYTES = 32;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function requireMonth(month: string): void {
  if (typeof month !== 'string' || !MONTH.test(month)) {
    throw new CryptoInputError('month must be YYYY-MM (UTC), like 2026-01');
  }
}

function seed(sessionKey: Uint8Array, name: SeedName, month: string): Buffer {
  const info = `${AGGREGATE_SEED_INFO_PREFIX}${name}/${month}`;
  return Buffer.from(hkdfSync('sha256', sessionKey, AGGREGATE_SALT, info, SEED_BYTES));
}

/**
 * seed(name) = HKDF-SHA-256(ikm = session key, salt = "smartmeter/aggregate/v1",
 * info = "smartmeter/aggregate/v1/seed/<name>/<YYYY-MM>", 32 bytes).
 */
export function monthlySeeds(sessionKey: Uint8Array, month: string): MonthlySeeds {
  requireSessionKey(sessionKey);
  requireMonth(month);
  return {
    s: seed(sessionKey, 's', month),
    sPrime: seed(sessionKey, "s'", month),
    r: seed(sessionKey, 'r', month),
    rPrime: seed(sessionKey, "r'", month),
  };
}

/** The UTC month 'YYYY-MM' that contains an instant (seconds since the epoch). */
export function monthOf(periodStartSeconds: number): string {
  requireEpochSeconds(periodStartSeconds, 'periodStart');
  return new Date(periodStartSeconds * 1000).toISOString().slice(0, 7);
}

/** The GGM leaf index of a period: (periodStart - monthStart) / 300. The start must be slot-aligned. */
export function slotIndex(periodStartSeconds: number): number {
  requirePeriodStartSeconds(periodStartSeconds);
  const start = new Date(periodStartSeconds * 1000);
  const monthStartMillis = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1);
  return (periodStartSeconds - monthStartMillis / 1000) / AGGREGATE_SLOT_SECONDS;
}
