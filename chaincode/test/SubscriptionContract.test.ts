import { newOrgKeyPair, newSessionKey, pairingProof } from '@smartmeter/crypto';
import type { Page, SubscriptionRecord, SubscriptionRequest } from '@smartmeter/domain';
import { approval, AUTHORITY, contracts, D1, H1, H2, id, parse, World } from './support/fixtures';

const sub = contracts.subscription;

describe('Subscription contract: request', () => {
  it('when a subscriber requests then a REQUESTED record with pseudonymous ids only is stored', async () => {
    const world = await World.create();
    const household = await world.requested({ subscriberId: 'hh-042', meterId: 'MTR-9' });
    const record = await world.subscription(household.subscriptionId);

    expect(household.subscriptionId).toMatch(/^sub_[0-9a-f]{24}$/);
    expect(record).toMatchObject({
      docType: 'subscription',
      channel: 'northgrid',
      distributorMspId: D1,
      subscriberId: 'hh-042',
      meterId: 'MTR-9',
      requestedPlan: 'residential-tou',
      status: 'REQUESTED',
      privacyMode: 'disclosed',
      requestedAt: '2026-01-15T10:02:00Z',
    });
    expect(Object.keys(record).sort()).toEqual(
      [
        'channel',
        'distributorMspId',
        'docType',
        'keyGrants',
        'keyId',
        'meterId',
        'pairingCommitment',
        'privacyMode',
        'requestedAt',
        'requestedPlan',
        'status',
        'subscriberId',
        'subscriberKeyFingerprint',
        'subscriptionId',
        'updatedAt',
      ].sort(),
    );
    // Bound to the key of the certificate that asked (test certificate key-a).
    expect(record.subscriberKeyFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(record.keyGrants.map((grant) => [grant.mspId, grant.orgKeyVersion])).toEqual([
      [D1, 1],
      [AUTHORITY, 1],
    ]);
    expect(world.ledger.events.at(-1)).toEqual({
      name: 'SubscriptionRequested',
      payload: `{"distributorMspId":"Distributor1MSP","subscriptionId":"${household.subscriptionId}"}`,
    });
  });

  it.each([
    ['an operator', id.d1Operator],
    ['a meter', id.meter()],
    ['a subscriber without subscriberId', { mspId: H1, attributes: { role: 'subscriber' } }],
    [
      "a role=subscriber certificate from the distributor's own MSP",
      { mspId: D1, attributes: { role: 'subscriber', subscriberId: 'hh-001' } },
    ],
  ])('when %s requests then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    await expect(
      world.run(who, (ctx) => sub.RequestSubscription(ctx, world.requestJson(newSessionKey()))),
    ).rejects.toThrow(/^FORBIDDEN: RequestSubscription needs a household identity/);
  });

  it('when a subscriber of Distributor2 asks Distributor1 then it is FORBIDDEN', async () => {
    const world = await World.create();
    const request = world.requestJson(newSessionKey());
    await expect(
      world.run(id.subscriber('hh-1', H2), (ctx) => sub.RequestSubscription(ctx, request)),
    ).rejects.toThrow(
      /^FORBIDDEN: a household of Distributor2HouseholdsMSP can only subscribe to Distributor2MSP/,
    );
  });

  it.each([
    ['personal data in an extra field', { name: 'Jane Doe' }, /unknown field\(s\): name/],
    ['a bad keyId', { keyId: 'xyz' }, /keyId must be 32 lowercase hex/],
    ['a bad meterId', { meterId: 'meter id with spaces' }, /meterId must be 1-64 characters/],
    ['a short pairing commitment', { pairingCommitment: 'ab' }, /pairingCommitment must be a SHA-256/],
    ['one key grant only', { keyGrants: [] }, /keyGrants must list the session key wrapped/],
  ])(
    'when the request has %s then it is INVALID_ARGUMENT and nothing is written',
    async (_label, override, message) => {
      const world = await World.create();
      const before = world.ledger.state.size;
      const request = world.requestJson(newSessionKey(), 'MTR-001', override);
      const attempt = world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, request));
      await expect(attempt).rejects.toThrow(message);
      await expect(
        world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, request)),
      ).rejects.toThrow(/^INVALID_ARGUMENT/);
      expect(world.ledger.state.size).toBe(before);
    },
  );

  it('when the request is not JSON then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    await expect(world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, '{nope'))).rejects.toThrow(
      /^INVALID_ARGUMENT: request is not valid JSON/,
    );
  });

  it('when a wrapped key is malformed then it is INVALID_ARGUMENT naming the grant', async () => {
    const world = await World.create();
    const request = parse<SubscriptionRequest>(world.requestJson(newSessionKey()));
    request.keyGrants[1].wrappedKey.nonce = 'AAAA';
    await expect(
      world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, JSON.stringify(request))),
    ).rejects.toThrow(/^INVALID_ARGUMENT: keyGrants\[1\]\.wrappedKey: nonce must be 12 bytes/);
  });

  it('when the authority has not published a key then the request is NOT_FOUND', async () => {
    const world = new World();
    await world.publishKey(id.d1Operator, D1);
    world.orgKeys[AUTHORITY] = newOrgKeyPair();
    await expect(
      world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, world.requestJson(newSessionKey()))),
    ).rejects.toThrow(/^NOT_FOUND: AuthorityMSP has not published an encryption key/);
  });

  it('when the key was wrapped for an old org key version then the request is CONFLICT', async () => {
    const world = await World.create();
    const stale = world.requestJson(newSessionKey());
    await world.publishKey(id.d1Operator, D1);
    await expect(world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, stale))).rejects.toThrow(
      /^CONFLICT: the key for Distributor1MSP is wrapped for key version 1, but the current one is 2/,
    );
  });

  it('when a session key is used twice then the second request is ALREADY_EXISTS', async () => {
    const world = await World.create();
    const key = newSessionKey();
    await world.run(id.subscriber('a'), (ctx) => sub.RequestSubscription(ctx, world.requestJson(key, 'M-1')));
    await expect(
      world.run(id.subscriber('b'), (ctx) => sub.RequestSubscription(ctx, world.requestJson(key, 'M-2'))),
    ).rejects.toThrow(/^ALREADY_EXISTS: session key [0-9a-f]{32} already belongs/);
  });

  it('when a meter already serves an open subscription then a second request for it is CONFLICT', async () => {
    const world = await World.create();
    await world.requested({ subscriberId: 'a', meterId: 'M-1' });
    await expect(world.requested({ subscriberId: 'b', meterId: 'M-1' })).rejects.toThrow(
      /^CONFLICT: meter M-1 already serves subscription/,
    );
  });
});

