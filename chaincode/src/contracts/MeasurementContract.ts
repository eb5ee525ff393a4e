import { isKeyId, READING_CIPHERTEXT_BYTES } from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  MAX_BATCH_SIZE,
  describeSchedule,
  intervalOfPeriod,
  periodsStartingIn,
  EventName,
  type ReadingCursorRecord,
  type ReadingRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isItsMeter,
  mayReadSubscriptionData,
  requireMeter,
  type Caller,
} from '../access';
import { SmartMeterContract } from '../baseContract';
import { conflict, forbidden, invalidArgument, wrongKey } from '../contractError';
import { Keys, readingKey } from '../ledger/keys';
import { canonicalJson, marshal } from '../ledger/marshal';
import { pageByRange, readOptional, valuesByRange, write } from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds } from '../ledger/txTime';
import {
  parseBookmark,
  parseJsonArray,
  parseJsonObject,
  parsePageSize,
  requireInteger,
  requireOnlyFields,
} from '../validate';
import {
  BACKLOG_LIMIT_SECONDS,
  loadSubscription,
  readingCursor,
  requireSubscriptionId,
} from '../subscriptions';

/** A meter's clock may run this far ahead of the orderer's. */
export const CLOCK_TOLERANCE_SECONDS = 300;
export { MAX_BATCH_SIZE };
const MAX_MISSING_SCAN_SLOTS = 10_000;
const READING_FIELDS = ['subscriptionId', 'sequence', 'periodStart', 'ciphertext', 'nonce', 'keyId'];

interface ReadingSubmission {
  subscriptionId: string;
  sequence: number;
  periodStart: string;
  periodStartSeconds: number;
  ciphertext: string;
  nonce: string;
  keyId: string;
}

/** Readings already handled in this transaction: Fabric does not let a transaction read its own writes. */
interface BatchState {
  cursor: ReadingCursorRecord | undefined;
  written: Map<string, ReadingRecord>;
  /**
   * The last period on the ledger before this transaction. Storing a reading moves the cursor to it, so no slot
   * after this one can hold a reading yet: such slots are not read at all (each read is a round trip between
   * the chaincode server and the peer).
   */
  ledgerLastPeriodStart: string | undefined;
  /**
   * The stored readings of a batch's slots up to ledgerLastPeriodStart (a meter resending after an unknown
   * outcome), read with one range query; undefined: look each such slot up.
   */
  stored?: Map<string, ReadingRecord>;
}

/** A batch spanning more than this is looked up slot by slot: a range read must not fetch a backlog. */
const MAX_RANGE_READ_SPAN_SECONDS = MAX_BATCH_SIZE * 3600;

/** Encrypted readings: one per subscription and period, submitted only by the subscription's paired meter. */
@Info({ title: 'Measurement', description: 'Session-key-encrypted meter readings' })
export class MeasurementContract extends SmartMeterContract {
  constructor() {
    super('Measurement');
  }

  /**
   * Stores one encrypted reading. Submitting the identical reading again succeeds without a second write;
   * a different reading for a stored period is CONFLICT.
   */
  @Transaction()
  @Returns('string')
  async SubmitReading(ctx: Context, readingJson: string): Promise<string> {
    const submission = parseSubmission(parseJsonObject('reading', readingJson, 4096), 'reading');
    const subscription = await loadSubscription(ctx, submission.subscriptionId);
    const state = await batchState(ctx, subscription.subscriptionId);
    const { record, stored } = await acceptReading(ctx, callerOf(ctx), subscription, state, submission);
    if (stored)
      await write(
        ctx,
        Keys.readingCursor.key(ctx, { subscriptionId: subscription.subscriptionId }),
        state.cursor,
      );
    ctx.stub.setEvent(
      EventName.ReadingSubmitted,
      marshal({ subscriptionId: record.subscriptionId, periodStart: record.periodStart, stored }),
    );
    return canonicalJson(record);
  }

