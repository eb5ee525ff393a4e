import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadRow } from '../../src/reporting/reports';
import type { ReportSubscription } from '../../src/reporting/reportDb';
import { SkipCounter, type SyncOptions, type SyncResult } from '../../src/reporting/sync';
import { authorityProfile, TestWorld } from './support/world';

const SUB_9 = 'sub_000000000000000000000009';
const SUB_B = 'sub_00000000000000000000000b';

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

  /**
   * A sync of `blocks` blocks per channel from block 10, writing 2 documents a block, the clock advancing
   * `msPerBlock` per block, and skipping readings: on southgrid 3 of sub_…9 and 2 of sub_…b (no private key),
   * 1 of sub_…9 that does not decrypt.
   */
  function syncWorld(
    blocks: number,
    msPerBlock = 0,
  ): { world: TestWorld; syncChannel: jest.Mock<Promise<SyncResult>, [string, unknown, SyncOptions]> } {
    const world = authorityWorld();
    const syncChannel = jest.fn(
      async (channel: string, _key: unknown, options: SyncOptions): Promise<SyncResult> => {
        const skips = new SkipCounter();
        options.onStart?.(10n, 10n + BigInt(blocks));
        for (let i = 0; i < blocks; i += 1) {
          world.now = new Date(world.now.getTime() + msPerBlock);
          options.onBlock?.(10n + BigInt(i), 2);
        }
        if (channel === 'southgrid') {
          const noKey = 'no private key for version 2 of AuthorityMSP on southgrid';
          for (const id of [SUB_9, SUB_9, SUB_9, SUB_B, SUB_B]) skips.add(id, noKey, 'no-private-key');
          skips.add(SUB_9, 'the reading of 2026-11-01T00:30:00Z does not decrypt', 'invalid-reading');
        }
        return { blocks, written: 2 * blocks, height: 10n + BigInt(blocks), ...skips.result() };
      },
    );
    world.reportStore = { syncChannel };
    return { world, syncChannel };
  }

  it('when synced without a terminal then a line every --progress-every blocks, one warning per channel and kind at the end, and the totals', async () => {
    const { world, syncChannel } = syncWorld(5);

    const result = await world.run('report', 'sync', '--progress-every', '2');

    expect(result).toEqual({
      code: 0,
      stdout: [
        'CHANNEL    BLOCKS SYNCED  DOCUMENTS WRITTEN  HEIGHT  READINGS NOT COUNTED',
        'northgrid  5              10                 15      0',
        'southgrid  5              10                 15      6',
        '',
      ].join('\n'),
      stderr: [
        'northgrid: 5 blocks to sync',
        'northgrid: 2 of 5 blocks (40%), 4 documents written',
        'northgrid: 4 of 5 blocks (80%), 8 documents written',
        'southgrid: 5 blocks to sync',
        'southgrid: 2 of 5 blocks (40%), 4 documents written',
        'southgrid: 4 of 5 blocks (80%), 8 documents written',
        // The channels sync at once: each one's last line comes when it has ended.
        'northgrid: 5 of 5 blocks (100%), 10 documents written',
        'southgrid: 5 of 5 blocks (100%), 10 documents written',
        'warning: readings not counted in the load:',
        `  southgrid: 5 readings of 2 subscriptions: this keystore has no private key of the organization key version they are wrapped for; first ${SUB_9}: no private key for version 2 of AuthorityMSP on southgrid`,
        `  southgrid: 1 reading of 1 subscription: they do not decrypt in their slot (INVALID_READING); first ${SUB_9}: the reading of 2026-11-01T00:30:00Z does not decrypt`,
        '',
      ].join('\n'),
    });
    expect(syncChannel.mock.calls.map(([channel, , options]) => [channel, options.checkpointPath])).toEqual([
      ['northgrid', join(world.keystore.dir, 'report-sync', 'smartmeter_reports.northgrid.json')],
      ['southgrid', join(world.keystore.dir, 'report-sync', 'smartmeter_reports.southgrid.json')],
    ]);
    expect(existsSync(join(world.keystore.dir, 'report-sync'))).toBe(true);
  });

  it('when blocks are slow then a line comes every few seconds too, and by default not every block', async () => {
    const { world } = syncWorld(250, 1000);

    const result = await world.run('-c', 'northgrid', 'report', 'sync');

    const lines = result.stderr.trimEnd().split('\n');
    // 250 blocks at one a second: a line every 5 s (5 blocks), well before every 100 blocks.
    expect(lines).toHaveLength(1 + 50);
    expect(lines.slice(0, 3)).toEqual([
      'northgrid: 250 blocks to sync',
      'northgrid: 5 of 250 blocks (2%), 10 documents written',
      'northgrid: 10 of 250 blocks (4%), 20 documents written',
    ]);
    expect(lines.at(-1)).toBe('northgrid: 250 of 250 blocks (100%), 500 documents written');
  });

  it('when the channel is up to date then one line says so', async () => {
    const { world } = syncWorld(0);

    const result = await world.run('-c', 'southgrid', '--json', 'report', 'sync');

    expect(result.stderr.split('\n')[0]).toBe('southgrid: up to date');
    expect(JSON.parse(result.stdout)).toEqual([
      { channel: 'southgrid', blocks: 0, documents: 0, skipped: 6, height: 10 },
    ]);
  });

  it('when stderr is a terminal then a progress bar per channel shows the blocks done of the total', async () => {
    const { world } = syncWorld(4);
    world.stderrIsTTY = true;

    const result = await world.run('report', 'sync');

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/northgrid \[[█░]+\] 4\/4 blocks \| 8 documents/);
    expect(result.stderr).toMatch(/southgrid \[[█░]+\] 4\/4 blocks \| 8 documents/);
    expect(result.stderr).not.toMatch(/blocks \(\d+%\)/);
    expect(result.stderr).toMatch(/warning: readings not counted in the load:\n {2}southgrid: 5 readings/);
  });

  it('when --progress-every is not a positive integer then it exits 2 before opening the database', async () => {
    const { world } = syncWorld(1);

    const result = await world.run('report', 'sync', '--progress-every', '0');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --progress-every must be an integer from 1 to 1000000 (got "0")\n',
    });
    expect(world.openedReportDbs).toEqual([]);
  });

  it('when -c names a channel the organization is not on then it exits 1 naming its channels, before opening the database', async () => {
    const { world } = syncWorld(1);

    const result = await world.run('-c', 'eastgrid', 'report', 'sync');

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'meterctl: AuthorityMSP is not a member of channel eastgrid: its channels are northgrid, southgrid (-c northgrid)\n',
    });
    expect(world.openedReportDbs).toEqual([]);
  });

  /**
   * A --follow sync of both channels that live through the same outage of the reporting database (12 s, told by
   * both channels) and then of the peer (3 s, northgrid only), then are interrupted.
   */
  /** A promise each of `count` callers awaits, settled once all of them have arrived. */
  function meetingPoint(count: number): () => Promise<void> {
    let arrived = 0;
    let release: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (release = resolve));
    return () => {
      if ((arrived += 1) === count) release();
      return all;
    };
  }

  function outageWorld(): { world: TestWorld; follows: boolean[] } {
    const world = authorityWorld();
    const follows: boolean[] = [];
    const bothWaiting = meetingPoint(2);
    const bothBack = meetingPoint(2);
    const later = (seconds: number) => {
      world.now = new Date(world.now.getTime() + seconds * 1000);
    };
    world.reportStore = {
      syncChannel: async (channel, _key, options) => {
        follows.push(options.follow);
        options.onStart?.(10n, 10n);
        options.onOutage?.({ kind: 'waiting', service: 'reportDb', reason: 'ECONNREFUSED' });
        await bothWaiting();
        if (channel === 'northgrid') later(12);
        options.onOutage?.({ kind: 'back', service: 'reportDb', awayMs: 12_000 });
        await bothBack();
        if (channel === 'northgrid') {
          options.onOutage?.({ kind: 'waiting', service: 'peer', reason: 'UNAVAILABLE' });
          later(3);
          options.onOutage?.({ kind: 'back', service: 'peer', awayMs: 3000 });
        }
        return { blocks: 0, written: 0, height: 10n, ...new SkipCounter().result() };
      },
    };
    return { world, follows };
  }

  it('when a follower waits for the reporting database and the peer then each outage is told once for all channels: waiting, and back after how long', async () => {
    const { world, follows } = outageWorld();

    const result = await world.run('report', 'sync', '--follow');

    expect(result.code).toBe(0);
    expect(follows).toEqual([true, true]);
    expect(result.stderr.split('\n').filter((line) => /waiting|back after/.test(line))).toEqual([
      'waiting for the reporting database at http://127.0.0.1:5990 (ECONNREFUSED)',
      'reporting database back after 12 s',
      'waiting for the gateway peer at 127.0.0.1:7051 (UNAVAILABLE)',
      'gateway peer back after 3 s',
    ]);
  });

  it('when a follower waits with --json then each outage is a JSON event on stderr with a stable code, and stdout keeps the results', async () => {
    const { world } = outageWorld();
    world.profile = { ...world.profile, reportDbUrl: 'http://admin:secret@127.0.0.1:5990' };
    const start = world.now;
    const at = (seconds: number) =>
      new Date(start.getTime() + seconds * 1000).toISOString().replace('.000Z', 'Z');

    const result = await world.run('--json', 'report', 'sync', '--follow');

    const events = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as unknown);
    expect(events).toEqual([
      {
        event: 'waiting',
        code: 'REPORT_DB_UNREACHABLE',
        service: 'reportDb',
        reason: 'ECONNREFUSED',
        channel: 'northgrid',
        address: 'http://***@127.0.0.1:5990',
        at: at(0),
      },
      { event: 'back', service: 'reportDb', seconds: 12, address: 'http://***@127.0.0.1:5990', at: at(12) },
      {
        event: 'waiting',
        code: 'PEER_UNREACHABLE',
        service: 'peer',
        reason: 'UNAVAILABLE',
        channel: 'northgrid',
        address: '127.0.0.1:7051',
        at: at(12),
      },
      { event: 'back', service: 'peer', seconds: 3, address: '127.0.0.1:7051', at: at(15) },
    ]);
    expect(result.stderr).not.toMatch(/secret/);
    expect(JSON.parse(result.stdout)).toHaveLength(2);
  });

  it('when the reporting database goes away during the sync then it exits 3 with its URL', async () => {
    const world = authorityWorld();
    world.reportStore = {
      syncChannel: async () => {
        throw Object.assign(new Error('fetch failed'), {
          cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5990'), { code: 'ECONNREFUSED' }),
        });
      },
    };

    expect(await world.run('-c', 'northgrid', 'report', 'sync')).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'meterctl: cannot reach the reporting database at http://127.0.0.1:5990; is the network up? ./test-network.sh status\n',
    });
  });
});
