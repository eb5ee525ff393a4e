import { encryptReading, keyIdOf, newSessionKey } from '@smartmeter/crypto';
import { type BillRecord, type TariffRecord, computeBill } from '@smartmeter/domain';
import {
  approval,
  contracts,
  D1,
  id,
  parse,
  payload,
  period,
  reading,
  World,
  type Household,
} from './support/fixtures';
import type { FakeIdentity } from './support/memoryContext';

const { pricing, billing, measurement } = contracts;
const tariff = {
  tariffId: approval.tariffId,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 50_000_000,
  taxBasisPoints: 500,
  pricing: { kind: 'flat', priceMicroPerKwh: 11_760_000 },
};
const publishTariff = (world: World, who: FakeIdentity, body: object = tariff) =>
  world.run(who, (ctx) => pricing.PublishTariff(ctx, JSON.stringify(body)));

/** An active household with readings for periods 0..n-1 and the fixtures' tariff published. */
async function billable(count = 6): Promise<{ world: World; household: Household }> {
  const world = await World.create();
  await publishTariff(world, id.d1Operator);
  const household = await world.active();
  await world.run(household.meter, (ctx) =>
    measurement.SubmitReadings(
      ctx,
      JSON.stringify(Array.from({ length: count }, (_, n) => reading(household, n, 1000 + n))),
    ),
  );
  return { world, household };
}
const issue = (
  world: World,
  household: Household,
  from = period(0),
  to = period(8),
  key: Buffer | null = household.sessionKey,
  who: FakeIdentity = id.d1Operator,
) =>
  world.run(who, (ctx) => billing.IssueBill(ctx, household.subscriptionId, from, to), {
    transient: key ? { sessionKey: key } : {},
  });

describe('Pricing contract', () => {
  it('when the operator publishes a tariff then version 1 is current and readable by anyone on the channel', async () => {
    const world = await World.create();
    const record = parse<TariffRecord>(await publishTariff(world, id.d1Operator));
    expect(record).toMatchObject({
      docType: 'tariff',
      distributorMspId: D1,
      version: 1,
      tariffId: approval.tariffId,
    });
    const current = parse<TariffRecord>(
      await world.run(id.subscriber(), (ctx) => pricing.GetTariff(ctx, D1, approval.tariffId)),
    );
    expect(current.version).toBe(1);
  });

  it.each([
    ['an auditor', id.auditor],
    ['a subscriber', id.subscriber()],
  ])('when %s publishes a tariff then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    await expect(publishTariff(world, who)).rejects.toThrow(
      /^FORBIDDEN: PublishTariff needs a distributor's operator/,
    );
  });

  it('when a tariff is invalid then every problem is in one INVALID_ARGUMENT', async () => {
    const world = await World.create();
    await expect(
      publishTariff(world, id.d1Operator, { ...tariff, currency: 'x', taxBasisPoints: 20000 }),
    ).rejects.toThrow(
      /^INVALID_ARGUMENT: tariff is invalid: currency: .*; taxBasisPoints: a whole number from 0 to 10000/,
    );
  });

  it('when a later version would take effect in the past then it is CONFLICT; from now on it is version 2', async () => {
    const world = await World.create();
    await publishTariff(world, id.d1Operator);
    await expect(
      publishTariff(world, id.d1Operator, { ...tariff, effectiveFrom: '2026-01-10T00:00:00Z' }),
    ).rejects.toThrow(/^CONFLICT: version 2 of tou-2026 must take effect from now on/);
    const v2 = parse<TariffRecord>(
      await publishTariff(world, id.d1Operator, { ...tariff, effectiveFrom: '2026-02-01T00:00:00Z' }),
    );
    expect(v2.version).toBe(2);
    const asOf = parse<TariffRecord>(
      await world.run(id.auditor, (ctx) =>
        pricing.GetTariffAsOf(ctx, D1, approval.tariffId, '2026-01-20T00:00:00Z'),
      ),
    );
    expect(asOf.version).toBe(1);
    const history = parse<TariffRecord[]>(
      await world.run(id.auditor, (ctx) => pricing.GetTariffHistory(ctx, D1, approval.tariffId)),
    );
    expect(history.map((t) => t.version)).toEqual([1, 2]);
  });

  it('when the auditor publishes price signals then they are stored; the same again is accepted, a change is CONFLICT', async () => {
    const world = await World.create();
    const signals = [{ periodStart: period(0), priceMicroPerKwh: 5_000_000 }];
    const publish = (who: FakeIdentity, body: object[]) =>
      world.run(who, (ctx) => pricing.PublishPriceSignals(ctx, approval.regionCode, JSON.stringify(body)));
    expect(parse<object>(await publish(id.auditor, signals))).toMatchObject({ stored: 1 });
    expect(parse<object>(await publish(id.auditor, signals))).toMatchObject({ stored: 0 });
    await expect(publish(id.auditor, [{ ...signals[0], priceMicroPerKwh: 6 }])).rejects.toThrow(
      /^CONFLICT: north\/d3\/c12 at .* already has price/,
    );
    await expect(publish(id.d1Operator, signals)).rejects.toThrow(
      /^FORBIDDEN: price signals come from the authority's auditor/,
    );
    await expect(
      publish(id.auditor, [{ periodStart: '2026-01-14T00:01:00Z', priceMicroPerKwh: 1 }]),
    ).rejects.toThrow(/5-minute boundary/);
    const stored = parse<object[]>(
      await world.run(id.subscriber(), (ctx) =>
        pricing.GetPriceSignals(ctx, approval.regionCode, period(0), period(4)),
      ),
    );
    expect(stored).toHaveLength(1);
  });
});

