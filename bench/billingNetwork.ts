/**
 * Benchmark (not a test): IssueBill for a month of 30-minute readings (1,440) on the running network — both
 * endorsing peers decrypt and price the readings through their chaincode servers, then BFT ordering and
 * commit. Needs `./test-network.sh up`. `npm run bench:billing:network`.
 */
import { performance } from 'node:perf_hooks';
import { Gateways, isoSeconds, submitJson } from '../test/support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  HOUSEHOLDS,
  INTERVAL,
  onboardHousehold,
  readingFor,
} from '../test/support/household';

const READINGS = 1440;
const BATCH = 96;

async function main(): Promise<void> {
  const gateways = new Gateways();
  const contract = (org: string, name: string, identity?: string) =>
    gateways.contract(org, CHANNEL, name, identity);
  try {
    const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 30 * 86_400;
    const household = await onboardHousehold(gateways, 'bench', start);
    const { subscriptionId, sessionKey } = household;

    const submitting = performance.now();
    const measurement = contract(HOUSEHOLDS, 'Measurement', household.meter);
    for (let first = 0; first < READINGS; first += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, READINGS - first) }, (_, i) =>
        readingFor(household, start, first + i, 100 + ((first + i) % 400)),
      );
      await submitJson(measurement, 'SubmitReadings', JSON.stringify(batch));
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
