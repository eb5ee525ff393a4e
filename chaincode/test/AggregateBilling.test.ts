import { generateKeyPairSync } from 'node:crypto';
import { newOrgKeyPair, newSessionKey, publicKeyFingerprint } from '@smartmeter/crypto';
import {
  EventName,
  aggregateBillLookups,
  policyPrice,
  type AggregateBill,
  type AggregationRoundRecord,
  type BillRecord,
  type GridShareRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { D1, World, contracts, id, parse } from './support/fixtures';

import {
  HOUSE,
  PERIOD,
  REGION,
  afterPeriod,
  aggregateRequest,
  aggregation,
  aggregator,
  at,
  claimOf,
  closeRound,
  computed,
  genuineClaim,
  northPolicy,
  othersWh,
  record,
  resolve,
  scenario,
  sharesOf,
  submitShares,
  terms,
} from './support/aggregateScenario';
/**
 * Dynamic bills of `aggregate` subscriptions (issue 17): the distributor computes the bill off-chain from the
 * household's shares (computeAggregateBill) and records the redacted computation with Billing:RecordAggregateBill,
 * which takes no transient data and checks what it can without the session key.
 */
const { billing, subscription: subscriptions } = contracts;

describe('an aggregate subscription’s household key', () => {
  const request = (world: World, extra: Record<string, unknown>) =>
    world.run(id.subscriber(), (ctx) =>
      subscriptions.RequestSubscription(ctx, aggregateRequest(world, newSessionKey(), extra)),
    );

  it('when an aggregate request names the household’s SPKI key then it is stored with its fingerprint', async () => {
    const key = newOrgKeyPair().publicKeyPem;
    const stored = parse<SubscriptionRecord>(
      await request(await World.create(), { householdPublicKeyPem: key }),
    );
    expect(stored.privacyMode).toBe('aggregate');
    expect(stored.householdPublicKeyPem).toBe(key);
    expect(stored.householdKeyFingerprint).toBe(publicKeyFingerprint(key));
  });

  const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pkcs8 = newOrgKeyPair().privateKeyPem;
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no household key', {}, /^INVALID_ARGUMENT: householdPublicKeyPem is required in aggregate mode/],
    ['a garbage key', { householdPublicKeyPem: 'not a key' }, /^INVALID_ARGUMENT: householdPublicKeyPem: /],
    ['a private key', { householdPublicKeyPem: pkcs8 }, /^INVALID_ARGUMENT: householdPublicKeyPem/],
    [
      'an Ed25519 key',
      { householdPublicKeyPem: ed25519 },
      /^INVALID_ARGUMENT: householdPublicKeyPem: .*P-256/,
    ],
    ['a number', { householdPublicKeyPem: 42 }, /^INVALID_ARGUMENT: householdPublicKeyPem must be a PEM/],
    [
      'a key with text around it',
      { householdPublicKeyPem: `junk\n${newOrgKeyPair().publicKeyPem}` },
      /^INVALID_ARGUMENT: householdPublicKeyPem: /,
    ],
  ])(
    'when an aggregate request has %s then it is INVALID_ARGUMENT and no subscription is stored',
    async (_l, extra, message) => {
      const world = await World.create();
      const before = world.ledger.dump();
      await expect(request(world, extra)).rejects.toThrow(message);
      expect(world.ledger.dump()).toEqual(before);
      expect(before.filter((entry) => entry.includes('subscription'))).toEqual([]);
    },
  );
});

