import { encryptReading } from '@smartmeter/crypto';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { AccessRequestRecord, Page, PersonalDataDelivery } from '../src/api/records';
import { AUTHORITY, contracts, D1, id, parse, reading, World, type Household } from './support/fixtures';
import type { FakeIdentity } from './support/memoryContext';

const pd = contracts.personalData;
const PERSONAL = JSON.stringify({
  name: 'Jane Example',
  address: '1 Grid Lane, Northtown',
  phone: '+44 20 0000 0000',
});

/** The household's personal data as the meter keeps it: encrypted with the session key. */
function sealedPersonalData(household: Household): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', household.sessionKey, nonce);
  return Buffer.concat([nonce, cipher.update(PERSONAL, 'utf8'), cipher.final(), cipher.getAuthTag()]);
}

async function pendingRequest(world: World, requester: FakeIdentity = id.auditor) {
  const household = await world.active();
  const request = parse<AccessRequestRecord>(
    await world.run(requester, (ctx) =>
      pd.RequestPersonalData(ctx, household.subscriptionId, 'tariff audit 2026-Q1'),
    ),
  );
  return { household, request };
}

const grant = (world: World, who: FakeIdentity, requestId: string, data?: Buffer) =>
  world.run(who, (ctx) => pd.GrantPersonalData(ctx, requestId), {
    transient: data ? { personalData: data } : {},
  });

describe('PersonalData contract', () => {
  it.each([
    ['an auditor', id.auditor, 'auditor'],
    ['the operator', id.d1Operator, 'operator'],
  ])(
    'when %s requests personal data then a PENDING request with its reason is logged',
    async (_label, who, role) => {
      const world = await World.create();
      const { request } = await pendingRequest(world, who);
      expect(request).toMatchObject({
        status: 'PENDING',
        requesterMspId: who.mspId,
        requesterRole: role,
        reason: 'tariff audit 2026-Q1',
      });
      expect(request.requestId).toMatch(/^par_[0-9a-f]{24}$/);
      expect(world.ledger.events.at(-1)?.name).toBe('PersonalDataRequested');
    },
  );

  it.each([
    ['the subscriber', id.subscriber()],
    ['an operator of Distributor2', id.d2Operator],
    ['the meter', id.meter()],
  ])('when %s requests personal data then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(who, (ctx) => pd.RequestPersonalData(ctx, household.subscriptionId, 'why not')),
    ).rejects.toThrow(/^FORBIDDEN: personal data of/);
  });

  it('when a request has no reason then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(id.auditor, (ctx) => pd.RequestPersonalData(ctx, household.subscriptionId, ' ')),
    ).rejects.toThrow(/^INVALID_ARGUMENT: reason must be a non-empty string/);
  });

  it('when the household grants then only the requester collection holds the data and the ledger its hash', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    const sealed = sealedPersonalData(household);
    const granted = parse<AccessRequestRecord>(
      await grant(world, household.subscriber, request.requestId, sealed),
    );

    expect(granted).toMatchObject({
      status: 'GRANTED',
      collection: `personalDataFor${AUTHORITY}`,
      deliveredHash: createHash('sha256').update(sealed).digest('hex'),
    });
    expect([...world.ledger.privateState.keys()]).toEqual([`personalDataFor${AUTHORITY}`]);
    const fetched = parse<PersonalDataDelivery>(
      await world.run(id.auditor, (ctx) => pd.FetchPersonalData(ctx, request.requestId)),
    );
    expect(Buffer.from(fetched.encryptedPersonalData, 'base64')).toEqual(sealed);
    expect(world.ledger.dump().join('\n')).not.toContain(sealed.toString('base64'));
  });

  it('when the grant carries no personal data then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await expect(grant(world, household.subscriber, request.requestId)).rejects.toThrow(
      /^INVALID_ARGUMENT: the encrypted personal data must come as transient field "personalData"/,
    );
  });

  it.each([
    ['another subscriber', id.subscriber('hh-999')],
    ['the operator', id.d1Operator],
    ['the requesting auditor', id.auditor],
  ])('when %s grants then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await expect(grant(world, who, request.requestId, sealedPersonalData(household))).rejects.toThrow(
      /^FORBIDDEN/,
    );
  });

  it('when a decided request is granted again then it is CONFLICT', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await world.run(household.subscriber, (ctx) => pd.DenyPersonalData(ctx, request.requestId, 'not needed'));
    await expect(
      grant(world, household.subscriber, request.requestId, sealedPersonalData(household)),
    ).rejects.toThrow(/^CONFLICT: request par_[0-9a-f]{24} was already decided: DENIED/);
  });

  it('when the household denies then the request is DENIED with its reason and nothing is delivered', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    const denied = parse<AccessRequestRecord>(
      await world.run(household.subscriber, (ctx) =>
        pd.DenyPersonalData(ctx, request.requestId, 'no consent'),
      ),
    );
    expect(denied).toMatchObject({ status: 'DENIED', denialReason: 'no consent' });
    expect(world.ledger.privateState.size).toBe(0);
    await expect(
      world.run(id.auditor, (ctx) => pd.FetchPersonalData(ctx, request.requestId)),
    ).rejects.toThrow(/^CONFLICT: .* is DENIED, not GRANTED/);
  });

  it('when another organization fetches the delivery then it is FORBIDDEN', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await grant(world, household.subscriber, request.requestId, sealedPersonalData(household));
    await expect(
      world.run(id.d1Operator, (ctx) => pd.FetchPersonalData(ctx, request.requestId)),
    ).rejects.toThrow(/^FORBIDDEN: only the requesting organization AuthorityMSP/);
  });

  it('when the collection has purged the delivery then fetching is NOT_FOUND', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await grant(world, household.subscriber, request.requestId, sealedPersonalData(household));
    world.ledger.privateState.get(`personalDataFor${AUTHORITY}`)?.clear(); // what blockToLive does on a peer
    await expect(
      world.run(id.auditor, (ctx) => pd.FetchPersonalData(ctx, request.requestId)),
    ).rejects.toThrow(/^NOT_FOUND: .* no longer held/);
  });

  it('when requests are listed then the auditor sees all, an operator its own, the household its subscription', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world, id.auditor);
    const byOperator = parse<AccessRequestRecord>(
      await world.run(id.d1Operator, (ctx) =>
        pd.RequestPersonalData(ctx, household.subscriptionId, 'billing dispute'),
      ),
    );
    const all = parse<Page<AccessRequestRecord>>(
      await world.run(id.auditor, (ctx) => pd.ListAccessRequests(ctx, '10', '')),
    );
    const own = parse<Page<AccessRequestRecord>>(
      await world.run(id.d1Operator, (ctx) => pd.ListAccessRequests(ctx, '10', '')),
    );
    const households = parse<AccessRequestRecord[]>(
      await world.run(household.subscriber, (ctx) =>
        pd.ListSubscriptionAccessRequests(ctx, household.subscriptionId),
      ),
    );
    expect(all.records.map((r) => r.requestId).sort()).toEqual(
      [request.requestId, byOperator.requestId].sort(),
    );
    expect(own.records.map((r) => r.requestId)).toEqual([byOperator.requestId]);
    expect(households).toHaveLength(2);
    await expect(
      world.run(household.subscriber, (ctx) => pd.ListAccessRequests(ctx, '10', '')),
    ).rejects.toThrow(/^FORBIDDEN/);
  });
});

