import {
  encryptReading,
  newOrgKeyPair,
  openSealed,
  PERSONAL_DATA_PADDED_BYTES,
  sealedSize,
  sealForRecipient,
  type OrgKeyPair,
} from '@smartmeter/crypto';
import { createHash } from 'node:crypto';
import type { AccessRequestRecord, Page, PersonalDataDelivery } from '@smartmeter/domain';
import { AUTHORITY, contracts, D1, id, parse, reading, World } from './support/fixtures';
import type { FakeIdentity } from './support/memoryContext';

const pd = contracts.personalData;
const PERSONAL = JSON.stringify({
  name: 'Jane Example',
  address: '1 Grid Lane, Northtown',
  phone: '+44 20 0000 0000',
});

/** The household's personal data as it grants it: sealed for the request's own key, padded to one size. */
function sealedFor(request: AccessRequestRecord, data = PERSONAL): Buffer {
  return sealForRecipient(
    Buffer.from(data),
    request.requestPublicKeyPem,
    request.requestId,
    PERSONAL_DATA_PADDED_BYTES,
  );
}

async function pendingRequest(world: World, requester: FakeIdentity = id.auditor) {
  const household = await world.active();
  const requestKey = newOrgKeyPair();
  const request = parse<AccessRequestRecord>(
    await world.run(requester, (ctx) =>
      pd.RequestPersonalData(ctx, household.subscriptionId, 'tariff audit 2026-Q1', requestKey.publicKeyPem),
    ),
  );
  return { household, request, requestKey };
}

const aRequestKey = (): string => newOrgKeyPair().publicKeyPem;

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
      world.run(who, (ctx) =>
        pd.RequestPersonalData(ctx, household.subscriptionId, 'why not', aRequestKey()),
      ),
    ).rejects.toThrow(/^FORBIDDEN: personal data of/);
  });

  it('when a request has no reason then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(id.auditor, (ctx) =>
        pd.RequestPersonalData(ctx, household.subscriptionId, ' ', aRequestKey()),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: reason must be a non-empty string/);
  });

  it.each([
    ['a private key', (pair: OrgKeyPair) => pair.privateKeyPem],
    ['no key', () => ''],
    ['a public key with text around it', (pair: OrgKeyPair) => `note\n${pair.publicKeyPem}`],
  ])('when the request key is %s then it is INVALID_ARGUMENT and nothing is written', async (_label, pem) => {
    const world = await World.create();
    const household = await world.active();
    const before = world.ledger.dump();
    await expect(
      world.run(id.auditor, (ctx) =>
        pd.RequestPersonalData(ctx, household.subscriptionId, 'audit', pem(newOrgKeyPair())),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: requestPublicKeyPem/);
    expect(world.ledger.dump()).toEqual(before);
  });

  it('when the household grants then only the requester collection holds the data and the ledger its hash', async () => {
    const world = await World.create();
    const { household, request, requestKey } = await pendingRequest(world);
    const sealed = sealedFor(request);
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
    expect(Buffer.from(fetched.sealedPersonalData, 'base64')).toEqual(sealed);
    expect(openSealed(sealed, requestKey.privateKeyPem, request.requestId).toString()).toBe(PERSONAL);
    expect(world.ledger.dump().join('\n')).not.toContain(sealed.toString('base64'));
  });

  it('when a grant is sealed then only the request key opens it, and its size does not follow the data', async () => {
    const world = await World.create();
    const { household, request, requestKey } = await pendingRequest(world);
    const short = sealedFor(request, '{"name":"Al"}');
    const long = sealedFor(request, JSON.stringify({ name: 'A'.repeat(2000), address: 'B'.repeat(3000) }));
    expect(short.length).toBe(sealedSize(PERSONAL_DATA_PADDED_BYTES));
    expect(long.length).toBe(short.length);
    // Neither the session key holders (the distributor) nor an organization key open it.
    for (const other of [world.orgKeys[D1], world.orgKeys[AUTHORITY], newOrgKeyPair()]) {
      expect(() => openSealed(short, other.privateKeyPem, request.requestId)).toThrow(/does not open/);
    }
    expect(() => openSealed(short, requestKey.privateKeyPem, 'par_another')).toThrow(/does not open/);
    expect(household.sessionKey).toHaveLength(32);
  });

  it.each([
    ['data sealed with the session key the old way', Buffer.alloc(100, 1)],
    ['a sealed blob cut short', Buffer.alloc(sealedSize(PERSONAL_DATA_PADDED_BYTES) - 1, 1)],
  ])('when the grant carries %s then it is INVALID_ARGUMENT and nothing changes', async (_label, data) => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    const before = world.ledger.dump();
    await expect(grant(world, household.subscriber, request.requestId, data)).rejects.toThrow(
      /^INVALID_ARGUMENT: personal data: sealed data must be exactly/,
    );
    expect(world.ledger.dump()).toEqual(before);
    expect(world.ledger.privateState.size).toBe(0);
  });

  it('when the grant carries no personal data then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await expect(grant(world, household.subscriber, request.requestId)).rejects.toThrow(
      /^INVALID_ARGUMENT: the sealed personal data must come as transient field "personalData"/,
    );
  });

  it.each([
    ['another subscriber', id.subscriber('hh-999')],
    ['the operator', id.d1Operator],
    ['the requesting auditor', id.auditor],
    [
      'a clone of the household (same subscriber id, another key)',
      id.subscriber('hh-001', undefined, 'key-c'),
    ],
  ])('when %s grants then it is FORBIDDEN and nothing changes', async (_label, who) => {
    const world = await World.create();
    const { request } = await pendingRequest(world);
    const before = world.ledger.dump();
    await expect(grant(world, who, request.requestId, sealedFor(request))).rejects.toThrow(/^FORBIDDEN/);
    expect(world.ledger.dump()).toEqual(before);
    expect(world.ledger.privateState.size).toBe(0);
  });

  it('when a decided request is granted again then it is CONFLICT', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await world.run(household.subscriber, (ctx) => pd.DenyPersonalData(ctx, request.requestId, 'not needed'));
    await expect(grant(world, household.subscriber, request.requestId, sealedFor(request))).rejects.toThrow(
      /^CONFLICT: request par_[0-9a-f]{24} was already decided: DENIED/,
    );
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
    await grant(world, household.subscriber, request.requestId, sealedFor(request));
    await expect(
      world.run(id.d1Operator, (ctx) => pd.FetchPersonalData(ctx, request.requestId)),
    ).rejects.toThrow(/^FORBIDDEN: only the requesting organization AuthorityMSP/);
  });

  it('when the collection has purged the delivery then fetching is NOT_FOUND', async () => {
    const world = await World.create();
    const { household, request } = await pendingRequest(world);
    await grant(world, household.subscriber, request.requestId, sealedFor(request));
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
        pd.RequestPersonalData(ctx, household.subscriptionId, 'billing dispute', aRequestKey()),
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
    await grant(world, household.subscriber, request.requestId, sealedFor(request));
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
