import { UsageError } from './errors';

/**
 * The ids the chaincode derives from transaction ids: a prefix, an underscore and 24 lowercase hex characters
 * (chaincode/src/validate.ts requireDerivedId). meterctl checks them before connecting, so that a mistyped id
 * is a usage error (exit 2) and not a refusal by the peer.
 */
const DERIVED_IDS = {
  subscription: 'sub',
  bill: 'bill',
  request: 'par',
} as const;

export type DerivedIdKind = keyof typeof DERIVED_IDS;

/** The id unchanged, or a UsageError saying what such an id looks like. */
export function derivedId(kind: DerivedIdKind, value: string): string {
  const prefix = DERIVED_IDS[kind];
  if (!new RegExp(`^${prefix}_[0-9a-f]{24}$`).test(value)) {
    throw new UsageError(
      `"${value}" is not a ${kind} id: it is ${prefix}_ followed by 24 lowercase hex characters, as meterctl prints it`,
    );
  }
  return value;
}

export const subscriptionId = (value: string): string => derivedId('subscription', value);
export const billId = (value: string): string => derivedId('bill', value);
export const requestId = (value: string): string => derivedId('request', value);

/** An optional id option (--subscription): undefined when absent, else checked. */
export function optionalSubscriptionId(value: string | undefined): string | undefined {
  return value === undefined ? undefined : subscriptionId(value);
}