describe('what a whole lifecycle leaves on the ledger', () => {
  it('when a household subscribes, reports, is asked for data and leaves then no secret or personal data is in state', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await world.run(household.meter, (ctx) =>
      contracts.measurement.SubmitReadings(
        ctx,
        JSON.stringify([0, 1, 2].map((n) => reading(household, n, 1000 + n))),
      ),
    );
    await grant(world, household.subscriber, request.requestId, sealedPersonalData(household));
    await world.run(household.subscriber, (ctx) =>
      contracts.subscription.EndSubscription(ctx, household.subscriptionId, 'moving', ''),
    );

    const everything = world.ledger.dump().join('\n');
    const key = household.sessionKey;
    for (const secret of [
      key.toString('hex'),
      key.toString('base64'),
      'Jane Example',
      'Grid Lane',
      '"quality":"measured"',
      'Wh"',
    ]) {
      expect(everything).not.toContain(secret);
    }
    // And the readings on the ledger are what the meter encrypted, not something readable.
    const sample = encryptReading(
      { energyWh: 1000, utility: 'electricity', unit: 'Wh', quality: 'measured' },
      key,
      {
        channel: 'northgrid',
        subscriptionId: household.subscriptionId,
        sequence: 1,
        periodStart: '2026-01-14T00:00:00Z',
      },
    );
    expect(everything).not.toContain(sample.ciphertext); // fresh nonce: equal plaintext, different bytes
    expect(world.ledger.read(`\u0000subscription\u0000${household.subscriptionId}\u0000`)).toContain(
      `"distributorMspId":"${D1}"`,
    );
  });
});
