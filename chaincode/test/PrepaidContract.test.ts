import { newSessionKey } from '@smartmeter/crypto';
import {
  DEFAULT_METER_POLICY,
  PrepaidLimits,
  type BillRecord,
  type MeterPolicy,
  type SettlementRecord,
  type SupplyReason,
  type SupplyState,
  type WalletEntryRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import type { Context } from 'fabric-contract-api';
import fc from 'fast-check';
import { PrepaidContract } from '../src/contracts/PrepaidContract';
import {
  approval,
  contracts,
  D1,
  H1,
  id,
  parse,
  period,
  reading,
  World,
  type Household,
} from './support/fixtures';
import type { FakeIdentity, TxOptions } from './support/memoryContext';

/**
 * The Prepaid contract on the in-memory ledger: a disclosed subscription billed by a flat tariff of 25 p/kWh
 * without standing charge or tax, so every 40 Wh costs exactly 1 p (800 Wh = 20 p).
 */
const prepaid = new PrepaidContract();
const { pricing, billing, measurement, subscription } = contracts;
const flatTariff = {
  tariffId: approval.tariffId,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 0,
  taxBasisPoints: 0,
  pricing: { kind: 'flat', priceMicroPerKwh: 25_000_000 },
};
const UNKNOWN_SUBSCRIPTION = `sub_${'0'.repeat(24)}`;
const SECOND = { subscriberId: 'hh-002', meterId: 'MTR-002' };
const THIRD = { subscriberId: 'hh-003', meterId: 'MTR-003' };
/** Another household of the same distributor, and a clone of the first (its subscriber id, another key). */
const stranger = id.subscriber('hh-999');
const clone = id.subscriber('hh-001', H1, 'key-c');

async function withTariff(): Promise<World> {
  const world = await World.create();
  await world.run(id.d1Operator, (ctx) => pricing.PublishTariff(ctx, JSON.stringify(flatTariff)));
  return world;
}

const openWallet = (
  world: World,
  subscriptionId: string,
  credit = '1000',
  who: FakeIdentity = id.d1Operator,
) => world.run(who, (ctx) => prepaid.OpenWallet(ctx, subscriptionId, credit));

/** An active household of Distributor1 with a wallet (emergency credit `credit`). */
async function prepaidHousehold(
  world: World,
  options: { subscriberId?: string; meterId?: string } = {},
  credit = '1000',
): Promise<Household> {
  const household = await world.active(options);
  await openWallet(world, household.subscriptionId, credit);
  return household;
}

async function setup(credit = '1000'): Promise<{ world: World; household: Household }> {
  const world = await withTariff();
  return { world, household: await prepaidHousehold(world, {}, credit) };
}

/** The meter reports periods first, first + 1, ... with these energies. */
async function submitReadings(world: World, household: Household, energiesWh: number[], first = 0) {
  await world.run(household.meter, (ctx) =>
    measurement.SubmitReadings(
      ctx,
      JSON.stringify(energiesWh.map((wh, i) => reading(household, first + i, wh))),
    ),
  );
}

const topUp = (
  world: World,
  subscriptionId: string,
  amount: number | string,
  reference: string,
  who: FakeIdentity = id.d1Operator,
) => world.run(who, (ctx) => prepaid.TopUp(ctx, subscriptionId, String(amount), reference));

const settle = (
  world: World,
  household: Household,
  periodTo: string,
  key: Buffer | null = household.sessionKey,
  who: FakeIdentity = id.d1Operator,
) =>
  world.run(who, (ctx) => prepaid.Settle(ctx, household.subscriptionId, periodTo), {
    transient: key ? { sessionKey: key } : {},
  });

const issueBill = (world: World, household: Household, from: string, to: string) =>
  world.run(id.d1Operator, (ctx) => billing.IssueBill(ctx, household.subscriptionId, from, to), {
    transient: { sessionKey: household.sessionKey },
  });

const pay = (world: World, bill: BillRecord, amount: number, reference = 'PAY-BILL') =>
  world.run(id.d1Operator, (ctx) => billing.RecordPayment(ctx, bill.billId, String(amount), reference));

const takeCredit = (world: World, household: Household, who: FakeIdentity = household.subscriber) =>
  world.run(who, (ctx) => prepaid.TakeEmergencyCredit(ctx, household.subscriptionId));

const setPolicy = (
  world: World,
  household: Household,
  policy: unknown,
  who: FakeIdentity = household.subscriber,
  options?: TxOptions,
) =>
  world.run(
    who,
    (ctx) =>
      prepaid.SetMeterPolicy(
        ctx,
        household.subscriptionId,
        typeof policy === 'string' ? policy : JSON.stringify(policy),
      ),
    options,
  );

const transfer = (world: World, from: string, to: string, amount: number | string, who: FakeIdentity) =>
  world.run(who, (ctx) => prepaid.Transfer(ctx, from, to, String(amount)));

async function walletOf(world: World, subscriptionId: string): Promise<WalletRecord> {
  return parse<WalletRecord>(await world.run(id.auditor, (ctx) => prepaid.GetWallet(ctx, subscriptionId)));
}

async function balanceOf(world: World, subscriptionId: string): Promise<number> {
  return (await walletOf(world, subscriptionId)).balanceMinor;
}

async function historyOf(world: World, subscriptionId: string): Promise<WalletEntryRecord[]> {
  return parse<WalletEntryRecord[]>(
    await world.run(id.auditor, (ctx) => prepaid.GetWalletHistory(ctx, subscriptionId)),
  );
}

async function settlementsOf(world: World, subscriptionId: string): Promise<SettlementRecord[]> {
  return parse<SettlementRecord[]>(
    await world.run(id.auditor, (ctx) => prepaid.ListSettlements(ctx, subscriptionId)),
  );
}

interface Supply {
  distributorMspId: string;
  currency: string | null;
  wallets: number;
  toppedUpMinor: number;
  exhaustedMinor: number;
  outstandingMinor: number;
  balancesMinor: number;
  reconciled: boolean;
}

async function totalSupply(world: World, who: FakeIdentity = id.auditor): Promise<Supply> {
  return parse<Supply>(await world.run(who, (ctx) => prepaid.TotalSupply(ctx, D1)));
}

/** The attempt is refused with a message matching `pattern`, and the world state is byte for byte the same. */
async function expectRefused(world: World, attempt: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const before = world.ledger.dump();
  await expect(attempt()).rejects.toThrow(pattern);
  expect(world.ledger.dump()).toEqual(before);
}

const lastEvent = (world: World) => {
  const event = world.ledger.events.at(-1);
  return event ? { name: event.name, payload: parse<unknown>(event.payload) } : undefined;
};

/** A policy that makes the thresholds easy to cross in 20 p steps; no friendly hours at all. */
const stepPolicy: MeterPolicy = {
  warningBelowMinor: 100,
  powerSavingBelowMinor: 60,
  switchOffBelowMinor: 40,
  powerSavingLimitW: 1000,
  friendlyHours: { utcOffsetMinutes: 0, days: [], holidays: [] },
};

describe('Prepaid contract: OpenWallet', () => {
  it('when the operator opens a wallet then it holds 0 GBP with the default policy, settled until the start', async () => {
    const world = await withTariff();
    const household = await world.active();
    const wallet = parse<WalletRecord>(await openWallet(world, household.subscriptionId, '750'));
    expect(wallet).toMatchObject({
      docType: 'wallet',
      subscriptionId: household.subscriptionId,
      channel: 'northgrid',
      distributorMspId: D1,
      currency: 'GBP',
      balanceMinor: 0,
      emergencyCreditMinor: 750,
      settledUntil: approval.startDate,
      policy: DEFAULT_METER_POLICY,
    });
    expect(await walletOf(world, household.subscriptionId)).toEqual(wallet);
    // 0 is below the default warning (500) and power-saving (200) thresholds, not below switch-off (0).
    expect(wallet).toMatchObject({ supply: 'power-saving', supplyReason: 'power-saving-threshold' });
    const history = await historyOf(world, household.subscriptionId);
    expect(history[0]).toMatchObject({ kind: 'open', amountMinor: 0, balanceAfterMinor: 0 });
  });

  it('when the emergency credit is 0 or the maximum then the wallet opens', async () => {
    const world = await withTariff();
    const first = await world.active();
    const second = await world.active(SECOND);
    const zero = parse<WalletRecord>(await openWallet(world, first.subscriptionId, '0'));
    const max = parse<WalletRecord>(
      await openWallet(world, second.subscriptionId, String(PrepaidLimits.maxEmergencyCreditMinor)),
    );
    expect([zero.emergencyCreditMinor, max.emergencyCreditMinor]).toEqual([0, 10_000]);
  });

  it.each([
    ['the household', (h: Household) => h.subscriber],
    ['its meter', (h: Household) => h.meter],
    ['an auditor', () => id.auditor],
    ['the operator of another distributor', () => id.d2Operator],
    ['an identity without a role', () => id.noRole],
  ])('when %s opens a wallet then it is FORBIDDEN and nothing is stored', async (_label, who) => {
    const world = await withTariff();
    const household = await world.active();
    await expectRefused(
      world,
      () => openWallet(world, household.subscriptionId, '1000', who(household)),
      /^FORBIDDEN: OpenWallet needs an operator of Distributor1MSP/,
    );
    await expect(walletOf(world, household.subscriptionId)).rejects.toThrow(/^NOT_FOUND: .* is not prepaid/);
  });

  it('when the subscription is aggregate then its wallet opens at 0, to be settled from its shares (PrepaidAggregate.test.ts)', async () => {
    const world = await withTariff();
    const sessionKey = newSessionKey();
    const request = world.aggregateRequestJson(sessionKey);
    const requested = parse<{ subscriptionId: string }>(
      await world.run(id.subscriber(), (ctx) => subscription.RequestSubscription(ctx, request)),
    );
    await world.approve({
      sessionKey,
      subscriber: id.subscriber(),
      meter: id.meter(),
      subscriptionId: requested.subscriptionId,
      meterId: 'MTR-001',
    });
    const opened = parse<WalletRecord>(await openWallet(world, requested.subscriptionId));
    expect(opened).toMatchObject({
      subscriptionId: requested.subscriptionId,
      balanceMinor: 0,
      supply: 'power-saving',
      supplyReason: 'power-saving-threshold',
    });
  });

  it('when a wallet is opened twice then it is ALREADY_EXISTS and the first wallet stays', async () => {
    const { world, household } = await setup();
    await topUp(world, household.subscriptionId, 300, 'PAY-1');
    await expectRefused(
      world,
      () => openWallet(world, household.subscriptionId, '5'),
      /^ALREADY_EXISTS: sub_[0-9a-f]{24} has a wallet already/,
    );
    expect(await walletOf(world, household.subscriptionId)).toMatchObject({
      balanceMinor: 300,
      emergencyCreditMinor: 1000,
    });
  });

  it.each(['-1', '10001', '1.5', 'abc', '', '1e3', '99999999999999999'])(
    'when the emergency credit is %j then it is INVALID_ARGUMENT and nothing is stored',
    async (credit) => {
      const world = await withTariff();
      const household = await world.active();
      await expectRefused(
        world,
        () => openWallet(world, household.subscriptionId, credit),
        /^INVALID_ARGUMENT: emergencyCreditMinor/,
      );
    },
  );

  it('when the subscription is only requested, unknown, or its tariff is missing then the wallet is refused', async () => {
    const world = await World.create();
    const requested = await world.requested();
    await expectRefused(
      world,
      () => openWallet(world, requested.subscriptionId),
      /^CONFLICT: cannot open a wallet/,
    );
    await expectRefused(world, () => openWallet(world, UNKNOWN_SUBSCRIPTION), /^NOT_FOUND: /);
    await world.approve(requested);
    await expectRefused(
      world,
      () => openWallet(world, requested.subscriptionId),
      /^CONFLICT: Distributor1MSP has no tariff tou-2026/,
    );
  });
});

describe('Prepaid contract: TopUp', () => {
  it('when the operator tops up then the balance, the supply account and the Transfer event are exact', async () => {
    const { world, household } = await setup();
    const wallet = parse<WalletRecord>(await topUp(world, household.subscriptionId, 1234, 'PAY-1'));
    expect(wallet.balanceMinor).toBe(1234);
    expect(lastEvent(world)).toEqual({
      name: 'Transfer',
      payload: { from: '', to: household.subscriptionId, value: 1234 },
    });
    await topUp(world, household.subscriptionId, 1, 'PAY-2');
    const balance = parse<{ balanceMinor: number; currency: string; subscriptionId: string }>(
      await world.run(household.subscriber, (ctx) => prepaid.BalanceOf(ctx, household.subscriptionId)),
    );
    expect(balance).toEqual({
      subscriptionId: household.subscriptionId,
      balanceMinor: 1235,
      currency: 'GBP',
    });
    expect(await totalSupply(world)).toMatchObject({
      currency: 'GBP',
      wallets: 1,
      toppedUpMinor: 1235,
      exhaustedMinor: 0,
      outstandingMinor: 1235,
      balancesMinor: 1235,
      reconciled: true,
    });
    const entries = (await historyOf(world, household.subscriptionId)).filter((e) => e.kind === 'top-up');
    expect(entries.map((e) => [e.amountMinor, e.balanceAfterMinor, e.reference])).toEqual([
      [1234, 1234, 'PAY-1'],
      [1, 1235, 'PAY-2'],
    ]);
  });

  it('when a top-up is repeated with the same reference and amount then nothing changes', async () => {
    const { world, household } = await setup();
    const first = await topUp(world, household.subscriptionId, 500, 'PAY-1');
    const before = world.ledger.dump();
    const again = await topUp(world, household.subscriptionId, 500, 'PAY-1');
    expect(world.ledger.dump()).toEqual(before);
    expect(parse<WalletRecord>(again).balanceMinor).toBe(500);
    expect(again).toBe(first);
    expect((await totalSupply(world)).toppedUpMinor).toBe(500);
  });

  it('when a reference is reused with another amount or for another subscription then it is CONFLICT', async () => {
    const world = await withTariff();
    const household = await prepaidHousehold(world);
    const other = await prepaidHousehold(world, SECOND);
    await topUp(world, household.subscriptionId, 500, 'PAY-1');
    await expectRefused(
      world,
      () => topUp(world, household.subscriptionId, 501, 'PAY-1'),
      /^CONFLICT: top-up reference PAY-1 was used for 500 on sub_/,
    );
    await expectRefused(
      world,
      () => topUp(world, other.subscriptionId, 500, 'PAY-1'),
      /^CONFLICT: top-up reference/,
    );
    expect(await balanceOf(world, other.subscriptionId)).toBe(0);
  });

  it.each([
    '0',
    '-5',
    '1.5',
    'abc',
    '',
    ' 5',
    '1e3',
    '0x10',
    '1000001',
    '99999999999999999',
    '9007199254740993',
  ])('when the amount is %j then it is INVALID_ARGUMENT and nothing changes', async (amount) => {
    const { world, household } = await setup();
    await expectRefused(
      world,
      () => topUp(world, household.subscriptionId, amount, 'PAY-1'),
      /^INVALID_ARGUMENT: amountMinor/,
    );
  });

  it.each(['', 'has space', 'x'.repeat(65), 'PAY/1'])(
    'when the reference is %j then it is INVALID_ARGUMENT',
    async (reference) => {
      const { world, household } = await setup();
      await expectRefused(
        world,
        () => topUp(world, household.subscriptionId, 5, reference),
        /^INVALID_ARGUMENT: reference/,
      );
    },
  );

  it.each([
    ['the household', (h: Household) => h.subscriber],
    ['its meter', (h: Household) => h.meter],
    ['an auditor', () => id.auditor],
    ['the operator of another distributor', () => id.d2Operator],
  ])('when %s tops up then it is FORBIDDEN', async (_label, who) => {
    const { world, household } = await setup();
    await expectRefused(
      world,
      () => topUp(world, household.subscriptionId, 5, 'PAY-1', who(household)),
      /^FORBIDDEN: TopUp needs an operator of Distributor1MSP/,
    );
  });

  it('when a subscription has no wallet then a top-up is NOT_FOUND', async () => {
    const world = await withTariff();
    const household = await world.active();
    await expectRefused(
      world,
      () => topUp(world, household.subscriptionId, 5, 'PAY-1'),
      /^NOT_FOUND: sub_[0-9a-f]{24} is not prepaid/,
    );
    await expectRefused(world, () => topUp(world, UNKNOWN_SUBSCRIPTION, 5, 'PAY-1'), /^NOT_FOUND: /);
  });

  it('when the largest top-up is made until the wallet is full then the next one is refused', async () => {
    const { world, household } = await setup();
    const { maxTopUpMinor, maxBalanceMinor } = PrepaidLimits;
    for (let n = 0; n < maxBalanceMinor / maxTopUpMinor; n += 1)
      await topUp(world, household.subscriptionId, maxTopUpMinor, `PAY-${n}`);
    expect(await balanceOf(world, household.subscriptionId)).toBe(maxBalanceMinor);
    await expectRefused(
      world,
      () => topUp(world, household.subscriptionId, 1, 'PAY-more'),
      /^INVALID_ARGUMENT: a wallet holds at most 10000000 minor units/,
    );
    expect(await totalSupply(world)).toMatchObject({ toppedUpMinor: maxBalanceMinor, reconciled: true });
  });
});

describe('Prepaid contract: Settle, late data and month ends', () => {
  it('when a reading arrives after its period was settled then the next settlement debits it (nothing is lost)', async () => {
    const { world, household } = await setup();
    await topUp(world, household.subscriptionId, 1000, 'PAY-LATE');
    await submitReadings(world, household, [800, 800]);
    // Period 2's reading is still in the meter's outbox when the operator settles up to period(3).
    await settle(world, household, period(3));
    expect(await balanceOf(world, household.subscriptionId)).toBe(960);
    await submitReadings(world, household, [800, 800], 2);
    await settle(world, household, period(4));
    // 4 readings of 20 p: 80 in all, the late one included.
    expect(await balanceOf(world, household.subscriptionId)).toBe(920);
    expect((await settlementsOf(world, household.subscriptionId)).map((e) => e.amountMinor)).toEqual([
      40, 40,
    ]);
    expect(await totalSupply(world)).toMatchObject({ exhaustedMinor: 80, reconciled: true });
  });

  it('when a settlement would cross the 1st of a month then it is refused and nothing changes', async () => {
    const { world, household } = await setup();
    await topUp(world, household.subscriptionId, 1000, 'PAY-MONTH');
    const before = world.ledger.dump();
    await expect(
      world.run(
        id.d1Operator,
        (ctx) => prepaid.Settle(ctx, household.subscriptionId, '2026-02-01T01:00:00Z'),
        {
          time: new Date('2026-02-02T00:00:00Z'),
          transient: { sessionKey: household.sessionKey },
        },
      ),
    ).rejects.toThrow(
      /^INVALID_ARGUMENT: a settlement ends at the latest at the 1st of the next month \(2026-02-01T00:00:00Z\)/,
    );
    expect(world.ledger.dump()).toEqual(before);
  });
});

describe('Prepaid contract: Settle', () => {
  it('when the operator settles then the wallet is debited exactly what the readings cost (800 Wh = 20 p)', async () => {
    const { world, household } = await setup();
    await submitReadings(world, household, [800, 800, 800]);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    const wallet = parse<WalletRecord>(await settle(world, household, period(2)));
    expect(wallet).toMatchObject({ balanceMinor: 960, settledUntil: period(2) });
    expect(lastEvent(world)).toEqual({
      name: 'Transfer',
      payload: { from: household.subscriptionId, to: '', value: 40 },
    });
    await settle(world, household, period(3));
    expect(await balanceOf(world, household.subscriptionId)).toBe(940);
    const settlements = await settlementsOf(world, household.subscriptionId);
    expect(settlements).toMatchObject([
      { periodFrom: period(0), periodTo: period(2), amountMinor: 40, readingCount: 2 },
      // Self-correcting within the month: the second settlement prices [period(0), period(3)) again (3
      // readings) and debits that minus the first settlement's 40.
      { periodFrom: period(2), periodTo: period(3), amountMinor: 20, readingCount: 3 },
    ]);
    const exhaustion = (await historyOf(world, household.subscriptionId)).filter(
      (e) => e.kind === 'exhaustion',
    );
    expect(exhaustion.map((e) => [e.amountMinor, e.balanceAfterMinor, e.periodFrom, e.periodTo])).toEqual([
      [-40, 960, period(0), period(2)],
      [-20, 940, period(2), period(3)],
    ]);
    expect(await totalSupply(world)).toMatchObject({
      toppedUpMinor: 1000,
      exhaustedMinor: 60,
      outstandingMinor: 940,
      balancesMinor: 940,
      reconciled: true,
    });
    expect(JSON.stringify(world.ledger.dump())).not.toContain(household.sessionKey.toString('hex'));
    expect(JSON.stringify(world.ledger.dump())).not.toContain(household.sessionKey.toString('base64'));
  });

  it.each<[string, (world: World, h: Household) => Promise<unknown>, RegExp]>([
    [
      'the range is the one already settled',
      (w, h) => settle(w, h, period(2)),
      /^CONFLICT: .* is settled or billed until/,
    ],
    [
      'the range ends before what is settled',
      (w, h) => settle(w, h, period(1)),
      /^CONFLICT: .* is settled or billed until/,
    ],
    [
      'periodTo is in the future',
      (w, h) => settle(w, h, '2026-01-16T00:00:00Z'),
      /^INVALID_ARGUMENT: to: must not be in the future/,
    ],
    [
      'periodTo is not a period boundary',
      (w, h) => settle(w, h, '2026-01-14T01:10:00Z'),
      /^INVALID_ARGUMENT: periodTo must be a period boundary/,
    ],
    ['periodTo is not a time', (w, h) => settle(w, h, 'yesterday'), /^INVALID_ARGUMENT: periodTo/],
    [
      'the session key is another one',
      (w, h) => settle(w, h, period(3), newSessionKey()),
      /^FORBIDDEN: the session key given is not the key of/,
    ],
    [
      'the session key is missing',
      (w, h) => settle(w, h, period(3), null),
      /^INVALID_ARGUMENT: the 32-byte session key must come as transient field "sessionKey"/,
    ],
    [
      'the household settles',
      (w, h) => settle(w, h, period(3), h.sessionKey, h.subscriber),
      /^FORBIDDEN: Settle needs an operator of Distributor1MSP/,
    ],
    [
      'an auditor settles',
      (w, h) => settle(w, h, period(3), h.sessionKey, id.auditor),
      /^FORBIDDEN: Settle needs an operator/,
    ],
    [
      'another distributor settles',
      (w, h) => settle(w, h, period(3), h.sessionKey, id.d2Operator),
      /^FORBIDDEN: Settle needs an operator/,
    ],
  ])('when %s then the settlement is refused and nothing changes', async (_label, attempt, pattern) => {
    const { world, household } = await setup();
    await submitReadings(world, household, [800, 800, 800, 800]);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    await settle(world, household, period(2));
    await expectRefused(world, () => attempt(world, household), pattern);
    expect(await balanceOf(world, household.subscriptionId)).toBe(960);
  });

  it('when adjacent ranges are settled then they add up to the bill of the whole range, which is then due 0', async () => {
    const { world, household } = await setup();
    // Running totals (0.025 p/Wh): 813 → 20.325, 840 → 21, 2074 → 51.85, 3073 → 76.825, 3718 → 92.95 p.
    await submitReadings(world, household, [813, 27, 1234, 999, 5, 640]);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    const costs: number[] = [];
    for (const to of [period(2), period(3), period(6)]) {
      const before = await balanceOf(world, household.subscriptionId);
      await settle(world, household, to);
      costs.push(before - (await balanceOf(world, household.subscriptionId)));
    }
    expect(costs).toEqual([21, 31, 41]);
    expect((await settlementsOf(world, household.subscriptionId)).map((s) => s.amountMinor)).toEqual(costs);

    const bill = parse<BillRecord>(await issueBill(world, household, period(0), period(6)));
    expect(bill.totalMinor).toBe(93);
    expect(bill.prepaid).toEqual({ settlements: 3, settledMinor: 93, dueMinor: 0 });
    await expect(pay(world, bill, 93)).rejects.toThrow(
      /^INVALID_ARGUMENT: the payment must settle what is due: 0 GBP minor units \(total 93, 93 already paid/,
    );
    expect(parse<BillRecord>(await pay(world, bill, 0))).toMatchObject({
      status: 'PAID',
      payment: { amountMinor: 0, reference: 'PAY-BILL' },
    });
    expect(await totalSupply(world)).toMatchObject({
      exhaustedMinor: 93,
      balancesMinor: 907,
      reconciled: true,
    });
  });

  it('when part of a bill was settled then the rest is due, and a bill without a wallet has no prepaid part', async () => {
    const { world, household } = await setup();
    await submitReadings(world, household, [813, 27, 1234, 999, 5, 640]);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    await settle(world, household, period(3));
    const bill = parse<BillRecord>(await issueBill(world, household, period(0), period(6)));
    expect(bill.prepaid).toEqual({ settlements: 1, settledMinor: 52, dueMinor: 41 });
    await expect(pay(world, bill, 93)).rejects.toThrow(
      /^INVALID_ARGUMENT: the payment must settle what is due: 41/,
    );
    await expect(pay(world, bill, 41)).resolves.toContain('"status":"PAID"');

    const postpaid = await world.active(SECOND);
    await submitReadings(world, postpaid, [800]);
    const plain = parse<BillRecord>(await issueBill(world, postpaid, period(0), period(1)));
    expect(plain.totalMinor).toBe(20);
    expect(plain).not.toHaveProperty('prepaid');
  });

  it('when a bill covers only part of a settlement then what is due never charges the settled readings again', async () => {
    const { world, household } = await setup();
    await submitReadings(world, household, [800, 800, 800, 800]);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    await settle(world, household, period(4));
    expect(await balanceOf(world, household.subscriptionId)).toBe(920);
    // The wallet paid all four readings (80 p); bills over its two halves have nothing left to collect.
    const dues: number[] = [];
    for (const [from, to] of [
      [period(0), period(2)],
      [period(2), period(4)],
    ]) {
      const issued: BillRecord | Error = await issueBill(world, household, from, to).then(
        (json) => parse<BillRecord>(json),
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      if (issued instanceof Error) expect(issued.message).toMatch(/^CONFLICT: /);
      else dues.push(issued.prepaid?.dueMinor ?? issued.totalMinor);
    }
    expect(dues.reduce((sum, due) => sum + due, 0)).toBe(0);
  });

  it('when a wallet is opened after a paid bill then no reading is paid twice', async () => {
    const world = await withTariff();
    const household = await world.active();
    await submitReadings(world, household, [800, 800, 800, 800]);
    const first = parse<BillRecord>(await issueBill(world, household, period(0), period(2)));
    await pay(world, first, first.totalMinor);
    expect(first.totalMinor).toBe(40);

    await openWallet(world, household.subscriptionId);
    await topUp(world, household.subscriptionId, 1000, 'PAY-1');
    await settle(world, household, period(4)).catch((err: unknown) => {
      expect(String(err)).toMatch(/CONFLICT|INVALID_ARGUMENT/);
    });
    const debited = 1000 - (await balanceOf(world, household.subscriptionId));
    const second = parse<BillRecord>(await issueBill(world, household, period(2), period(4)));
    const due = second.prepaid?.dueMinor ?? second.totalMinor;
    // Four readings of 20 p: 80 p in all, whether by bill, by settlement or both.
    expect({
      billPaid: first.totalMinor,
      debited,
      due,
      total: first.totalMinor + debited + due,
    }).toMatchObject({
      total: 80,
    });
  });
});

describe('Prepaid contract: supply states', () => {
  const supplyEntries = (entries: WalletEntryRecord[]) =>
    entries.filter((e) => e.kind === 'supply').map((e) => [e.supply, e.supplyReason]);

  it('when the balance crosses the thresholds then the supply follows, each change a supply entry with its reason', async () => {
    const { world, household } = await setup('40');
    await submitReadings(world, household, [800, 800, 800, 800, 800, 800, 800]);
    await setPolicy(world, household, stepPolicy);
    const start = (await historyOf(world, household.subscriptionId)).length;
    const states: [SupplyState, SupplyReason, number][] = [];
    const record = (json: string) => {
      const wallet = parse<WalletRecord>(json);
      states.push([wallet.supply, wallet.supplyReason, wallet.balanceMinor]);
    };
    record(await topUp(world, household.subscriptionId, 100, 'PAY-1'));
    record(await settle(world, household, period(1)));
    record(await settle(world, household, period(3)));
    const credit = parse<WalletRecord>(await takeCredit(world, household));
    expect(credit.emergencyCreditTakenAt).toBeDefined();
    record(JSON.stringify(credit));
    record(await settle(world, household, period(4)));
    record(await settle(world, household, period(7)));
    const repaid = parse<WalletRecord>(await topUp(world, household.subscriptionId, 200, 'PAY-2'));
    record(JSON.stringify(repaid));
    expect(states).toEqual([
      ['on', 'balance-ok', 100],
      ['on', 'low-balance-warning', 80],
      ['power-saving', 'power-saving-threshold', 40],
      ['power-saving', 'power-saving-threshold', 40],
      ['power-saving', 'emergency-credit', 20],
      ['off', 'switch-off-threshold', -40],
      ['on', 'balance-ok', 160],
    ]);
    expect(repaid).not.toHaveProperty('emergencyCreditTakenAt');

    const entries = (await historyOf(world, household.subscriptionId)).slice(start);
    expect(supplyEntries(entries)).toEqual([
      ['on', 'balance-ok'],
      ['on', 'low-balance-warning'],
      ['power-saving', 'power-saving-threshold'],
      ['power-saving', 'emergency-credit'],
      ['off', 'switch-off-threshold'],
      ['on', 'balance-ok'],
    ]);
    expect(entries.filter((e) => e.kind === 'emergency-credit')).toHaveLength(1);
    // Repaid: a refusal now is about the balance, not about credit already taken.
    await expect(takeCredit(world, household)).rejects.toThrow(/^CONFLICT: no emergency credit .*not below/);
    expect((await totalSupply(world)).reconciled).toBe(true);
  });

  it('when the night covers the transaction then a balance below switch-off is friendly; after it the supply goes off', async () => {
    const { world, household } = await setup();
    const night: MeterPolicy = {
      ...stepPolicy,
      friendlyHours: {
        utcOffsetMinutes: 0,
        night: { startMinute: 10 * 60, endMinute: 12 * 60 },
        days: [],
        holidays: [],
      },
    };
    const inTheNight = { time: new Date('2026-01-15T11:00:00Z') };
    const wallet = parse<WalletRecord>(
      await setPolicy(world, household, night, household.subscriber, inTheNight),
    );
    expect(wallet).toMatchObject({
      balanceMinor: 0,
      supply: 'power-saving',
      supplyReason: 'friendly-hours',
      supplyChangedAt: '2026-01-15T11:00:00Z',
    });
    const later = parse<WalletRecord>(
      await world.run(household.meter, (ctx) => prepaid.RefreshSupply(ctx, household.subscriptionId), {
        time: new Date('2026-01-15T12:30:00Z'),
      }),
    );
    expect(later).toMatchObject({
      supply: 'off',
      supplyReason: 'switch-off-threshold',
      supplyChangedAt: '2026-01-15T12:30:00Z',
      balanceMinor: 0,
    });
    expect(lastEvent(world)).toEqual({
      name: 'WalletChanged',
      payload: {
        subscriptionId: household.subscriptionId,
        kind: 'supply',
        supply: 'off',
        reason: 'switch-off-threshold',
      },
    });
    const entries = await historyOf(world, household.subscriptionId);
    expect(entries.at(-1)).toMatchObject({
      kind: 'supply',
      supply: 'off',
      supplyReason: 'switch-off-threshold',
      at: '2026-01-15T12:30:00Z',
    });
    expect(entries.some((e) => e.supplyReason === 'friendly-hours' && e.at === '2026-01-15T11:00:00Z')).toBe(
      true,
    );
    await expectRefused(
      world,
      () => world.run(stranger, (ctx) => prepaid.RefreshSupply(ctx, household.subscriptionId)),
      /^FORBIDDEN: /,
    );
  });
});

describe('Prepaid contract: TakeEmergencyCredit', () => {
  it.each([
    ['the operator', () => id.d1Operator],
    ['its meter', (h: Household) => h.meter],
    ['an auditor', () => id.auditor],
    ['another household', () => stranger],
    ['a clone of the household', () => clone],
  ])('when %s takes the emergency credit then it is FORBIDDEN', async (_label, who) => {
    const { world, household } = await setup();
    await expectRefused(
      world,
      () => takeCredit(world, household, who(household)),
      /^FORBIDDEN: only the household of sub_[0-9a-f]{24} may TakeEmergencyCredit/,
    );
  });

  it('when the balance is at the warning threshold then it is refused; below it, once', async () => {
    const { world, household } = await setup();
    await topUp(world, household.subscriptionId, DEFAULT_METER_POLICY.warningBelowMinor, 'PAY-1');
    await expectRefused(
      world,
      () => takeCredit(world, household),
      /^CONFLICT: no emergency credit for sub_[0-9a-f]{24}: emergency credit is for a low balance/,
    );

    const low = await setup();
    const taken = parse<WalletRecord>(await takeCredit(low.world, low.household));
    expect(taken.emergencyCreditTakenAt).toMatch(/^2026-01-15T/);
    expect(lastEvent(low.world)).toMatchObject({
      name: 'WalletChanged',
      payload: { kind: 'emergency-credit' },
    });
    await expectRefused(
      low.world,
      () => takeCredit(low.world, low.household),
      /^CONFLICT: no emergency credit for .*: emergency credit was already taken at/,
    );
  });
});

describe('Prepaid contract: SetMeterPolicy', () => {
  it('when the household sets a valid policy then it is stored, with a policy entry', async () => {
    const { world, household } = await setup();
    const wallet = parse<WalletRecord>(await setPolicy(world, household, stepPolicy));
    expect(wallet.policy).toEqual(stepPolicy);
    expect((await walletOf(world, household.subscriptionId)).policy).toEqual(stepPolicy);
    expect((await historyOf(world, household.subscriptionId)).some((e) => e.kind === 'policy')).toBe(true);
  });

  it.each([
    ['the operator', () => id.d1Operator],
    ['its meter', (h: Household) => h.meter],
    ['an auditor', () => id.auditor],
    ['another household', () => stranger],
    ['a clone of the household', () => clone],
  ])('when %s sets the policy then it is FORBIDDEN and nothing is stored', async (_label, who) => {
    const { world, household } = await setup();
    await expectRefused(
      world,
      () => setPolicy(world, household, stepPolicy, who(household)),
      /^FORBIDDEN: only the household of .* may SetMeterPolicy/,
    );
  });

  it.each<[string, unknown, RegExp]>([
    [
      'inverted thresholds',
      { ...stepPolicy, powerSavingBelowMinor: 101 },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*powerSavingBelowMinor: must not be above warningBelowMinor/,
    ],
    [
      'a threshold too low',
      { ...stepPolicy, switchOffBelowMinor: -10_001 },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*switchOffBelowMinor: must be a whole number/,
    ],
    [
      'a fractional load limit',
      { ...stepPolicy, powerSavingLimitW: 1.5 },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*powerSavingLimitW/,
    ],
    [
      'an unknown field',
      { ...stepPolicy, colour: 'red' },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*colour: unknown field/,
    ],
    [
      'a night starting at 24:00',
      {
        ...stepPolicy,
        friendlyHours: { ...stepPolicy.friendlyHours, night: { startMinute: 1440, endMinute: 60 } },
      },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*friendlyHours\.night\.startMinute/,
    ],
    [
      'a holiday that does not exist',
      { ...stepPolicy, friendlyHours: { ...stepPolicy.friendlyHours, holidays: ['2026-02-30'] } },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*friendlyHours\.holidays\[0\]/,
    ],
    [
      'an offset that is not a quarter hour',
      { ...stepPolicy, friendlyHours: { ...stepPolicy.friendlyHours, utcOffsetMinutes: 7 } },
      /^INVALID_ARGUMENT: the meter policy is invalid: .*friendlyHours\.utcOffsetMinutes/,
    ],
    ['text that is not JSON', 'not json', /^INVALID_ARGUMENT: policy/],
    ['a JSON array', '[]', /^INVALID_ARGUMENT: policy/],
  ])(
    'when the policy has %s then it is INVALID_ARGUMENT naming the field, and nothing is stored',
    async (_l, policy, pattern) => {
      const { world, household } = await setup();
      await expectRefused(world, () => setPolicy(world, household, policy), pattern);
      expect((await walletOf(world, household.subscriptionId)).policy).toEqual(DEFAULT_METER_POLICY);
    },
  );
});

describe('Prepaid contract: Transfer', () => {
  async function neighbours() {
    const world = await withTariff();
    const a = await prepaidHousehold(world);
    const b = await prepaidHousehold(world, SECOND);
    await topUp(world, a.subscriptionId, 1000, 'PAY-A');
    return { world, a, b };
  }

  it('when a household transfers to a neighbour then both balances are exact and the supply reconciles', async () => {
    const { world, a, b } = await neighbours();
    const received = parse<WalletRecord>(
      await transfer(world, a.subscriptionId, b.subscriptionId, 300, a.subscriber),
    );
    // The sender gets its own wallet back, never the recipient's.
    expect(received).toMatchObject({ subscriptionId: a.subscriptionId, balanceMinor: 700 });
    expect(await balanceOf(world, a.subscriptionId)).toBe(700);
    expect(await balanceOf(world, b.subscriptionId)).toBe(300);
    expect(lastEvent(world)).toEqual({
      name: 'Transfer',
      payload: { from: a.subscriptionId, to: b.subscriptionId, value: 300 },
    });
    const out = (await historyOf(world, a.subscriptionId)).find((e) => e.kind === 'transfer-out');
    const into = (await historyOf(world, b.subscriptionId)).find((e) => e.kind === 'transfer-in');
    expect(out).toMatchObject({ amountMinor: -300, balanceAfterMinor: 700, reference: b.subscriptionId });
    expect(into).toMatchObject({ amountMinor: 300, balanceAfterMinor: 300, reference: a.subscriptionId });
    await transfer(world, a.subscriptionId, b.subscriptionId, 700, a.subscriber);
    expect(await balanceOf(world, a.subscriptionId)).toBe(0);
    expect(await totalSupply(world)).toMatchObject({
      wallets: 2,
      toppedUpMinor: 1000,
      balancesMinor: 1000,
      reconciled: true,
    });
  });

  it('when the largest transfer is made then it moves; one minor unit more is INVALID_ARGUMENT', async () => {
    const { world, a, b } = await neighbours();
    const { maxTransferMinor } = PrepaidLimits;
    await topUp(world, a.subscriptionId, maxTransferMinor, 'PAY-A2');
    await transfer(world, a.subscriptionId, b.subscriptionId, maxTransferMinor, a.subscriber);
    expect(await balanceOf(world, a.subscriptionId)).toBe(1000);
    expect(await balanceOf(world, b.subscriptionId)).toBe(maxTransferMinor);
    await expectRefused(
      world,
      () => transfer(world, b.subscriptionId, a.subscriptionId, maxTransferMinor + 1, b.subscriber),
      /^INVALID_ARGUMENT: amountMinor: must be a whole number of minor units from 1 to 50000/,
    );
  });

  it.each<[string, (s: Awaited<ReturnType<typeof neighbours>>) => Promise<unknown>, RegExp]>([
    [
      'to itself',
      ({ world, a }) => transfer(world, a.subscriptionId, a.subscriptionId, 1, a.subscriber),
      /^INVALID_ARGUMENT: a wallet cannot transfer to itself/,
    ],
    [
      'above the balance',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 1001, a.subscriber),
      /^CONFLICT: the balance of sub_[0-9a-f]{24} is 1000/,
    ],
    [
      'from an empty wallet',
      ({ world, a, b }) => transfer(world, b.subscriptionId, a.subscriptionId, 1, b.subscriber),
      /^CONFLICT: the balance of .* is 0/,
    ],
    [
      'to an unknown subscription',
      ({ world, a }) => transfer(world, a.subscriptionId, UNKNOWN_SUBSCRIPTION, 1, a.subscriber),
      /^NOT_FOUND: cannot transfer to sub_0{24}: no wallet on northgrid can take this transfer/,
    ],
    [
      'to a malformed id',
      ({ world, a }) => transfer(world, a.subscriptionId, 'sub_nope', 1, a.subscriber),
      /^INVALID_ARGUMENT: subscriptionId/,
    ],
    [
      'from an unknown subscription',
      ({ world, a }) => transfer(world, UNKNOWN_SUBSCRIPTION, a.subscriptionId, 1, a.subscriber),
      /^NOT_FOUND: /,
    ],
    [
      'by another household',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 1, b.subscriber),
      /^FORBIDDEN: only the household of .* may Transfer/,
    ],
    [
      'by the operator',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 1, id.d1Operator),
      /^FORBIDDEN: only the household/,
    ],
    [
      'by a clone of the household',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 1, clone),
      /^FORBIDDEN: only the household/,
    ],
    [
      'by its meter',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 1, a.meter),
      /^FORBIDDEN: only the household/,
    ],
    [
      'of 0',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 0, a.subscriber),
      /^INVALID_ARGUMENT: amountMinor/,
    ],
    [
      'of -1',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, -1, a.subscriber),
      /^INVALID_ARGUMENT: amountMinor/,
    ],
    [
      'of 1.5',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, '1.5', a.subscriber),
      /^INVALID_ARGUMENT: amountMinor/,
    ],
    [
      'of "ten"',
      ({ world, a, b }) => transfer(world, a.subscriptionId, b.subscriptionId, 'ten', a.subscriber),
      /^INVALID_ARGUMENT: amountMinor/,
    ],
  ])('when a transfer is %s then it is refused and nothing changes', async (_label, attempt, pattern) => {
    const s = await neighbours();
    await expectRefused(s.world, () => attempt(s), pattern);
    expect(await balanceOf(s.world, s.a.subscriptionId)).toBe(1000);
    expect(await balanceOf(s.world, s.b.subscriptionId)).toBe(0);
  });

  it('when the recipient subscription has no wallet then it is NOT_FOUND', async () => {
    const { world, a } = await neighbours();
    const postpaid = await world.active(THIRD);
    await expectRefused(
      world,
      () => transfer(world, a.subscriptionId, postpaid.subscriptionId, 1, a.subscriber),
      /^NOT_FOUND: cannot transfer to sub_[0-9a-f]{24}: no wallet on northgrid can take this transfer/,
    );
  });
});

