import {
  encryptReading,
  newOrgKeyPair,
  newSessionKey,
  pairingProof,
  type OrgKeyPair,
  type Utility,
} from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BillRecord, TariffDefinition } from '@smartmeter/domain';
import { BillingClient } from '../../client/src/contracts/BillingClient';
import { buildSubscriptionRequest } from '../../client/src/subscriptionRequest';
import { CHAINCODE, Gateways, isoSeconds, submitJson } from './chaincode';
import { repoDir, testNetwork } from './network';
import { chaincodeChannel } from '../../client/src/contracts/invoke';

/**
 * A household on northgrid made ready for billing, the way the parties do it: CA identities for the household
 * and its meter, fresh organization keys, the example time-of-use tariff, request, approval, and (unless the
 * meter is to pair itself) pairing.
 */
export const CHANNEL = 'northgrid';
export const D1 = 'Distributor1MSP';
export const AUTHORITY = 'AuthorityMSP';
/** Distributor1's households and meters: their own MSP and CA, with a profile of their own. */
export const HOUSEHOLDS = 'households1';
export const INTERVAL = 1800;

export const exampleTariff = JSON.parse(
  readFileSync(join(repoDir, 'examples', 'tariffs', 'time-of-use.json'), 'utf8'),
) as TariffDefinition;

export interface OnboardedHousehold {
  subscriptionId: string;
  sessionKey: Buffer;
  subscriber: string;
  meter: string;
  tariffId: string;
  orgKeys: Record<string, OrgKeyPair>;
}

/** An identity from Distributor1's households CA for a household (role=subscriber) or a meter (role=meter), in the households1 profile. */
export async function enrollSubscriber(name: string, subscriberId = name): Promise<void> {
  await testNetwork(
    'enroll',
    HOUSEHOLDS,
    name,
    '--attrs',
    `role=subscriber:ecert,subscriberId=${subscriberId}:ecert`,
  );
}

/** meterId other than the name: a second certificate for the same meter (a clone, or a replacement). */
export async function enrollMeter(name: string, meterId = name): Promise<void> {
  await testNetwork('enroll', HOUSEHOLDS, name, '--attrs', `role=meter:ecert,meterId=${meterId}:ecert`);
}

/** Fresh encryption keys of Distributor1 and the authority, published on northgrid, with their versions. */
export interface PublishedOrgKeys {
  orgKeys: Record<string, OrgKeyPair>;
  versions: Record<string, number>;
}

export async function publishOrgKeys(gateways: Gateways): Promise<PublishedOrgKeys> {
  const orgKeys: Record<string, OrgKeyPair> = { [D1]: newOrgKeyPair(), [AUTHORITY]: newOrgKeyPair() };
  const versions: Record<string, number> = {};
  for (const [org, mspId] of [
    ['distributor1', D1],
    ['authority', AUTHORITY],
  ]) {
    const published = await submitJson<{ version: number }>(
      gateways.contract(org, CHANNEL, 'OrgKey'),
      'PublishOrgKey',
      orgKeys[mspId].publicKeyPem,
    );
    versions[mspId] = published.version;
  }
  return { orgKeys, versions };
}

/** A household's RequestSubscription body on northgrid: its session key wrapped for Distributor1 and the authority. */
export function northgridRequest(
  meterId: string,
  sessionKey: Buffer,
  keys: PublishedOrgKeys,
  utility?: Utility,
): string {
  return buildSubscriptionRequest({
    utility,
    distributorMspId: D1,
    meterId,
    requestedPlan: 'residential-tou',
    sessionKey,
    recipients: [D1, AUTHORITY].map((mspId) => ({
      mspId,
      version: keys.versions[mspId],
      publicKeyPem: keys.orgKeys[mspId].publicKeyPem,
    })),
  });
}

