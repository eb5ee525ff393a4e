import type { AggregationRoundRecord, BillRecord } from '@smartmeter/domain';
import type { LoadRow } from '../../src/reporting/reports';
import type { ReportBill, ReportSubscription } from '../../src/reporting/reportDb';
import {
  accessRequestRecord,
  APPROVAL,
  billEvidence,
  householdSubscription,
  readingRecords,
  subscriptionRecord,
} from './support/fixtures';
import { authorityProfile, TestWorld } from './support/world';

/** RFC 4180: fields split on commas outside quotes, "" inside quotes is one quote. */
function parseCsv(text: string): Record<string, string>[] {
  const lines: string[][] = [];
  let field = '';
  let line: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      line.push(field);
      field = '';
    } else if (c === '\n') {
      line.push(field);
      lines.push(line);
      line = [];
      field = '';
    } else field += c;
  }
  const [header, ...rows] = lines;
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

/** What a spreadsheet does with a column: every cell a number (or empty), summed. */
function sum(rows: Record<string, string>[], column: string): number {
  return rows.reduce((total, row) => {
    const cell = row[column];
    if (cell === '') return total;
    expect(cell).toMatch(/^-?\d+$/);
    return total + Number(cell);
  }, 0);
}

/** No cell carries a unit or a joined range, and every header is snake_case. */
function expectPlainCsv(stdout: string): Record<string, string>[] {
  const header = stdout.split('\n')[0];
  expect(header).toMatch(/^[a-z0-9_]+(,[a-z0-9_]+)*$/);
  const rows = parseCsv(stdout);
  for (const row of rows)
    for (const cell of Object.values(row)) {
      expect(cell).not.toMatch(/^\d[\d.]*\s*(Wh|kWh|GBP|L|s)$/);
      expect(cell).not.toMatch(/\dZ - \d/);
    }
  return rows;
}

function authorityWorld(): TestWorld {
  const world = new TestWorld();
  world.profile = authorityProfile(world.dir);
  return world;
}

const SUB = 'sub_000000000000000000000001';

