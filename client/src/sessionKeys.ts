import { unwrapSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import type { Keystore } from './keystore';
import { UsageError } from './errors';

export interface SessionKeySource {
  key: Buffer;
  /** "own key" for a household, "unwrapped with <MSP> key v<N>" for an organization. */
  via: string;
}

/**
 * The session key of a subscription as the caller can get it: a household holds it in its keystore; the
 * distributor and the authority unwrap their grant with their organization's private key of that version.
 */
export function sessionKeyFor(
  subscription: SubscriptionRecord,
  callerMspId: string,
  keystore: Keystore,
): SessionKeySource {
  const own = keystore.sessionKeyById(subscription.keyId);
  if (own) return { key: own, via: 'own key' };
  const grant = subscription.keyGrants.find((g) => g.mspId === callerMspId);
  if (!grant) {
    throw new UsageError(
      `no key for ${subscription.subscriptionId}: key ${subscription.keyId} is not in ${keystore.dir} and ${callerMspId} has no grant`,
    );
  }
  const privateKeyPem = keystore.orgPrivateKey(subscription.channel, callerMspId, grant.orgKeyVersion);
  return {
    key: unwrapSessionKey(grant.wrappedKey, privateKeyPem),
    via: `unwrapped with ${callerMspId} key v${grant.orgKeyVersion}`,
  };
}
