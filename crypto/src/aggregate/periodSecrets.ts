import { sha256 } from '@noble/hashes/sha2';
import { requireSessionKey } from '../sessionKey';
import { ggmLeaf } from './ggm';
import { h3 } from './masks';
import { pseudonymFromLeaf, type Pseudonym } from './pseudonym';
import { monthlySeeds, monthOf, slotIndex, type MonthlySeeds } from './seeds';
import { isoSeconds } from './time';

/** Everything one meter needs for one period (and the distributor recomputes): two pseudonyms, two masks. */
export interface PeriodSecrets {
  /** ISO 8601 UTC, seconds precision. */
  periodStart: string;
  /** PRID_k and its key (from seed s). */
  first: Pseudonym;
  /** PRID'_k and its key (from seed s'). */
  second: Pseudonym;
  /** H3(z_k), z_k = f_r(k): added to the first share. */
  firstMask: bigint;
  /** H3(z'_k), z'_k = f_r'(k): added to the second share. */
  secondMask: bigint;
}

/**
 * Month seeds by (SHA-256 of the session key, month). A meter derives one period at a time and the
 * distributor every meter's periods of a day, so the four HKDF calls are worth keeping; the bound keeps a
 * distributor with many households from holding every month's seeds forever (the oldest entry goes first).
 * The key is the whole digest rather than the 16-byte keyId, so two households cannot share an entry even
 * by grinding a keyId collision (2^64 work).
 */
const SEED_CACHE_LIMIT = 4096;
const seedCache = new Map<string, Readonly<MonthlySeeds>>();

function cachedMonthlySeeds(sessionKey: Uint8Array, month: string): Readonly<MonthlySeeds> {
  const cacheKey = `${Buffer.from(sha256(sessionKey)).toString('hex')}|${month}`;
  const cached = seedCache.get(cacheKey);
  if (cached) {
    return cached;
  }
  const seeds = monthlySeeds(sessionKey, month);
  if (seedCache.size >= SEED_CACHE_LIMIT) {
    const oldest = seedCache.keys().next();
    if (!oldest.done) {
      seedCache.delete(oldest.value);
    }
  }
  seedCache.set(cacheKey, seeds);
  return seeds;
}

/** The secrets of the period that starts at `periodStartSeconds` (slot-aligned), under a household's session key. */
export function periodSecrets(sessionKey: Uint8Array, periodStartSeconds: number): PeriodSecrets {
  requireSessionKey(sessionKey);
  const index = slotIndex(periodStartSeconds);
  const seeds = cachedMonthlySeeds(sessionKey, monthOf(periodStartSeconds));
  return {
    periodStart: isoSeconds(periodStartSeconds, 'periodStart'),
    first: pseudonymFromLeaf(ggmLeaf(seeds.s, index)),
    second: pseudonymFromLeaf(ggmLeaf(seeds.sPrime, index)),
    firstMask: h3(ggmLeaf(seeds.r, index)),
    secondMask: h3(ggmLeaf(seeds.rPrime, index)),
  };
}
