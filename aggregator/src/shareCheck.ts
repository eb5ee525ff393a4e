import {
  CryptoInputError,
  bloomFilterHas,
  parseBloomFilterJson,
  parseGridShare,
  verifyShareSignature,
  type BloomFilterJson,
  type GridShare,
} from '@smartmeter/crypto';
import { AggregationLimits, type AggregationFiltersView } from '@smartmeter/domain';
import { MAX_SHARE_PAYLOAD_BYTES, regionOfTopic } from './topics';

/**
 * The checks the Aggregation contract applies to every share of a batch (SubmitShares), run by the aggregator
 * before a share is buffered: one bad share would make the ledger refuse the whole batch it is in.
 */

/** Why a message is not (or no longer) a share of an open round: the `reason` of a share.dropped log line. */
export type DropReason =
  /** Too big, not JSON, or not a well-formed share (parseGridShare). */
  | 'MALFORMED'
  /** The share's region is not the region of the topic it came on. */
  | 'WRONG_REGION'
  /** No filters for its region and day on the ledger, after waiting --filters-wait-seconds. */
  | 'NO_FILTERS'
  /** periodStart is no period boundary of the region's filters. */
  | 'WRONG_PERIOD'
  /** sentAt lies before the end of its period. */
  | 'EARLY'
  /** sentAt lies more than maxClockSkewSeconds ahead of the aggregator's clock. */
  | 'FUTURE'
  /** The period ended too long ago: the ledger would no longer take the share. */
  | 'LATE'
  | 'NOT_IN_BF1'
  | 'BAD_SIGNATURE'
  /** The very same share again (a meter resending, the broker redelivering): ignored. */
  | 'DUPLICATE'
  /** The same PRID with other content: the first share is kept. */
  | 'CONFLICT'
  /** Its round is closed or closing. */
  | 'ROUND_CLOSED'
  /** The ledger refused the share alone (INVALID_ARGUMENT or CONFLICT) although it passed these checks. */
  | 'REFUSED_BY_LEDGER'
  /** Too many shares are waiting for filters already. */
  | 'OVERLOADED';

/** A region's filters for one day, parsed once. */
export interface DayFilters {
  record: AggregationFiltersView;
  /** BF1 in parts of record.periodsPerPart periods (see Aggregation:PublishBf1Part). */
  bf1Parts: BloomFilterJson[];
  dayStartSeconds: number;
}

export function dayFilters(record: AggregationFiltersView): DayFilters {
  return {
    record,
    bf1Parts: record.bf1Parts.map((part) => parseBloomFilterJson(part)),
    dayStartSeconds: Date.parse(`${record.day}T00:00:00Z`) / 1000,
  };
}

export type Parsed =
  { ok: true; share: GridShare } | { ok: false; reason: DropReason; detail: string; share?: GridShare };

/** Size, JSON, shape, and the topic's region. Details never quote the payload. */
export function parseShareMessage(topic: string, payload: Buffer): Parsed {
  if (payload.length > MAX_SHARE_PAYLOAD_BYTES) {
    return { ok: false, reason: 'MALFORMED', detail: `${payload.length} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'MALFORMED', detail: 'not JSON' };
  }
  let share: GridShare;
  try {
    share = parseGridShare(value);
  } catch (err) {
    if (!(err instanceof CryptoInputError)) throw err;
    return { ok: false, reason: 'MALFORMED', detail: err.message.slice(0, 200) };
  }
  if (regionOfTopic(topic) !== share.region) {
    return { ok: false, reason: 'WRONG_REGION', detail: `topic ${topic.slice(0, 140)}`, share };
  }
  return { ok: true, share };
}

/** The period a share claims, on the filters' grid: its end, or WRONG_PERIOD. */
export function periodEndOf(share: GridShare, filters: DayFilters): number | undefined {
  const start = Date.parse(share.periodStart) / 1000;
  const offset = start - filters.dayStartSeconds;
  const { periodSeconds } = filters.record;
  if (offset < 0 || offset >= 86_400 || offset % periodSeconds !== 0) return undefined;
  return start + periodSeconds;
}

/**
 * The time rules of the chaincode (requireShareTime) at the aggregator's clock. lateMarginSeconds: how long
 * the share may still take to reach the ledger (the collection window and a submission), so that a share
 * accepted now is not refused as too old when its batch is endorsed.
 */
export function timeRefusal(
  share: GridShare,
  periodEndSeconds: number,
  nowSeconds: number,
  lateMarginSeconds: number,
): DropReason | undefined {
  const sentAt = Date.parse(share.sentAt) / 1000;
  if (sentAt < periodEndSeconds) return 'EARLY';
  if (sentAt > nowSeconds + AggregationLimits.maxClockSkewSeconds) return 'FUTURE';
  if (nowSeconds + lateMarginSeconds - periodEndSeconds > AggregationLimits.maxShareDelaySeconds)
    return 'LATE';
  return undefined;
}

/** BF1 membership, then the signature (the dearest check, last). */
export function identityRefusal(share: GridShare, filters: DayFilters): DropReason | undefined {
  const index =
    (Date.parse(share.periodStart) / 1000 - filters.dayStartSeconds) / filters.record.periodSeconds;
  const partIndex = Math.floor(index / filters.record.periodsPerPart);
  // Outside the day (no part): .at() would count negative indexes from the end.
  const part = partIndex >= 0 ? filters.bf1Parts.at(partIndex) : undefined;
  if (part === undefined || !bloomFilterHas(part, share.prid)) return 'NOT_IN_BF1';
  if (!verifyShareSignature(share)) return 'BAD_SIGNATURE';
  return undefined;
}

/** Two shares are the same when every signed field and the signature are equal. */
export function sameShare(a: GridShare, b: GridShare): boolean {
  return (
    a.region === b.region &&
    a.periodStart === b.periodStart &&
    a.prid === b.prid &&
    a.value === b.value &&
    a.sentAt === b.sentAt &&
    a.signature === b.signature
  );
}
