/** Length of one aggregate slot; a month's GGM leaf index counts these from 00:00:00Z on the 1st. */
export const AGGREGATE_SLOT_SECONDS = 300;

/** 31 days x 288 slots = 8,928 leaves < 2^14. */
export const GGM_DEPTH = 14;

/** H3 masks and the random split part c' are integers in [SHARE_RANGE_MIN, SHARE_RANGE_MAX]. */
export const SHARE_RANGE_MIN = -(2n ** 31n);
export const SHARE_RANGE_MAX = 2n ** 31n;

/** A share's value is rc = c' + H3(z) (or c'' + H3(z')), so |value| <= 2^33 covers any reading up to 2^32 Wh. */
export const SHARE_VALUE_LIMIT = 2n ** 33n;

/**
 * False-positive rate of BF1 (every PRID of a region's aggregate meters for a day).
 *
 * BF1 is public, so a false positive is not bad luck but a work factor: an attacker who generates Ed25519
 * keys offline and tests each public key against the published filter finds one that BF1 accepts after
 * about 1/p key generations (2^30 here: hours on one machine, not years). Such a forged share passes the
 * BF1 check, but it still changes T (the sum of the round's PRIDs), so the BF2 check in CloseRound marks
 * the round FAULT and the distributor's fault scan finds a PRID that is none of its meters. The rate
 * therefore buys cost for a disruption that is detected anyway; it is sized per bit spent per element
 * (-log2(p) x 1.44 = about 43 bits per PRID). The rate holds only because buildBloomFilter splits each item
 * into independent probes (see bloomFilter.ts): plain bloom-filters double hashing would floor it near
 * 1/(n x 1,870), 2^-22.8 for 20 meters a day.
 */
export const BF1_FALSE_POSITIVE_RATE = 2 ** -30;

/**
 * False-positive rate of BF2 (one entry per period of the day, binding the period to the sum of its
 * PRIDs). A BF2 false positive would let a round whose PRID sum is wrong close as COMPLETE. Grinding one
 * is cheaper than grinding BF1, since an aggregator that withholds a subset of a round's shares gets a new
 * sum per subset without generating any key, so the rate is a work factor of 2^40 sums and hashes; BF2
 * holds only a few hundred entries a day, so 2^-40 (about 58 bits per entry) costs almost nothing.
 */
export const BF2_FALSE_POSITIVE_RATE = 2 ** -40;

/** Domain-separation strings, all versioned: changing one is a wire-format change. */
export const AGGREGATE_SALT = 'smartmeter/aggregate/v1';
export const AGGREGATE_SEED_INFO_PREFIX = 'smartmeter/aggregate/v1/seed/';
export const H2_CONTEXT = 'smartmeter/aggregate/v1/h2';
export const H3_CONTEXT = 'smartmeter/aggregate/v1/h3';
export const BF2_CONTEXT = 'smartmeter/aggregate/v1/bf2|';
export const SHARE_CONTEXT = 'smartmeter/share/v1';
