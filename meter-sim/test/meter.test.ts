import type { Page, ReadingRecord, SubscriptionRecord, WalletRecord } from '@smartmeter/domain';
import { decryptReading, type ReadingPayload } from '@smartmeter/crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { contracts, id } from '../../chaincode/test/support/fixtures';
import type { BatchResult, ReadingSubmission } from '@smartmeter/client/dist/contracts/MeasurementClient';
import { createLogger, type Logger } from '../src/log';
import { Meter, type MeterLedger, type MeterSettings } from '../src/meter';
import type { JournalFiles } from '../src/journal';
import { Outbox } from '../src/outbox';
import { HouseholdSource } from '../src/sources/household';
import { LclReplaySource, parseLcl, type LclHousehold } from '../src/sources/lcl';
import type { ReadingSource } from '../src/sources/source';
import { FailingFiles } from './support/failingFiles';
import { approvedHousehold, bundleFor, MemoryMeterLedger, refusalError } from './support/memoryMeterLedger';

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
  walletPollSeconds: 60,
};

function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, event, message) => lines.push(`${level} ${event} ${message}`) };
}

/** The ledger, except that it refuses (CONFLICT) every reading of the given periods, as a peer would. */
class RefusingLedger implements MeterLedger {
  constructor(
    readonly inner: MemoryMeterLedger,
    readonly refused: Set<string>,
  ) {}

  getSubscription(): Promise<SubscriptionRecord> {
    return this.inner.getSubscription();
  }

  confirmPairing(proof: string): Promise<SubscriptionRecord> {
    return this.inner.confirmPairing(proof);
  }

  walletOf(subscriptionId: string): Promise<WalletRecord | undefined> {
    return this.inner.walletOf(subscriptionId);
  }

  submitReadings(readings: ReadingSubmission[]): Promise<BatchResult> {
    const refused = readings.find((reading) => this.refused.has(reading.periodStart));
    if (refused)
      return Promise.reject(
        refusalError(`CONFLICT: reading ${refused.periodStart} differs from the one already stored`),
      );
    return this.inner.submitReadings(readings);
  }
}

