/**
 * A fleet of benchmark meters on northgrid, set up the way the parties do it: one household identity, and per
 * meter its own CA identity (role=meter), session key, subscription (requested by the household, approved by
 * Distributor1) and pairing. Shared by the throughput, meter-sim and Caliper benchmarks.
 */
import { newOrgKeyPair, newSessionKey, pairingProof, sealPersonalData } from '@smartmeter/crypto';
import { join } from 'node:path';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { isoSeconds, type PrivacyMode } from '@smartmeter/domain';
import { buildSubscriptionRequest } from '../../client/src/subscriptionRequest';
import { Gateways, submitJson } from '../../test/support/chaincode';
import {
  CHANNEL,
  enrollMeter,
  enrollSubscriber,
  exampleTariff,
  HOUSEHOLDS,
  D1,
  northgridRequest,
  publishOrgKeys,
  type PublishedOrgKeys,
} from '../../test/support/household';
import { CHAINCODE, profile } from '../../test/support/network';

export interface BenchMeter {
  meterId: string;
  subscriptionId: string;
  /** The subscription's session key (kept in memory or in a 0600 file, never printed). */
  sessionKey: Buffer;
  mspId: string;
  certPath: string;
  keyPath: string;
}

export interface FleetOptions {
  count: number;
  /** Reading interval the distributor approves. */
  intervalSeconds: number;
  /** First period of every subscription, epoch seconds. */
  startSeconds: number;
  /** Pair each meter (ConfirmPairing) here; meter-sim pairs its meters itself. */
  pair: boolean;
  /** aggregate: the key wrapped for the distributor only, approved into `regionCode`, never paired. */
  privacyMode?: PrivacyMode;
  regionCode?: string;
  /** Wrap the session keys for these published org keys (e.g. ones a test keystore holds) instead of new ones. */
  orgKeys?: PublishedOrgKeys;
  /** Called after each meter is ready, for progress output. */
  onReady?: (ready: number, count: number) => void;
}

/** Runs fn over items with at most `limit` in flight. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

export async function prepareFleet(gateways: Gateways, options: FleetOptions): Promise<BenchMeter[]> {
  const run = Date.now().toString(36);
  const subscriber = `bench-hh-${run}`;
  await enrollSubscriber(subscriber);
  const meterIds = Array.from(
    { length: options.count },
    (_, i) => `bench-mtr-${run}-${String(i).padStart(4, '0')}`,
  );
  // Each enrollment runs fabric-ca-client against the households CA; a few at a time keep the CA responsive.
  await inBatches(meterIds, 4, (meterId) => enrollMeter(meterId));
  const orgKeys = options.orgKeys ?? (await publishOrgKeys(gateways));
  const tariffId = `bench-${run}`;
  const distributor = gateways.gateway('distributor1').getNetwork(CHANNEL);
  await submitJson(
    distributor.getContract(CHAINCODE, 'Pricing'),
    'PublishTariff',
    JSON.stringify({ ...exampleTariff, tariffId, effectiveFrom: isoSeconds(options.startSeconds) }),
  );
  const household = gateways
    .gateway(HOUSEHOLDS, subscriber)
    .getNetwork(CHANNEL)
    .getContract(CHAINCODE, 'Subscription');
  const households = profile(HOUSEHOLDS);
  let ready = 0;
  return inBatches(meterIds, 20, async (meterId): Promise<BenchMeter> => {
    const sessionKey = newSessionKey();
    const { subscriptionId } = await submitJson<{ subscriptionId: string }>(
      household,
      'RequestSubscription',
      options.privacyMode === 'aggregate'
        ? aggregateRequest(meterId, sessionKey, orgKeys)
        : northgridRequest(meterId, sessionKey, orgKeys),
    );
    await submitJson(
      distributor.getContract(CHAINCODE, 'Subscription'),
      'ApproveSubscription',
      subscriptionId,
      JSON.stringify({
        intervalSeconds: options.intervalSeconds,
        tariffId,
        regionCode: options.regionCode ?? 'north/bench',
        startDate: isoSeconds(options.startSeconds),
      }),
    );
    if (options.pair && options.privacyMode !== 'aggregate') {
      await submitJson(
        gateways.gateway(HOUSEHOLDS, meterId).getNetwork(CHANNEL).getContract(CHAINCODE, 'Subscription'),
        'ConfirmPairing',
        subscriptionId,
        pairingProof(sessionKey, meterId),
      );
    }
    ready += 1;
    options.onReady?.(ready, options.count);
    const files = households.identities[meterId];
    return { meterId, subscriptionId, sessionKey, mspId: households.mspId, ...files };
  });
}

/** An aggregate-mode request: the session key wrapped for Distributor1 only. */
function aggregateRequest(meterId: string, sessionKey: Buffer, keys: PublishedOrgKeys): string {
  return buildSubscriptionRequest({
    distributorMspId: D1,
    meterId,
    requestedPlan: 'residential-tou',
    sessionKey,
    privacyMode: 'aggregate',
    householdPublicKeyPem: newOrgKeyPair().publicKeyPem,
    recipients: [{ mspId: D1, version: keys.versions[D1], publicKeyPem: keys.orgKeys[D1].publicKeyPem }],
  });
}

/**
 * One disclosed-mode pair bundle (0600) per meter in `dir`, for meter-sim --bundle-dir: the meters pair
 * themselves; the personal data is sealed as the household's bundle would carry it.
 */
export function writeFleetBundles(
  dir: string,
  meters: BenchMeter[],
  personalData = '{"name":"bench"}',
): void {
  const households = profile(HOUSEHOLDS);
  for (const meter of meters) {
    const bundle = buildPairBundle({
      profile: households,
      channel: CHANNEL,
      subscriptionId: meter.subscriptionId,
      meterId: meter.meterId,
      meterIdentity: { certPath: meter.certPath, keyPath: meter.keyPath },
      sessionKey: meter.sessionKey,
      sealedPersonalData: sealPersonalData(Buffer.from(personalData), meter.sessionKey, meter.subscriptionId),
    });
    writeSecretFile(join(dir, `${meter.meterId}.json`), JSON.stringify(bundle));
  }
}
