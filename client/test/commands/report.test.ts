import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadRow } from '../../src/reporting/reports';
import type { ReportSubscription } from '../../src/reporting/reportDb';
import type { SyncOptions, SyncResult } from '../../src/reporting/sync';
import { authorityProfile, TestWorld } from './support/world';

function authorityWorld(): TestWorld {
  const world = new TestWorld();
  world.profile = authorityProfile(world.dir);
  return world;
}

const loadRows: LoadRow[] = [
  {
    periodStart: '2026-11-01T00:00:00Z',
    energyWh: 52_340,
    readingCount: 24,
    households: 6,
    suppressed: false,
  },
  { periodStart: '2026-11-01T06:00:00Z', energyWh: null, readingCount: 12, households: 1, suppressed: true },
];

describe('meterctl report load', () => {
  it('when a bucket covers too few households then it is suppressed, and stderr says how many', async () => {
    const world = authorityWorld();
    const load = jest.fn(async () => loadRows);
    world.reportStore = { load };
    const svg = join(world.dir, 'load.svg');

    const result = await world.run(
      'report',
      'load',
      '--region',
      'north/d1',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-01T12:00:00Z',
      '--interval',
      '21600',
      '--svg',
      svg,
    );

    expect(result).toEqual({
      code: 0,
      stdout: [
        'PERIOD START          ENERGY KWH  HOUSEHOLDS  READINGS',
        '2026-11-01T00:00:00Z  52.340      6           24',
        '2026-11-01T06:00:00Z  suppressed  1           12',
        '',
      ].join('\n'),
      stderr: [
        `wrote ${svg}`,
        '1 of 2 buckets suppressed: they cover fewer than 5 households (a larger --interval or region merges them)',
        '',
      ].join('\n'),
    });
    expect(load).toHaveBeenCalledWith('north/d1', '2026-11-01T00:00:00Z', '2026-11-01T12:00:00Z', 21_600, 5);
    expect(world.openedReportDbs).toEqual([
      { serverUrl: 'http://127.0.0.1:5990', name: 'smartmeter_reports' },
    ]);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*Load of north\/d1/);
  });

  it('when REPORT_MIN_HOUSEHOLDS and REPORT_DB_URL are set then they are used; --json prints the rows', async () => {
    const world = authorityWorld();
    world.env = { REPORT_MIN_HOUSEHOLDS: '1', REPORT_DB_URL: 'http://reports:5984' };
    const load = jest.fn(async (..._args: unknown[]) => loadRows.slice(0, 1));
    world.reportStore = { load };

    const result = await world.run(
      '--json',
      'report',
      'load',
      '--region',
      'r',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `${JSON.stringify(loadRows.slice(0, 1), null, 2)}\n`,
    });
    expect(load.mock.calls[0][4]).toBe(1);
    expect(world.openedReportDbs[0].serverUrl).toBe('http://reports:5984');
  });

  it('when --to is not after --from then it exits 2 and the database is not opened', async () => {
    const world = authorityWorld();

    const result = await world.run(
      'report',
      'load',
      '--region',
      'r',
      '--from',
      '2026-11-02',
      '--to',
      '2026-11-01',
    );

    expect(result).toEqual({ code: 2, stdout: '', stderr: 'meterctl: --to must be after --from\n' });
    expect(world.openedReportDbs).toEqual([]);
  });

  it('when the range holds too many buckets then the report module says so as a usage error (exit 2)', async () => {
    const world = authorityWorld();
    world.reportStore = {
      load: async () => {
        throw new RangeError('the range holds 50000 buckets; use a larger --interval (at most 20000)');
      },
    };

    const result = await world.run(
      'report',
      'load',
      '--region',
      'r',
      '--from',
      '2026-01-01',
      '--to',
      '2026-12-01',
      '--interval',
      '60',
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: the range holds 50000 buckets; use a larger --interval (at most 20000)\n',
    });
  });

  it('when the reporting database refuses the connection then it exits 3 without the credentials in the URL', async () => {
    const world = authorityWorld();
    world.reportDbError = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

    const result = await world.run(
      'report',
      'load',
      '--db-url',
      'http://admin:secret@127.0.0.1:1',
      '--region',
      'r',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'meterctl: cannot reach the reporting database at http://***@127.0.0.1:1; is the network up? ./test-network.sh status\n',
    });
  });
});

describe('meterctl report subscriptions, sync', () => {
  const subscriptionDoc = (subscriptionId: string, regionCode?: string): ReportSubscription => ({
    docType: 'subscription',
    channel: 'northgrid',
    subscriptionId,
    distributorMspId: 'Distributor1MSP',
    status: 'ACTIVE',
    regionCode,
    requestedAt: '2026-11-01T00:00:00Z',
    updatedAt: '2026-11-01T00:00:00Z',
    readingCount: 0,
  });

  it('when subscriptions are counted by region then each region and the unapproved ones get a row', async () => {
    const world = authorityWorld();
    world.reportStore = {
      subscriptions: async () => [
        subscriptionDoc('a', 'north/d1'),
        subscriptionDoc('b', 'north/d1'),
        subscriptionDoc('c'),
      ],
    };

    const result = await world.run('report', 'subscriptions', '--by', 'region');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'REGION          SUBSCRIPTIONS\n(not approved)  1\nnorth/d1        2\n',
    });
  });

  it('when --by is not a grouping then it exits 2 and the database is not opened', async () => {
    const world = authorityWorld();

    expect(await world.run('report', 'subscriptions', '--by', 'colour')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --by must be status, distributor or region\n',
    });
    expect(world.openedReportDbs).toEqual([]);
  });

  it('when every channel is synced then each reports its blocks on stderr and the totals are a table', async () => {
    const world = authorityWorld();
    const syncChannel = jest.fn(
      async (channel: string, _key: unknown, options: SyncOptions): Promise<SyncResult> => {
        options.onBlock?.(7n, 3);
        options.onSkip?.('sub_9', 'no private key for version 2');
        return { blocks: 1, written: 3, height: 8n, skippedReadings: channel === 'southgrid' ? 2 : 0 };
      },
    );
    world.reportStore = { syncChannel };

    const result = await world.run('report', 'sync');

    expect(result).toEqual({
      code: 0,
      stdout: [
        'CHANNEL    BLOCKS SYNCED  DOCUMENTS WRITTEN  HEIGHT  READINGS NOT COUNTED',
        'northgrid  1              3                  8       0',
        'southgrid  1              3                  8       2',
        '',
      ].join('\n'),
      stderr: [
        'northgrid: synced block 7 (3 documents)',
        'northgrid: readings of sub_9 are not counted in the load: no private key for version 2',
        'southgrid: synced block 7 (3 documents)',
        'southgrid: readings of sub_9 are not counted in the load: no private key for version 2',
        '',
      ].join('\n'),
    });
    expect(syncChannel.mock.calls.map(([channel, , options]) => [channel, options.checkpointPath])).toEqual([
      ['northgrid', join(world.keystore.dir, 'report-sync', 'smartmeter_reports.northgrid.json')],
      ['southgrid', join(world.keystore.dir, 'report-sync', 'smartmeter_reports.southgrid.json')],
    ]);
    expect(existsSync(join(world.keystore.dir, 'report-sync'))).toBe(true);
  });
});
