import { newOrgKeyPair, newSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { OrgKeyClient } from '../../client/src/contracts/OrgKeyClient';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { buildSubscriptionRequest } from '../../client/src/subscriptionRequest';
import { Gateways, isoSeconds as iso, submitJson } from './chaincode';
import { CHANNEL, D1, enrollMeter, enrollSubscriber, exampleTariff, HOUSEHOLDS } from './household';
import { meterctlJson } from './meterctl';
import { CHAINCODE, profile } from './network';

/** Aggregate-mode households on northgrid, set up as the parties do it (shared by the aggregation tests). */
export interface AggregateHousehold {
  meterId: string;
  sessionKey: Buffer;
  subscriptionId: string;
}

export interface AggregateOnboarding {
  gateways: Gateways;
  /** meterctl's -p/-k arguments for Distributor1, whose keystore gets the new key. */
  distributorArgs: string[];
  region: string;
  count: number;
  prefix: string;
  startSeconds: number;
  periodSeconds: number;
}

/**
 * The distributor publishes a fresh key (kept in its meterctl keystore) and a tariff; a household subscribes
 * `count` meters in aggregate mode (the key wrapped for the distributor only) and the distributor approves
 * them for the region from `startSeconds`.
 */
export async function onboardAggregateMeters(o: AggregateOnboarding): Promise<AggregateHousehold[]> {
  await meterctlJson([...o.distributorArgs, 'keys', 'publish', '--rotate']);
  const tariffId = `${o.prefix}-t`;
  await submitJson(
    o.gateways.contract('distributor1', CHANNEL, 'Pricing'),
    'PublishTariff',
    JSON.stringify({ ...exampleTariff, tariffId, effectiveFrom: iso(o.startSeconds) }),
  );
  const subscriber = `${o.prefix}-hh`;
  await enrollSubscriber(subscriber);
  const orgKey = await new OrgKeyClient(
    chaincodeChannel(o.gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
  ).current(D1);
  const onboarded: AggregateHousehold[] = [];
  for (let i = 0; i < o.count; i++) {
    const meterId = `${o.prefix}-m${i}`;
    await enrollMeter(meterId);
    const sessionKey = newSessionKey();
    const request = buildSubscriptionRequest({
      distributorMspId: D1,
      meterId,
      requestedPlan: 'residential-tou',
      sessionKey,
      privacyMode: 'aggregate',
      householdPublicKeyPem: newOrgKeyPair().publicKeyPem,
      recipients: [{ mspId: D1, version: orgKey.version, publicKeyPem: orgKey.publicKeyPem }],
    });
    const { subscriptionId } = await submitJson<SubscriptionRecord>(
      o.gateways.contract(HOUSEHOLDS, CHANNEL, 'Subscription', subscriber),
      'RequestSubscription',
      request,
    );
    await submitJson(
      o.gateways.contract('distributor1', CHANNEL, 'Subscription'),
      'ApproveSubscription',
      subscriptionId,
      JSON.stringify({
        intervalSeconds: o.periodSeconds,
        tariffId,
        regionCode: o.region,
        startDate: iso(o.startSeconds),
      }),
    );
    onboarded.push({ meterId, sessionKey, subscriptionId });
  }
  return onboarded;
}

/** One pair bundle (0600) per household's meter in `dir`, for meter-sim --bundle-dir. */
export function writeAggregateBundles(dir: string, households: AggregateHousehold[]): void {
  mkdirSync(dir, { recursive: true });
  const households1 = profile(HOUSEHOLDS);
  for (const household of households) {
    const bundle = buildPairBundle({
      profile: households1,
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      meterId: household.meterId,
      meterIdentity: households1.identities[household.meterId],
      sessionKey: household.sessionKey,
      privacyMode: 'aggregate',
    });
    writeSecretFile(join(dir, `${household.meterId}.json`), JSON.stringify(bundle));
  }
}
