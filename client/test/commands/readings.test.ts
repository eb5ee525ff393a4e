import type { MissingPeriods } from '../../src/contracts/MeasurementClient';
import { householdSubscription, readingRecords } from './support/fixtures';
import { TestWorld } from './support/world';

/** The household's world with three readings on the ledger, the second moved into another slot. */
function readingsWorld(): TestWorld {
  const world = new TestWorld();
  const { sessionKey, subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
  const [first, second, third] = readingRecords(subscription, sessionKey, [120, 340, 5]);
  const moved = { ...second, ciphertext: third.ciphertext };
  const missing: MissingPeriods = {
    subscriptionId: 'sub_000000000000000000000001',
    from: '2026-11-01T00:00:00Z',
    to: '2026-11-01T02:30:00Z',
    expected: 5,
    missing: ['2026-11-01T01:30:00Z', '2026-11-01T02:00:00Z'],
  };
  world.clients = {
    subscriptions: { get: async () => subscription },
    measurements: { all: async () => [first, moved, third], missing: async () => missing },
  };
  return world;
}

describe('meterctl readings', () => {
  it('when listed then each reading is decrypted with the household key; one that does not decrypt says why', async () => {
    const world = readingsWorld();

    const result = await world.run(
      'readings',
      'list',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'PERIOD START          SEQ  ENERGY                                                                   UTILITY      QUALITY   SUBMITTED',
        '2026-11-01T00:00:00Z  1    120 Wh                                                                   electricity  measured  2026-11-01T12:00:00Z',
        '2026-11-01T00:30:00Z  2    reading does not decrypt: wrong key, tampered, or moved to another slot                         2026-11-01T12:00:00Z',
        '2026-11-01T01:00:00Z  3    5 Wh                                                                     electricity  measured  2026-11-01T12:00:00Z',
        '',
      ].join('\n'),
    });
    expect(world.methodsCalled()).toEqual(['subscriptions.get', 'measurements.all']);
  });

  it('when listed --encrypted --json then nothing is decrypted and the rows say so', async () => {
    const world = readingsWorld();

    const result = await world.run(
      '--json',
      'readings',
      'list',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
      '--encrypted',
    );

    expect(JSON.parse(result.stdout)).toEqual([
      {
        periodStart: '2026-11-01T00:00:00Z',
        sequence: 1,
        submittedAt: '2026-11-01T12:00:00Z',
        txId: 'tx1',
        error: 'encrypted',
      },
      {
        periodStart: '2026-11-01T00:30:00Z',
        sequence: 2,
        submittedAt: '2026-11-01T12:00:00Z',
        txId: 'tx2',
        error: 'encrypted',
      },
      {
        periodStart: '2026-11-01T01:00:00Z',
        sequence: 3,
        submittedAt: '2026-11-01T12:00:00Z',
        txId: 'tx3',
        error: 'encrypted',
      },
    ]);
  });

  it('when missing periods are asked then the missing ones and the INVALID_READINGs are printed', async () => {
    const world = readingsWorld();

    const result = await world.run(
      'readings',
      'missing',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-01T02:30:00Z',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '2 of 5 periods missing for sub_000000000000000000000001 in [2026-11-01T00:00:00Z, 2026-11-01T02:30:00Z)',
        '  2026-11-01T01:30:00Z',
        '  2026-11-01T02:00:00Z',
        '1 readings on the ledger that do not decrypt (INVALID_READING, not billed):',
        '  2026-11-01T00:30:00Z  does not decrypt in its slot',
        '',
      ].join('\n'),
    });
  });

  it('when missing periods are asked as CSV then missing and invalid periods are one list in time order', async () => {
    const world = readingsWorld();

    const result = await world.run(
      '--csv',
      'readings',
      'missing',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-01T02:30:00Z',
    );

    expect(result.stdout).toBe(
      [
        'period_start,status,reason',
        '2026-11-01T00:30:00Z,INVALID_READING,does not decrypt in its slot',
        '2026-11-01T01:30:00Z,MISSING,',
        '2026-11-01T02:00:00Z,MISSING,',
        '',
      ].join('\n'),
    );
  });

  it('when --to is not a time then it exits 2 and calls no contract', async () => {
    const world = readingsWorld();

    const result = await world.run(
      'readings',
      'missing',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      'tomorrow',
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'meterctl: --to must be a UTC time like 2026-01-15T10:00:00Z or a date like 2026-01-15 (got "tomorrow")\n',
    });
    expect(world.calls).toEqual([]);
    expect(world.connections).toBe(0);
  });
});
