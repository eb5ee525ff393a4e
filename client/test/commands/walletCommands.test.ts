import { type SettlementRecord, type SubscriptionRecord, type WalletRecord } from '@smartmeter/domain';
import { recomputeBill } from '../../src/billVerify';
import { parseEvery, runWalletSettleEvery } from '../../src/commands/wallet';
import {
  APPROVAL,
  CHANNEL,
  chaincodeRefusal,
  householdSubscription,
  readingRecords,
  settlementRecord,
  tariffRecord,
  walletRecord,
} from './support/fixtures';
import { householdsProfile, TestWorld } from './support/world';

/** meterctl wallet settle (one wallet, --all, --every) and wallet verify, with fake contracts. */
const SUB = 'sub_000000000000000000000001';
const SUB2 = 'sub_000000000000000000000002';

function wallet(overrides: Partial<WalletRecord> = {}): WalletRecord {
  return walletRecord({
    settledUntil: '2026-11-15T09:00:00Z',
    updatedAt: '2026-11-15T09:05:00Z',
    entries: 3,
    ...overrides,
  });
}

function settlementOf(overrides: Partial<SettlementRecord>): SettlementRecord {
  return settlementRecord({
    periodFrom: '2026-11-15T09:00:00Z',
    periodTo: '2026-11-15T10:00:00Z',
    amountMinor: 31,
    readingCount: 2,
    readingsDigest: 'digest',
    costMinor: 31,
    at: '2026-11-15T10:06:00Z',
    ...overrides,
  });
}

describe('meterctl wallet settle: options', () => {
  it.each([
    [
      ['wallet', 'settle', SUB, '--all', '--distributor', 'Distributor1MSP'],
      'wallet settle takes a subscription id or --all, not both',
    ],
    [
      ['wallet', 'settle'],
      'wallet settle needs the subscription to settle, or --all --distributor <mspId> for every wallet',
    ],
    [['wallet', 'settle', '--all'], '--all needs --distributor <mspId>, e.g. --distributor Distributor1MSP'],
    [['wallet', 'settle', SUB, '--every', '1h'], '--distributor and --every go with --all'],
    [
      [
        ...['wallet', 'settle', '--all', '--distributor', 'Distributor1MSP'],
        ...['--to', '2026-11-15T10:00:00Z', '--every', '1h'],
      ],
      '--to settles up to one fixed boundary, --every again and again: give one of them, not both',
    ],
    [
      ['wallet', 'settle', '--all', '--distributor', 'Distributor1MSP', '--every', '30s'],
      '--every must be seconds or a duration like 15m or 1h, from 60 s to 24h (got "30s")',
    ],
    [
      ['wallet', 'settle', '--all', '--distributor', 'Distributor1MSP', '--every', 'hourly'],
      '--every must be seconds or a duration like 15m or 1h, from 60 s to 24h (got "hourly")',
    ],
    [
      ['wallet', 'settle', '--all', '--distributor', 'Distributor1MSP', '--grace', '-5'],
      '--grace must be an integer from 0 to 3600 (got "-5")',
    ],
  ])('when run as %j then it exits 2 with one line and sends nothing', async (args, message) => {
    const world = new TestWorld();

    const result = await world.run(...args);

    expect(result).toEqual({ code: 2, stdout: '', stderr: `meterctl: ${message}\n` });
    expect(world.calls).toEqual([]);
    expect(world.connections).toBe(0);
  });

  it('when --every is given in seconds, minutes or hours then it is that many seconds', () => {
    expect([
      parseEvery('900'),
      parseEvery('90s'),
      parseEvery('15m'),
      parseEvery('1h'),
      parseEvery('24h'),
    ]).toEqual([900, 90, 900, 3600, 86_400]);
    expect(() => parseEvery('25h')).toThrow('from 60 s to 24h (got "25h")');
  });
});

