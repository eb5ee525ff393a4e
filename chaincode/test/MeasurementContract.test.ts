import { decryptReading } from '@smartmeter/crypto';
import type { Page, ReadingRecord } from '@smartmeter/domain';
import {
  contracts,
  D2,
  id,
  parse,
  payload,
  period,
  reading,
  World,
  type Household,
} from './support/fixtures';
import type { FakeIdentity } from './support/memoryContext';

const measurement = contracts.measurement;
const submit = (world: World, who: FakeIdentity, body: object) =>
  world.run(who, (ctx) => measurement.SubmitReading(ctx, JSON.stringify(body)));
const readingKey = (household: Household, n: number) => `reading/${household.subscriptionId}/${period(n)}`;

describe('Measurement contract: SubmitReading', () => {
  it('when the paired meter submits then the encrypted reading is stored in its slot and decrypts there', async () => {
    const world = await World.create();
    const household = await world.active();
    const stored = parse<ReadingRecord>(await submit(world, household.meter, reading(household, 0, 512)));

    expect(stored).toMatchObject({
      docType: 'reading',
      sequence: 1,
      periodStart: period(0),
      keyId: stored.keyId,
    });
    expect(world.ledger.read(readingKey(household, 0))).toBe(JSON.stringify(stored));
    const slot = {
      channel: 'northgrid',
      subscriptionId: household.subscriptionId,
      sequence: 1,
      periodStart: period(0),
    };
    expect(decryptReading(stored, household.sessionKey, slot)).toEqual({ ...payload, energyWh: 512 });
    expect(() => decryptReading(stored, household.sessionKey, { ...slot, periodStart: period(1) })).toThrow(
      /moved to another slot/,
    );
    expect(world.ledger.events.at(-1)).toEqual({
      name: 'ReadingSubmitted',
      payload: `{"periodStart":"${period(0)}","stored":true,"subscriptionId":"${household.subscriptionId}"}`,
    });
  });

  it('when the identical reading is submitted again then it succeeds without a second write', async () => {
    const world = await World.create();
    const household = await world.active();
    const body = reading(household, 0);
    const first = await submit(world, household.meter, body);
    const writesBefore = world.ledger.state.size;
    await expect(submit(world, household.meter, body)).resolves.toBe(first);
    expect(world.ledger.state.size).toBe(writesBefore);
    expect(world.ledger.events.at(-1)?.payload).toContain('"stored":false');
  });

  it('when a different reading is sent for a stored period then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.active();
    await submit(world, household.meter, reading(household, 0, 100));
    await expect(submit(world, household.meter, reading(household, 0, 999))).rejects.toThrow(
      /^CONFLICT: a different reading is already stored/,
    );
  });

  it('when a later period comes with a sequence that does not advance then it is CONFLICT (replay)', async () => {
    const world = await World.create();
    const household = await world.active();
    await submit(world, household.meter, reading(household, 5));
    const replayed = { ...reading(household, 6), sequence: 6 };
    await expect(submit(world, household.meter, replayed)).rejects.toThrow(
      /^CONFLICT: readings must advance/,
    );
  });

  it('when an earlier period arrives after a later one then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.active();
    await submit(world, household.meter, reading(household, 5));
    await expect(submit(world, household.meter, reading(household, 3))).rejects.toThrow(
      /^CONFLICT: readings must advance/,
    );
  });

  it.each([
    ['another meter of the distributor', id.meter('MTR-999')],
    ['the same meter id of another distributor', id.meter('MTR-001', D2)],
    ['the operator', id.d1Operator],
    ['the subscriber', id.subscriber()],
  ])('when %s submits then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.active();
    await expect(submit(world, who, reading(household, 0))).rejects.toThrow(/^FORBIDDEN/);
  });

  it('when the subscription is approved but not paired then readings are CONFLICT', async () => {
    const world = await World.create();
    const household = await world.approved();
    await expect(submit(world, household.meter, reading(household, 0))).rejects.toThrow(
      /^CONFLICT: .* is APPROVED: it takes no readings/,
    );
  });

  it('when the subscription has ended then periods after the end are FORBIDDEN and earlier ones still accepted', async () => {
    const world = await World.create();
    const household = await world.active();
    await world.run(household.subscriber, (ctx) =>
      contracts.subscription.EndSubscription(ctx, household.subscriptionId, 'moving', period(10)),
    );
    await expect(submit(world, household.meter, reading(household, 10))).rejects.toThrow(
      /^FORBIDDEN: .* ended at/,
    );
    await expect(submit(world, household.meter, reading(household, 9))).resolves.toContain('"sequence":10');
  });

  it.each([
    [
      'a period not aligned to the interval',
      { periodStart: '2026-01-14T00:10:00Z' },
      /is not a period of this subscription/,
    ],
    [
      'a period before the start date',
      { periodStart: '2026-01-13T23:30:00Z' },
      /is not a period of this subscription/,
    ],
    ['a period that has not ended yet', { periodStart: '2026-01-15T12:00:00Z' }, /has not ended yet/],
    ['a non-integer sequence', { sequence: 1.5 }, /sequence must be an integer/],
    [
      'a ciphertext that is not base64',
      { ciphertext: 'not*base64' },
      /ciphertext must be standard padded base64/,
    ],
    [
      'an oversized ciphertext',
      { ciphertext: Buffer.alloc(2000).toString('base64') },
      /ciphertext must decode to 144 bytes/,
    ],
    [
      'a ciphertext one byte shorter than every reading (sizes must not leak values)',
      { ciphertext: Buffer.alloc(143).toString('base64') },
      /ciphertext must decode to 144 bytes/,
    ],
    ['a short nonce', { nonce: Buffer.alloc(8).toString('base64') }, /nonce must decode to 12 bytes/],
    ['a bad keyId', { keyId: 'abc' }, /keyId must be 32 lowercase hex/],
    ['an extra field', { energyWh: 5 }, /unknown field\(s\): energyWh/],
  ])('when the reading has %s then it is INVALID_ARGUMENT', async (_label, override, message) => {
    const world = await World.create();
    const household = await world.active();
    const attempt = submit(world, household.meter, { ...reading(household, 0), ...override });
    await expect(attempt).rejects.toThrow(message);
    await expect(submit(world, household.meter, { ...reading(household, 0), ...override })).rejects.toThrow(
      /^INVALID_ARGUMENT/,
    );
    expect(world.ledger.read(readingKey(household, 0))).toBeUndefined();
  });

  it('when a period is older than the backlog limit then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(
        household.meter,
        (ctx) => measurement.SubmitReading(ctx, JSON.stringify(reading(household, 0))),
        {
          time: new Date('2026-03-15T00:00:00Z'),
        },
      ),
    ).rejects.toThrow(/older than the 45-day backlog limit/);
  });

  it('when the reading is under another key id then it is WRONG_KEY (the meter needs a new bundle)', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      submit(world, household.meter, { ...reading(household, 0), keyId: 'f'.repeat(32) }),
    ).rejects.toThrow(/^WRONG_KEY: the reading is encrypted under key f{32}/);
  });
});

