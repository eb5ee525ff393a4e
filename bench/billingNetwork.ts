/**
 * Benchmark (not a test): IssueBill for a month of 30-minute readings (1,440) on the running network — both
 * endorsing peers decrypt and price the readings through their chaincode servers, then BFT ordering and
 * commit. Needs `./test-network.sh up`. `npm run bench:billing:network`.
 */
import {
  encryptReading,
  newOrgKeyPair,
  newSessionKey,
  pairingProof,
  type OrgKeyPair,
} from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSubscriptionRequest } from '../client/src/subscriptionRequest';
import { Gateways, isoSeconds, submitJson } from '../test/support/chaincode';
import { testNetwork } from '../test/support/network';

const CHANNEL = 'northgrid';
const D1 = 'Distributor1MSP';
const AUTHORITY = 'AuthorityMSP';
const INTERVAL = 1800;
const READINGS = 1440;
const BATCH = 96;

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const subscriber = `bench-hh-${run}`;
  const meter = `bench-mtr-${run}`;
  await testNetwork(
    'enroll',
    'distributor1',
    subscriber,
    '--attrs',
    `role=subscriber:ecert,subscriberId=${subscriber}:ecert`,
  );
  await testNetwork('enroll', 'distributor1', meter, '--attrs', `role=meter:ecert,meterId=${meter}:ecert`);
  const gateways = new Gateways();
  const contract = (org: string, name: string, identity?: string) =>
    gateways.contract(org, CHANNEL, name, identity);
  try {
    const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 30 * 86_400;
    const keys: Record<string, OrgKeyPair> = { [D1]: newOrgKeyPair(), [AUTHORITY]: newOrgKeyPair() };
    const versions: Record<string, number> = {};
    versions[D1] = (
      await submitJson<{ version: number }>(
        contract('distributor1', 'OrgKey'),
        'PublishOrgKey',
        keys[D1].publicKeyPem,
      )
    ).version;
    versions[AUTHORITY] = (
      await submitJson<{ version: number }>(
        contract('authority', 'OrgKey'),
        'PublishOrgKey',
        keys[AUTHORITY].publicKeyPem,
      )
    ).version;
    const tariff = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'examples', 'tariffs', 'time-of-use.json'), 'utf8'),
    );
    const tariffId = `bench-${run}`;
    await submitJson(
      contract('distributor1', 'Pricing'),
      'PublishTariff',
      JSON.stringify({ ...tariff, tariffId, effectiveFrom: isoSeconds(start) }),
    );
    const sessionKey = newSessionKey();
    const request = buildSubscriptionRequest({
      distributorMspId: D1,
      meterId: meter,
      requestedPlan: 'bench',
      sessionKey,
      recipients: [D1, AUTHORITY].map((mspId) => ({
        mspId,
        version: versions[mspId],
        publicKeyPem: keys[mspId].publicKeyPem,
      })),
    });
    const { subscriptionId } = await submitJson<{ subscriptionId: string }>(
      contract('distributor1', 'Subscription', subscriber),
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
        regionCode: 'north/bench',
        startDate: isoSeconds(start),
      }),
    );
    await submitJson(
      contract('distributor1', 'Subscription', meter),
      'ConfirmPairing',
      subscriptionId,
      pairingProof(sessionKey, meter),
    );

    const submitting = performance.now();
    const measurement = contract('distributor1', 'Measurement', meter);
    for (let first = 0; first < READINGS; first += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, READINGS - first) }, (_, i) => {
        const n = first + i;
        const slot = {
          channel: CHANNEL,
          subscriptionId,
          sequence: n + 1,
          periodStart: isoSeconds(start + n * INTERVAL),
        };
        const payload = {
          energyWh: 100 + (n % 400),
          utility: 'electricity' as const,
          unit: 'Wh',
          quality: 'measured' as const,
        };
        return {
          subscriptionId,
          sequence: slot.sequence,
          periodStart: slot.periodStart,
          ...encryptReading(payload, sessionKey, slot),
        };
      });
      await measurement.submitTransaction('SubmitReadings', JSON.stringify(batch));
    }
    const submitted = performance.now() - submitting;

    const proposal = contract('distributor1', 'Billing').newProposal('IssueBill', {
      arguments: [subscriptionId, isoSeconds(start), isoSeconds(start + READINGS * INTERVAL)],
      transientData: { sessionKey },
      endorsingOrganizations: [D1, AUTHORITY],
    });
    const began = performance.now();
    const endorsed = await proposal.endorse();
    const endorsedAt = performance.now();
    const status = await (await endorsed.submit()).getStatus();
    const committedAt = performance.now();
    if (!status.successful) throw new Error(`IssueBill was not committed: code ${status.code}`);
    console.log(
      `IssueBill on the network (${READINGS} readings of ${INTERVAL / 60} min, time-of-use tariff, BFT ordering)`,
    );
    console.log(
      `  endorsement on both peers (decrypt + price in each chaincode server): ${(endorsedAt - began).toFixed(0)} ms`,
    );
    console.log(`  endorsement + ordering + commit: ${(committedAt - began).toFixed(0)} ms`);
    console.log(
      `  (setting up: ${READINGS / BATCH} batches of ${BATCH} readings took ${(submitted / 1000).toFixed(1)} s)`,
    );
  } finally {
    gateways.closeAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