describe('Prepaid contract: who may read a wallet', () => {
  const reads: [string, (ctx: Context, subscriptionId: string) => Promise<string>][] = [
    ['GetWallet', (ctx, s) => prepaid.GetWallet(ctx, s)],
    ['GetWalletHistory', (ctx, s) => prepaid.GetWalletHistory(ctx, s)],
    ['BalanceOf', (ctx, s) => prepaid.BalanceOf(ctx, s)],
    ['ListSettlements', (ctx, s) => prepaid.ListSettlements(ctx, s)],
  ];

  it.each(reads)(
    'when %s is called then the household, its meter, the operator and auditors may',
    async (_n, call) => {
      const world = await withTariff();
      const household = await prepaidHousehold(world);
      await prepaidHousehold(world, SECOND);
      for (const who of [household.subscriber, household.meter, id.d1Operator, id.auditor])
        await expect(world.run(who, (ctx) => call(ctx, household.subscriptionId))).resolves.toEqual(
          expect.any(String),
        );
    },
  );

  it.each(reads)('when %s is called by anyone else then it is FORBIDDEN', async (_n, call) => {
    const world = await withTariff();
    const household = await prepaidHousehold(world);
    const neighbour = await prepaidHousehold(world, SECOND);
    for (const who of [neighbour.subscriber, neighbour.meter, stranger, clone, id.d2Operator, id.noRole])
      await expect(world.run(who, (ctx) => call(ctx, household.subscriptionId))).rejects.toThrow(
        /^FORBIDDEN: /,
      );
  });

  it('when TotalSupply is read then the operator and auditors may, households may not', async () => {
    const { world, household } = await setup();
    expect(await totalSupply(world, id.d1Operator)).toMatchObject({
      distributorMspId: D1,
      wallets: 1,
      toppedUpMinor: 0,
      reconciled: true,
    });
    for (const who of [household.subscriber, household.meter, id.d2Operator])
      await expect(totalSupply(world, who)).rejects.toThrow(/^FORBIDDEN: TotalSupply needs an operator of/);
  });
});

