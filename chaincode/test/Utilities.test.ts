import { encryptReading, newSessionKey, pairingProof } from '@smartmeter/crypto';
import {
  gasLitresToWh,
  UK_GAS_VOLUME_CORRECTION_PPM,
  type BillRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { approval, contracts, id, parse, period, World, type Household } from './support/fixtures';

const { pricing, billing, measurement, subscription } = contracts;
const ukGas = { calorificValueKjPerM3: 39_500, volumeCorrectionPpm: UK_GAS_VOLUME_CORRECTION_PPM };
const tariffBody = (tariffId: string, extra: object) => ({
  tariffId,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 0,
  taxBasisPoints: 0,
  pricing: { kind: 'flat', priceMicroPerKwh: 6_000_000 },
  ...extra,
});
const publish = (world: World, body: object) =>
  world.run(id.d1Operator, (ctx) => pricing.PublishTariff(ctx, JSON.stringify(body)));

async function gasHousehold(world: World, meterId = 'GAS-001'): Promise<Household> {
  const sessionKey = newSessionKey();
  const subscriber = id.subscriber();
  const record = parse<SubscriptionRecord>(
    await world.run(subscriber, (ctx) =>
      subscription.RequestSubscription(ctx, world.requestJson(sessionKey, meterId, { utility: 'gas' })),
    ),
  );
  return { sessionKey, subscriber, meter: id.meter(meterId), subscriptionId: record.subscriptionId, meterId };
}

/** Slot n of a household, sealed with the utility and unit given. */
function sealed(household: Household, n: number, quantity: number, utility: 'gas' | 'electricity') {
  const { subscriptionId } = household;
  const slot = { channel: 'northgrid', subscriptionId, sequence: n + 1, periodStart: period(n) };
  const unit = utility === 'gas' ? 'L' : 'Wh';
  const payload = { energyWh: quantity, utility, unit, quality: 'measured' as const };
  return {
    subscriptionId,
    sequence: n + 1,
    periodStart: period(n),
    ...encryptReading(payload, household.sessionKey, slot),
  };
}

describe('subscriptions and tariffs per utility', () => {
  it('records the utility a household asks for; without one it is electricity, as before', async () => {
    const world = await World.create();
    const gas = await gasHousehold(world);
    const plain = await world.requested({ meterId: 'MTR-009' });
    expect((await world.subscription(gas.subscriptionId)).utility).toBe('gas');
    expect((await world.subscription(plain.subscriptionId)).utility).toBeUndefined();
  });

  it('refuses an unknown utility with INVALID_ARGUMENT and writes nothing', async () => {
    const world = await World.create();
    const before = world.ledger.dump();
    await expect(
      world.run(id.subscriber(), (ctx) =>
        subscription.RequestSubscription(
          ctx,
          world.requestJson(newSessionKey(), 'M-1', { utility: 'steam' }),
        ),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: utility must be one of electricity, gas, water/);
    expect(world.ledger.dump()).toEqual(before);
  });

  it('refuses to approve a gas meter on an electricity tariff, and approves it on a gas tariff', async () => {
    const world = await World.create();
    await publish(world, tariffBody(approval.tariffId, {}));
    await publish(world, tariffBody('gas-2026', { utility: 'gas', gasConversion: ukGas }));
    const gas = await gasHousehold(world);
    const before = world.ledger.dump();
    await expect(world.approve(gas)).rejects.toThrow(
      `INVALID_ARGUMENT: tariff ${approval.tariffId} prices electricity; ${gas.subscriptionId} meters gas: choose a gas tariff`,
    );
    expect(world.ledger.dump()).toEqual(before);
    await world.approve(gas, { tariffId: 'gas-2026' });
    expect((await world.subscription(gas.subscriptionId)).status).toBe('APPROVED');
  });

  it('refuses a new tariff version that prices another utility (CONFLICT), leaving version 1 current', async () => {
    const world = await World.create();
    await publish(world, tariffBody('gas-2026', { utility: 'gas', gasConversion: ukGas }));
    await expect(
      publish(world, { ...tariffBody('gas-2026', {}), effectiveFrom: '2026-06-01T00:00:00Z' }),
    ).rejects.toThrow(/^CONFLICT: gas-2026 prices gas, not electricity: publish another tariff/);
    const current = parse<{ version: number; utility: string }>(
      await world.run(id.d1Operator, (ctx) => pricing.GetTariff(ctx, 'Distributor1MSP', 'gas-2026')),
    );
    expect(current).toMatchObject({ version: 1, utility: 'gas' });
  });

  it('bills a gas meter’s litres in kWh, and sets an electricity reading in its slots aside as INVALID_READING', async () => {
    const world = await World.create();
    await publish(world, tariffBody('gas-2026', { utility: 'gas', gasConversion: ukGas }));
    const gas = await gasHousehold(world);
    await world.approve(gas, { tariffId: 'gas-2026' });
    await world.run(gas.meter, (ctx) =>
      subscription.ConfirmPairing(ctx, gas.subscriptionId, pairingProof(gas.sessionKey, gas.meterId)),
    );
    const litres = [60, 65, 70, 0, 55, 80];
    const submissions = litres.map((l, n) => sealed(gas, n, l, n === 3 ? 'electricity' : 'gas'));
    await world.run(gas.meter, (ctx) => measurement.SubmitReadings(ctx, JSON.stringify(submissions)));

    const bill = parse<BillRecord>(
      await world.run(
        id.d1Operator,
        (ctx) => billing.IssueBill(ctx, gas.subscriptionId, period(0), period(8)),
        { transient: { sessionKey: gas.sessionKey } },
      ),
    );

    expect(bill.metered).toEqual({ utility: 'gas', litres: 330, estimatedLitres: 0 });
    expect(bill.energyWh).toBe(gasLitresToWh(330, ukGas)); // 3,703 Wh
    expect(bill.energyWh).toBe(3_703);
    expect(bill.totalMinor).toBe(22); // 3.703 kWh × 6 p
    expect(bill.invalidReadings).toEqual([
      {
        periodStart: period(3),
        code: 'INVALID_READING',
        reason: 'is a electricity reading; the subscription meters gas',
      },
    ]);
  });
});
