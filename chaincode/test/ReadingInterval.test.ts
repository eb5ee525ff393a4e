import type { SubscriptionRecord } from '@smartmeter/domain';
import { contracts, id, parse, reading, World, type Household } from './support/fixtures';

const change = (
  world: World,
  who: Parameters<World['run']>[0],
  h: Household,
  interval: string,
  from: string,
) =>
  world.run(who, (ctx) =>
    contracts.subscription.ChangeReadingInterval(ctx, h.subscriptionId, interval, from),
  );
const submitAt = (world: World, h: Household, periodStart: string, sequence: number) => {
  const body = { ...reading(h, 0), periodStart, sequence };
  return world.run(h.meter, (ctx) => contracts.measurement.SubmitReading(ctx, JSON.stringify(body)));
};

describe('Subscription contract: ChangeReadingInterval', () => {
  it('when the operator changes the interval then later periods follow the new one and earlier keep the old', async () => {
    const world = await World.create();
    const household = await world.active();
    const changed = parse<SubscriptionRecord>(
      await change(world, id.d1Operator, household, '900', '2026-01-14T02:00:00Z'),
    );
    expect(changed.approval).toMatchObject({
      intervalSeconds: 900,
      intervalChanges: [
        { effectiveFrom: '2026-01-14T02:00:00Z', intervalSeconds: 900, previousIntervalSeconds: 1800 },
      ],
    });
    expect(world.ledger.events.at(-1)?.name).toBe('ReadingIntervalChanged');

    await expect(submitAt(world, household, '2026-01-14T01:30:00Z', 4)).resolves.toContain('01:30:00Z');
    await expect(submitAt(world, household, '2026-01-14T02:15:00Z', 6)).resolves.toContain('02:15:00Z');
    await expect(submitAt(world, household, '2026-01-14T02:40:00Z', 7)).rejects.toThrow(
      /^INVALID_ARGUMENT: periodStart 2026-01-14T02:40:00Z is not a period of this subscription \(every 1800 s from 2026-01-14T00:00:00Z, every 900 s from 2026-01-14T02:00:00Z\)/,
    );
    const missing = parse<{ expected: number; missing: string[] }>(
      await world.run(household.subscriber, (ctx) =>
        contracts.measurement.MissingPeriods(
          ctx,
          household.subscriptionId,
          '2026-01-14T01:00:00Z',
          '2026-01-14T03:00:00Z',
        ),
      ),
    );
    expect(missing.expected).toBe(2 + 4);
    expect(missing.missing).toEqual([
      '2026-01-14T01:00:00Z',
      '2026-01-14T02:00:00Z',
      '2026-01-14T02:30:00Z',
      '2026-01-14T02:45:00Z',
    ]);
  });

  it('when effectiveFrom is not on both grids, before the last accepted reading, or the caller is not the operator then nothing changes', async () => {
    const world = await World.create();
    const household = await world.active();
    await submitAt(world, household, '2026-01-14T03:00:00Z', 7);
    const before = world.ledger.read(`subscription/${household.subscriptionId}`);
    await expect(change(world, id.d1Operator, household, '3600', '2026-01-14T04:30:00Z')).rejects.toThrow(
      /^INVALID_ARGUMENT: effectiveFrom must be a boundary of both the 1800-second and the 3600-second interval/,
    );
    await expect(change(world, id.d1Operator, household, '900', '2026-01-14T03:00:00Z')).rejects.toThrow(
      /^INVALID_ARGUMENT: effectiveFrom must be after the start, after earlier changes and not before 2026-01-14T03:30:00Z/,
    );
    await expect(change(world, id.d1Operator, household, '1200', '')).rejects.toThrow(
      /^INVALID_ARGUMENT: intervalSeconds must be one of 300, 600, 900, 1800, 3600 \(got "1200"\)/,
    );
    await expect(change(world, id.d1Operator, household, '1800', '')).rejects.toThrow(
      /^INVALID_ARGUMENT: the reading interval already is 1800 s/,
    );
    await expect(change(world, household.subscriber, household, '900', '')).rejects.toThrow(/^FORBIDDEN/);
    await expect(change(world, id.d2Operator, household, '900', '')).rejects.toThrow(/^FORBIDDEN/);
    expect(world.ledger.read(`subscription/${household.subscriptionId}`)).toBe(before);
  });

  it('when no effectiveFrom is given then the change starts at the next boundary of both intervals from now', async () => {
    const world = await World.create();
    const household = await world.active();
    const changed = parse<SubscriptionRecord>(await change(world, id.d1Operator, household, '3600', ''));
    const from = changed.approval?.intervalChanges?.[0].effectiveFrom as string;
    expect(Date.parse(from) % 3_600_000).toBe(0);
    const now = (await world.subscription(household.subscriptionId)).updatedAt;
    expect(Date.parse(from)).toBeGreaterThanOrEqual(Date.parse(now));
    expect(Date.parse(from) - Date.parse(now)).toBeLessThan(3_600_000);
  });
});
