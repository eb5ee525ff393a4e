import { anomalyId } from '@smartmeter/domain';
import type { ReportAnomaly } from '../../src/reporting/reportDb';
import { DAY_PERIODS, SUB, scanWorld } from './support/anomalyWorld';
import { householdSubscription } from './support/fixtures';
import { TestWorld } from './support/world';

const scanArgs = ['anomalies', 'scan', SUB, '--from', '2026-11-01', '--to', '2026-11-15'];

describe('meterctl anomalies scan', () => {
  it('finds a short spike at 07:00 with its value and the expected range, and nothing else', async () => {
    // Day 9 (2026-11-10) 07:00–07:30: 4,800 Wh in half an hour, a meter fault rather than consumption.
    const { world } = scanWorld((e) => {
      e[9 * DAY_PERIODS + 14] = 4_800;
    });

    const result = await world.run('--json', ...scanArgs);

    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {
      scans: { readings: number; invalid: number; findings: Record<string, unknown>[] }[];
    };
    expect(out.scans).toHaveLength(1);
    expect(out.scans[0].readings).toBe(14 * DAY_PERIODS);
    expect(out.scans[0].invalid).toBe(0);
    expect(out.scans[0].findings).toEqual([
      expect.objectContaining({
        kind: 'spike',
        subscriptionId: SUB,
        periodStart: '2026-11-10T07:00:00Z',
        periodEnd: '2026-11-10T07:00:00Z',
        periods: 1,
        value: 4_800,
      }),
    ]);
    const expected = out.scans[0].findings[0].expected as { low: number; high: number; median: number };
    expect(expected.median).toBeGreaterThanOrEqual(180);
    expect(expected.median).toBeLessThanOrEqual(200);
    expect(expected.high).toBeLessThan(4_800);
    expect(world.methodsCalled()).toEqual(['subscriptions.get', 'measurements.all']);
  });

  it('finds nothing on the usual two weeks, and says how many readings it scanned', async () => {
    const { world } = scanWorld(() => undefined);

    const result = await world.run(...scanArgs);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `${SUB} (electricity): 672 readings scanned in [2026-11-01T00:00:00Z, 2026-11-15T00:00:00Z), 0 findings\n`,
    });
  });

  it('lists findings as CSV rows with numbers in their own columns', async () => {
    const { world } = scanWorld((e) => {
      e[3 * DAY_PERIODS + 40] = 6_000;
    });

    const result = await world.run('--csv', ...scanArgs);

    const [header, row, ...rest] = result.stdout.trim().split('\n');
    expect(header).toBe(
      'subscription,anomaly_id,kind,from,to,periods,value,expected_low,expected_high,score,evidence',
    );
    const id = anomalyId({ subscriptionId: SUB, kind: 'spike', periodStart: '2026-11-04T20:00:00Z' });
    expect(row.startsWith(`${SUB},${id},spike,2026-11-04T20:00:00Z,2026-11-04T20:00:00Z,1,6000,`)).toBe(true);
    expect(rest).toEqual([]);
  });

  it('keeps readings of another utility than the subscription’s out of the scan and counts them', async () => {
    const { world, subscription } = scanWorld((e) => {
      e[9 * DAY_PERIODS + 14] = 4_800;
    });
    const gas = { ...subscription, utility: 'gas' as const };
    world.clients = { ...world.clients, subscriptions: { get: async () => gas } };

    const result = await world.run('--json', ...scanArgs);

    const out = JSON.parse(result.stdout) as {
      scans: { utility: string; readings: number; invalid: number; findings: unknown[] }[];
    };
    expect(out.scans).toEqual([
      expect.objectContaining({ utility: 'gas', readings: 0, invalid: 14 * DAY_PERIODS, findings: [] }),
    ]);
  });

  it('refuses a scan without a subscription or --all, before reading anything', async () => {
    const { world } = scanWorld(() => undefined);

    const result = await world.run('anomalies', 'scan', '--from', '2026-11-01', '--to', '2026-11-15');

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/name a subscription to scan, or --all/);
    expect(world.methodsCalled()).toEqual([]);
  });

  it('with --all, reports the subscriptions it holds no key for and scans the others', async () => {
    const { world, subscription } = scanWorld((e) => {
      e[9 * DAY_PERIODS + 14] = 4_800;
    });
    const foreign = {
      ...subscription,
      subscriptionId: 'sub_000000000000000000000002',
      keyId: 'f'.repeat(32),
      keyGrants: [],
    };
    const records = await world.clients.measurements?.all?.(SUB, '', '');
    world.clients = {
      subscriptions: {
        all: async () => [subscription, foreign],
        get: async (id: string) => (id === SUB ? subscription : foreign),
      },
      measurements: { all: async () => records ?? [] },
    };

    const result = await world.run(
      '--json',
      'anomalies',
      'scan',
      '--all',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-15',
    );

    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {
      scans: { subscriptionId: string; findings: unknown[] }[];
      skipped: { subscriptionId: string; reason: string }[];
    };
    expect(out.scans.map((s) => [s.subscriptionId, s.findings.length])).toEqual([[SUB, 1]]);
    expect(out.skipped.map((s) => s.subscriptionId)).toEqual(['sub_000000000000000000000002']);
    expect(out.skipped[0].reason).toMatch(/no key for sub_000000000000000000000002/);
    expect(world.methodsCalled()).toEqual([
      'subscriptions.all',
      'subscriptions.get',
      'measurements.all',
      'subscriptions.get',
    ]);
  });

  it('with --save, writes each finding to the reporting database once, keyed by its anomaly id', async () => {
    const { world } = scanWorld((e) => {
      e[9 * DAY_PERIODS + 14] = 4_800;
    });
    const saved: ReportAnomaly[] = [];
    world.reportStore = {
      saveAnomalies: async (findings) => {
        saved.push(...findings);
        return { added: findings.length, updated: 0 };
      },
    };

    const result = await world.run(...scanArgs, '--save', '--db-url', 'http://127.0.0.1:5990');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/saved to the reporting database: 1 new, 0 updated\n$/);
    expect(saved).toEqual([
      expect.objectContaining({
        docType: 'anomaly',
        channel: 'northgrid',
        kind: 'spike',
        subscriptionId: SUB,
        periodStart: '2026-11-10T07:00:00Z',
        value: 4_800,
        anomalyId: anomalyId({ subscriptionId: SUB, kind: 'spike', periodStart: '2026-11-10T07:00:00Z' }),
        foundAt: '2026-11-15T10:07:00Z',
        foundByMspId: 'Distributor1MSP',
      }),
    ]);
  });

  it('with --save and a reporting database that cannot be reached, fails with exit 3 before reading anything', async () => {
    const { world } = scanWorld(() => undefined);
    world.reportDbError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5990'), {
      code: 'ECONNREFUSED',
    });

    const result = await world.run(...scanArgs, '--save', '--db-url', 'http://127.0.0.1:5990');

    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/127\.0\.0\.1:5990/);
    expect(world.methodsCalled()).toEqual([]);
  });

  it('refuses a subscription the caller holds no key for, and reads none of its readings', async () => {
    const world = new TestWorld();
    const { subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
    const foreign = { ...subscription, keyId: 'f'.repeat(32), keyGrants: [] };
    world.clients = { subscriptions: { get: async () => foreign }, measurements: { all: async () => [] } };

    const result = await world.run(...scanArgs);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no key for sub_000000000000000000000001/);
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });
});