async function setup(
  options: {
    untilHours?: number;
    batchSize?: number;
    speed?: number;
    source?: ReadingSource;
    refused?: string[];
    /** The outbox's file operations (a disk that fills). */
    files?: JournalFiles;
  } = {},
) {
  const { world, household } = await approvedHousehold(dayStart);
  const memory = new MemoryMeterLedger(world, household);
  const ledger = options.refused ? new RefusingLedger(memory, new Set(options.refused)) : memory;
  const statePath = join(mkdtempSync(join(tmpdir(), 'meter-')), 'outbox.jsonl');
  const source =
    options.source ??
    new HouseholdSource({
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
      Outbox.open(statePath, options.files),
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
  return { world, household, ledger: memory, log, newMeter, stored, decrypt, source, statePath };
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

  it('when a reading is committed then its line says the quantity, quality=<quality> and committed', async () => {
    const { newMeter, log, source } = await setup({ untilHours: 1, batchSize: 1 });
    await expect(newMeter().run(new AbortController().signal)).resolves.toBe('until');
    const first = source.measure(dayStart, HALF_HOUR).quantity;
    expect(log.lines.filter((line) => line.startsWith('info reading.committed'))).toEqual([
      `info reading.committed ${iso(dayStart)} #1 ${first} Wh (quality=measured) committed`,
      `info reading.committed ${iso(dayStart + HALF_HOUR)} #2 ${source.measure(dayStart + HALF_HOUR, HALF_HOUR).quantity} Wh (quality=measured) committed`,
    ]);
  });

  it('when the ledger refuses readings and the subscription ends then the meter says how many it dropped and why', async () => {
    const refused = [iso(dayStart + HALF_HOUR), iso(dayStart + 2 * HALF_HOUR)];
    const { newMeter, world, household, log, stored } = await setup({
      untilHours: 48,
      speed: 20_000,
      refused,
    });
    const run = newMeter().run(new AbortController().signal);
    while ((await stored()).length < 4) await new Promise((r) => setTimeout(r, 5));
    const lastEnd = Date.parse((await stored()).at(-1)?.periodStart as string) / 1000 + HALF_HOUR;
    await world.run(
      household.subscriber,
      (ctx) =>
        contracts.subscription.EndSubscription(
          ctx,
          household.subscriptionId,
          'moving out',
          iso(lastEnd + 3600),
        ),
      { time: new Date() },
    );
    await expect(run).resolves.toBe('ended');

    const committed = (await stored()).length;
    expect(log.lines.filter((line) => line.startsWith('error reading.refused'))).toEqual(
      refused.map(
        (periodStart) =>
          `error reading.refused ${periodStart} refused by the ledger and dropped: CONFLICT: reading ${periodStart} differs from the one already stored`,
      ),
    );
    expect(log.lines.at(-1)).toBe(
      `info subscription.ended subscription ${household.subscriptionId} ended at ${iso(lastEnd + 3600)}; the meter stops. ` +
        `This run: ${committed} readings committed, 0 already on the ledger, 2 dropped (2 refused by the ledger with CONFLICT): ` +
        'their periods have no reading on the ledger (see the reading.refused and reading.dropped lines)',
    );
    expect(log.lines.join('\n')).not.toContain('every reading before it is on the ledger');
  });

  it('when the subscription ends with nothing dropped then the meter says so', async () => {
    const { newMeter, world, household, log, stored } = await setup({ untilHours: 48, speed: 20_000 });
    const run = newMeter().run(new AbortController().signal);
    while ((await stored()).length < 2) await new Promise((r) => setTimeout(r, 5));
    const lastEnd = Date.parse((await stored()).at(-1)?.periodStart as string) / 1000 + HALF_HOUR;
    await world.run(
      household.subscriber,
      (ctx) =>
        contracts.subscription.EndSubscription(
          ctx,
          household.subscriptionId,
          'moving out',
          iso(lastEnd + 3600),
        ),
      { time: new Date() },
    );
    await expect(run).resolves.toBe('ended');
    expect(log.lines.at(-1)).toMatch(
      new RegExp(
        `; the meter stops\\. This run: ${(await stored()).length} readings committed, 0 already on the ledger, none dropped$`,
      ),
    );
  });

  it("when it replays an LCL file then the subscription's first day plays the file's first day", async () => {
    const lcl = parseLcl(readFileSync(join(__dirname, 'fixtures', 'lcl-acorn.csv'), 'utf8')).get(
      'MAC000003',
    ) as LclHousehold;
    const source = new LclReplaySource(lcl);
    const { newMeter, stored, decrypt, log } = await setup({ untilHours: 2, source });
    await expect(newMeter().run(new AbortController().signal)).resolves.toBe('until');
    // The fixture's first day: 0.100, 0.101, 0.102, 0.103 kWh from midnight.
    expect((await stored()).map((r) => decrypt(r).energyWh)).toEqual([100, 101, 102, 103]);
    expect(log.lines.find((line) => line.startsWith('info meter.started'))).toContain(
      `file day 2013-01-07 (Mon) plays on ${iso(dayStart).slice(0, 10)}`,
    );
  });
});

describe('meter on a disk that fills', () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** The periods the outbox file holds a reading for, in the order written. */
  const writtenPeriods = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { kind: string; reading?: { submission: { periodStart: string } } })
      .flatMap((line) =>
        line.kind === 'reading' && line.reading ? [line.reading.submission.periodStart] : [],
      );

  it('when the outbox cannot take new readings then the meter pauses them, says outbox.full once, commits what it had, and resumes with no period skipped', async () => {
    const files = new FailingFiles();
    const { newMeter, stored, decrypt, source, log, statePath } = await setup({
      untilHours: 6,
      speed: 20_000,
      files,
    });
    const run = newMeter().run(new AbortController().signal);
    while ((await stored()).length < 2) await pause(5);

    files.fill();
    while (!log.lines.some((line) => line.includes('outbox.full'))) await pause(5);
    // Another attempt to store the waiting periods, on the back-off.
    const failuresAtPause = files.failures;
    while (files.failures < failuresAtPause + 1) await pause(20);
    // Everything the outbox took is on the ledger; nothing it did not take was submitted.
    const whilePaused = (await stored()).map((r) => r.periodStart);
    expect(whilePaused.length).toBeLessThan(12);
    expect(whilePaused).toEqual(writtenPeriods(statePath));

    files.free();
    await expect(run).resolves.toBe('until');
    const readings = await stored();
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const r of readings)
      expect(decrypt(r).energyWh).toBe(source.measure(Date.parse(r.periodStart) / 1000, HALF_HOUR).quantity);
    // Every reading went into the outbox before it was submitted, once.
    expect(writtenPeriods(statePath)).toEqual(readings.map((r) => r.periodStart));

    const full = log.lines.filter((line) => line.includes('outbox.full'));
    expect(full).toHaveLength(1);
    expect(full[0]).toMatch(
      new RegExp(
        `^error outbox.full cannot write ${statePath}: no space is left on the device \\(ENOSPC\\): new readings are paused until space is freed in ${dirname(statePath)};`,
      ),
    );
    expect(full[0]).toContain(`from ${iso(Date.parse(whilePaused.at(-1) as string) / 1000 + HALF_HOUR)} on`);
    expect(log.lines.filter((line) => line.startsWith('info outbox.resumed'))).toHaveLength(1);
    // Not a line per attempt: the reminder comes every 10 minutes at most.
    expect(log.lines.filter((line) => line.startsWith('warn'))).toEqual([]);
  });
});

