// Aggregate privacy mode (docs/aggregation.md, after Oksuz 2024): month seeds, GGM leaves, pseudonyms,
// masks, signed grid shares, PRID sums and the BF1/BF2 Bloom filters.
export {
  AGGREGATE_SLOT_SECONDS,
  BF1_FALSE_POSITIVE_RATE,
  BF2_FALSE_POSITIVE_RATE,
  GGM_DEPTH,
  SHARE_RANGE_MAX,
  SHARE_RANGE_MIN,
  SHARE_VALUE_LIMIT,
} from './constants';
export { monthlySeeds, monthOf, slotIndex, type MonthlySeeds, type SeedName } from './seeds';
export { ggmLeaf, prg } from './ggm';
export { h3, maskSum, randomSplitPart } from './masks';
export { bf2Entry, pseudonymFromLeaf, sumPrids, type Pseudonym } from './pseudonym';
export { periodSecrets, type PeriodSecrets } from './periodSecrets';
export {
  parseGridShare,
  shareDigest,
  signShare,
  splitReading,
  verifyShareSignature,
  type GridShare,
  type SplitReadingOptions,
  type UnsignedGridShare,
} from './share';
export {
  BLOOM_MAX_BITS,
  BLOOM_MAX_HASHES,
  bloomFilterHas,
  buildBloomFilter,
  parseBloomFilterJson,
  type BloomFilterExport,
  type BloomFilterJson,
} from './bloomFilter';
