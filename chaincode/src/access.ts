import type { Context } from 'fabric-contract-api';
import { AUTHORITY_MSP_ID, type Role } from './api/records';
import { forbidden } from './contractError';

/**
 * Who is calling, from the submitter's certificate: its MSP id and the attributes Fabric CA put into it
 * (role, subscriberId, meterId, and hf.Type, which is "admin" for an organization admin).
 */
export interface Caller {
  mspId: string;
  role: Role | null;
  subscriberId: string | null;
  meterId: string | null;
  isOrgAdmin: boolean;
}

const ROLES: readonly Role[] = ['operator', 'auditor', 'subscriber', 'meter'];

export function callerOf(ctx: Context): Caller {
  const identity = ctx.clientIdentity;
  const role = identity.getAttributeValue('role');
  return {
    mspId: identity.getMSPID(),
    role: ROLES.find((known) => known === role) ?? null,
    subscriberId: identity.getAttributeValue('subscriberId'),
    meterId: identity.getAttributeValue('meterId'),
    isOrgAdmin: identity.getAttributeValue('hf.Type') === 'admin',
  };
}

export function isAuthority(mspId: string): boolean {
  return mspId === AUTHORITY_MSP_ID;
}

/** A distributor's operator (any distributor when mspId is omitted). */
export function isOperatorOf(caller: Caller, distributorMspId?: string): boolean {
  return (
    caller.role === 'operator' &&
    !isAuthority(caller.mspId) &&
    (distributorMspId === undefined || caller.mspId === distributorMspId)
  );
}

export function isAuditor(caller: Caller): boolean {
  return caller.role === 'auditor' && isAuthority(caller.mspId);
}

export function requireSubscriber(caller: Caller, action: string): string {
  if (caller.role !== 'subscriber' || !caller.subscriberId) {
    throw forbidden(`${action} needs a subscriber identity (role=subscriber with a subscriberId attribute)`);
  }
  return caller.subscriberId;
}

export function requireMeter(caller: Caller, action: string): string {
  if (caller.role !== 'meter' || !caller.meterId) {
    throw forbidden(`${action} needs a meter identity (role=meter with a meterId attribute)`);
  }
  return caller.meterId;
}

export function requireOperatorOf(caller: Caller, distributorMspId: string, action: string): void {
  if (!isOperatorOf(caller, distributorMspId)) {
    throw forbidden(`${action} needs an operator of ${distributorMspId}; caller is ${describe(caller)}`);
  }
}

export function describe(caller: Caller): string {
  return `${caller.role ?? (caller.isOrgAdmin ? 'admin' : 'an identity without role')} of ${caller.mspId}`;
}