describe('Subscription contract: approval, pairing and end', () => {
  it('when the operator approves then the subscription is APPROVED with interval, tariff, region and start', async () => {
    const world = await World.create();
    const household = await world.approved();
    const record = await world.subscription(household.subscriptionId);
    expect(record.status).toBe('APPROVED');
    expect(record.approval).toEqual({ ...approval, approvedAt: '2026-01-15T10:03:00Z' });
  });

  it.each([
    ['an operator of another distributor', id.d2Operator],
    ['an auditor', id.auditor],
    ['the subscriber', id.subscriber()],
  ])('when %s approves then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.requested();
    await expect(
      world.run(who, (ctx) =>
        sub.ApproveSubscription(ctx, household.subscriptionId, JSON.stringify(approval)),
      ),
    ).rejects.toThrow(/^FORBIDDEN: ApproveSubscription needs an operator of Distributor1MSP/);
  });

  it.each([
    ['an interval that is not allowed', { intervalSeconds: 1000 }, /intervalSeconds must be one of/],
    [
      'a start not aligned to the interval',
      { startDate: '2026-01-14T00:10:00Z' },
      /aligned to the 1800-second/,
    ],
    ['a start date that is not ISO', { startDate: '14/01/2026' }, /startDate must be an ISO 8601 UTC time/],
    ['an impossible date', { startDate: '2026-02-30T00:00:00Z' }, /not a real calendar time/],
    ['a bad region code', { regionCode: 'North D3' }, /regionCode must be a grid area path/],
    ['a start too far back', { startDate: '2025-10-01T00:00:00Z' }, /too far in the past/],
  ])('when the approval has %s then it is INVALID_ARGUMENT', async (_label, override, message) => {
    const world = await World.create();
    const household = await world.requested();
    const json = JSON.stringify({ ...approval, ...override });
    await expect(
      world.run(id.d1Operator, (ctx) => sub.ApproveSubscription(ctx, household.subscriptionId, json)),
    ).rejects.toThrow(message);
  });

  it('when an approved subscription is approved again then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.approved();
    await expect(
      world.run(id.d1Operator, (ctx) =>
        sub.ApproveSubscription(ctx, household.subscriptionId, JSON.stringify(approval)),
      ),
    ).rejects.toThrow(/^CONFLICT: cannot approve .* it is APPROVED/);
  });

  it('when an unknown subscription is approved then it is NOT_FOUND', async () => {
    const world = await World.create();
    await expect(
      world.run(id.d1Operator, (ctx) =>
        sub.ApproveSubscription(ctx, `sub_${'0'.repeat(24)}`, JSON.stringify(approval)),
      ),
    ).rejects.toThrow(/^NOT_FOUND: subscription sub_0{24} does not exist/);
  });

  it('when the operator rejects then it is REJECTED with the reason and its session key is retired', async () => {
    const world = await World.create();
    const household = await world.requested();
    await world.run(id.d1Operator, (ctx) =>
      sub.RejectSubscription(ctx, household.subscriptionId, 'meter not found'),
    );
    const record = await world.subscription(household.subscriptionId);
    expect(record).toMatchObject({ status: 'REJECTED', rejection: { reason: 'meter not found' } });
    const again = world.requestJson(household.sessionKey, 'MTR-002');
    await expect(world.run(id.subscriber(), (ctx) => sub.RequestSubscription(ctx, again))).rejects.toThrow(
      /^CONFLICT: session key [0-9a-f]{32} is retired/,
    );
  });

  it('when the paired meter proves the session key then the subscription is ACTIVE', async () => {
    const world = await World.create();
    const household = await world.active();
    expect(await world.subscription(household.subscriptionId)).toMatchObject({
      status: 'ACTIVE',
      pairedAt: expect.any(String) as unknown,
    });
    expect(world.ledger.events.at(-1)?.name).toBe('MeterPaired');
  });

  it('when the meter reveals a proof made with another key then pairing is FORBIDDEN', async () => {
    const world = await World.create();
    const household = await world.approved();
    const wrongProof = pairingProof(newSessionKey(), household.meterId);
    await expect(
      world.run(household.meter, (ctx) => sub.ConfirmPairing(ctx, household.subscriptionId, wrongProof)),
    ).rejects.toThrow(/^FORBIDDEN: the pairing proof does not match/);
  });

  it.each([
    ['another meter', id.meter('MTR-999')],
    ['the same meter id from another distributor', id.meter('MTR-001', H2)],
    ['the subscriber', id.subscriber()],
  ])('when %s confirms pairing then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.approved();
    const proof = pairingProof(household.sessionKey, household.meterId);
    await expect(
      world.run(who, (ctx) => sub.ConfirmPairing(ctx, household.subscriptionId, proof)),
    ).rejects.toThrow(/^FORBIDDEN/);
  });

  it('when pairing comes before approval then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.requested();
    const proof = pairingProof(household.sessionKey, household.meterId);
    await expect(
      world.run(household.meter, (ctx) => sub.ConfirmPairing(ctx, household.subscriptionId, proof)),
    ).rejects.toThrow(/^CONFLICT: cannot pair .* it is REQUESTED/);
  });

  it.each([
    ['the subscriber', id.subscriber(), 'subscriber'],
    ['the operator', id.d1Operator, 'operator'],
  ])('when %s ends the subscription then it is ENDED and the key retired', async (_label, who, role) => {
    const world = await World.create();
    const household = await world.active();
    await world.run(who, (ctx) => sub.EndSubscription(ctx, household.subscriptionId, 'moving house', ''));
    const record = await world.subscription(household.subscriptionId);
    expect(record).toMatchObject({ status: 'ENDED', end: { reason: 'moving house', endedByRole: role } });
    expect(record.end?.effectiveAt).toBe(record.end?.endedAt);
    expect(world.ledger.read(`\u0000retiredKey\u0000${record.keyId}\u0000`)).toContain(
      household.subscriptionId,
    );
  });

  it.each([
    ['another subscriber', id.subscriber('hh-999')],
    ['an auditor', id.auditor],
    ['the meter', id.meter()],
  ])('when %s ends the subscription then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(who, (ctx) => sub.EndSubscription(ctx, household.subscriptionId, 'x', '')),
    ).rejects.toThrow(/^FORBIDDEN: only the subscriber or an operator/);
  });

  it('when an ended subscription is ended again then it is CONFLICT', async () => {
    const world = await World.create();
    const household = await world.active();
    await world.run(id.d1Operator, (ctx) => sub.EndSubscription(ctx, household.subscriptionId, 'x', ''));
    await expect(
      world.run(id.d1Operator, (ctx) => sub.EndSubscription(ctx, household.subscriptionId, 'x', '')),
    ).rejects.toThrow(/^CONFLICT: cannot end/);
  });

  it('when effectiveAt is more than 90 days ahead then it is INVALID_ARGUMENT', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(household.subscriber, (ctx) =>
        sub.EndSubscription(ctx, household.subscriptionId, 'x', '2026-06-01T00:00:00Z'),
      ),
    ).rejects.toThrow(/^INVALID_ARGUMENT: effectiveAt may be at most 90 days ahead/);
  });
});

