import { DecryptionError, keyIdOf, unwrapSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import type { Keystore } from './keystore';

/** A key grant on a subscription request that does not hold the subscription's session key. */
export class InvalidGrantError extends Error {
  readonly code = 'INVALID_GRANT';
  constructor(text: string) {
    super(`INVALID_GRANT: ${text}`);
    this.name = 'InvalidGrantError';
  }
}

export interface GrantCheck {
  subscriptionId: string;
  mspId: string;
  orgKeyVersion: number;
  keyId: string;
}

/**
 * The chaincode cannot look inside a wrapped key, so a household could ask with a grant around random bytes and
 * the subscription could never be billed. The organization checks its own grant before it approves (or, for the
 * authority, whenever it wants): unwrap it with its key from the keystore, and the result must be the key the
 * request names.
 */
export function checkGrant(subscription: SubscriptionRecord, mspId: string, keystore: Keystore): GrantCheck {
  const grant = subscription.keyGrants.find((g) => g.mspId === mspId);
  if (!grant) throw new InvalidGrantError(`${subscription.subscriptionId} has no key grant for ${mspId}`);
  const privateKeyPem = keystore.orgPrivateKey(subscription.channel, mspId, grant.orgKeyVersion);
  let key: Buffer;
  try {
    key = unwrapSessionKey(grant.wrappedKey, privateKeyPem);
  } catch (err) {
    if (err instanceof DecryptionError)
      throw new InvalidGrantError(
        `the session key of ${subscription.subscriptionId} is not wrapped for ${mspId}'s key v${grant.orgKeyVersion}: reject the request`,
      );
    throw err;
  }
  if (keyIdOf(key) !== subscription.keyId) {
    throw new InvalidGrantError(
      `the key granted to ${mspId} on ${subscription.subscriptionId} is ${keyIdOf(key)}, not the subscription's key ${subscription.keyId}: reject the request`,
    );
  }
  return {
    subscriptionId: subscription.subscriptionId,
    mspId,
    orgKeyVersion: grant.orgKeyVersion,
    keyId: keyIdOf(key),
  };
}
