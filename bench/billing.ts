/**
 * Benchmark (not a test): how long IssueBill takes inside the chaincode for a month of 30-minute readings
 * (1,440), and for 100 such subscriptions one after another. It runs the real contract code — decryption of
 * every reading, tariff lookup, time-of-use pricing, digest — on the in-memory stub, so it measures the
 * chaincode's own work without endorsement, ordering and commit. `npm run bench:billing`.
 */
// The chaincode reads the network's topology as its server gets it (unit tests set the same).
import '../chaincode/test/support/topology';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SubscriptionRecord, TariffDefinition } from '@smartmeter/domain';
import { encryptReading } from '@smartmeter/crypto';
import { contracts, id, World, type Household } from '../chaincode/test/support/fixtures';

const INTERVAL = 1800;
const READINGS = 1440;
const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 100);
const START = Date.parse('2026-01-01T00:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
// The example time-of-use tariff shipped in examples/tariffs.
const exampleTariff = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'examples', 'tariffs', 'time-of-use.json'), 'utf8'),
) as TariffDefinition;

async function setUp(world: World, index: number): Promise<Household> {
  const household = await world.requested({ subscriberId: `hh-${index}`, meterId: `M-${index}` });
  const at = { time: new Date('2026-01-01T00:00:00Z') };
  await world.approve(
    household,
    { intervalSeconds: INTERVAL, tariffId: 'tou', regionCode: 'north/d1', startDate: iso(START) },
    at,
  );
  // Readings go straight into the stub's state: the benchmark measures billing, not submission.
  for (let n = 0; n < READINGS; n++) {
    const slot = {
      channel: 'northgrid',
      subscriptionId: household.subscriptionId,
      sequence: n + 1,
      periodStart: iso(START + n * INTERVAL),
    };
    const encrypted = encryptReading(
      { energyWh: 100 + (n % 400), utility: 'electricity', unit: 'Wh', quality: 'measured' },
      household.sessionKey,
      slot,
    );
    const record = {
      docType: 'reading',
      ...slot,
      ...encrypted,
      submittedAt: slot.periodStart,
      txId: '0'.repeat(64),
    };
    delete (record as { channel?: string }).channel;
    world.ledger.state.set(
      `reading/${household.subscriptionId}/${slot.periodStart}`,
      Buffer.from(JSON.stringify(record)),
    );
  }
  const subscriptionKey = `\u0000subscription\u0000${household.subscriptionId}\u0000`;
  const subscription = JSON.parse(world.ledger.read(subscriptionKey) as string) as SubscriptionRecord;
  world.ledger.state.set(subscriptionKey, Buffer.from(JSON.stringify({ ...subscription, status: 'ACTIVE' })));
  return household;
}

async function billOnce(world: World, household: Household): Promise<number> {
  const began = performance.now();
  await world.run(
    id.d1Operator,
    (ctx) =>
      contracts.billing.IssueBill(
        ctx,
        household.subscriptionId,
        iso(START),
        iso(START + READINGS * INTERVAL),
      ),
    { transient: { sessionKey: household.sessionKey }, time: new Date((START + 31 * 86_400) * 1000) },
  );
  return performance.now() - began;
}

async function main(): Promise<void> {
  const world = await World.create();
  await world.run(
    id.d1Operator,
    (ctx) =>
      contracts.pricing.PublishTariff(
        ctx,
        JSON.stringify({
          ...exampleTariff,
          tariffId: 'tou',
          effectiveFrom: iso(START),
          utcOffsetMinutes: 60,
        }),
      ),
    { time: new Date('2026-01-01T00:00:00Z') },
  );
  const households: Household[] = [];
  // One more than measured: the first bill warms the JIT up.
  for (let i = 0; i <= SUBSCRIPTIONS; i++) households.push(await setUp(world, i));

  await billOnce(world, households[0]);
  const single: number[] = [];
  const all = performance.now();
  for (const household of households.slice(1)) single.push(await billOnce(world, household));
  const total = performance.now() - all;
  single.sort((a, b) => a - b);
  const pct = (p: number) => single[Math.min(single.length - 1, Math.floor(p * single.length))].toFixed(1);
  console.log(
    `IssueBill inside the chaincode (in-process, ${READINGS} readings of ${INTERVAL / 60} min, time-of-use tariff)`,
  );
  console.log(
    `  one subscription: median ${pct(0.5)} ms, p90 ${pct(0.9)} ms, min ${single[0].toFixed(1)} ms`,
  );
  console.log(`  ${single.length} subscriptions one after another: ${(total / 1000).toFixed(2)} s`);
  console.log(`  node ${process.version}, ${process.arch}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
