import type { Page, ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import { decryptReading, type ReadingPayload } from '@smartmeter/crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contracts, id } from '../../chaincode/test/support/fixtures';
import type { Logger } from '../src/log';
import { Meter, type MeterSettings } from '../src/meter';
import { Outbox } from '../src/outbox';
import { HouseholdSource } from '../src/sources/household';
import { approvedHousehold, bundleFor, MemoryMeterLedger } from './support/memoryMeterLedger';

const HALF_HOUR = 1800;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
/** Half-hour boundary two days ago: the simulated day lies wholly in the past. */
const dayStart = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 2 * 86_400;
const settings: MeterSettings = {
  speed: 1_000_000,
  maxJitterSeconds: 60,
  batchSize: 96,
  refreshSeconds: 0.2,
  shareWindowSeconds: 240,
  minShareGapSeconds: 20,
};

function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, event, message) => lines.push(`${level} ${event} ${message}`) };
}

async function setup(options: { untilHours?: number; batchSize?: number; speed?: number } = {}) {
  const { world, household } = await approvedHousehold(dayStart);
  const ledger = new MemoryMeterLedger(world, household);
  const statePath = join(mkdtempSync(join(tmpdir(), 'meter-')), 'outbox.jsonl');
  const source = new HouseholdSource({
    seed: household.meterId,
    utility: 'electricity',
    utcOffsetMinutes: 0,
  });
  const log = collectingLogger();
  const meterSettings = {
    ...settings,
    speed: options.speed ?? settings.speed,
    batchSize: options.batchSize ?? 96,
    untilSeconds: dayStart + (options.untilHours ?? 24) * 3600,
  };
  const newMeter = () =>
    new Meter(
      bundleFor(household),
      household.sessionKey,
      ledger,
      source,
      Outbox.open(statePath),
      log,
      meterSettings,
    );
  const stored = async (): Promise<ReadingRecord[]> =>
    (
      JSON.parse(
        await world.run(household.subscriber, (ctx) =>
          contracts.measurement.GetReadings(
            ctx,
            household.subscriptionId,
            iso(dayStart - 86_400),
            iso(dayStart + 4 * 86_400),
            '100',
            '',
          ),
        ),
      ) as Page<ReadingRecord>
    ).records;
  const decrypt = (r: ReadingRecord): ReadingPayload =>
    decryptReading(r, household.sessionKey, {
      channel: 'northgrid',
      subscriptionId: r.subscriptionId,
      sequence: r.sequence,
      periodStart: r.periodStart,
    });
  return { world, household, ledger, log, newMeter, stored, decrypt, source, statePath };
}

