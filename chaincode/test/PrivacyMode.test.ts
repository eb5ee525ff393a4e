import { newSessionKey, pairingProof } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { AUTHORITY, D1, World, contracts, id, parse, reading } from './support/fixtures';

/** A request in aggregate mode: the session key wrapped for the distributor only. */
function aggregateRequest(world: World, sessionKey: Buffer, recipients = [D1]): string {
  return world.aggregateRequestJson(sessionKey, recipients);
}

describe('privacy modes', () => {
  it('an aggregate subscription grants the key to the distributor only and is active from approval, without pairing', async () => {
    const world = await World.create();
    const sessionKey = newSessionKey();
    const requested = parse<SubscriptionRecord>(
      await world.run(id.subscriber(), (ctx) =>
        contracts.subscription.RequestSubscription(ctx, aggregateRequest(world, sessionKey)),
      ),
    );
    expect(requested.privacyMode).toBe('aggregate');
    expect(requested.keyGrants.map((grant) => grant.mspId)).toEqual([D1]);
    const household = {
      sessionKey,
      subscriber: id.subscriber(),
      meter: id.meter('MTR-001'),
      subscriptionId: requested.subscriptionId,
      meterId: 'MTR-001',
    };
    await world.approve(household);
    expect((await world.subscription(household.subscriptionId)).status).toBe('ACTIVE');

    const before = world.ledger.dump();
    await expect(
      world.run(household.meter, (ctx) =>
        contracts.subscription.ConfirmPairing(
          ctx,
          household.subscriptionId,
          pairingProof(sessionKey, 'MTR-001'),
        ),
      ),
    ).rejects.toThrow(/^CONFLICT: .*aggregate mode/);
    await expect(
      world.run(household.meter, (ctx) =>
        contracts.measurement.SubmitReadings(ctx, JSON.stringify([reading(household, 0)])),
      ),
    ).rejects.toThrow(/^CONFLICT: .*aggregate mode/);
    expect(world.ledger.dump()).toEqual(before);
  });

  it('an aggregate request that also wraps the key for the authority is refused, and so is an unknown mode', async () => {
    const world = await World.create();
    const sessionKey = newSessionKey();
    await expect(
      world.run(id.subscriber(), (ctx) =>
        contracts.subscription.RequestSubscription(ctx, aggregateRequest(world, sessionKey, [D1, AUTHORITY])),
      ),
    ).rejects.toThrow(
      /^INVALID_ARGUMENT: keyGrants must list the session key wrapped for the distributor only/,
    );
    await expect(
      world.run(id.subscriber(), (ctx) =>
        contracts.subscription.RequestSubscription(
          ctx,
          world.requestJson(sessionKey, 'MTR-001', { privacyMode: 'secret' }),
        ),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: privacyMode must be one of disclosed, aggregate/);
    expect(world.ledger.dump().filter((entry) => entry.includes('subscription'))).toEqual([]);
  });
});
