import type { BillRecord, SettlementRecord, WalletRecord } from '@smartmeter/domain';
import { PrepaidContract } from '../src/contracts/PrepaidContract';
import { canonicalJson } from '../src/ledger/marshal';
import { World, contracts, id, parse } from './support/fixtures';
import type { FakeIdentity, TxOptions } from './support/memoryContext';
import { at, claimOf, computed, record, scenario, type Scenario } from './support/aggregateScenario';

/**
 * Prepaid wallets of `aggregate` subscriptions (issue 18 on issue 17's mode): the distributor settles from the
 * household's shares off-chain and claims the cost with Prepaid:SettleAggregate, which takes no transient data and
 * checks what it can without the session key. Rounds 0-5 of the scenario are COMPLETE, 6 is open, 7 FAULT.
 */
const prepaid = new PrepaidContract();
const TOP_UP = 5_000;

async function prepaidScenario(): Promise<Scenario> {
  const s = await scenario();
  await s.world.run(id.d1Operator, (ctx) => prepaid.OpenWallet(ctx, s.household.subscriptionId, '500'));
  await s.world.run(id.d1Operator, (ctx) =>
    prepaid.TopUp(ctx, s.household.subscriptionId, String(TOP_UP), 'PAY-AGG-1'),
  );
  return s;
}

/** The claim the distributor computes (client/src/prepaidSettlement.ts): the cost of [costFrom, to). */
async function settlementClaim(s: Scenario, costFrom: string, to: string) {
  const { bill } = await computed(s, costFrom, to);
  return { bill, claim: { costFrom, computation: bill.ledger } };
}

const settleAggregate = (
  s: Scenario,
  to: string,
  claim: unknown,
  who: FakeIdentity = id.d1Operator,
  options?: TxOptions,
) =>
  s.world.run(
    who,
    (ctx) =>
      prepaid.SettleAggregate(
        ctx,
        s.household.subscriptionId,
        to,
        typeof claim === 'string' ? claim : JSON.stringify(claim),
      ),
    options,
  );

const walletOf = async (s: Scenario) =>
  parse<WalletRecord>(
    await s.world.run(id.d1Operator, (ctx) => prepaid.GetWallet(ctx, s.household.subscriptionId)),
  );

const settlementsOf = async (s: Scenario) =>
  parse<SettlementRecord[]>(
    await s.world.run(id.d1Operator, (ctx) => prepaid.ListSettlements(ctx, s.household.subscriptionId)),
  );