describe('meter', () => {
  it('when it runs a simulated day then it pairs, and every half hour is on the ledger once, in order, decrypting to what it measured', async () => {
    const { newMeter, stored, decrypt, source, ledger, log } = await setup();
    const meter = newMeter();
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');

    const readings = await stored();
    expect(readings.map((r) => r.periodStart)).toEqual(
      Array.from({ length: 48 }, (_, i) => iso(dayStart + i * HALF_HOUR)),
    );
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    for (const r of readings) {
      expect(decrypt(r)).toEqual({
        energyWh: source.measure(Date.parse(r.periodStart) / 1000, HALF_HOUR).quantity,
        utility: 'electricity',
        unit: 'Wh',
        quality: 'measured',
      });
    }
    expect((await ledger.getSubscription()).status).toBe('ACTIVE');
    expect(meter.stats).toMatchObject({ generated: 48, committed: 48, alreadyOnLedger: 0, dropped: 0 });
    expect(log.lines.filter((line) => line.includes('reading.committed'))).toHaveLength(48);
  });

  it('when the meter dies after the ledger committed but before it recorded so then the restarted meter resubmits identically and nothing is duplicated', async () => {
    const { newMeter, stored, ledger } = await setup({ untilHours: 6, batchSize: 4 });
    const crash = new AbortController();
    ledger.crashAfterNextCommit = crash;
    await expect(newMeter().run(crash.signal)).resolves.toBe('stopped');
    expect(ledger.submittedBatches).toHaveLength(1);
    const crashedBatch = ledger.submittedBatches[0];
    expect(await stored()).toHaveLength(crashedBatch.length);

    const restarted = newMeter();
    await expect(restarted.run(new AbortController().signal)).resolves.toBe('until');
    expect(ledger.submittedBatches[1].slice(0, crashedBatch.length)).toEqual(crashedBatch);
    expect(restarted.stats.alreadyOnLedger).toBe(crashedBatch.length);
    expect((await stored()).map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('when the peer is unreachable for a while then readings wait in the outbox and drain in order afterwards', async () => {
    const { newMeter, stored, ledger, log } = await setup({ untilHours: 12 });
    ledger.outageSubmissions = 2;
    const meter = newMeter();
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    expect((await stored()).map((r) => r.sequence)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(log.lines.filter((l) => l.includes('ledger.unreachable'))).toHaveLength(1);
    expect(log.lines.some((l) => l.includes('ledger.reachable'))).toBe(true);
    const flattened = ledger.submittedBatches.flat();
    expect(flattened).toEqual([...flattened].sort());
  });

  it('when the subscription ends then the meter submits what came before the end and stops', async () => {
    const { newMeter, stored, world, household } = await setup({ untilHours: 48, speed: 20_000 });
    const run = newMeter().run(new AbortController().signal);
    // The household ends it two hours after the last reading on the ledger, while the meter is running.
    while ((await stored()).length < 12) await new Promise((r) => setTimeout(r, 5));
    const lastEnd = Date.parse((await stored()).at(-1)?.periodStart as string) / 1000 + HALF_HOUR;
    const end = lastEnd + 2 * 3600;
    await world.run(
      household.subscriber,
      (ctx) => contracts.subscription.EndSubscription(ctx, household.subscriptionId, 'moving out', iso(end)),
      { time: new Date() },
    );
    await expect(run).resolves.toBe('ended');
    const readings = await stored();
    expect(readings.at(-1)?.periodStart).toBe(iso(end - HALF_HOUR));
    expect(readings).toHaveLength((end - dayStart) / HALF_HOUR);
  });

  it('when the distributor changes the interval then the meter reports on the new grid from the change on', async () => {
    const { newMeter, stored, world, household } = await setup({ untilHours: 4 });
    await world.run(
      household.meter,
      (ctx) => contracts.subscription.GetSubscription(ctx, household.subscriptionId),
      { time: new Date() },
    );
    await world.run(
      id.d1Operator,
      (ctx) =>
        contracts.subscription.ChangeReadingInterval(
          ctx,
          household.subscriptionId,
          '900',
          iso(dayStart + 2 * 3600),
        ),
      {
        time: new Date(),
      },
    );
    await expect(newMeter().run(new AbortController().signal)).resolves.toBe('until');
    const readings = await stored();
    expect(readings.map((r) => r.periodStart.slice(11, 16))).toEqual([
      ...['00:00', '00:30', '01:00', '01:30'],
      ...['02:00', '02:15', '02:30', '02:45', '03:00', '03:15', '03:30', '03:45'],
    ]);
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('when the bundle holds another key than the subscription then the meter refuses to start', async () => {
    const { household, ledger, log, statePath } = await setup();
    const bundle = {
      ...bundleFor(household),
      sessionKey: { keyId: 'f'.repeat(32), keyHex: '00'.repeat(32) },
    };
    const source = new HouseholdSource({ seed: 'x', utility: 'electricity', utcOffsetMinutes: 0 });
    const meter = new Meter(bundle, Buffer.alloc(32), ledger, source, Outbox.open(statePath), log, settings);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('failed');
    expect(log.lines.at(-1)).toMatch(
      /error meter.failed the bundle's session key f{32} is not the key of sub_/,
    );
    const record: SubscriptionRecord = await ledger.getSubscription();
    expect(record.status).toBe('APPROVED');
  });
});