describe('meterctl wallet settle <subscriptionId>', () => {
  it('when the subscription is aggregate and a round is open then it refuses (exit 1), sends no key and settles nothing', async () => {
    const world = new TestWorld();
    const { subscription } = householdSubscription(world.keystore, {
      status: 'ACTIVE',
      privacyMode: 'aggregate',
      approval: APPROVAL,
    });
    world.clients = {
      subscriptions: { get: async () => subscription },
      prepaid: { wallet: async () => wallet() },
      billing: { forSubscription: async () => [] },
      aggregation: { rounds: async () => [] },
    };

    const result = await world.run('wallet', 'settle', SUB);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^meterctl: ROUNDS_NOT_CLOSED: the rounds of north\/d1 are not all final for 2026-11-01T00:00:00Z - 2026-11-15T10:00:00Z/,
    );
    expect(world.methodsCalled()).not.toContain('prepaid.settle');
    expect(world.methodsCalled()).not.toContain('prepaid.settleAggregate');
  });

  it('when the subscription is disclosed then its key goes to the two endorsers, up to the last boundary past the grace', async () => {
    const world = new TestWorld();
    const { sessionKey, subscription } = householdSubscription(world.keystore, {
      status: 'ACTIVE',
      approval: APPROVAL,
    });
    const settle = jest.fn(async () => wallet({ balanceMinor: 1469, settledUntil: '2026-11-15T10:00:00Z' }));
    world.clients = {
      subscriptions: { get: async () => subscription },
      prepaid: { wallet: async () => wallet(), settle },
      billing: { forSubscription: async () => [] },
    };

    const result = await world.run('wallet', 'settle', SUB);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^wallet of sub_0+1 \(Distributor1MSP\): balance 14\.69 GBP\n/);
    // now 10:07, grace 300 s: the half hour that ended at 10:00 is in.
    expect(settle).toHaveBeenCalledWith(SUB, '2026-11-15T10:00:00Z', sessionKey, [
      'Distributor1MSP',
      'AuthorityMSP',
    ]);
  });
});

/** Two disclosed wallets: the first settles (31 p), the second is refused by the chaincode, or fails. */
function twoWallets(world: TestWorld, second: 'refused' | 'unreachable' | 'up-to-date') {
  const { subscription } = householdSubscription(world.keystore, { status: 'ACTIVE', approval: APPROVAL });
  const subscriptions: Record<string, SubscriptionRecord> = {
    [SUB]: subscription,
    [SUB2]: { ...subscription, subscriptionId: SUB2 },
  };
  const wallets = [
    wallet(),
    wallet({
      subscriptionId: SUB2,
      settledUntil: second === 'up-to-date' ? '2026-11-15T10:00:00Z' : '2026-11-15T09:30:00Z',
    }),
  ];
  const settle = jest.fn(async (id: string, periodTo: string): Promise<WalletRecord> => {
    if (id === SUB2 && second === 'refused')
      throw chaincodeRefusal('CONFLICT: the prepaid settlement crosses the bill of 2026-11-15');
    if (id === SUB2) throw new Error('14 UNAVAILABLE: the peer went away');
    return wallet({ balanceMinor: 1469, settledUntil: periodTo });
  });
  world.clients = {
    subscriptions: { get: async (id: string) => subscriptions[id] },
    billing: { forSubscription: async () => [] },
    prepaid: {
      wallets: async () => wallets,
      settle,
      settlements: async (id: string) => (id === SUB ? [settlementOf({})] : []),
    },
  };
  return { settle };
}