export async function onboardHousehold(
  gateways: Gateways,
  prefix: string,
  startSeconds: number,
  options: {
    pair?: boolean;
    tariff?: Partial<TariffDefinition>;
    /** What the meter measures (default electricity); the tariff should price the same. */
    utility?: Utility;
    /** An already enrolled household taking another subscription (one per utility). */
    subscriber?: string;
    /** Grid area of the approval (default north/d1): a test's own area makes its meters a group. */
    regionCode?: string;
  } = {},
): Promise<OnboardedHousehold> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const subscriber = options.subscriber ?? `${prefix}-hh-${run}`;
  const meter = `${prefix}-mtr-${run}`;
  const tariffId = `${prefix}-${run}`;
  const contract = (org: string, name: string, identity?: string) =>
    gateways.contract(org, CHANNEL, name, identity);
  if (!options.subscriber) await enrollSubscriber(subscriber);
  await enrollMeter(meter);

  const published = await publishOrgKeys(gateways);
  const { orgKeys } = published;
  await submitJson(
    contract('distributor1', 'Pricing'),
    'PublishTariff',
    JSON.stringify({
      ...exampleTariff,
      ...options.tariff,
      tariffId,
      effectiveFrom: isoSeconds(startSeconds),
    }),
  );
  const sessionKey = newSessionKey();
  const request = northgridRequest(meter, sessionKey, published, options.utility);
  const { subscriptionId } = await submitJson<{ subscriptionId: string }>(
    contract(HOUSEHOLDS, 'Subscription', subscriber),
    'RequestSubscription',
    request,
  );
  await submitJson(
    contract('distributor1', 'Subscription'),
    'ApproveSubscription',
    subscriptionId,
    JSON.stringify({
      intervalSeconds: INTERVAL,
      tariffId,
      regionCode: options.regionCode ?? 'north/d1',
      startDate: isoSeconds(startSeconds),
    }),
  );
  if (options.pair !== false) {
    await submitJson(
      contract(HOUSEHOLDS, 'Subscription', meter),
      'ConfirmPairing',
      subscriptionId,
      pairingProof(sessionKey, meter),
    );
  }
  return { subscriptionId, sessionKey, subscriber, meter, tariffId, orgKeys };
}

/** The household's meter submits readings 0..count-1 from startSeconds in one batch. */
export async function submitReadings(
  gateways: Gateways,
  household: OnboardedHousehold,
  startSeconds: number,
  count: number,
  energyWh: (n: number) => number,
): Promise<void> {
  await submitJson(
    gateways.contract(HOUSEHOLDS, CHANNEL, 'Measurement', household.meter),
    'SubmitReadings',
    JSON.stringify(
      Array.from({ length: count }, (_, n) => readingFor(household, startSeconds, n, energyWh(n))),
    ),
  );
}

/** Distributor1's operator bills [from, to) of a household (its session key as transient data). */
export function issueBill(
  gateways: Gateways,
  household: OnboardedHousehold,
  fromSeconds: number,
  toSeconds: number,
): Promise<BillRecord> {
  return new BillingClient(chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE)).issue(
    household.subscriptionId,
    isoSeconds(fromSeconds),
    isoSeconds(toSeconds),
    household.sessionKey,
    [D1, AUTHORITY],
  );
}

/** Reading n of a household (sequence n + 1), encrypted for its slot; energy as the caller chooses. */
export function readingFor(household: OnboardedHousehold, startSeconds: number, n: number, energyWh: number) {
  const slot = {
    channel: CHANNEL,
    subscriptionId: household.subscriptionId,
    sequence: n + 1,
    periodStart: isoSeconds(startSeconds + n * INTERVAL),
  };
  const payload = { energyWh, utility: 'electricity' as const, unit: 'Wh', quality: 'measured' as const };
  return {
    subscriptionId: slot.subscriptionId,
    sequence: slot.sequence,
    periodStart: slot.periodStart,
    ...encryptReading(payload, household.sessionKey, slot),
  };
}