describe('Billing contract', () => {
  it('when the operator issues a bill with the session key then it matches the pure bill function', async () => {
    const { world, household } = await billable(6);
    const bill = parse<BillRecord>(await issue(world, household));
    const expected = computeBill({
      periodFrom: period(0),
      periodTo: period(8),
      intervalSeconds: approval.intervalSeconds,
      subscriptionStart: approval.startDate,
      readings: [0, 1, 2, 3, 4, 5].map((n) => ({
        periodStart: period(n),
        energyWh: 1000 + n,
        quality: 'measured' as const,
        ciphertext: parse<{ ciphertext: string }>(
          world.ledger.read(`reading/${household.subscriptionId}/${period(n)}`) as string,
        ).ciphertext,
      })),
      priorReadings: [],
      tariffVersions: [
        parse<TariffRecord>(
          await world.run(id.auditor, (ctx) => pricing.GetTariff(ctx, D1, approval.tariffId)),
        ),
      ],
      signals: {},
    });
    expect(bill).toMatchObject({ ...expected, status: 'ISSUED', subscriptionId: household.subscriptionId });
    expect(bill.missingPeriods).toEqual([period(6), period(7)]);
    expect(JSON.stringify(world.ledger.dump())).not.toContain(household.sessionKey.toString('hex'));
    expect(JSON.stringify(world.ledger.dump())).not.toContain(household.sessionKey.toString('base64'));
  });

  it('when the session key is missing then it is INVALID_ARGUMENT; when it is another key, FORBIDDEN', async () => {
    const { world, household } = await billable(2);
    await expect(issue(world, household, period(0), period(2), null)).rejects.toThrow(
      /^INVALID_ARGUMENT: the 32-byte session key/,
    );
    await expect(issue(world, household, period(0), period(2), newSessionKey())).rejects.toThrow(
      new RegExp(
        `^FORBIDDEN: the session key given is not the key of .* \\(${keyIdOf(household.sessionKey)}\\)`,
      ),
    );
  });

  it.each([
    ['an operator of another distributor', id.d2Operator],
    ['an auditor', id.auditor],
    ['the subscriber', id.subscriber()],
  ])('when %s issues a bill then it is FORBIDDEN', async (_label, who) => {
    const { world, household } = await billable(2);
    await expect(issue(world, household, period(0), period(2), household.sessionKey, who)).rejects.toThrow(
      /^FORBIDDEN: IssueBill needs an operator/,
    );
  });

  it.each([
    ['a period not on interval boundaries', '2026-01-14T00:10:00Z', period(2), /period boundaries/],
    ['a period that ends in the future', period(0), '2026-01-16T00:00:00Z', /time that has passed/],
    ['an empty period', period(2), period(2), /periodTo must be after periodFrom/],
  ])('when the bill has %s then it is INVALID_ARGUMENT', async (_label, from, to, message) => {
    const { world, household } = await billable(2);
    await expect(issue(world, household, from, to)).rejects.toThrow(message);
  });

  it('when the period is billed in three bills then their amounts add up to one bill over it', async () => {
    const whole = await billable(6);
    const split = await billable(6);
    const one = parse<BillRecord>(await issue(whole.world, whole.household, period(0), period(8)));
    const three = [
      [period(0), period(3)],
      [period(3), period(5)],
      [period(5), period(8)],
    ];
    const bills: BillRecord[] = [];
    for (const [from, to] of three)
      bills.push(parse<BillRecord>(await issue(split.world, split.household, from, to)));
    const total = (amount: (bill: BillRecord) => number) =>
      bills.reduce((sum, bill) => sum + amount(bill), 0);
    // 4 hours of 50 p/day: 8.33 → 8, paid once over the three bills (whole days per bill would pay 150).
    expect(one.standingCharge).toMatchObject({ seconds: 14_400, amountMinor: 8 });
    expect(total((b) => b.standingCharge.amountMinor)).toBe(8);
    expect(total((b) => b.lineItems[0]?.amountMinor ?? 0)).toBe(one.lineItems[0].amountMinor);
    expect(total((b) => b.taxMinor)).toBe(one.taxMinor);
    expect(total((b) => b.totalMinor)).toBe(one.totalMinor);
    // The later bills read the month's earlier readings (the subscription starts on 2026-01-14).
    expect(bills.map((b) => b.runningTotals.priorReadingCount)).toEqual([0, 3, 5]);
    expect(bills[2].runningTotals.since).toBe('2026-01-01T00:00:00Z');
  });

  it('when readings are estimated then the bill counts them, their energy and their periods', async () => {
    const world = await World.create();
    await publishTariff(world, id.d1Operator);
    const household = await world.active();
    const submission = (n: number, quality: 'measured' | 'estimated') => {
      const slot = {
        channel: 'northgrid',
        subscriptionId: household.subscriptionId,
        sequence: n + 1,
        periodStart: period(n),
      };
      return {
        subscriptionId: slot.subscriptionId,
        sequence: slot.sequence,
        periodStart: slot.periodStart,
        ...encryptReading({ ...payload, energyWh: 100 * (n + 1), quality }, household.sessionKey, slot),
      };
    };
    await world.run(household.meter, (ctx) =>
      measurement.SubmitReadings(
        ctx,
        JSON.stringify([submission(0, 'measured'), submission(1, 'estimated'), submission(2, 'estimated')]),
      ),
    );
    const bill = parse<BillRecord>(await issue(world, household, period(0), period(4)));
    expect(bill).toMatchObject({
      readingCount: 3,
      energyWh: 600,
      estimatedReadings: 2,
      estimatedEnergyWh: 500,
      estimatedPeriods: [period(1), period(2)],
      missingPeriods: [period(3)],
    });
  });

  it('when a bill would overlap an issued one then it is ALREADY_EXISTS; after an upheld dispute it can be reissued', async () => {
    const { world, household } = await billable(4);
    const first = parse<BillRecord>(await issue(world, household, period(0), period(4)));
    await expect(issue(world, household, period(2), period(6))).rejects.toThrow(
      /^ALREADY_EXISTS: bill bill_[0-9a-f]{24} already covers/,
    );

    const disputed = parse<BillRecord>(
      await world.run(household.subscriber, (ctx) =>
        billing.DisputeBill(ctx, first.billId, 'line 1 is wrong'),
      ),
    );
    expect(disputed.status).toBe('DISPUTED');
    await expect(
      world.run(id.subscriber('hh-x'), (ctx) => billing.DisputeBill(ctx, first.billId, 'x')),
    ).rejects.toThrow(/^FORBIDDEN/);
    const resolved = parse<BillRecord>(
      await world.run(id.d1Operator, (ctx) =>
        billing.ResolveDispute(ctx, first.billId, 'UPHELD', 'meter fault'),
      ),
    );
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolution: { outcome: 'UPHELD' } });
    await expect(
      world.run(id.d1Operator, (ctx) =>
        billing.RecordPayment(ctx, first.billId, String(first.totalMinor), 'PAY-1'),
      ),
    ).rejects.toThrow(/^CONFLICT: .* voided by an upheld dispute/);
    await expect(issue(world, household, period(0), period(4))).resolves.toContain('"status":"ISSUED"');
  });

  it('when a payment is recorded then it must settle the total, by the operator, once', async () => {
    const { world, household } = await billable(2);
    const bill = parse<BillRecord>(await issue(world, household, period(0), period(2)));
    const pay = (who: FakeIdentity, amount: number) =>
      world.run(who, (ctx) => billing.RecordPayment(ctx, bill.billId, String(amount), 'PAY-42'));
    await expect(pay(id.d1Operator, bill.totalMinor - 1)).rejects.toThrow(
      /^INVALID_ARGUMENT: the payment must settle the total/,
    );
    await expect(pay(id.subscriber(), bill.totalMinor)).rejects.toThrow(/^FORBIDDEN/);
    expect(parse<BillRecord>(await pay(id.d1Operator, bill.totalMinor))).toMatchObject({
      status: 'PAID',
      payment: { reference: 'PAY-42' },
    });
    await expect(pay(id.d1Operator, bill.totalMinor)).rejects.toThrow(
      /^CONFLICT: cannot record a payment for .* it is PAID/,
    );
  });

  it('when bills are read then the household, its operator and auditors may; others may not', async () => {
    const { world, household } = await billable(2);
    const bill = parse<BillRecord>(await issue(world, household, period(0), period(2)));
    for (const who of [household.subscriber, id.d1Operator, id.auditor]) {
      await expect(world.run(who, (ctx) => billing.GetBill(ctx, bill.billId))).resolves.toContain(
        bill.billId,
      );
    }
    for (const who of [id.subscriber('hh-999'), id.d2Operator, household.meter]) {
      await expect(world.run(who, (ctx) => billing.GetBill(ctx, bill.billId))).rejects.toThrow(/^FORBIDDEN/);
    }
    const listed = parse<BillRecord[]>(
      await world.run(household.subscriber, (ctx) =>
        billing.ListSubscriptionBills(ctx, household.subscriptionId),
      ),
    );
    expect(listed.map((b) => b.billId)).toEqual([bill.billId]);
  });
});
