import { periodSecrets, splitReading } from '@smartmeter/crypto';
import {
  computeAggregateBill,
  gridShareRecordOf,
  isoSeconds,
  type AggregationRoundRecord,
  type BillRecord,
  type GridShareRecord,
  type SettlementRecord,
  type SubscriptionRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { recomputeBill } from '../src/billVerify';
import type { AggregateSettlementClaim } from '../src/contracts/PrepaidClient';
import { ClientRefusal } from '../src/errors';
import {
  costFromOf,
  settleAggregateWallet,
  settleAll,
  settlementAnchor,
  settlementStart,
  verifySettlements,
  type SettleAllOptions,
  type SettlementClients,
} from '../src/prepaidSettlement';
import {
  APPROVAL,
  CHANNEL,
  chaincodeRefusal,
  readingRecords,
  subscriptionRecord,
  settlementRecord,
  tariffRecord,
  walletRecord,
} from './commands/support/fixtures';

/**
 * Prepaid settlements off the network (client/src/prepaidSettlement.ts): fakes stand in for the contracts; the
 * readings are really encrypted and the shares really split with the household's session key, so every cost is
 * the one the chaincode and the household compute. The tariff is flat 25 p/kWh, 50 p a day standing charge, 5 % tax.
 */
const SESSION_KEY = Buffer.alloc(32, 9);
const SUB = 'sub_000000000000000000000001';

const wallet = walletRecord;

function bill(periodFrom: string, periodTo: string, overrides: Partial<BillRecord> = {}): BillRecord {
  return { periodFrom, periodTo, status: 'ISSUED', ...overrides } as BillRecord;
}

const settlement = settlementRecord;

const disclosed = subscriptionRecord(SESSION_KEY, [], { status: 'ACTIVE', approval: APPROVAL });

describe('where a settlement starts and where its cost basis starts (the chaincode anchor)', () => {
  const approval = { startDate: '2026-11-01T00:00:00Z' };

  it('when it is the first settlement of the month then both start on the 1st', () => {
    expect(settlementAnchor(wallet({ settledUntil: '2026-11-01T00:00:00Z' }), [], approval)).toEqual({
      periodFrom: '2026-11-01T00:00:00Z',
      costFrom: '2026-11-01T00:00:00Z',
    });
  });

  it('when the month was settled before then the cost basis still starts on the 1st (running totals)', () => {
    expect(settlementAnchor(wallet({ settledUntil: '2026-11-15T10:00:00Z' }), [], approval)).toEqual({
      periodFrom: '2026-11-15T10:00:00Z',
      costFrom: '2026-11-01T00:00:00Z',
    });
  });

  it('when a bill ends in the middle of the month after the last settlement then both start at its end', () => {
    const bills = [
      bill('2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z'),
      bill('2026-11-01T00:00:00Z', '2026-11-15T00:00:00Z'),
    ];
    expect(settlementAnchor(wallet({ settledUntil: '2026-11-10T00:00:00Z' }), bills, approval)).toEqual({
      periodFrom: '2026-11-15T00:00:00Z',
      costFrom: '2026-11-15T00:00:00Z',
    });
  });

  it('when settlements went on after a mid-month bill then the cost basis starts at the bill, not on the 1st', () => {
    const bills = [bill('2026-11-01T00:00:00Z', '2026-11-15T00:00:00Z')];
    expect(settlementAnchor(wallet({ settledUntil: '2026-11-20T06:00:00Z' }), bills, approval)).toEqual({
      periodFrom: '2026-11-20T06:00:00Z',
      costFrom: '2026-11-15T00:00:00Z',
    });
  });

  it('when the bill was voided by an upheld dispute then its periods are not paid and it is ignored', () => {
    const voided = bill('2026-11-01T00:00:00Z', '2026-11-15T00:00:00Z', {
      status: 'RESOLVED',
      resolution: { outcome: 'UPHELD', note: 'wrong tariff', resolvedAt: '2026-11-16T00:00:00Z' },
    });
    const kept = bill('2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z', {
      status: 'RESOLVED',
      resolution: { outcome: 'REJECTED', note: 'readings checked', resolvedAt: '2026-11-02T00:00:00Z' },
    });
    expect(settlementStart(wallet({ settledUntil: '2026-11-10T00:00:00Z' }), [voided, kept])).toBe(
      '2026-11-10T00:00:00Z',
    );
  });

  it('when the subscription started after the 1st then the cost basis starts at its start date', () => {
    expect(costFromOf('2026-11-06T12:00:00Z', undefined, '2026-11-05T00:00:00Z')).toBe(
      '2026-11-05T00:00:00Z',
    );
    expect(
      settlementAnchor(wallet({ settledUntil: '2026-11-05T00:00:00Z' }), [], {
        startDate: '2026-11-05T00:00:00Z',
      }),
    ).toEqual({ periodFrom: '2026-11-05T00:00:00Z', costFrom: '2026-11-05T00:00:00Z' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Aggregate wallets: shares, rounds

const AGGREGATE_APPROVAL = { ...APPROVAL, startDate: '2026-11-15T08:00:00Z' };
const aggregate: SubscriptionRecord = subscriptionRecord(SESSION_KEY, [], {
  status: 'ACTIVE',
  privacyMode: 'aggregate',
  approval: AGGREGATE_APPROVAL,
});
const epoch = (iso: string) => Date.parse(iso) / 1000;

/** The meter's two shares of each half hour from 08:00 on 2026-11-15, as the ledger stores them. */
function sharesFrom(start: string, energies: number[]): GridShareRecord[] {
  return energies.flatMap((wattHours, i) => {
    const periodStart = epoch(start) + i * 1800;
    const sentAt = isoSeconds(periodStart + 1800 + 30);
    return splitReading({
      wattHours,
      secrets: periodSecrets(SESSION_KEY, periodStart),
      region: APPROVAL.regionCode,
      sentAt: [sentAt, sentAt],
    }).map(gridShareRecordOf);
  });
}

function roundsOf(starts: string[]): AggregationRoundRecord[] {
  return starts.map((periodStart) => ({
    docType: 'aggregationRound',
    regionCode: APPROVAL.regionCode,
    periodStart,
    periodSeconds: 1800,
    distributorMspId: 'Distributor1MSP',
    status: 'COMPLETE',
    shareCount: 10,
    expectedShares: 10,
    shareSum: '0',
    pridSum: '00',
    closedAt: isoSeconds(epoch(periodStart) + 1900),
  }));
}

const QUARTER_STARTS = [
  '2026-11-15T08:00:00Z',
  '2026-11-15T08:30:00Z',
  '2026-11-15T09:00:00Z',
  '2026-11-15T09:30:00Z',
];
// 1000 + 1000 + 500 + 500 Wh = 3 kWh at 25 p = 75 p; 2 h of 50 p a day = 4.17 p -> 4 p; 5 % of 79 p -> 4 p: 83 p.
const SHARES = sharesFrom('2026-11-15T08:00:00Z', [1000, 1000, 500, 500]);

function aggregateSources(rounds: AggregationRoundRecord[]) {
  return {
    aggregation: {
      rounds: jest.fn(async (_region: string, from: string, to: string) =>
        rounds.filter((r) => r.periodStart >= from && r.periodStart < to),
      ),
      sharesOf: jest.fn(async () => SHARES),
    },
    pricing: { tariffHistory: jest.fn(async () => [tariffRecord()]), signals: jest.fn(async () => []) },
  };
}

describe('settleAggregateWallet', () => {
  const aggregateWallet = wallet({ settledUntil: '2026-11-15T08:00:00Z' });

  it('when a round it rests on is still open then it refuses with ROUNDS_NOT_CLOSED and submits nothing', async () => {
    const sources = aggregateSources(roundsOf(QUARTER_STARTS.slice(0, 3)));
    const settleAggregate = jest.fn();

    const settling = settleAggregateWallet({
      sources,
      prepaid: { settleAggregate },
      billing: { forSubscription: async () => [] },
      subscription: aggregate,
      wallet: aggregateWallet,
      sessionKey: SESSION_KEY,
      periodTo: '2026-11-15T10:00:00Z',
    });

    await expect(settling).rejects.toThrow(ClientRefusal);
    await expect(settling).rejects.toMatchObject({ code: 'ROUNDS_NOT_CLOSED' });
    await expect(settling).rejects.toThrow('1 are open or FAULT (first 2026-11-15T09:30:00Z)');
    expect(sources.aggregation.sharesOf).not.toHaveBeenCalled();
    expect(settleAggregate).not.toHaveBeenCalled();
  });

  it('when the rounds are final then it claims the cost of [costFrom, periodTo) from the shares, without transient data', async () => {
    const sources = aggregateSources(roundsOf(QUARTER_STARTS));
    const settleAggregate = jest.fn(async () =>
      wallet({ balanceMinor: 1417, settledUntil: '2026-11-15T10:00:00Z' }),
    );

    const after = await settleAggregateWallet({
      sources,
      prepaid: { settleAggregate },
      billing: { forSubscription: async () => [] },
      subscription: aggregate,
      wallet: aggregateWallet,
      sessionKey: SESSION_KEY,
      periodTo: '2026-11-15T10:00:00Z',
    });

    expect(after.balanceMinor).toBe(1417);
    expect(settleAggregate).toHaveBeenCalledTimes(1);
    const [id, periodTo, claim] = settleAggregate.mock.calls[0] as unknown as [
      string,
      string,
      AggregateSettlementClaim,
    ];
    expect([id, periodTo, claim.costFrom]).toEqual([SUB, '2026-11-15T10:00:00Z', '2026-11-15T08:00:00Z']);
    expect(claim.computation).toMatchObject({
      energyWh: 3000,
      readingCount: 4,
      subtotalMinor: 79,
      taxMinor: 4,
      totalMinor: 83,
      lineItems: [expect.objectContaining({ label: 'dynamic (average)', energyWh: 3000, amountMinor: 75 })],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// settleAll: the operator's pass over every wallet

const NIGHT = new Date('2026-11-18T22:07:00Z'); // a Wednesday: the default policy's friendly night began at 22:00

/** Fake contracts for a pass: each settlement debits 31 p, except where `refusalOf` gives the chaincode's refusal. */
function passClients(
  wallets: WalletRecord[],
  subscriptions: Partial<Record<string, SubscriptionRecord>>,
  refusalOf: (subscriptionId: string) => Error | undefined = () => undefined,
) {
  const settled: SettlementRecord[] = [];
  const prepaid = {
    wallets: jest.fn(async () => wallets),
    settle: jest.fn(async (id: string, periodTo: string): Promise<WalletRecord> => {
      const refusal = refusalOf(id);
      if (refusal) throw refusal;
      const before = wallets.find((w) => w.subscriptionId === id) as WalletRecord;
      settled.push(
        settlement({ subscriptionId: id, periodFrom: before.settledUntil, periodTo, amountMinor: 31 }),
      );
      return { ...before, balanceMinor: before.balanceMinor - 31, settledUntil: periodTo };
    }),
    settleAggregate: jest.fn(),
    settlements: jest.fn(async (id: string) => settled.filter((s) => s.subscriptionId === id)),
    refreshSupply: jest.fn(async (id: string): Promise<WalletRecord> => ({
      ...(wallets.find((w) => w.subscriptionId === id) as WalletRecord),
      supply: 'power-saving',
      supplyReason: 'friendly-hours',
    })),
  };
  const clients: SettlementClients = {
    prepaid,
    billing: { forSubscription: async () => [] },
    subscriptions: {
      get: async (id: string) => {
        const found = subscriptions[id];
        if (!found) throw new Error('14 UNAVAILABLE: No connection established');
        return found;
      },
    },
    ...aggregateSources([]),
  };
  return { clients, prepaid };
}

function passOptions(
  clients: SettlementClients,
  overrides: Partial<SettleAllOptions> = {},
): SettleAllOptions {
  return {
    clients,
    distributorMspId: 'Distributor1MSP',
    now: NIGHT,
    graceSeconds: 300,
    sessionKeyOf: () => SESSION_KEY,
    endorsersOf: () => ['Distributor1MSP', 'AuthorityMSP'],
    ...overrides,
  };
}

describe('settleAll', () => {
  const id = (n: number) => `sub_00000000000000000000000${n}`;
  const sub = (n: number, overrides: Partial<SubscriptionRecord> = {}) => ({
    ...disclosed,
    subscriptionId: id(n),
    ...overrides,
  });
  const wallets = [
    wallet({ subscriptionId: id(1), settledUntil: '2026-11-18T21:00:00Z' }),
    wallet({ subscriptionId: id(2), settledUntil: '2026-11-18T22:00:00Z' }),
    wallet({ subscriptionId: id(3), settledUntil: '2026-11-18T21:00:00Z' }),
    wallet({ subscriptionId: id(4), settledUntil: '2026-11-18T21:30:00Z' }),
    wallet({
      subscriptionId: id(5),
      settledUntil: '2026-11-18T22:00:00Z',
      balanceMinor: -50,
      supply: 'off',
      supplyReason: 'switch-off-threshold',
    }),
    wallet({ subscriptionId: id(6), settledUntil: '2026-11-18T21:00:00Z' }),
  ];
  const subscriptions = {
    [id(1)]: sub(1),
    [id(2)]: sub(2),
    [id(3)]: { ...aggregate, subscriptionId: id(3), approval: APPROVAL },
    [id(4)]: sub(4),
    [id(5)]: sub(5),
    // id(6): its subscription cannot be read (the gateway went away): failed
  };

  it('when a pass runs then each wallet gets its outcome and one refusal or failure does not stop the others', async () => {
    const { clients, prepaid } = passClients(wallets, subscriptions, (subscriptionId) =>
      subscriptionId === id(4)
        ? chaincodeRefusal(`CONFLICT: ${id(4)} is settled or billed until 2026-11-18T22:00:00Z`)
        : undefined,
    );
    const progress: string[] = [];

    const rows = await settleAll(
      passOptions(clients, {
        onProgress: (row, done, total) => progress.push(`${done}/${total} ${row.outcome}`),
      }),
    );

    expect(rows).toEqual([
      {
        subscriptionId: id(1),
        currency: 'GBP',
        outcome: 'settled',
        periodFrom: '2026-11-18T21:00:00Z',
        periodTo: '2026-11-18T22:00:00Z',
        amountMinor: 31,
        balanceMinor: 1469,
        supply: 'on',
        supplyReason: 'balance-ok',
      },
      {
        subscriptionId: id(2),
        currency: 'GBP',
        outcome: 'up-to-date',
        message: 'settled until 2026-11-18T22:00:00Z; no period has ended since (grace 300 s)',
        balanceMinor: 1500,
        supply: 'on',
        supplyReason: 'balance-ok',
      },
      expect.objectContaining({
        subscriptionId: id(3),
        outcome: 'skipped',
        code: 'ROUNDS_NOT_CLOSED',
        periodFrom: '2026-11-18T21:00:00Z',
        periodTo: '2026-11-18T22:00:00Z',
      }),
      expect.objectContaining({
        subscriptionId: id(4),
        outcome: 'skipped',
        code: 'CONFLICT',
        message: `${id(4)} is settled or billed until 2026-11-18T22:00:00Z`,
      }),
      {
        subscriptionId: id(5),
        currency: 'GBP',
        outcome: 'refreshed',
        message: 'supply off (switch-off-threshold) -> power-saving (friendly-hours)',
        balanceMinor: -50,
        supply: 'power-saving',
        supplyReason: 'friendly-hours',
      },
      {
        subscriptionId: id(6),
        currency: 'GBP',
        outcome: 'failed',
        message: '14 UNAVAILABLE: No connection established',
      },
    ]);
    expect(progress).toEqual([
      '1/6 settled',
      '2/6 up-to-date',
      '3/6 skipped',
      '4/6 skipped',
      '5/6 refreshed',
      '6/6 failed',
    ]);
    // The disclosed wallet's key went to the two endorsers; the aggregate one claimed nothing (rounds open).
    expect(prepaid.settle).toHaveBeenCalledWith(id(1), '2026-11-18T22:00:00Z', SESSION_KEY, [
      'Distributor1MSP',
      'AuthorityMSP',
    ]);
    expect(prepaid.settleAggregate).not.toHaveBeenCalled();
    expect(prepaid.refreshSupply.mock.calls).toEqual([[id(5)]]);
  });

  it('when --to is given then every wallet is settled up to it, not to its last boundary', async () => {
    const { clients, prepaid } = passClients(wallets.slice(0, 1), subscriptions);

    const rows = await settleAll(passOptions(clients, { to: '2026-11-18T21:30:00Z' }));

    expect(rows.map((r) => [r.outcome, r.periodFrom, r.periodTo, r.amountMinor])).toEqual([
      ['settled', '2026-11-18T21:00:00Z', '2026-11-18T21:30:00Z', 31],
    ]);
    expect(prepaid.settle).toHaveBeenCalledWith(id(1), '2026-11-18T21:30:00Z', SESSION_KEY, [
      'Distributor1MSP',
      'AuthorityMSP',
    ]);
  });

  it('when an aggregate wallet’s latest round is not final yet then it is settled up to the last final one', async () => {
    // Rounds from the subscription's start (08:00 on the 15th) are final until 09:30; 09:30 is still open.
    const open = wallet({ settledUntil: '2026-11-15T08:00:00Z' });
    const { clients, prepaid } = passClients([open], { [SUB]: aggregate });
    const sources = aggregateSources(roundsOf(QUARTER_STARTS.slice(0, 3)));
    prepaid.settleAggregate.mockImplementation(async () => ({
      ...open,
      balanceMinor: 1440,
      settledUntil: '2026-11-15T09:30:00Z',
    }));

    const rows = await settleAll(
      passOptions({ ...clients, ...sources }, { now: new Date('2026-11-15T11:00:00Z') }),
    );

    expect(prepaid.settleAggregate).toHaveBeenCalledTimes(1);
    const [, periodTo, claim] = prepaid.settleAggregate.mock.calls[0] as unknown as [
      string,
      string,
      AggregateSettlementClaim,
    ];
    expect([periodTo, claim.costFrom, claim.computation.expectedReadings]).toEqual([
      '2026-11-15T09:30:00Z',
      '2026-11-15T08:00:00Z',
      3,
    ]);
    expect(rows.map((r) => [r.outcome, r.periodTo, r.balanceMinor])).toEqual([
      ['settled', '2026-11-15T09:30:00Z', 1440],
    ]);
  });

  it('when the supply recorded is the one the balance gives now then an up-to-date wallet is not refreshed', async () => {
    const asleep = wallet({
      settledUntil: '2026-11-18T22:00:00Z',
      balanceMinor: -50,
      supply: 'power-saving',
      supplyReason: 'friendly-hours',
    });
    const { clients, prepaid } = passClients([asleep], { [SUB]: disclosed });

    const rows = await settleAll(passOptions(clients));

    expect(rows.map((r) => r.outcome)).toEqual(['up-to-date']);
    expect(prepaid.refreshSupply).not.toHaveBeenCalled();
  });

  it('when the pass is stopped then the wallets not yet started are left for the next one', async () => {
    const stop = new AbortController();
    const { clients } = passClients(wallets.slice(0, 2), subscriptions);

    const rows = await settleAll(
      passOptions(clients, {
        signal: stop.signal,
        onProgress: () => {
          stop.abort();
        },
      }),
    );

    expect(rows.map((r) => r.subscriptionId)).toEqual([id(1)]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// verifySettlements: the household's check

/**
 * Readings of 2026-11-01 from 00:00, one per half hour: 1000 Wh each for the first two hours, 500 Wh each for the
 * next two. [00:00, 02:00): 4 kWh = 100 p, standing 4.17 p -> 4 p, tax 5 % of 104 p -> 5 p: 109 p.
 * [00:00, 04:00): 6 kWh = 150 p, standing 8.33 p -> 8 p, tax 5 % of 158 p -> 8 p: 166 p, so the second hourly
 * pair of settlements debits 166 - 109 = 57 p.
 */
const READINGS = readingRecords(disclosed, SESSION_KEY, [1000, 1000, 1000, 1000, 500, 500, 500, 500]);

function readingsSources() {
  return {
    measurements: {
      all: jest.fn(async (_id: string, from: string, to: string) =>
        READINGS.filter((r) => r.periodStart >= from && r.periodStart < to),
      ),
    },
    ...aggregateSources([]),
  };
}

/** The figures the endorsers recorded for the cost basis [costFrom, periodTo). */
function endorsed(costFrom: string, periodTo: string) {
  const computed = recomputeBill(
    {
      channel: CHANNEL,
      bill: { periodFrom: costFrom, periodTo },
      subscription: disclosed,
      readings: READINGS.filter((r) => r.periodStart >= costFrom && r.periodStart < periodTo),
      tariffVersions: [tariffRecord()],
      signals: [],
    },
    SESSION_KEY,
  );
  return {
    costFrom,
    costMinor: computed.totalMinor,
    readingCount: computed.readingCount,
    readingsDigest: computed.readingsDigest,
  };
}

const FIRST = settlement({ ...endorsed('2026-11-01T00:00:00Z', '2026-11-01T02:00:00Z'), amountMinor: 109 });
const SECOND = settlement({
  ...endorsed('2026-11-01T00:00:00Z', '2026-11-01T04:00:00Z'),
  periodFrom: '2026-11-01T02:00:00Z',
  periodTo: '2026-11-01T04:00:00Z',
  amountMinor: 57,
  at: '2026-11-01T12:10:00Z',
});

describe('verifySettlements', () => {
  const verify = (settlements: SettlementRecord[], sources = readingsSources(), subscription = disclosed) =>
    verifySettlements({
      sources,
      prepaid: { settlements: async () => settlements },
      subscription,
      sessionKey: SESSION_KEY,
      channel: CHANNEL,
    });

  it('when every settlement is the cost of its readings less the earlier ones then all are OK', async () => {
    expect([FIRST.costMinor, SECOND.costMinor]).toEqual([109, 166]);
    const sources = readingsSources();

    expect(await verify([FIRST, SECOND], sources)).toEqual([
      {
        periodFrom: '2026-11-01T00:00:00Z',
        periodTo: '2026-11-01T02:00:00Z',
        amountMinor: 109,
        ok: true,
        differences: [],
      },
      {
        periodFrom: '2026-11-01T02:00:00Z',
        periodTo: '2026-11-01T04:00:00Z',
        amountMinor: 57,
        ok: true,
        differences: [],
      },
    ]);
    // One read of the month's readings serves both settlements.
    expect(sources.measurements.all.mock.calls).toEqual([
      [SUB, '2026-11-01T00:00:00Z', '2026-11-01T04:00:00Z'],
    ]);
  });

  it('when a settlement claims a larger cost than its readings give then it is a MISMATCH naming both amounts', async () => {
    const inflated = { ...SECOND, costMinor: 180, amountMinor: 71 };

    const [first, second] = await verify([FIRST, inflated]);

    expect(first.ok).toBe(true);
    expect(second).toEqual({
      periodFrom: '2026-11-01T02:00:00Z',
      periodTo: '2026-11-01T04:00:00Z',
      amountMinor: 71,
      ok: false,
      differences: ['costMinor: settled 180, recomputed 166'],
    });
  });

  it('when a settlement debits its whole cost again instead of what the earlier one left then the chain is broken', async () => {
    const doubled = { ...SECOND, amountMinor: 166 };

    const [, second] = await verify([FIRST, doubled]);

    expect(second.ok).toBe(false);
    expect(second.differences).toEqual([
      'amountMinor: settled 166, but its cost 166 less 109 debited by 1 earlier settlements since 2026-11-01T00:00:00Z is 57',
    ]);
  });

  it('when a reading arrived after a settlement then that settlement is checked without it and the next one charges it', async () => {
    // The 4th half hour's reading came at 12:07, after the first settlement (12:05): it settled 3 kWh.
    const late = READINGS.map((r, i) => (i === 3 ? { ...r, submittedAt: '2026-11-01T12:07:00Z' } : r));
    const sources = readingsSources();
    sources.measurements.all.mockImplementation(async () => late);
    const withoutLate = recomputeBill(
      {
        channel: CHANNEL,
        bill: { periodFrom: '2026-11-01T00:00:00Z', periodTo: '2026-11-01T02:00:00Z' },
        subscription: disclosed,
        readings: late.slice(0, 3),
        tariffVersions: [tariffRecord()],
        signals: [],
      },
      SESSION_KEY,
    );
    const first = settlement({
      costMinor: withoutLate.totalMinor,
      amountMinor: withoutLate.totalMinor,
      readingCount: 3,
      readingsDigest: withoutLate.readingsDigest,
    });
    const second = { ...SECOND, amountMinor: 166 - withoutLate.totalMinor };

    const results = await verify([first, second], sources);

    // 3 kWh = 75 p, standing 4 p, tax 5 % of 79 p = 4 p: 83 p; the next settlement then debits 166 - 83 = 83 p.
    expect([first.costMinor, second.amountMinor]).toEqual([83, 83]);
    expect(results.map((r) => [r.ok, r.differences])).toEqual([
      [true, []],
      [true, []],
    ]);
  });

  it('when an aggregate settlement claims more than the shares give then it is a MISMATCH; the honest one is OK', async () => {
    const claim = computeAggregateBill(SESSION_KEY, {
      periodFrom: '2026-11-15T08:00:00Z',
      periodTo: '2026-11-15T10:00:00Z',
      schedule: AGGREGATE_APPROVAL,
      shares: SHARES,
      tariffVersions: [tariffRecord()],
      signals: [],
    }).ledger;
    const honest = settlement({
      periodFrom: '2026-11-15T08:00:00Z',
      periodTo: '2026-11-15T10:00:00Z',
      costFrom: '2026-11-15T08:00:00Z',
      costMinor: claim.totalMinor,
      amountMinor: claim.totalMinor,
      readingCount: claim.readingCount,
      readingsDigest: claim.readingsDigest,
      source: 'shares',
      at: '2026-11-15T10:10:00Z',
    });
    const sources = { ...readingsSources(), ...aggregateSources([]) };

    expect(await verify([honest], sources, aggregate)).toEqual([
      {
        periodFrom: '2026-11-15T08:00:00Z',
        periodTo: '2026-11-15T10:00:00Z',
        amountMinor: 83,
        ok: true,
        differences: [],
      },
    ]);
    const [inflated] = await verify([{ ...honest, costMinor: 95, amountMinor: 95 }], sources, aggregate);
    expect(inflated.differences).toEqual(['costMinor: settled 95, recomputed 83']);
  });
});
