import type { Context } from 'fabric-contract-api';

/**
 * Every composite key the chaincode writes, with the names of its attributes in key order, in one place (as
 * fabric-samples name their indexes 'color~name'). The same builder makes the keys a transaction writes and
 * the partial keys its range queries read, so a read cannot drift from the write it looks for.
 */
export interface CompositeKeyType<Part extends string> {
  /** The object type, the first element of the key. */
  readonly objectType: string;
  /** The attributes after the object type, in key order. */
  readonly parts: readonly Part[];
  /** The full key of one record. */
  key(ctx: Context, values: Record<Part, string>): string;
  /**
   * The attributes of a partial-key query: a leading run of the parts (none, the first, the first two, ...).
   * Giving a later part without an earlier one is a programming error.
   */
  leading(values: Partial<Record<Part, string>>): string[];
}

function compositeKeyType<Part extends string>(
  objectType: string,
  parts: readonly Part[],
): CompositeKeyType<Part> {
  return {
    objectType,
    parts,
    key: (ctx, values) =>
      ctx.stub.createCompositeKey(
        objectType,
        parts.map((part) => values[part]),
      ),
    leading: (values) => {
      const given = parts.map((part) => values[part]);
      const count = given.findIndex((value) => value === undefined);
      const leading = (count < 0 ? given : given.slice(0, count)) as string[];
      if (given.slice(leading.length).some((value) => value !== undefined)) {
        throw new Error(`a partial ${objectType} key must give a leading run of ${parts.join(', ')}`);
      }
      return leading;
    },
  };
}

/** Versions and other numbers are zero-padded so that keys sort in numeric order. */
export function fixedWidth(n: number, width = 10): string {
  return String(n).padStart(width, '0');
}

export const Keys = {
  ping: compositeKeyType('ping', ['pingId']),
  orgKey: compositeKeyType('orgKey', ['mspId', 'version']),
  orgKeyCurrent: compositeKeyType('orgKeyCurrent', ['mspId']),
  subscription: compositeKeyType('subscription', ['subscriptionId']),
  subscriptionBySubscriber: compositeKeyType('subscriptionBySubscriber', [
    'distributorMspId',
    'subscriberId',
    'subscriptionId',
  ]),
  subscriptionByMeter: compositeKeyType('subscriptionByMeter', [
    'distributorMspId',
    'meterId',
    'subscriptionId',
  ]),
  subscriptionByStatus: compositeKeyType('subscriptionByStatus', ['status', 'subscriptionId']),
  sessionKey: compositeKeyType('sessionKey', ['keyId']),
  retiredKey: compositeKeyType('retiredKey', ['keyId']),
  readingCursor: compositeKeyType('readingCursor', ['subscriptionId']),
  accessRequest: compositeKeyType('accessRequest', ['requestId']),
  accessRequestBySubscription: compositeKeyType('accessRequestBySubscription', [
    'subscriptionId',
    'requestId',
  ]),
  accessRequestByRequester: compositeKeyType('accessRequestByRequester', ['requesterMspId', 'requestId']),
  tariff: compositeKeyType('tariff', ['distributorMspId', 'tariffId', 'version']),
  tariffCurrent: compositeKeyType('tariffCurrent', ['distributorMspId', 'tariffId']),
  bill: compositeKeyType('bill', ['billId']),
  billBySubscription: compositeKeyType('billBySubscription', ['subscriptionId', 'periodFrom', 'billId']),
  aggregationFilters: compositeKeyType('aggregationFilters', ['regionCode', 'day']),
  aggregationBf1Part: compositeKeyType('aggregationBf1Part', ['regionCode', 'day', 'part']),
  faultyMeter: compositeKeyType('faultyMeter', ['distributorMspId', 'meterId', 'periodStart']),
  pricePolicy: compositeKeyType('pricePolicy', ['regionCode', 'version']),
  pricePolicyCurrent: compositeKeyType('pricePolicyCurrent', ['regionCode']),
  wallet: compositeKeyType('wallet', ['distributorMspId', 'subscriptionId']),
  walletEntry: compositeKeyType('walletEntry', ['subscriptionId', 'sequence']),
  topUp: compositeKeyType('topUp', ['distributorMspId', 'reference']),
  settlement: compositeKeyType('settlement', ['subscriptionId', 'periodFrom']),
  supplierAccount: compositeKeyType('supplierAccount', ['distributorMspId']),
  /** A meter's current device encryption key, and every registration it made (history, never deleted). */
  deviceKey: compositeKeyType('deviceKey', ['distributorMspId', 'meterId']),
  deviceKeyRegistration: compositeKeyType('deviceKeyRegistration', [
    'distributorMspId',
    'meterId',
    'registeredAt',
    'txId',
  ]),
  /** Device configuration versions (fixed-width), the latest version's pointer, and the meter's answers. */
  deviceConfig: compositeKeyType('deviceConfig', ['distributorMspId', 'meterId', 'version']),
  deviceConfigLatest: compositeKeyType('deviceConfigLatest', ['distributorMspId', 'meterId']),
  deviceConfigAck: compositeKeyType('deviceConfigAck', ['distributorMspId', 'meterId', 'version', 'status']),
  deviceHealth: compositeKeyType('deviceHealth', ['distributorMspId', 'meterId']),
  confirmedAnomaly: compositeKeyType('confirmedAnomaly', ['subscriptionId', 'anomalyTag']),
} as const;

/**
 * Readings use plain keys, not composite keys: Fabric allows range queries between two plain keys only,
 * and readings are read by time range. reading/<subscriptionId>/<periodStart> with a fixed-width time sorts
 * a subscription's readings in time order, contiguously.
 */
export function readingKey(subscriptionId: string, periodStart: string): string {
  return `reading/${subscriptionId}/${periodStart}`;
}

/** Price signals are read by time range, so they use plain keys too ('|' cannot occur in a region code). */
export function priceSignalKey(regionCode: string, periodStart: string): string {
  return `priceSignal|${regionCode}|${periodStart}`;
}

/**
 * Aggregation rounds and their shares are read by time range and by round, so they use plain keys too:
 * aggregationRound|<region>|<periodStart> and gridShare|<region>|<periodStart>|<prid>.
 */
export function aggregationRoundKey(regionCode: string, periodStart: string): string {
  return `aggregationRound|${regionCode}|${periodStart}`;
}

export function gridShareKey(regionCode: string, periodStart: string, prid: string): string {
  return `${gridSharePrefix(regionCode, periodStart)}${prid}`;
}

/** The start of a round's share keys; a range query runs from it to the same prefix + '~' (after hex). */
export function gridSharePrefix(regionCode: string, periodStart: string): string {
  return `gridShare|${regionCode}|${periodStart}|`;
}