describe('Prepaid contract: TotalSupply after any sequence', () => {
  const READINGS = 24;
  type Side = 0 | 1;
  type Step =
    | { kind: 'topUp'; side: Side; reference: string; amount: number }
    | { kind: 'settle'; side: Side; periods: number }
    | { kind: 'transfer'; side: Side; amount: number; byOwner: boolean }
    | { kind: 'emergency'; side: Side };

  const side = fc.constantFrom<Side>(0, 1);
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('topUp' as const),
      side,
      reference: fc.constantFrom('PAY-1', 'PAY-2', 'PAY-3', 'PAY-4'),
      amount: fc.constantFrom(150, 2000),
    }),
    fc.record({ kind: fc.constant('settle' as const), side, periods: fc.integer({ min: 0, max: 12 }) }),
    fc.record({
      kind: fc.constant('transfer' as const),
      side,
      amount: fc.integer({ min: 1, max: 400 }),
      byOwner: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('emergency' as const), side }),
  );
  // Multiples of 40 Wh: each reading costs a whole number of pence, so the model needs no rounding.
  const energies = fc.array(
    fc.integer({ min: 0, max: 10 }).map((n) => n * 40),
    { minLength: READINGS, maxLength: READINGS },
  );

  interface Model {
    balance: [number, number];
    taken: [boolean, boolean];
    settled: [number, number];
    references: Map<string, { side: Side; amount: number }>;
    toppedUp: number;
    exhausted: number;
  }

  const credit = (model: Model, to: Side, amount: number) => {
    model.balance[to] += amount;
    if (model.balance[to] >= 0) model.taken[to] = false;
  };

  /** What the step must do in the model: undefined when accepted (the model is updated), else the refusal. */
  function expectation(
    model: Model,
    s: Step,
    energiesWh: [number[], number[]],
    nowMs: number,
  ): RegExp | undefined {
    const other: Side = s.side === 0 ? 1 : 0;
    switch (s.kind) {
      case 'topUp': {
        const earlier = model.references.get(s.reference);
        if (earlier)
          return earlier.side === s.side && earlier.amount === s.amount
            ? undefined
            : /^CONFLICT: top-up reference/;
        model.references.set(s.reference, { side: s.side, amount: s.amount });
        model.toppedUp += s.amount;
        credit(model, s.side, s.amount);
        return undefined;
      }
      case 'settle': {
        const from = model.settled[s.side];
        const to = from + s.periods;
        if (s.periods === 0) return /^CONFLICT: .* is settled or billed until/;
        if (Date.parse(period(to)) > nowMs) return /^INVALID_ARGUMENT: to: must not be in the future/;
        const cost = energiesWh[s.side].slice(from, to).reduce((sum, wh) => sum + wh / 40, 0);
        model.balance[s.side] -= cost;
        model.exhausted += cost;
        model.settled[s.side] = to;
        return undefined;
      }
      case 'transfer':
        if (!s.byOwner) return /^FORBIDDEN: only the household/;
        if (model.balance[s.side] - s.amount < 0) return /^CONFLICT: the balance of/;
        model.balance[s.side] -= s.amount;
        credit(model, other, s.amount);
        return undefined;
      case 'emergency':
        if (model.taken[s.side]) return /^CONFLICT: no emergency credit .* already taken/;
        if (model.balance[s.side] >= DEFAULT_METER_POLICY.warningBelowMinor)
          return /^CONFLICT: no emergency credit .* for a low balance/;
        model.taken[s.side] = true;
        return undefined;
    }
  }

  function attempt(
    world: World,
    households: [Household, Household],
    s: Step,
    nextPeriod: number,
  ): Promise<string> {
    const mine = households[s.side];
    const theirs = households[s.side === 0 ? 1 : 0];
    switch (s.kind) {
      case 'topUp':
        return topUp(world, mine.subscriptionId, s.amount, s.reference);
      case 'settle':
        return settle(world, mine, period(nextPeriod));
      case 'transfer':
        return transfer(
          world,
          mine.subscriptionId,
          theirs.subscriptionId,
          s.amount,
          s.byOwner ? mine.subscriber : theirs.subscriber,
        );
      case 'emergency':
        return takeCredit(world, mine);
    }
  }

  it('when random top-ups, settlements, transfers and emergency credit run then the supply reconciles exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        energies,
        energies,
        fc.array(step, { minLength: 1, maxLength: 25, size: 'max' }),
        async (ea, eb, steps) => {
          const world = await withTariff();
          const households: [Household, Household] = [
            await prepaidHousehold(world, {}, '300'),
            await prepaidHousehold(world, SECOND, '300'),
          ];
          await submitReadings(world, households[0], ea);
          await submitReadings(world, households[1], eb);
          const model: Model = {
            balance: [0, 0],
            taken: [false, false],
            settled: [0, 0],
            references: new Map(),
            toppedUp: 0,
            exhausted: 0,
          };
          for (const s of steps) {
            const nextPeriod = model.settled[s.side] + (s.kind === 'settle' ? s.periods : 0);
            const toppedUpBefore = model.toppedUp;
            const refusal = expectation(model, s, [ea, eb], world.ledger.clock.getTime());
            const before = world.ledger.dump();
            if (refusal) {
              await expect(attempt(world, households, s, nextPeriod)).rejects.toThrow(refusal);
              expect(world.ledger.dump()).toEqual(before);
              continue;
            }
            await attempt(world, households, s, nextPeriod);
            // A repeated top-up changes nothing at all.
            if (s.kind === 'topUp' && model.toppedUp === toppedUpBefore)
              expect(world.ledger.dump()).toEqual(before);
          }
          const supply = await totalSupply(world);
          expect(supply).toMatchObject({
            wallets: 2,
            toppedUpMinor: model.toppedUp,
            exhaustedMinor: model.exhausted,
            outstandingMinor: model.toppedUp - model.exhausted,
            balancesMinor: model.balance[0] + model.balance[1],
            reconciled: true,
          });
          for (const n of [0, 1] as const) {
            const wallet = await walletOf(world, households[n].subscriptionId);
            expect(wallet.balanceMinor).toBe(model.balance[n]);
            expect(wallet.settledUntil).toBe(period(model.settled[n]));
            expect(wallet.emergencyCreditTakenAt !== undefined).toBe(model.taken[n]);
            const history = await historyOf(world, households[n].subscriptionId);
            expect(history.map((e) => e.sequence)).toEqual(history.map((_e, i) => i + 1));
            expect(history).toHaveLength(wallet.entries);
            expect(history.at(-1)?.balanceAfterMinor).toBe(model.balance[n]);
          }
          const settled = [
            ...(await settlementsOf(world, households[0].subscriptionId)),
            ...(await settlementsOf(world, households[1].subscriptionId)),
          ];
          expect(settled.reduce((sum, s) => sum + s.amountMinor, 0)).toBe(model.exhausted);
        },
      ),
      { numRuns: 20 },
    );
  });
});