describe('Billing:RecordAggregateBill', () => {
  it('when the operator records the computed bill then it is stored redacted, with its report, and readable by the household', async () => {
    const s = await scenario();
    const { bill, signals } = await computed(s, at(0), at(4));
    // Each period was priced by the policy from its round's load (the household's and the others' 5015 Wh).
    const loads = [0, 1, 2, 3].map(
      (k) => HOUSE[k] + [1, 2, 3, 4, 5].map(othersWh).reduce((a, b) => a + b, 0),
    );
    expect(signals.map((x) => [x.periodStart, x.source, x.policy?.loadWh, x.priceMicroPerKwh])).toEqual(
      loads.map((load, k) => [at(k), 'policy', String(load), policyPrice(northPolicy, BigInt(load), PERIOD)]),
    );
    expect(signals[0].priceMicroPerKwh).toBe(12_515_000); // 22 060 W
    // No earlier reading this month (the subscription starts on the 15th), so the signal line is Σ c_k p_k rounded once.
    const exact = loads.reduce(
      (sum, load, k) => sum + BigInt(HOUSE[k]) * BigInt(policyPrice(northPolicy, BigInt(load), PERIOD)),
      0n,
    );
    expect(bill.computation.lineItems).toEqual([
      expect.objectContaining({
        label: 'signal',
        energyWh: 1811,
        amountMinor: Number((exact * 2n + 10n ** 9n) / (2n * 10n ** 9n)),
      }),
    ]);

    const claim = claimOf(s, at(0), at(4), bill);
    const stored = parse<BillRecord>(await record(s, claim));
    expect(stored).toEqual({
      ...bill.ledger,
      docType: 'bill',
      billId: expect.stringMatching(/^bill_[0-9a-f]{24}$/) as string,
      subscriptionId: s.household.subscriptionId,
      distributorMspId: D1,
      periodFrom: at(0),
      periodTo: at(4),
      status: 'ISSUED',
      issuedAt: expect.any(String) as string,
      aggregate: claim.aggregate,
    });
    expect(stored.lineItems).toEqual([
      expect.objectContaining({ label: 'dynamic (average)', tariffVersion: 1, energyWh: 1811 }),
    ]);
    expect(stored.totalMinor).toBe(bill.computation.totalMinor);
    expect(s.world.ledger.events.at(-1)?.name).toBe(EventName.BillIssued);

    const read = parse<BillRecord>(
      await s.world.run(s.household.subscriber, (ctx) => billing.GetBill(ctx, stored.billId)),
    );
    expect(read).toEqual(stored);
    expect(read.aggregate).toEqual(claim.aggregate);
    const listed = parse<BillRecord[]>(
      await s.world.run(id.auditor, (ctx) => billing.ListSubscriptionBills(ctx, s.household.subscriptionId)),
    );
    expect(listed.map((b) => b.billId)).toEqual([stored.billId]);
    // The ledger has the average line only, never the per-period prices of the household's consumption.
    expect(JSON.stringify(s.world.ledger.dump())).not.toContain('"label":"signal"');
  });

  it('when the operator calls IssueBill on an aggregate subscription then it is CONFLICT and nothing is stored', async () => {
    const s = await scenario();
    const before = s.world.ledger.dump();
    await expect(
      s.world.run(id.d1Operator, (ctx) => billing.IssueBill(ctx, s.household.subscriptionId, at(0), at(4)), {
        transient: { sessionKey: s.household.sessionKey },
      }),
    ).rejects.toThrow(
      /^CONFLICT: .* is an aggregate subscription: it is billed from its shares with RecordAggregateBill/,
    );
    expect(s.world.ledger.dump()).toEqual(before);
  });

  it.each<[string, Record<string, Uint8Array>]>([
    ['the session key', { sessionKey: Buffer.alloc(32, 7) }],
    ['any other field', { note: Buffer.from('x') }],
    ['an empty field', { nothing: new Uint8Array() }],
  ])(
    'when the call carries transient data (%s) then it is INVALID_ARGUMENT and nothing is stored',
    async (_l, transient) => {
      const s = await scenario();
      const { claim } = await genuineClaim(s);
      const before = s.world.ledger.dump();
      await expect(record(s, claim, id.d1Operator, { transient })).rejects.toThrow(
        /^INVALID_ARGUMENT: RecordAggregateBill takes no transient data/,
      );
      expect(s.world.ledger.dump()).toEqual(before);
    },
  );

  it('when a round of the period is still open then it is CONFLICT naming the rounds, and nothing is stored', async () => {
    const s = await scenario();
    const { claim } = await genuineClaim(s, at(0), at(7));
    const before = s.world.ledger.dump();
    await expect(record(s, claim)).rejects.toThrow(
      /^CONFLICT: the rounds of north\/d3 are not all final for this bill \(from the 1st of its month\): 1 of them \(0 FAULT, not yet resolved\), from 2026-01-15T01:30:00Z/,
    );
    expect(s.world.ledger.dump()).toEqual(before);
  });

  it("when a round of the period is FAULT then it is CONFLICT; once resolved with a load, only the month's earlier open round still blocks the bill", async () => {
    const s = await scenario();
    const { claim } = await genuineClaim(s, at(7), at(8));
    const before = s.world.ledger.dump();
    await expect(record(s, claim)).rejects.toThrow(
      /^CONFLICT: the rounds of north\/d3 are not all final .*: 2 of them \(1 FAULT, not yet resolved\), from 2026-01-15T01:30:00Z/,
    );
    expect(s.world.ledger.dump()).toEqual(before);

    const lookups = aggregateBillLookups(s.household.sessionKey, terms, at(7), at(8)).slice(-1);
    const roundShares = parse<GridShareRecord[]>(
      await s.world.run(id.d1Operator, (ctx) => aggregation.ListShares(ctx, REGION, at(7))),
    );
    expect(roundShares.filter((x) => lookups[0].prids.includes(x.prid))).toHaveLength(2);
    const resolved = await resolve(
      s.world,
      s.meters,
      7,
      roundShares.map((x) => x.prid),
    );
    expect(resolved).toMatchObject({
      status: 'RESOLVED',
      load: String(HOUSE[7] + 1001 + 1002 + 1003 + 1004),
    });
    // The round now has its policy price; the bill computed again with it is still refused, now only for round 6
    // (01:30), which is open: the bill's running totals start on the 1st and must not change after it is recorded.
    const { claim: final, bill } = await genuineClaim(s, at(7), at(8));
    expect(bill.input.signals[at(7)]).toBe(policyPrice(northPolicy, BigInt(resolved.load ?? ''), PERIOD));
    const beforeFinal = s.world.ledger.dump();
    await expect(record(s, final)).rejects.toThrow(
      /^CONFLICT: .*: 1 of them \(0 FAULT, not yet resolved\), from 2026-01-15T01:30:00Z/,
    );
    expect(s.world.ledger.dump()).toEqual(beforeFinal);
  });

  it('when a round of the period is RESOLVED without a load then it is final: only the open and FAULT rounds before it block the bill', async () => {
    // RecordAggregateBill's contract: every round from the 1st of the month COMPLETE or RESOLVED. Round 8 was
    // resolved with 4 meters counted: it shows no load and got no policy price, but nothing about it changes any
    // more, so it does not block the bill (its period takes the tariff's base price); rounds 6 (open) and 7 (FAULT) do.
    const s = await scenario();
    const round = parse<AggregationRoundRecord>(
      await s.world.run(id.auditor, (ctx) => aggregation.GetRound(ctx, REGION, at(8))),
    );
    expect(round).toMatchObject({ status: 'RESOLVED' });
    expect(round.load).toBeUndefined();
    const { claim, bill } = await genuineClaim(s, at(8), at(9));
    expect(bill.input.signals[at(8)]).toBeUndefined();
    const before = s.world.ledger.dump();
    await expect(record(s, claim)).rejects.toThrow(
      /^CONFLICT: the rounds of north\/d3 are not all final .*: 2 of them \(1 FAULT, not yet resolved\), from 2026-01-15T01:30:00Z/,
    );
    expect(s.world.ledger.dump()).toEqual(before);
  });

  it('when a bill is recorded while an earlier round of its month is open then it stays verifiable, or is refused', async () => {
    // The bill's running totals start on the 1st: the month's earlier shares are its prior readings, and their
    // count and digest are part of the recorded computation that the household's `bill verify` recomputes. Round
    // 9 is still open (the household's second share is in the meter's outbox); round 10 is COMPLETE.
    const s = await scenario();
    const [first, second] = sharesOf(s.meters[0], 9, 250);
    const others = s.meters.slice(1).flatMap((meter, i) => sharesOf(meter, 9, othersWh(i + 1)));
    await submitShares(s.world, 9, [first, ...others]);
    await submitShares(
      s.world,
      10,
      s.meters.flatMap((meter, i) => sharesOf(meter, 10, i === 0 ? 600 : othersWh(i))),
    );
    expect((await closeRound(s.world, 10)).status).toBe('COMPLETE');
    const { claim, bill } = await genuineClaim(s, at(10), at(11));
    expect(bill.ledger.runningTotals.priorReadingCount).toBe(9); // periods 0-8; 9 has one share
    const outcome = await record(s, claim).then(
      (json) => parse<BillRecord>(json),
      (error: unknown) => error as Error,
    );
    if (outcome instanceof Error) {
      // Refusing the bill until the month's earlier rounds are final would keep it verifiable too.
      expect(outcome.message).toMatch(/^CONFLICT: /);
      return;
    }
    // The late share reaches the ledger (round 9 is still open), as the aggregate mode allows for 2 days.
    await submitShares(s.world, 9, [second], { time: afterPeriod(10, 3600) });
    const recomputed = await computed(s, at(10), at(11));
    expect(recomputed.bill.ledger).toEqual(bill.ledger);
  });

  it.each([
    ['an operator of another distributor', id.d2Operator],
    ['the household', id.subscriber()],
    ['the auditor', id.auditor],
    ['the aggregator', aggregator],
  ])('when %s records the bill then it is FORBIDDEN and nothing is stored', async (_label, who) => {
    const s = await scenario();
    const { claim } = await genuineClaim(s);
    const before = s.world.ledger.dump();
    await expect(record(s, claim, who)).rejects.toThrow(
      /^FORBIDDEN: RecordAggregateBill needs an operator of Distributor1MSP/,
    );
    expect(s.world.ledger.dump()).toEqual(before);
  });

  it('when a bill would overlap a recorded one then it is ALREADY_EXISTS and nothing is stored', async () => {
    const s = await scenario();
    const first = await genuineClaim(s, at(0), at(4));
    const stored = parse<BillRecord>(await record(s, first.claim));
    const before = s.world.ledger.dump();
    for (const [from, to] of [
      [at(2), at(6)],
      [at(0), at(4)],
      [at(3), at(4)],
    ]) {
      const { claim } = await genuineClaim(s, from, to);
      await expect(record(s, claim)).rejects.toThrow(
        new RegExp(`^ALREADY_EXISTS: bill ${stored.billId} already covers ${at(0)} to ${at(4)}`),
      );
    }
    expect(s.world.ledger.dump()).toEqual(before);
    // The adjacent period is free.
    const next = await genuineClaim(s, at(4), at(6));
    await expect(record(s, next.claim)).resolves.toContain('"status":"ISSUED"');
  });

  it.each<[string, (claim: ReturnType<typeof claimOf>, bill: AggregateBill) => object, RegExp]>([
    [
      'a total changed',
      (c) => ({ ...c, computation: { ...c.computation, totalMinor: c.computation.totalMinor + 1 } }),
      /computation\.totalMinor: /,
    ],
    [
      'energy changed',
      (c) => ({ ...c, computation: { ...c.computation, energyWh: c.computation.energyWh - 1 } }),
      /computation\.energyWh: /,
    ],
    [
      'a standing charge changed',
      (c) => ({
        ...c,
        computation: {
          ...c.computation,
          standingCharge: {
            ...c.computation.standingCharge,
            amountMinor: c.computation.standingCharge.amountMinor + 5,
          },
        },
      }),
      /computation\.standingCharge: /,
    ],
    [
      'the unredacted lines',
      (c, bill) => ({ ...c, computation: { ...c.computation, lineItems: bill.computation.lineItems } }),
      /computation\.lineItems\[0\]: must be a redacted line/,
    ],
    [
      'a line of a tariff version that does not exist',
      (c) => ({
        ...c,
        computation: {
          ...c.computation,
          lineItems: c.computation.lineItems.map((l) => ({ ...l, tariffVersion: 2 })),
        },
      }),
      /computation\.lineItems\[0\]: tou-2026 v2 is not a version of the subscription's tariff/,
    ],
    [
      'a shares digest that is not the readings digest',
      (c) => ({ ...c, aggregate: { ...c.aggregate, sharesDigest: 'cd'.repeat(32) } }),
      /aggregate\.sharesDigest: /,
    ],
    [
      'a report CID that is no CIDv1',
      (c) => ({ ...c, aggregate: { ...c.aggregate, report: { ...c.aggregate.report, cid: 'QmNotAV1Cid' } } }),
      /aggregate\.report\.cid: /,
    ],
    ['no computation', (c) => ({ ...c, computation: null }), /computation: must be an object/],
  ])(
    'when the claim has %s then it is INVALID_ARGUMENT naming it, and nothing is stored',
    async (_l, tamper, message) => {
      const s = await scenario();
      const { claim, bill } = await genuineClaim(s);
      const before = s.world.ledger.dump();
      const error = record(s, tamper(claim, bill));
      await expect(error).rejects.toThrow(/^INVALID_ARGUMENT: the aggregate bill is refused: /);
      await expect(error).rejects.toThrow(message);
      expect(s.world.ledger.dump()).toEqual(before);
    },
  );

  it.each<[string, (claim: ReturnType<typeof claimOf>) => object, RegExp]>([
    ['an unknown field', (c) => ({ ...c, html: '<p>' }), /unknown field/],
    ['a period in the future', (c) => ({ ...c, periodTo: '2026-02-01T00:00:00Z' }), /time that has passed/],
    [
      'a period off the boundaries',
      (c) => ({ ...c, periodFrom: '2026-01-15T00:05:00Z' }),
      /period boundaries/,
    ],
    ['an empty period', (c) => ({ ...c, periodTo: c.periodFrom }), /periodTo must be after periodFrom/],
  ])('when the bill has %s then it is INVALID_ARGUMENT', async (_l, change, message) => {
    const s = await scenario();
    const { claim } = await genuineClaim(s);
    const before = s.world.ledger.dump();
    const error = record(s, change(claim));
    await expect(error).rejects.toThrow(/^INVALID_ARGUMENT: /);
    await expect(error).rejects.toThrow(message);
    expect(s.world.ledger.dump()).toEqual(before);
  });

  it('when the subscription is disclosed then it is CONFLICT: the chaincode bills it with IssueBill', async () => {
    const s = await scenario();
    const disclosed = await s.world.active({ subscriberId: 'hh-002', meterId: 'MTR-900' });
    const { claim } = await genuineClaim(s);
    const before = s.world.ledger.dump();
    await expect(record(s, { ...claim, subscriptionId: disclosed.subscriptionId })).rejects.toThrow(
      /^CONFLICT: .* is a disclosed subscription: the chaincode bills it itself with IssueBill/,
    );
    expect(s.world.ledger.dump()).toEqual(before);
  });
});
