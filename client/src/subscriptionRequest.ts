import { keyIdOf, pairingCommitment, pairingProof, wrapSessionKey } from '@smartmeter/crypto';
import type { PrivacyMode, SubscriptionRequest } from '@smartmeter/domain';
import type { Utility } from '@smartmeter/crypto';

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
  /** The distributor's and (disclosed mode) the authority's current keys. */
  recipients: RecipientKey[];
  /** disclosed when absent. */
  privacyMode?: PrivacyMode;
  /** The household's own encryption public key (its keystore's report key): required in aggregate mode. */
  householdPublicKeyPem?: string;
  /** electricity when absent (and then left out of the request, as before utilities existed). */
  utility?: Utility;
}

/** The JSON argument of Subscription:RequestSubscription (see SubscriptionRequest) for a new session key. */
export function buildSubscriptionRequest(input: SubscriptionRequestInput): string {
  const request: SubscriptionRequest = {
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
    ...(input.privacyMode ? { privacyMode: input.privacyMode } : {}),
    ...(input.householdPublicKeyPem ? { householdPublicKeyPem: input.householdPublicKeyPem } : {}),
    ...(input.utility && input.utility !== 'electricity' ? { utility: input.utility } : {}),
  };
  return JSON.stringify(request);
}