describe('meterctl wallet settle --all', () => {
  it('when one wallet settles and another is refused then the table shows both and it exits 0', async () => {
    const world = new TestWorld();
    twoWallets(world, 'refused');

    const result = await world.run('wallet', 'settle', '--all', '--distributor', 'Distributor1MSP');

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'SUBSCRIPTION                  OUTCOME  PERIOD                                       AMOUNT    BALANCE    SUPPLY           DETAIL',
        'sub_000000000000000000000001  settled  2026-11-15T09:00:00Z - 2026-11-15T10:00:00Z  0.31 GBP  14.69 GBP  on (balance-ok)',
        'sub_000000000000000000000002  skipped  2026-11-15T09:30:00Z - 2026-11-15T10:00:00Z            15.00 GBP  on (balance-ok)  CONFLICT: the prepaid settlement crosses the bill of 2026-11-15',
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe(
      [
        '[1/2] sub_000000000000000000000001: settled 2026-11-15T09:00:00Z - 2026-11-15T10:00:00Z, 0.31 GBP; balance 14.69 GBP',
        '[2/2] sub_000000000000000000000002: skipped: CONFLICT: the prepaid settlement crosses the bill of 2026-11-15',
        '',
      ].join('\n'),
    );
  });

  it('when a wallet fails for another reason then the pass still ends and it exits 1', async () => {
    const world = new TestWorld();
    twoWallets(world, 'unreachable');

    const result = await world.run('--csv', 'wallet', 'settle', '--all', '--distributor', 'Distributor1MSP');

    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      [
        'subscription_id,outcome,period_start,period_end,amount_minor,balance_minor,currency,supply,supply_reason,code,message',
        'sub_000000000000000000000001,settled,2026-11-15T09:00:00Z,2026-11-15T10:00:00Z,31,1469,GBP,on,balance-ok,,',
        'sub_000000000000000000000002,failed,,,,,GBP,,,,14 UNAVAILABLE: the peer went away',
        '',
      ].join('\n'),
    );
  });

  it('when stopped with Ctrl-C during a pass then the wallet under way finishes, the pass line is printed and it exits 0', async () => {
    const world = new TestWorld();
    const { settle } = twoWallets(world, 'up-to-date');
    const settleFirst = settle.getMockImplementation() as (
      id: string,
      periodTo: string,
    ) => Promise<WalletRecord>;
    settle.mockImplementation(async (id, periodTo) => {
      world.interrupt();
      return settleFirst(id, periodTo);
    });

    const result = await world.run(
      'wallet',
      'settle',
      '--all',
      '--distributor',
      'Distributor1MSP',
      '--every',
      '1h',
    );

    expect(result).toEqual({
      code: 0,
      stdout:
        '2026-11-15T10:07:00Z: 1 wallets: 1 settled (0.31 GBP), 0 up-to-date, 0 refreshed, 0 skipped, 0 failed\n',
      stderr: [
        '[1/2] sub_000000000000000000000001: settled 2026-11-15T09:00:00Z - 2026-11-15T10:00:00Z, 0.31 GBP; balance 14.69 GBP',
        'stopped after 1 pass',
        '',
      ].join('\n'),
    });
  });

  it('when it runs every hour then each pass prints one line, waits the interval, and a pass that cannot connect is told and retried', async () => {
    const world = new TestWorld();
    twoWallets(world, 'up-to-date');
    const waits: number[] = [];
    let connections = 0;
    const deps = world.deps({});
    const flaky = {
      ...deps,
      withChannel: <T>(fn: Parameters<typeof deps.withChannel<T>>[0]): Promise<T> => {
        connections += 1;
        if (connections === 2) return Promise.reject(new Error('cannot reach 127.0.0.1:7051'));
        return deps.withChannel(fn);
      },
    };

    await runWalletSettleEvery(
      flaky,
      { kind: 'all', distributorMspId: 'Distributor1MSP', graceSeconds: 300, everySeconds: 3600 },
      async (ms) => {
        waits.push(ms);
        if (waits.length === 3) world.interrupt();
      },
    );

    expect(waits).toEqual([3_600_000, 3_600_000, 3_600_000]);
    expect(world.output().stdout).toBe(
      [
        '2026-11-15T10:07:00Z: 2 wallets: 1 settled (0.31 GBP), 1 up-to-date, 0 refreshed, 0 skipped, 0 failed',
        '2026-11-15T10:07:00Z: 2 wallets: 1 settled (0.31 GBP), 1 up-to-date, 0 refreshed, 0 skipped, 0 failed',
        '',
      ].join('\n'),
    );
    expect(world.output().stderr).toContain(
      'pass at 2026-11-15T10:07:00Z failed: cannot reach 127.0.0.1:7051\n',
    );
    expect(world.output().stderr).toMatch(/stopped after 3 passes\n$/);
  });
});