describe('Measurement contract: SubmitReadings batch', () => {
  const batch = (world: World, who: FakeIdentity, items: object[], time?: Date) =>
    world.run(who, (ctx) => measurement.SubmitReadings(ctx, JSON.stringify(items)), { time });
  /** Late enough that the first 500 periods have ended. */
  const later = () => new Date(Date.parse(period(500)));

  it('when a meter catches up with a batch then every reading is stored in order', async () => {
    const world = await World.create();
    const household = await world.active();
    const result = parse<{ stored: number }>(
      await batch(
        world,
        household.meter,
        [0, 1, 2].map((n) => reading(household, n)),
      ),
    );
    expect(result).toMatchObject({
      submitted: 3,
      stored: 3,
      alreadyStored: 0,
      firstPeriodStart: period(0),
      lastPeriodStart: period(2),
    });
    for (const n of [0, 1, 2]) expect(world.ledger.read(readingKey(household, n))).toBeDefined();
  });

  it('when a batch of 96 new readings is submitted then no reading slot is read: the cursor shows none is stored', async () => {
    const world = await World.create();
    const household = await world.active();
    world.ledger.reads.length = 0;
    const result = parse<object>(
      await batch(
        world,
        household.meter,
        Array.from({ length: 96 }, (_, n) => reading(household, n)),
        later(),
      ),
    );
    expect(result).toMatchObject({ stored: 96, alreadyStored: 0 });
    expect(world.ledger.reads.filter((read) => read.includes('reading/'))).toEqual([]);
  });

  it('when a batch overlaps readings already stored then those slots are read with one range query', async () => {
    const world = await World.create();
    const household = await world.active();
    await batch(
      world,
      household.meter,
      Array.from({ length: 10 }, (_, n) => reading(household, n)),
      later(),
    );
    world.ledger.reads.length = 0;
    // A meter resending after an unknown outcome: readings 5-9 are on the ledger, 10-100 are new.
    const resent = Array.from({ length: 96 }, (_, i) => reading(household, 5 + i));
    const stored = new Map(
      Array.from({ length: 10 }, (_, n) => [n, world.ledger.read(readingKey(household, n))] as const),
    );
    for (let n = 5; n < 10; n += 1) {
      const record = parse<ReadingRecord>(stored.get(n) as string);
      resent[n - 5] = { ...resent[n - 5], ciphertext: record.ciphertext, nonce: record.nonce };
    }
    const result = parse<object>(await batch(world, household.meter, resent, later()));
    expect(result).toMatchObject({ stored: 91, alreadyStored: 5 });
    expect(world.ledger.reads.filter((read) => read.includes('reading/'))).toEqual([
      `range ${readingKey(household, 5)}`,
    ]);
  });

  it('when a new single reading is submitted then its slot is not read', async () => {
    const world = await World.create();
    const household = await world.active();
    await submit(world, household.meter, reading(household, 0));
    world.ledger.reads.length = 0;
    await submit(world, household.meter, reading(household, 1));
    expect(world.ledger.reads.filter((read) => read.includes('reading/'))).toEqual([]);
  });

  it('when a batch changes a reading stored earlier then it is CONFLICT and nothing of it is stored', async () => {
    const world = await World.create();
    const household = await world.active();
    await submit(world, household.meter, reading(household, 1, 100));
    await expect(
      batch(world, household.meter, [reading(household, 0), reading(household, 1, 200)]),
    ).rejects.toThrow(/^CONFLICT: /);
    expect(world.ledger.read(readingKey(household, 0))).toBeUndefined();
  });

  it('when a resent batch spans more than 96 hours then its stored slots are read one by one (no backlog-wide range read)', async () => {
    const world = await World.create();
    const household = await world.active();
    const first = reading(household, 0);
    const far = reading(household, 400);
    await batch(world, household.meter, [first, far], later());
    world.ledger.reads.length = 0;
    await expect(batch(world, household.meter, [first, far], later())).resolves.toBeDefined();
    expect(world.ledger.reads.filter((read) => read.includes('reading/'))).toEqual([
      `get ${readingKey(household, 0)}`,
      `get ${readingKey(household, 400)}`,
    ]);
  });

  it('when one reading of a batch is bad then none is stored', async () => {
    const world = await World.create();
    const household = await world.active();
    const items = [reading(household, 0), reading(household, 1), { ...reading(household, 2), sequence: 1 }];
    await expect(batch(world, household.meter, items)).rejects.toThrow(/^CONFLICT: readings must advance/);
    for (const n of [0, 1, 2]) expect(world.ledger.read(readingKey(household, n))).toBeUndefined();
  });

  it('when a batch repeats readings already stored then they count as already stored', async () => {
    const world = await World.create();
    const household = await world.active();
    const first = reading(household, 0);
    await submit(world, household.meter, first);
    const result = parse<object>(await batch(world, household.meter, [first, reading(household, 1)]));
    expect(result).toMatchObject({ stored: 1, alreadyStored: 1 });
  });

  it('when a batch holds the same slot twice with different data then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      batch(world, household.meter, [reading(household, 0, 1), reading(household, 0, 2)]),
    ).rejects.toThrow(/^CONFLICT: a different reading is already stored/);
  });

  it.each([
    ['is empty', () => [], /a batch holds 1 to 96 readings \(got 0\)/],
    ['holds 97 readings', (h: Household) => Array.from({ length: 97 }, (_, n) => reading(h, n)), /got 97/],
  ])('when a batch %s then it is INVALID_ARGUMENT', async (_label, make, message) => {
    const world = await World.create();
    const household = await world.active();
    await expect(batch(world, household.meter, make(household))).rejects.toThrow(message);
  });

  it('when a batch mixes subscriptions then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const a = await world.active({ subscriberId: 'a', meterId: 'M-a' });
    const b = await world.active({ subscriberId: 'b', meterId: 'M-b' });
    await expect(batch(world, a.meter, [reading(a, 0), reading(b, 0)])).rejects.toThrow(
      /must belong to one subscription/,
    );
  });
});