describe('Subscription contract: reads', () => {
  it.each([
    ['the subscriber', id.subscriber()],
    ['the operator', id.d1Operator],
    ['an auditor', id.auditor],
    ['its meter', id.meter()],
  ])('when %s reads the subscription then it gets it', async (_label, who) => {
    const world = await World.create();
    const household = await world.requested();
    const record = parse<SubscriptionRecord>(
      await world.run(who, (ctx) => sub.GetSubscription(ctx, household.subscriptionId)),
    );
    expect(record.subscriptionId).toBe(household.subscriptionId);
  });

  it.each([
    ['another subscriber', id.subscriber('hh-999')],
    ['an operator of Distributor2', id.d2Operator],
    ['another meter', id.meter('MTR-999')],
    ['an identity without role', id.noRole],
  ])('when %s reads the subscription then it is FORBIDDEN', async (_label, who) => {
    const world = await World.create();
    const household = await world.requested();
    await expect(world.run(who, (ctx) => sub.GetSubscription(ctx, household.subscriptionId))).rejects.toThrow(
      /^FORBIDDEN: .* may not read subscription/,
    );
  });

  it('when a subscriber or meter lists its own then it sees exactly its subscriptions', async () => {
    const world = await World.create();
    const mine = await world.requested({ subscriberId: 'hh-1', meterId: 'M-1' });
    await world.requested({ subscriberId: 'hh-2', meterId: 'M-2' });
    const bySubscriber = parse<SubscriptionRecord[]>(
      await world.run(id.subscriber('hh-1'), (ctx) => sub.ListMySubscriptions(ctx)),
    );
    const byMeter = parse<SubscriptionRecord[]>(
      await world.run(id.meter('M-1'), (ctx) => sub.ListMySubscriptions(ctx)),
    );
    expect(bySubscriber.map((s) => s.subscriptionId)).toEqual([mine.subscriptionId]);
    expect(byMeter.map((s) => s.subscriptionId)).toEqual([mine.subscriptionId]);
    await expect(world.run(id.d1Operator, (ctx) => sub.ListMySubscriptions(ctx))).rejects.toThrow(
      /^FORBIDDEN/,
    );
  });

  it('when an auditor pages by status then pages follow the bookmark and the filter holds', async () => {
    const world = await World.create();
    const requested = [];
    for (let i = 0; i < 3; i++)
      requested.push((await world.requested({ subscriberId: `hh-${i}`, meterId: `M-${i}` })).subscriptionId);
    await world.approved({ subscriberId: 'hh-x', meterId: 'M-x' });

    const first = parse<Page<SubscriptionRecord>>(
      await world.run(id.auditor, (ctx) => sub.ListSubscriptions(ctx, 'REQUESTED', '2', '')),
    );
    const second = parse<Page<SubscriptionRecord>>(
      await world.run(id.auditor, (ctx) => sub.ListSubscriptions(ctx, 'REQUESTED', '2', first.bookmark)),
    );
    expect(first.records).toHaveLength(2);
    expect(first.bookmark).not.toBe('');
    expect(second.bookmark).toBe('');
    expect([...first.records, ...second.records].map((s) => s.subscriptionId).sort()).toEqual(
      requested.sort(),
    );
    const all = parse<Page<SubscriptionRecord>>(
      await world.run(id.d1Operator, (ctx) => sub.ListSubscriptions(ctx, '', '100', '')),
    );
    expect(all.records).toHaveLength(4);
  });

  it('when a subscriber or an operator of another distributor lists all then it is FORBIDDEN or sees none', async () => {
    const world = await World.create();
    await world.requested();
    await expect(
      world.run(id.subscriber(), (ctx) => sub.ListSubscriptions(ctx, '', '10', '')),
    ).rejects.toThrow(/^FORBIDDEN/);
    const other = parse<Page<SubscriptionRecord>>(
      await world.run(id.d2Operator, (ctx) => sub.ListSubscriptions(ctx, '', '10', '')),
    );
    expect(other.records).toEqual([]);
  });

  it.each([
    ['a bad status', 'PAUSED', '10', /status must be empty or one of/],
    ['a page size of 0', '', '0', /pageSize must be an integer from 1 to 100/],
    ['a page size that is not a number', '', 'ten', /pageSize must be an integer/],
  ])('when listing with %s then it is INVALID_ARGUMENT', async (_label, status, size, message) => {
    const world = await World.create();
    await expect(
      world.run(id.auditor, (ctx) => sub.ListSubscriptions(ctx, status, size, '')),
    ).rejects.toThrow(message);
  });

  it('when the history is read then it shows every status the subscription went through', async () => {
    const world = await World.create();
    const household = await world.active();
    const history = parse<{ record: SubscriptionRecord }[]>(
      await world.run(household.subscriber, (ctx) =>
        sub.GetSubscriptionHistory(ctx, household.subscriptionId),
      ),
    );
    expect(history.map((entry) => entry.record.status)).toEqual(['REQUESTED', 'APPROVED', 'ACTIVE']);
  });
});
