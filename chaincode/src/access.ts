import { certificateKeyFingerprint } from '@smartmeter/crypto';
import type { Context } from 'fabric-contract-api';
import { ROLES, type Role, type SubscriptionRecord } from '@smartmeter/domain';
import { forbidden } from './contractError';
import { distributorOfHouseholds, isAuthorityMsp, isDistributorMsp } from './topology';

/**
 * Who is calling, from the submitter's certificate: its MSP id, the attributes Fabric CA put into it (role,
 * subscriberId, meterId, and hf.Type, which is "admin" for an organization admin) and the fingerprint of its
 * public key. A role counts only from the kind of MSP that may hold it: operators from a distributor's MSP,
 * auditors from the authority's, households and meters from a distributor's households MSP. So a certificate
 * that a distributor's own CA writes "role=subscriber" into is no household.
 */
export interface Caller {
  mspId: string;
  role: Role | null;
  /** The distributor the caller belongs to: its own MSP for operators, the parent of a households MSP. */
  distributorMspId: string | null;
  subscriberId: string | null;
  meterId: string | null;
  isOrgAdmin: boolean;
  /** SHA-256 of the certificate's public key (see @smartmeter/crypto certificateKeyFingerprint). */
  keyFingerprint: string;
}

export function callerOf(ctx: Context): Caller {
  const identity = ctx.clientIdentity;
  const mspId = identity.getMSPID();
  const claimed = ROLES.find((known) => known === identity.getAttributeValue('role')) ?? null;
  const householdsOf = distributorOfHouseholds(mspId);
  const role = claimed && roleFitsMsp(claimed, mspId, householdsOf) ? claimed : null;
  return {
    mspId,
    role,
    distributorMspId: householdsOf ?? (isDistributorMsp(mspId) ? mspId : null),
    subscriberId: role === 'subscriber' ? identity.getAttributeValue('subscriberId') : null,
    meterId: role === 'meter' ? identity.getAttributeValue('meterId') : null,
    isOrgAdmin: identity.getAttributeValue('hf.Type') === 'admin' && householdsOf === undefined,
    keyFingerprint: certificateKeyFingerprint(identity.getIDBytes()),
  };
}

function roleFitsMsp(role: Role, mspId: string, householdsOf: string | undefined): boolean {
  switch (role) {
    case 'operator':
    case 'aggregator':
      // The aggregator is untrusted (the ledger re-verifies its shares); it is enrolled by the channel's
      // distributor so that it holds no household's or the authority's rights.
      return isDistributorMsp(mspId);
    case 'config-admin':
      // The distributor's configuration administrator: its own certificate, apart from operators (the
      // administration certificate of the seed paper), so an operator's key cannot reconfigure meters.
      return isDistributorMsp(mspId);
    case 'auditor':
      return isAuthorityMsp(mspId);
    case 'subscriber':
    case 'meter':
      return householdsOf !== undefined;
  }
}

export function isAuthority(mspId: string): boolean {
  return isAuthorityMsp(mspId);
}

/** A distributor's operator (any distributor when mspId is omitted). */
export function isOperatorOf(caller: Caller, distributorMspId?: string): boolean {
  return caller.role === 'operator' && (distributorMspId === undefined || caller.mspId === distributorMspId);
}

/** A distributor's configuration administrator, who alone publishes device configurations. */
export function isConfigAdminOf(caller: Caller, distributorMspId: string): boolean {
  return caller.role === 'config-admin' && caller.mspId === distributorMspId;
}

export function isAuditor(caller: Caller): boolean {
  return caller.role === 'auditor';
}

export function isAggregator(caller: Caller): boolean {
  return caller.role === 'aggregator';
}

/**
 * The household that owns the subscription: its subscriber id, from its distributor's households MSP, and the
 * key the subscription is bound to. Another certificate with the same subscriber id (which the distributor's
 * households CA could issue) is not the owner.
 */
export function isOwner(caller: Caller, record: SubscriptionRecord): boolean {
  return (
    caller.role === 'subscriber' &&
    caller.distributorMspId === record.distributorMspId &&
    caller.subscriberId === record.subscriberId &&
    caller.keyFingerprint === record.subscriberKeyFingerprint
  );
}

/** The subscription's meter: its meter id and, once paired, the key it paired with. */
export function isItsMeter(caller: Caller, record: SubscriptionRecord): boolean {
  return (
    caller.role === 'meter' &&
    caller.distributorMspId === record.distributorMspId &&
    caller.meterId === record.meterId &&
    (record.meterKeyFingerprint === undefined || caller.keyFingerprint === record.meterKeyFingerprint)
  );
}

/**
 * Who may read a subscription's data (its readings, bills, access requests): the household that owns it, its
 * distributor's operators and the authority's auditors.
 */
export function mayReadSubscriptionData(caller: Caller, record: SubscriptionRecord): boolean {
  return isOwner(caller, record) || isOperatorOf(caller, record.distributorMspId) || isAuditor(caller);
}

/** Who may read the subscription record itself: those who may read its data, and its meter. */
export function mayReadSubscription(caller: Caller, record: SubscriptionRecord): boolean {
  return mayReadSubscriptionData(caller, record) || isItsMeter(caller, record);
}

export function requireSubscriber(caller: Caller, action: string): string {
  if (caller.role !== 'subscriber' || !caller.subscriberId) {
    throw forbidden(
      `${action} needs a household identity (role=subscriber with a subscriberId, from a households MSP); caller is ${describe(caller)}`,
    );
  }
  return caller.subscriberId;
}

export function requireMeter(caller: Caller, action: string): string {
  if (caller.role !== 'meter' || !caller.meterId) {
    throw forbidden(
      `${action} needs a meter identity (role=meter with a meterId, from a households MSP); caller is ${describe(caller)}`,
    );
  }
  return caller.meterId;
}

export function requireOperatorOf(caller: Caller, distributorMspId: string, action: string): void {
  if (!isOperatorOf(caller, distributorMspId)) {
    throw forbidden(`${action} needs an operator of ${distributorMspId}; caller is ${describe(caller)}`);
  }
}

/** "subscriber hh-17 of Distributor1HouseholdsMSP (key 3f2a9c01…)": who the caller is, for refusals. */
export function describe(caller: Caller): string {
  const who =
    caller.role === 'subscriber'
      ? `subscriber ${caller.subscriberId}`
      : caller.role === 'meter'
        ? `meter ${caller.meterId}`
        : (caller.role ?? (caller.isOrgAdmin ? 'admin' : 'an identity without a role'));
  return `${who} of ${caller.mspId} (key ${caller.keyFingerprint.slice(0, 8)}…)`;
}
