import type { Context } from 'fabric-contract-api';
import type { SubscriptionStatus } from '../api/records';

/** Object types used as the first part of composite keys; one per record kind or index. */
export const KeyType = {
  Ping: 'ping',
  OrgKey: 'orgKey',
  OrgKeyCurrent: 'orgKeyCurrent',
  Subscription: 'subscription',
  SubscriptionBySubscriber: 'subscriptionBySubscriber',
  SubscriptionByMeter: 'subscriptionByMeter',
  SubscriptionByStatus: 'subscriptionByStatus',
  SessionKey: 'sessionKey',
  RetiredKey: 'retiredKey',
  Reading: 'reading',
  ReadingCursor: 'readingCursor',
  AccessRequest: 'accessRequest',
  AccessRequestBySubscription: 'accessRequestBySubscription',
  AccessRequestByRequester: 'accessRequestByRequester',
  Tariff: 'tariff',
  TariffCurrent: 'tariffCurrent',
  PriceSignal: 'priceSignal',
  Bill: 'bill',
  BillBySubscription: 'billBySubscription',
} as const;

/** Versions are zero-padded so that keys sort in version order. */
export function fixedWidth(n: number, width = 10): string {
  return String(n).padStart(width, '0');
}

const key =
  (type: string) =>
  (ctx: Context, ...parts: string[]): string =>
    ctx.stub.createCompositeKey(type, parts);

export const pingKey = key(KeyType.Ping);
export const orgKeyVersionKey = (ctx: Context, mspId: string, version: number): string =>
  ctx.stub.createCompositeKey(KeyType.OrgKey, [mspId, fixedWidth(version)]);
export const orgKeyCurrentKey = key(KeyType.OrgKeyCurrent);
export const subscriptionKey = key(KeyType.Subscription);
export const subscriptionBySubscriberKey = key(KeyType.SubscriptionBySubscriber);
export const subscriptionByMeterKey = key(KeyType.SubscriptionByMeter);
export const subscriptionByStatusKey = (
  ctx: Context,
  status: SubscriptionStatus,
  subscriptionId: string,
): string => ctx.stub.createCompositeKey(KeyType.SubscriptionByStatus, [status, subscriptionId]);
export const sessionKeyKey = key(KeyType.SessionKey);
export const retiredKeyKey = key(KeyType.RetiredKey);
/**
 * Readings use plain keys, not composite keys: Fabric allows range queries between two plain keys only,
 * and readings are read by time range. reading/<subscriptionId>/<periodStart> with a fixed-width time sorts
 * a subscription's readings in time order, contiguously.
 */
export function readingKey(subscriptionId: string, periodStart: string): string {
  return `${KeyType.Reading}/${subscriptionId}/${periodStart}`;
}
export const readingCursorKey = key(KeyType.ReadingCursor);
export const accessRequestKey = key(KeyType.AccessRequest);
export const accessRequestBySubscriptionKey = key(KeyType.AccessRequestBySubscription);
export const accessRequestByRequesterKey = key(KeyType.AccessRequestByRequester);
export const tariffVersionKey = (ctx: Context, mspId: string, tariffId: string, version: number): string =>
  ctx.stub.createCompositeKey(KeyType.Tariff, [mspId, tariffId, fixedWidth(version)]);
export const tariffCurrentKey = key(KeyType.TariffCurrent);
/** Price signals are read by time range, so they use plain keys too ('|' cannot occur in a region code). */
export function priceSignalKey(regionCode: string, periodStart: string): string {
  return `${KeyType.PriceSignal}|${regionCode}|${periodStart}`;
}
export const billKey = key(KeyType.Bill);
export const billBySubscriptionKey = key(KeyType.BillBySubscription);