describe('meter-sim log lines', () => {
  const streams = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      write: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) },
    };
  };

  it('when logging text then info goes to stdout and warnings and errors to stderr, with their level', () => {
    const { out, err, write } = streams();
    const log = createLogger(false, write);
    log.log('info', 'reading.committed', '2026-11-15T10:30:00Z #1 249 Wh (quality=measured) committed', {
      meterId: 'mtr-1',
    });
    log.log('warn', 'ledger.unreachable', 'cannot submit', { meterId: 'mtr-1' });
    log.log('error', 'meter.failed', 'the bundle is stale', { meterId: 'mtr-1' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\S+Z mtr-1 2026-11-15T10:30:00Z #1 249 Wh \(quality=measured\) committed\n$/);
    expect(err).toHaveLength(2);
    expect(err[0]).toMatch(/^\S+Z WARN mtr-1 cannot submit\n$/);
    expect(err[1]).toMatch(/^\S+Z ERROR mtr-1 the bundle is stale\n$/);
  });

  it('when logging JSON then each stream carries one object per line with the event name and fields', () => {
    const { out, err, write } = streams();
    const log = createLogger(true, write);
    log.log('info', 'summary', '1 meter(s)', { committed: 48 });
    log.log('error', 'reading.refused', 'refused', { meterId: 'mtr-1', periodStart: '2026-11-15T10:30:00Z' });
    expect(out.map((line) => JSON.parse(line) as object)).toEqual([
      expect.objectContaining({ level: 'info', event: 'summary', message: '1 meter(s)', committed: 48 }),
    ]);
    expect(err.map((line) => JSON.parse(line) as object)).toEqual([
      expect.objectContaining({
        level: 'error',
        event: 'reading.refused',
        periodStart: '2026-11-15T10:30:00Z',
      }),
    ]);
    for (const line of [...out, ...err])
      expect(line.split('\n')).toEqual([expect.stringMatching(/^\{.*\}$/), '']);
  });
});
