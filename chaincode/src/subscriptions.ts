import type { Context } from 'fabric-contract-api';
import {
  intervalOfPeriod,
  type ReadingCursorRecord,
  type RetiredKeyRecord,
  type SubscriptionApproval,
  type SubscriptionRecord,
  type SubscriptionStatus,
} from '@smartmeter/domain';
import { conflict } from './contractError';
import { Keys } from './ledger/keys';
import { readOptional, readRequired, write, writeIndex } from './ledger/store';
import { parseIsoSeconds } from './ledger/txTime';
import { requireDerivedId } from './validate';

/**
 * Subscriptions as every contract sees them: their ids, loading, status rules and the writes that keep the
 * status index in step. The Subscription contract changes them; Measurement, Billing and PersonalData read
 * them through this module, never through another contract.
 */

/** How far back an approval's start date or a reading's period may lie (meters catch up after outages). */
export const BACKLOG_LIMIT_SECONDS = 45 * 24 * 3600;
/** Statuses in which a subscription can still change (and be ended). */
export const OPEN_STATUSES: readonly SubscriptionStatus[] = ['REQUESTED', 'APPROVED', 'ACTIVE'];
export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  'REQUESTED',
  'APPROVED',
  'REJECTED',
  'ACTIVE',
  'ENDED',
];

export function subscriptionIdFor(txId: string): string {
  return `sub_${txId.slice(0, 24)}`;
}

export function requireSubscriptionId(value: unknown): string {
  return requireDerivedId('subscriptionId', 'sub', value);
}

export function subscriptionKey(ctx: Context, subscriptionId: string): string {
  return Keys.subscription.key(ctx, { subscriptionId });
}

export async function loadSubscription(ctx: Context, subscriptionId: string): Promise<SubscriptionRecord> {
  return readRequired<SubscriptionRecord>(
    ctx,
    subscriptionKey(ctx, subscriptionId),
    `subscription ${subscriptionId}`,
  );
}

export function requireStatus(
  record: SubscriptionRecord,
  allowed: readonly SubscriptionStatus[],
  action: string,
): void {
  if (!allowed.includes(record.status)) {
    throw conflict(
      `cannot ${action} subscription ${record.subscriptionId}: it is ${record.status} (needs ${allowed.join(' or ')})`,
    );
  }
}

/** The approval of a subscription that must have one (status APPROVED, ACTIVE or ENDED after an approval). */
export function approvalOf(record: SubscriptionRecord): SubscriptionApproval {
  if (!record.approval) throw conflict(`subscription ${record.subscriptionId} has not been approved`);
  return record.approval;
}

/** Writes the record with its new status and moves its status index entry; returns what was stored. */
export async function saveWithStatus(
  ctx: Context,
  record: SubscriptionRecord,
  status: SubscriptionStatus,
): Promise<SubscriptionRecord> {
  await ctx.stub.deleteState(
    Keys.subscriptionByStatus.key(ctx, { status: record.status, subscriptionId: record.subscriptionId }),
  );
  const updated = { ...record, status };
  await write(ctx, subscriptionKey(ctx, record.subscriptionId), updated);
  await writeIndex(
    ctx,
    Keys.subscriptionByStatus.key(ctx, { status, subscriptionId: record.subscriptionId }),
  );
  return updated;
}

/** A session key that may no longer be used for new readings or subscriptions. */
export async function retireKey(ctx: Context, record: SubscriptionRecord, now: string): Promise<void> {
  const retired: RetiredKeyRecord = {
    docType: 'retiredKey',
    keyId: record.keyId,
    subscriptionId: record.subscriptionId,
    retiredAt: now,
  };
  await write(ctx, Keys.retiredKey.key(ctx, { keyId: record.keyId }), retired);
}

export async function readingCursor(
  ctx: Context,
  subscriptionId: string,
): Promise<ReadingCursorRecord | undefined> {
  return readOptional<ReadingCursorRecord>(ctx, Keys.readingCursor.key(ctx, { subscriptionId }));
}

/** The end of the period of the last accepted reading. */
export function lastPeriodEnd(approval: SubscriptionApproval, cursor: ReadingCursorRecord): number {
  const start = parseIsoSeconds('lastPeriodStart', cursor.lastPeriodStart);
  return start + (intervalOfPeriod(approval, start) ?? approval.intervalSeconds);
}

/** The subscription's effective end in epoch seconds, or undefined while it runs. */
export function endSeconds(record: SubscriptionRecord): number | undefined {
  return record.end ? parseIsoSeconds('effectiveAt', record.end.effectiveAt) : undefined;
}