describe('meterctl wallet verify', () => {
  /** The household's readings of 2026-11-01 00:00-04:00 and two hourly-pair settlements the endorsers made of them. */
  function verifyWorld(secondAmountMinor: number, secondCostMinor = 166) {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const { sessionKey, subscription } = householdSubscription(world.keystore, {
      status: 'ACTIVE',
      approval: APPROVAL,
    });
    const readings = readingRecords(subscription, sessionKey, [1000, 1000, 1000, 1000, 500, 500, 500, 500]);
    const cost = (periodTo: string) =>
      recomputeBill(
        {
          channel: CHANNEL,
          bill: { periodFrom: '2026-11-01T00:00:00Z', periodTo },
          subscription,
          readings: readings.filter((r) => r.periodStart < periodTo),
          tariffVersions: [tariffRecord()],
          signals: [],
        },
        sessionKey,
      );
    const figures = (periodTo: string) => ({
      readingCount: cost(periodTo).readingCount,
      readingsDigest: cost(periodTo).readingsDigest,
    });
    const settlements = [
      settlementOf({
        periodFrom: '2026-11-01T00:00:00Z',
        periodTo: '2026-11-01T02:00:00Z',
        costMinor: 109,
        amountMinor: 109,
        ...figures('2026-11-01T02:00:00Z'),
        at: '2026-11-01T12:05:00Z',
      }),
      settlementOf({
        periodFrom: '2026-11-01T02:00:00Z',
        periodTo: '2026-11-01T04:00:00Z',
        costMinor: secondCostMinor,
        amountMinor: secondAmountMinor,
        ...figures('2026-11-01T04:00:00Z'),
        at: '2026-11-01T12:10:00Z',
      }),
    ];
    world.clients = {
      subscriptions: { get: async () => subscription },
      prepaid: { wallet: async () => wallet(), settlements: async () => settlements },
      measurements: { all: async () => readings },
      pricing: { tariffHistory: async () => [tariffRecord()], signals: async () => [] },
    };
    return world;
  }

  it('when every settlement recomputes then it prints OK for each and the summary (exit 0)', async () => {
    const world = verifyWorld(57);

    const result = await world.run('-i', 'hh-17', 'wallet', 'verify', SUB);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'OK        2026-11-01T00:00:00Z - 2026-11-01T02:00:00Z  debited 1.09 GBP',
        'OK        2026-11-01T02:00:00Z - 2026-11-01T04:00:00Z  debited 0.57 GBP',
        '2 settlements verified, 0 mismatches',
        '',
      ].join('\n'),
    });
  });

  it('when a settlement claims more than the readings cost then it prints MISMATCH with the amounts and exits 1', async () => {
    const world = verifyWorld(71, 180);

    const result = await world.run('-i', 'hh-17', 'wallet', 'verify', SUB);

    expect(result).toEqual({
      code: 1,
      stderr: '',
      stdout: [
        'OK        2026-11-01T00:00:00Z - 2026-11-01T02:00:00Z  debited 1.09 GBP',
        'MISMATCH  2026-11-01T02:00:00Z - 2026-11-01T04:00:00Z  debited 0.71 GBP',
        '  costMinor: settled 180, recomputed 166',
        '2 settlements verified, 1 mismatches',
        '',
      ].join('\n'),
    });
  });

  it('when asked for --json then it prints every result and the count of mismatches', async () => {
    const world = verifyWorld(166);

    const result = await world.run('--json', '-i', 'hh-17', 'wallet', 'verify', SUB);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      subscriptionId: SUB,
      mismatches: 1,
      settlements: [
        expect.objectContaining({ ok: true, amountMinor: 109 }),
        {
          periodFrom: '2026-11-01T02:00:00Z',
          periodTo: '2026-11-01T04:00:00Z',
          amountMinor: 166,
          ok: false,
          differences: [
            'amountMinor: settled 166, but its cost 166 less 109 debited by 1 earlier settlements since 2026-11-01T00:00:00Z is 57',
          ],
        },
      ],
    });
  });
});
