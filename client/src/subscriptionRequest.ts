import { keyIdOf, pairingCommitment, pairingProof, wrapSessionKey } from '@smartmeter/crypto';

/** An organization's current encryption key as published with OrgKey:PublishOrgKey. */
export interface RecipientKey {
  mspId: string;
  version: number;
  publicKeyPem: string;
}

export interface SubscriptionRequestInput {
  distributorMspId: string;
  meterId: string;
  requestedPlan: string;
  sessionKey: Uint8Array;
  /** The distributor's and the authority's current keys. */
  recipients: RecipientKey[];
}

/**
 * The JSON argument of Subscription:RequestSubscription: pseudonymous ids, the session key's id, the key
 * wrapped for each recipient organization, and the commitment the meter will later open. Nothing personal.
 */
export function buildSubscriptionRequest(input: SubscriptionRequestInput): string {
  return JSON.stringify({
    distributorMspId: input.distributorMspId,
    meterId: input.meterId,
    requestedPlan: input.requestedPlan,
    keyId: keyIdOf(input.sessionKey),
    pairingCommitment: pairingCommitment(pairingProof(input.sessionKey, input.meterId)),
    keyGrants: input.recipients.map((recipient) => ({
      mspId: recipient.mspId,
      orgKeyVersion: recipient.version,
      wrappedKey: wrapSessionKey(input.sessionKey, recipient.publicKeyPem),
    })),
  });
}