  /** Up to 96 readings of one subscription, in order, all or nothing: for meters catching up after an outage. */
  @Transaction()
  @Returns('string')
  async SubmitReadings(ctx: Context, batchJson: string): Promise<string> {
    const items = parseJsonArray('readings', batchJson, MAX_BATCH_SIZE * 4096);
    if (items.length === 0 || items.length > MAX_BATCH_SIZE) {
      throw invalidArgument(`a batch holds 1 to ${MAX_BATCH_SIZE} readings (got ${items.length})`);
    }
    const submissions = items.map((item, index) => {
      const where = `readings[${index}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item))
        throw invalidArgument(`${where} must be an object`);
      return parseSubmission(item as Record<string, unknown>, where);
    });
    const subscriptionId = submissions[0].subscriptionId;
    if (submissions.some((submission) => submission.subscriptionId !== subscriptionId)) {
      throw invalidArgument('all readings of a batch must belong to one subscription');
    }
    const subscription = await loadSubscription(ctx, subscriptionId);
    const caller = callerOf(ctx);
    const state = await batchState(ctx, subscriptionId);
    state.stored = await storedReadingsOf(ctx, subscriptionId, state, submissions);
    let storedCount = 0;
    for (const submission of submissions) {
      if ((await acceptReading(ctx, caller, subscription, state, submission)).stored) storedCount += 1;
    }
    if (storedCount > 0) await write(ctx, Keys.readingCursor.key(ctx, { subscriptionId }), state.cursor);
    const result = {
      subscriptionId,
      submitted: submissions.length,
      stored: storedCount,
      alreadyStored: submissions.length - storedCount,
      firstPeriodStart: submissions[0].periodStart,
      lastPeriodStart: submissions[submissions.length - 1].periodStart,
    };
    ctx.stub.setEvent(EventName.ReadingsSubmitted, marshal(result));
    return canonicalJson(result);
  }

  /** A page of a subscription's readings with periods in [from, to), oldest first. */
  @Transaction(false)
  @Returns('string')
  async GetReadings(
    ctx: Context,
    subscriptionId: string,
    from: string,
    to: string,
    pageSize: string,
    bookmark: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const range = parseRange(from, to);
    const size = parsePageSize(pageSize);
    const start = parseBookmark(bookmark);
    requireReadingReader(callerOf(ctx), await loadSubscription(ctx, id));
    return canonicalJson(
      await pageByRange<ReadingRecord>(
        ctx,
        readingKey(id, range.from),
        readingKey(id, range.to),
        size,
        start,
      ),
    );
  }

  /** Periods in [from, to) that the subscription should have a reading for but has none. */
  @Transaction(false)
  @Returns('string')
  async MissingPeriods(ctx: Context, subscriptionId: string, from: string, to: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const range = parseRange(from, to);
    const subscription = await loadSubscription(ctx, id);
    requireReadingReader(callerOf(ctx), subscription);
    const approval = subscription.approval;
    if (!approval) {
      return canonicalJson({ subscriptionId: id, from: range.from, to: range.to, expected: 0, missing: [] });
    }
    // Only periods that have ended by now and start before the subscription's end can be missing.
    const nowSeconds = txEpochSeconds(ctx);
    const until = subscription.end
      ? Math.min(range.toSeconds, parseIsoSeconds('effectiveAt', subscription.end.effectiveAt))
      : range.toSeconds;
    const expected: string[] = [];
    for (const period of periodsStartingIn(approval, range.fromSeconds, until)) {
      if (period.startSeconds + period.intervalSeconds > nowSeconds) break;
      if (expected.length === MAX_MISSING_SCAN_SLOTS) {
        throw invalidArgument(
          `the range spans more than ${MAX_MISSING_SCAN_SLOTS} periods; ask for fewer at a time`,
        );
      }
      expected.push(isoSeconds(period.startSeconds));
    }
    const present = new Set(
      (await valuesByRange<ReadingRecord>(ctx, readingKey(id, range.from), readingKey(id, range.to))).map(
        (reading) => reading.periodStart,
      ),
    );
    const missing = expected.filter((periodStart) => !present.has(periodStart));
    return canonicalJson({
      subscriptionId: id,
      from: range.from,
      to: range.to,
      expected: expected.length,
      missing,
    });
  }
}

function parseSubmission(raw: Record<string, unknown>, where: string): ReadingSubmission {
  requireOnlyFields(where, raw, READING_FIELDS);
  const periodStartSeconds = parseIsoSeconds(`${where}.periodStart`, raw.periodStart);
  if (!isKeyId(raw.keyId)) throw invalidArgument(`${where}.keyId must be 32 lowercase hex characters`);
  return {
    subscriptionId: requireSubscriptionId(raw.subscriptionId),
    sequence: requireInteger(`${where}.sequence`, raw.sequence, 1, Number.MAX_SAFE_INTEGER),
    periodStart: raw.periodStart as string,
    periodStartSeconds,
    // Every reading ciphertext has one length, whatever the value (see @smartmeter/crypto reading.ts).
    ciphertext: requireBase64(
      `${where}.ciphertext`,
      raw.ciphertext,
      READING_CIPHERTEXT_BYTES,
      READING_CIPHERTEXT_BYTES,
    ),
    nonce: requireBase64(`${where}.nonce`, raw.nonce, 12, 12),
    keyId: raw.keyId,
  };
}

function requireBase64(name: string, value: unknown, minBytes: number, maxBytes: number): string {
  const size = minBytes === maxBytes ? `${minBytes}` : `${minBytes}-${maxBytes}`;
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw invalidArgument(`${name} must be standard padded base64`);
  }
  const bytes = (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
  if (bytes < minBytes || bytes > maxBytes) {
    throw invalidArgument(`${name} must decode to ${size} bytes (got ${bytes})`);
  }
  return value;
}

function parseRange(
  from: string,
  to: string,
): { from: string; to: string; fromSeconds: number; toSeconds: number } {
  const fromSeconds = parseIsoSeconds('from', from);
  const toSeconds = parseIsoSeconds('to', to);
  if (toSeconds <= fromSeconds) throw invalidArgument('to must be after from');
  return { from, to, fromSeconds, toSeconds };
}

/** The owner, the distributor's operators and the authority's auditors read readings. */
function requireReadingReader(caller: Caller, subscription: SubscriptionRecord): void {
  if (mayReadSubscriptionData(caller, subscription)) return;
  throw forbidden(`${describe(caller)} may not read the readings of ${subscription.subscriptionId}`);
}

async function batchState(ctx: Context, subscriptionId: string): Promise<BatchState> {
  const cursor = await readingCursor(ctx, subscriptionId);
  return { cursor, written: new Map(), ledgerLastPeriodStart: cursor?.lastPeriodStart };
}

/**
 * The stored readings among the batch's slots that may hold one (up to the ledger's last period), by key, with one
 * range read; an empty map when no slot may; undefined when they span too wide (then each is read by itself).
 */
async function storedReadingsOf(
  ctx: Context,
  subscriptionId: string,
  state: BatchState,
  submissions: ReadingSubmission[],
): Promise<Map<string, ReadingRecord> | undefined> {
  const last = state.ledgerLastPeriodStart;
  const candidates = last === undefined ? [] : submissions.filter((s) => s.periodStart <= last);
  if (candidates.length === 0) return new Map();
  const seconds = candidates.map((submission) => submission.periodStartSeconds);
  const from = Math.min(...seconds);
  const to = Math.max(...seconds);
  if (to - from > MAX_RANGE_READ_SPAN_SECONDS) return undefined;
  // Keys are plain "reading/<id>/<ISO period>"; the key just after the last slot's is that key + "\u0000".
  const records = await valuesByRange<ReadingRecord>(
    ctx,
    readingKey(subscriptionId, isoSeconds(from)),
    `${readingKey(subscriptionId, isoSeconds(to))}\u0000`,
  );
  return new Map(records.map((record) => [readingKey(subscriptionId, record.periodStart), record]));
}

/** The reading the ledger holds in a slot, reading the ledger only when the slot may hold one. */
async function ledgerReading(
  ctx: Context,
  state: BatchState,
  key: string,
  periodStart: string,
): Promise<ReadingRecord | undefined> {
  const last = state.ledgerLastPeriodStart;
  if (last === undefined || periodStart > last) return undefined;
  return state.stored ? state.stored.get(key) : readOptional<ReadingRecord>(ctx, key);
}

/**
 * Checks one reading against the caller's rights, the subscription and the readings before it, and writes it
 * if it is new. Returns the stored record and whether this call stored it.
 */
async function acceptReading(
  ctx: Context,
  caller: Caller,
  subscription: SubscriptionRecord,
  state: BatchState,
  submission: ReadingSubmission,
): Promise<{ record: ReadingRecord; stored: boolean }> {
  requireItsMeter(caller, subscription);
  const interval = requireAcceptsPeriod(subscription, submission);
  requirePeriodInWindow(submission, interval, txEpochSeconds(ctx));
  if (submission.keyId !== subscription.keyId) {
    throw wrongKey(
      `the reading is encrypted under key ${submission.keyId}, but the subscription's key is ${subscription.keyId}`,
    );
  }

  const key = readingKey(subscription.subscriptionId, submission.periodStart);
  const existing = state.written.get(key) ?? (await ledgerReading(ctx, state, key, submission.periodStart));
  if (existing) {
    const identical =
      existing.sequence === submission.sequence &&
      existing.ciphertext === submission.ciphertext &&
      existing.nonce === submission.nonce &&
      existing.keyId === submission.keyId;
    if (!identical) {
      throw conflict(
        `a different reading is already stored for ${subscription.subscriptionId} at ${submission.periodStart}`,
      );
    }
    return { record: existing, stored: false };
  }

  const cursor = state.cursor;
  if (
    cursor &&
    (submission.periodStart <= cursor.lastPeriodStart || submission.sequence <= cursor.lastSequence)
  ) {
    throw conflict(
      `readings must advance: sequence ${submission.sequence} at ${submission.periodStart} does not follow ` +
        `sequence ${cursor.lastSequence} at ${cursor.lastPeriodStart}`,
    );
  }
  const record: ReadingRecord = {
    docType: 'reading',
    subscriptionId: subscription.subscriptionId,
    sequence: submission.sequence,
    periodStart: submission.periodStart,
    ciphertext: submission.ciphertext,
    nonce: submission.nonce,
    keyId: submission.keyId,
    submittedAt: isoSeconds(txEpochSeconds(ctx)),
    txId: ctx.stub.getTxID(),
  };
  await write(ctx, key, record);
  state.written.set(key, record);
  state.cursor = {
    docType: 'readingCursor',
    subscriptionId: subscription.subscriptionId,
    lastSequence: submission.sequence,
    lastPeriodStart: submission.periodStart,
    readingCount: (cursor?.readingCount ?? 0) + 1,
  };
  return { record, stored: true };
}

function requireItsMeter(caller: Caller, subscription: SubscriptionRecord): void {
  const meterId = requireMeter(caller, 'submitting readings');
  if (subscription.privacyMode === 'aggregate') {
    // A sealed reading under the meter's certificate would link what its shares keep apart.
    throw conflict(
      `subscription ${subscription.subscriptionId} is in aggregate mode: its meter sends grid shares, not readings`,
    );
  }
  if (!isItsMeter(caller, subscription)) {
    throw forbidden(
      `meter ${meterId} of ${caller.mspId} is not the meter of subscription ${subscription.subscriptionId}`,
    );
  }
}

/** Active subscriptions take readings; an ended one only for periods that end by its effective end. */
function requireAcceptsPeriod(subscription: SubscriptionRecord, submission: ReadingSubmission): number {
  const approval = subscription.approval;
  if (!approval || (subscription.status !== 'ACTIVE' && subscription.status !== 'ENDED')) {
    throw conflict(
      `subscription ${subscription.subscriptionId} is ${subscription.status}: it takes no readings`,
    );
  }
  const interval = intervalOfPeriod(approval, submission.periodStartSeconds);
  if (interval === undefined) {
    throw invalidArgument(
      `periodStart ${submission.periodStart} is not a period of this subscription (${describeSchedule(approval)})`,
    );
  }
  if (subscription.status === 'ENDED' && subscription.end) {
    const end = parseIsoSeconds('effectiveAt', subscription.end.effectiveAt);
    if (submission.periodStartSeconds + interval > end) {
      throw forbidden(`subscription ${subscription.subscriptionId} ended at ${subscription.end.effectiveAt}`);
    }
  }
  return interval;
}

function requirePeriodInWindow(submission: ReadingSubmission, interval: number, nowSeconds: number): void {
  if (submission.periodStartSeconds + interval > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw invalidArgument(`the period starting ${submission.periodStart} has not ended yet`);
  }
  if (submission.periodStartSeconds < nowSeconds - BACKLOG_LIMIT_SECONDS) {
    throw invalidArgument(
      `the period starting ${submission.periodStart} is older than the 45-day backlog limit`,
    );
  }
}