describe('Measurement contract: reads', () => {
  async function withReadings(count: number, gaps: number[] = []) {
    const world = await World.create();
    const household = await world.active();
    const slots = Array.from({ length: count }, (_, n) => n).filter((n) => !gaps.includes(n));
    await world.run(household.meter, (ctx) =>
      measurement.SubmitReadings(ctx, JSON.stringify(slots.map((n) => reading(household, n)))),
    );
    return { world, household };
  }

  it('when readings are paged by time range then every page follows the bookmark in period order', async () => {
    const { world, household } = await withReadings(5);
    const read = (who: FakeIdentity, bookmark: string) =>
      world.run(who, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(1), period(5), '2', bookmark),
      );
    const first = parse<Page<ReadingRecord>>(await read(id.auditor, ''));
    const second = parse<Page<ReadingRecord>>(await read(id.auditor, first.bookmark));
    expect([...first.records, ...second.records].map((r) => r.periodStart)).toEqual([1, 2, 3, 4].map(period));
    expect(second.bookmark).toBe('');
  });

  it.each([
    ['the subscriber', id.subscriber()],
    ['the operator', id.d1Operator],
    ['an auditor', id.auditor],
  ])('when %s reads readings then it gets them', async (_label, who) => {
    const { world, household } = await withReadings(2);
    const page = parse<Page<ReadingRecord>>(
      await world.run(who, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(0), period(10), '10', ''),
      ),
    );
    expect(page.records).toHaveLength(2);
  });

  it.each([
    ['another subscriber', id.subscriber('hh-999')],
    ['an operator of Distributor2', id.d2Operator],
    ['the meter', id.meter()],
  ])('when %s reads readings then it is FORBIDDEN', async (_label, who) => {
    const { world, household } = await withReadings(1);
    await expect(
      world.run(who, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(0), period(10), '10', ''),
      ),
    ).rejects.toThrow(/^FORBIDDEN: .* may not read the readings/);
  });

  it('when to is not after from then it is INVALID_ARGUMENT', async () => {
    const { world, household } = await withReadings(1);
    await expect(
      world.run(id.auditor, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(3), period(3), '10', ''),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: to must be after from/);
  });

  it('when periods are missing then MissingPeriods lists exactly those', async () => {
    const { world, household } = await withReadings(8, [2, 5, 6]);
    const result = parse<{ expected: number; missing: string[] }>(
      await world.run(id.d1Operator, (ctx) =>
        measurement.MissingPeriods(ctx, household.subscriptionId, period(0), period(8)),
      ),
    );
    expect(result.expected).toBe(8);
    expect(result.missing).toEqual([2, 5, 6].map(period));
  });
});

describe('Measurement contract: GetReadings on an empty range', () => {
  it('when a subscription has no readings yet then the page is empty with no bookmark (the peer sends no metadata)', async () => {
    const world = await World.create();
    const household = await world.active();
    const page = parse<Page<ReadingRecord>>(
      await world.run(household.subscriber, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(0), period(48), '100', ''),
      ),
    );
    expect(page).toEqual({ records: [], bookmark: '' });
  });
});
