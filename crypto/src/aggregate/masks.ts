import { sha256 } from '@noble/hashes/sha2';
import { randomInt } from 'node:crypto';
import { CryptoInputError } from '../encoding';
import { H3_CONTEXT, SHARE_RANGE_MAX, SHARE_RANGE_MIN } from './constants';
import type { PeriodSecrets } from './periodSecrets';

const LEAF_BYTES = 32;
/** SHARE_RANGE_MAX - SHARE_RANGE_MIN + 1 = 2^32 + 1 values. */
const RANGE_SIZE = SHARE_RANGE_MAX - SHARE_RANGE_MIN + 1n;
const H3_PREFIX = Buffer.from(H3_CONTEXT, 'utf8');

/**
 * H3(z) = (SHA-256("smartmeter/aggregate/v1/h3" || z) read as a big-endian integer mod (2^32 + 1)) - 2^31,
 * in [-2^31, 2^31]. The bias of reducing 256 bits mod 2^32 + 1 is below 2^-220.
 */
export function h3(leaf: Uint8Array): bigint {
  if (!(leaf instanceof Uint8Array) || leaf.length !== LEAF_BYTES) {
    throw new CryptoInputError(`an H3 input (a GGM leaf) must be ${LEAF_BYTES} bytes`);
  }
  return digestToShareRange(sha256(Buffer.concat([H3_PREFIX, leaf])));
}

/** A 32-byte digest, read as a big-endian integer, reduced mod (2^32 + 1) and shifted to [-2^31, 2^31]. */
export function digestToShareRange(digest: Uint8Array): bigint {
  return (BigInt(`0x${Buffer.from(digest).toString('hex')}`) % RANGE_SIZE) + SHARE_RANGE_MIN;
}

/**
 * c': uniform in [-2^31, 2^31] (2^32 + 1 values) from node:crypto's randomInt, which rejection-samples the
 * CSPRNG (its range limit is 2^48, far above what this needs).
 */
export function randomSplitPart(): bigint {
  return BigInt(randomInt(Number(SHARE_RANGE_MIN), Number(SHARE_RANGE_MAX) + 1));
}

/** Z = sum over the meters of H3(z) + H3(z'): what the distributor publishes so the round's load can be unmasked. */
export function maskSum(secrets: readonly PeriodSecrets[]): bigint {
  let sum = 0n;
  for (const entry of secrets) {
    const masks: readonly unknown[] = [entry.firstMask, entry.secondMask];
    for (const mask of masks) {
      if (typeof mask !== 'bigint' || mask < SHARE_RANGE_MIN || mask > SHARE_RANGE_MAX) {
        throw new CryptoInputError('a period mask must be a bigint in [-2^31, 2^31]');
      }
      sum += mask;
    }
  }
  return sum;
}