describe('Prepaid:SettleAggregate', () => {
  it('when the operator claims the cost from the shares then the wallet is debited by it and the supply reconciles', async () => {
    const s = await prepaidScenario();
    const { bill, claim } = await settlementClaim(s, at(0), at(4));
    expect(bill.ledger.totalMinor).toBeGreaterThan(0);
    const wallet = parse<WalletRecord>(await settleAggregate(s, at(4), claim));
    expect(wallet.balanceMinor).toBe(TOP_UP - bill.ledger.totalMinor);
    expect(wallet.settledUntil).toBe(at(4));
    expect(await settlementsOf(s)).toEqual([
      {
        docType: 'settlement',
        subscriptionId: s.household.subscriptionId,
        periodFrom: at(0),
        periodTo: at(4),
        amountMinor: bill.ledger.totalMinor,
        readingCount: bill.ledger.readingCount,
        readingsDigest: bill.ledger.readingsDigest,
        costFrom: at(0),
        costMinor: bill.ledger.totalMinor,
        source: 'shares',
        at: expect.any(String) as string,
        txId: expect.any(String) as string,
      },
    ]);
    const supply = parse<{ toppedUpMinor: number; exhaustedMinor: number; reconciled: boolean }>(
      await s.world.run(id.auditor, (ctx) => prepaid.TotalSupply(ctx, 'Distributor1MSP')),
    );
    expect(supply).toMatchObject({
      toppedUpMinor: TOP_UP,
      exhaustedMinor: bill.ledger.totalMinor,
      reconciled: true,
    });
    // The ledger holds the redacted cost only: no per-period line of the household's consumption.
    expect(JSON.stringify(s.world.ledger.dump())).not.toContain('"label":"signal"');
  });

  it('when the claim comes with its keys sorted (another serializer) then it is the same claim and accepted', async () => {
    const s = await prepaidScenario();
    const { bill, claim } = await settlementClaim(s, at(0), at(4));
    const wallet = parse<WalletRecord>(await settleAggregate(s, at(4), canonicalJson(claim)));
    expect(wallet.balanceMinor).toBe(TOP_UP - bill.ledger.totalMinor);
  });

  it('when a second settlement follows then its cost starts at the month’s first settled period and the two add up to the whole', async () => {
    const s = await prepaidScenario();
    const first = await settlementClaim(s, at(0), at(3));
    await settleAggregate(s, at(3), first.claim);
    const second = await settlementClaim(s, at(0), at(6));
    const wallet = parse<WalletRecord>(await settleAggregate(s, at(6), second.claim));
    const settlements = await settlementsOf(s);
    expect(settlements.map((x) => [x.periodFrom, x.periodTo, x.costFrom, x.amountMinor])).toEqual([
      [at(0), at(3), at(0), first.bill.ledger.totalMinor],
      [at(3), at(6), at(0), second.bill.ledger.totalMinor - first.bill.ledger.totalMinor],
    ]);
    expect(settlements.reduce((sum, x) => sum + x.amountMinor, 0)).toBe(second.bill.ledger.totalMinor);
    expect(wallet.balanceMinor).toBe(TOP_UP - second.bill.ledger.totalMinor);
  });

  it('when the month is billed after its settlements then the aggregate bill shows what they paid and nothing due', async () => {
    const s = await prepaidScenario();
    const { claim } = await settlementClaim(s, at(0), at(4));
    await settleAggregate(s, at(4), claim);
    const { bill } = await computed(s, at(0), at(4));
    const stored = parse<BillRecord>(await record(s, claimOf(s, at(0), at(4), bill)));
    expect(stored.prepaid).toEqual({
      settlements: 1,
      settledMinor: bill.ledger.totalMinor,
      dueMinor: 0,
    });
  });

  describe('refusals change nothing', () => {
    async function expectRefused(
      s: Scenario,
      attempt: () => Promise<unknown>,
      message: RegExp,
    ): Promise<void> {
      const before = s.world.ledger.dump();
      await expect(attempt()).rejects.toThrow(message);
      expect(s.world.ledger.dump()).toEqual(before);
    }

    it('when the session key comes as transient data then it is INVALID_ARGUMENT', async () => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(0), at(4));
      await expectRefused(
        s,
        () =>
          settleAggregate(s, at(4), claim, id.d1Operator, {
            transient: { sessionKey: s.household.sessionKey },
          }),
        /^INVALID_ARGUMENT: SettleAggregate takes no transient data/,
      );
    });

    it.each<[string, FakeIdentity]>([
      ['the household', id.subscriber()],
      ['an auditor', id.auditor],
      ["another distributor's operator", { mspId: 'Distributor2MSP', attributes: { role: 'operator' } }],
    ])('when %s claims a settlement then it is FORBIDDEN', async (_label, who) => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(0), at(4));
      await expectRefused(s, () => settleAggregate(s, at(4), claim, who), /^FORBIDDEN: /);
    });

    it('when the disclosed Settle is called with the session key then it is CONFLICT: the key never goes to the peers', async () => {
      const s = await prepaidScenario();
      await expectRefused(
        s,
        () =>
          s.world.run(id.d1Operator, (ctx) => prepaid.Settle(ctx, s.household.subscriptionId, at(4)), {
            transient: { sessionKey: s.household.sessionKey },
          }),
        /^CONFLICT: sub_[0-9a-f]{24} is an aggregate subscription: it is settled from its shares with SettleAggregate/,
      );
    });

    it('when the claim starts elsewhere than the month’s first settled period then it is INVALID_ARGUMENT naming it', async () => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(1), at(4));
      await expectRefused(
        s,
        () => settleAggregate(s, at(4), claim),
        new RegExp(`^INVALID_ARGUMENT: claim.costFrom must be ${at(0)}`),
      );
    });

    it('when a round of the range is still open then it is CONFLICT naming the rounds', async () => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(0), at(7));
      await expectRefused(
        s,
        () => settleAggregate(s, at(7), claim),
        /^CONFLICT: the rounds of north\/d3 are not all final for this settlement .*1 of them \(0 FAULT, not yet resolved\), from 2026-01-15T01:30:00Z/,
      );
    });

    it('when the claim’s sums do not add up then it is INVALID_ARGUMENT field by field', async () => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(0), at(4));
      const tampered = {
        ...claim,
        computation: { ...claim.computation, totalMinor: claim.computation.totalMinor + 100 },
      };
      await expectRefused(
        s,
        () => settleAggregate(s, at(4), tampered),
        /^INVALID_ARGUMENT: the settlement claim is refused: .*totalMinor/,
      );
    });

    it.each<[string, (claim: Record<string, unknown>) => unknown, RegExp]>([
      ['an unknown field', (c) => ({ ...c, bonus: 1 }), /^INVALID_ARGUMENT: claim.*bonus/],
      [
        'no computation',
        (c) => ({ costFrom: c.costFrom }),
        /^INVALID_ARGUMENT: the settlement claim is refused/,
      ],
      ['not JSON', () => '{"costFrom":', /^INVALID_ARGUMENT: claim/],
      ['an array', () => '[]', /^INVALID_ARGUMENT: claim/],
    ])('when the claim has %s then it is INVALID_ARGUMENT', async (_label, change, message) => {
      const s = await prepaidScenario();
      const { claim } = await settlementClaim(s, at(0), at(4));
      await expectRefused(s, () => settleAggregate(s, at(4), change(claim)), message);
    });

    it('when the range is settled already then it is CONFLICT and the balance is debited once', async () => {
      const s = await prepaidScenario();
      const { bill, claim } = await settlementClaim(s, at(0), at(4));
      await settleAggregate(s, at(4), claim);
      await expectRefused(
        s,
        () => settleAggregate(s, at(4), claim),
        /^CONFLICT: sub_[0-9a-f]{24} is settled or billed until 2026-01-15T01:00:00Z/,
      );
      expect((await walletOf(s)).balanceMinor).toBe(TOP_UP - bill.ledger.totalMinor);
    });

    it('when a disclosed subscription’s wallet is claimed then it is CONFLICT: its endorsers settle it', async () => {
      const world = await World.create();
      await world.run(id.d1Operator, (ctx) =>
        contracts.pricing.PublishTariff(
          ctx,
          JSON.stringify({
            tariffId: 'tou-2026',
            effectiveFrom: '2026-01-01T00:00:00Z',
            currency: 'GBP',
            utcOffsetMinutes: 0,
            standingChargeMicroPerDay: 0,
            taxBasisPoints: 0,
            pricing: { kind: 'flat', priceMicroPerKwh: 25_000_000 },
          }),
        ),
      );
      const household = await world.active();
      await world.run(id.d1Operator, (ctx) => prepaid.OpenWallet(ctx, household.subscriptionId, '0'));
      const before = world.ledger.dump();
      await expect(
        world.run(id.d1Operator, (ctx) =>
          prepaid.SettleAggregate(ctx, household.subscriptionId, '2026-02-01T00:00:00Z', '{}'),
        ),
      ).rejects.toThrow(/^CONFLICT: sub_[0-9a-f]{24} is a disclosed subscription/);
      expect(world.ledger.dump()).toEqual(before);
    });
  });
});

describe('Prepaid:ListWallets', () => {
  it('when an operator or an auditor lists the distributor’s wallets then they get them; a household is FORBIDDEN', async () => {
    const s = await prepaidScenario();
    for (const who of [id.d1Operator, id.auditor]) {
      const wallets = parse<WalletRecord[]>(
        await s.world.run(who, (ctx) => prepaid.ListWallets(ctx, 'Distributor1MSP')),
      );
      expect(wallets.map((w) => [w.subscriptionId, w.balanceMinor])).toEqual([
        [s.household.subscriptionId, TOP_UP],
      ]);
    }
    await expect(
      s.world.run(s.household.subscriber, (ctx) => prepaid.ListWallets(ctx, 'Distributor1MSP')),
    ).rejects.toThrow(/^FORBIDDEN: ListWallets needs an operator of Distributor1MSP or an auditor/);
    await expect(
      s.world.run({ mspId: 'Distributor2MSP', attributes: { role: 'operator' } }, (ctx) =>
        prepaid.ListWallets(ctx, 'Distributor1MSP'),
      ),
    ).rejects.toThrow(/^FORBIDDEN: /);
  });
});