describe('--csv: numbers in named unit columns, so a spreadsheet can sum them', () => {
  it('readings list: energy_wh is a number per reading; one that does not decrypt has an error instead', async () => {
    const world = new TestWorld();
    const { sessionKey, subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
    const [a, b, c] = readingRecords(subscription, sessionKey, [249, 1200, 31]);
    world.clients = {
      subscriptions: { get: async () => subscription },
      measurements: { all: async () => [a, { ...b, ciphertext: c.ciphertext }, c] },
    };

    const result = await world.run(
      '--csv',
      'readings',
      'list',
      SUB,
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result.stdout.split('\n')[0]).toBe(
      'period_start,seq,energy_wh,volume_l,error,utility,quality,submitted',
    );
    const rows = expectPlainCsv(result.stdout);
    expect(sum(rows, 'energy_wh')).toBe(280);
    expect(rows.map((r) => r.error !== '')).toEqual([false, true, false]);
  });

  it('bill list: period_start and period_end apart, energy_wh and total_minor as integers, the currency beside', async () => {
    const world = new TestWorld();
    const { bill } = billEvidence(Buffer.alloc(32, 3), [1000, 2500]);
    const second: BillRecord = {
      ...bill,
      billId: 'bill_000000000000000000000002',
      periodFrom: '2026-11-02T00:00:00Z',
      periodTo: '2026-11-03T00:00:00Z',
      energyWh: 11_089,
      totalMinor: 11_089,
    };
    world.clients.billing = { all: async () => [bill, second] };

    const result = await world.run('--csv', 'bill', 'list');

    expect(result.stdout.split('\n')[0]).toBe(
      'bill,subscription,period_start,period_end,energy_wh,total_minor,currency,status',
    );
    const rows = expectPlainCsv(result.stdout);
    expect(sum(rows, 'total_minor')).toBe(bill.totalMinor + 11_089);
    expect(sum(rows, 'energy_wh')).toBe(3500 + 11_089);
    expect(rows[1]).toMatchObject({
      period_start: '2026-11-02T00:00:00Z',
      period_end: '2026-11-03T00:00:00Z',
      currency: 'GBP',
    });
  });

  it('subscription list: the interval in interval_seconds', async () => {
    const world = new TestWorld();
    const key = Buffer.alloc(32, 1);
    world.clients.subscriptions = {
      all: async () => [
        subscriptionRecord(key, [], { status: 'ACTIVE', approval: APPROVAL }),
        subscriptionRecord(key, [], {
          subscriptionId: 'sub_000000000000000000000002',
          status: 'ACTIVE',
          approval: { ...APPROVAL, intervalSeconds: 900 },
        }),
        subscriptionRecord(key, [], { subscriptionId: 'sub_000000000000000000000003' }),
      ],
    };

    const result = await world.run('--csv', 'subscription', 'list');

    const rows = expectPlainCsv(result.stdout);
    expect(rows.map((r) => r.interval_seconds)).toEqual(['1800', '900', '']);
    expect(sum(rows, 'interval_seconds')).toBe(2700);
  });

  it('report load: the bucket in period_start and interval_seconds, energy_wh empty where suppressed', async () => {
    const world = authorityWorld();
    const rows: LoadRow[] = [
      {
        periodStart: '2026-11-01T00:00:00Z',
        energyWh: 52_340,
        readingCount: 24,
        households: 6,
        suppressed: false,
      },
      {
        periodStart: '2026-11-01T06:00:00Z',
        energyWh: null,
        readingCount: 12,
        households: 1,
        suppressed: true,
      },
      {
        periodStart: '2026-11-01T12:00:00Z',
        energyWh: 7_660,
        readingCount: 30,
        households: 7,
        suppressed: false,
      },
    ];
    world.reportStore = { load: async () => rows };

    const result = await world.run(
      '--csv',
      'report',
      'load',
      '--region',
      'north/d1',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-01T18:00:00Z',
      '--interval',
      '21600',
    );

    expect(result.stdout.split('\n')[0]).toBe(
      'period_start,interval_seconds,energy_wh,suppressed,households,readings',
    );
    const csv = expectPlainCsv(result.stdout);
    expect(sum(csv, 'energy_wh')).toBe(60_000);
    expect(sum(csv, 'readings')).toBe(66);
    expect(csv.map((r) => [r.interval_seconds, r.suppressed])).toEqual([
      ['21600', 'false'],
      ['21600', 'true'],
      ['21600', 'false'],
    ]);
  });

  it('report bills and report subscriptions: totals and counts that sum', async () => {
    const world = authorityWorld();
    const reportBill = (billId: string, totalMinor: number): ReportBill => ({
      docType: 'bill',
      channel: 'northgrid',
      billId,
      subscriptionId: SUB,
      distributorMspId: 'Distributor1MSP',
      periodFrom: '2026-11-01T00:00:00Z',
      periodTo: '2026-12-01T00:00:00Z',
      status: 'PAID',
      currency: 'GBP',
      energyWh: 274_000,
      totalMinor,
      readingCount: 1440,
      expectedReadings: 1440,
      issuedAt: '2026-12-01T09:00:00Z',
    });
    const subscription = (subscriptionId: string, status: string): ReportSubscription => ({
      docType: 'subscription',
      channel: 'northgrid',
      subscriptionId,
      distributorMspId: 'Distributor1MSP',
      status,
      requestedAt: '2026-11-01T00:00:00Z',
      updatedAt: '2026-11-01T00:00:00Z',
      readingCount: 0,
    });
    world.reportStore = {
      bills: async () => [
        reportBill('bill_000000000000000000000001', 8_259),
        reportBill('bill_000000000000000000000002', 11_089),
      ],
      subscriptions: async () => [
        subscription('a', 'ACTIVE'),
        subscription('b', 'ACTIVE'),
        subscription('c', 'ENDED'),
      ],
    };

    const bills = expectPlainCsv((await world.run('--csv', 'report', 'bills')).stdout);
    const counts = expectPlainCsv((await world.run('--csv', 'report', 'subscriptions')).stdout);

    expect(sum(bills, 'total_minor')).toBe(19_348);
    expect(sum(bills, 'energy_wh')).toBe(548_000);
    expect(bills[0]).toMatchObject({ distributor: 'Distributor1MSP', period_end: '2026-12-01T00:00:00Z' });
    expect(sum(counts, 'subscriptions')).toBe(3);
  });

  it('grid rounds: shares and expected_shares apart, the load in load_wh', async () => {
    const world = authorityWorld();
    const round = (periodStart: string, load?: string): AggregationRoundRecord => ({
      docType: 'aggregationRound',
      regionCode: 'north/d3',
      periodStart,
      periodSeconds: 900,
      distributorMspId: 'Distributor1MSP',
      status: load === undefined ? 'FAULT' : 'COMPLETE',
      shareCount: load === undefined ? 9 : 10,
      expectedShares: 10,
      shareSum: '0',
      pridSum: '00',
      ...(load === undefined ? {} : { load }),
      closedAt: '2026-12-02T01:00:00Z',
    });
    world.clients.aggregation = {
      rounds: async () => [
        round('2026-12-02T00:00:00Z', '1250'),
        round('2026-12-02T00:15:00Z'),
        round('2026-12-02T00:30:00Z', '750'),
      ],
    };

    const result = await world.run(
      '-c',
      'northgrid',
      '--csv',
      'grid',
      'rounds',
      '--region',
      'north/d3',
      '--from',
      '2026-12-02',
      '--to',
      '2026-12-03',
    );

    const rows = expectPlainCsv(result.stdout);
    expect(sum(rows, 'load_wh')).toBe(2000);
    expect(sum(rows, 'shares')).toBe(29);
    expect(sum(rows, 'expected_shares')).toBe(30);
  });

  it('personal-data list: the requester in requester_msp_id and requester_role', async () => {
    const world = new TestWorld();
    world.clients.personalData = {
      all: async () => [
        accessRequestRecord(),
        accessRequestRecord({ requesterMspId: 'Distributor1MSP', requesterRole: 'operator' }),
      ],
    };

    const rows = expectPlainCsv((await world.run('--csv', 'personal-data', 'list')).stdout);

    expect(rows.map((r) => [r.requester_msp_id, r.requester_role])).toEqual([
      ['AuthorityMSP', 'auditor'],
      ['Distributor1MSP', 'operator'],
    ]);
  });
});
