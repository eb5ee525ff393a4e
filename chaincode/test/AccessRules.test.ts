import { keyIdOf, newOrgKeyPair, newSessionKey, pairingProof, readingAad } from '@smartmeter/crypto';
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import type { AccessRequestRecord, SubscriptionRecord, BillRecord } from '@smartmeter/domain';
import { requireProposalTimeNearClock, TIME_WINDOW_ENV } from '../src/baseContract';
import { withErrorCode } from '../src/server';
import { approval, contracts, id, parse, period, reading, World, type Household } from './support/fixtures';
import { testCertificate, type FakeIdentity } from './support/memoryContext';

const { subscription, measurement, billing, personalData, pricing } = contracts;

/** A second certificate for the same household or meter: same MSP and attributes, another key. */
const cloneOf = (who: FakeIdentity): FakeIdentity => ({ ...who, certificate: 'key-d' });

async function billableHousehold(world: World): Promise<Household> {
  await world.run(id.d1Operator, (ctx) =>
    pricing.PublishTariff(
      ctx,
      JSON.stringify({
        tariffId: approval.tariffId,
        effectiveFrom: '2026-01-01T00:00:00Z',
        currency: 'GBP',
        utcOffsetMinutes: 0,
        standingChargeMicroPerDay: 0,
        taxBasisPoints: 0,
        pricing: { kind: 'flat', priceMicroPerKwh: 10_000_000 },
      }),
    ),
  );
  const household = await world.active();
  await world.run(household.meter, (ctx) =>
    measurement.SubmitReadings(ctx, JSON.stringify([0, 1, 2, 3].map((n) => reading(household, n, 1000)))),
  );
  return household;
}

describe('a household is its key, not only its subscriber id', () => {
  it.each([
    [
      'read the subscription',
      (ctx: Context, h: Household) => subscription.GetSubscription(ctx, h.subscriptionId),
    ],
    [
      'read its readings',
      (ctx: Context, h: Household) =>
        measurement.GetReadings(ctx, h.subscriptionId, period(0), period(8), '10', ''),
    ],
    [
      'end the subscription',
      (ctx: Context, h: Household) => subscription.EndSubscription(ctx, h.subscriptionId, 'clone', ''),
    ],
    [
      'rebind the subscription to its own key',
      (ctx: Context, h: Household) =>
        subscription.RebindKey(ctx, h.subscriptionId, 'subscriber', testCertificate('subscriber-hh-001')),
    ],
  ])(
    'when a clone of the household (another key, same subscriberId) tries to %s then it is FORBIDDEN and nothing changes',
    async (_label, action) => {
      const world = await World.create();
      const household = await world.active();
      const before = world.ledger.dump();
      await expect(world.run(cloneOf(household.subscriber), (ctx) => action(ctx, household))).rejects.toThrow(
        /^FORBIDDEN/,
      );
      expect(world.ledger.dump()).toEqual(before);
    },
  );

  it('when a clone lists its subscriptions then it sees none of the household`s', async () => {
    const world = await World.create();
    const household = await world.active();
    const own = parse<SubscriptionRecord[]>(
      await world.run(household.subscriber, (ctx) => subscription.ListMySubscriptions(ctx)),
    );
    const clone = parse<SubscriptionRecord[]>(
      await world.run(cloneOf(household.subscriber), (ctx) => subscription.ListMySubscriptions(ctx)),
    );
    expect(own.map((s) => s.subscriptionId)).toEqual([household.subscriptionId]);
    expect(clone).toEqual([]);
  });

  it('when a clone disputes the bill or reads it then it is FORBIDDEN and the bill is unchanged', async () => {
    const world = await World.create();
    const household = await billableHousehold(world);
    const bill = parse<BillRecord>(
      await world.run(
        id.d1Operator,
        (ctx) => billing.IssueBill(ctx, household.subscriptionId, period(0), period(4)),
        { transient: { sessionKey: household.sessionKey } },
      ),
    );
    const clone = cloneOf(household.subscriber);
    await expect(world.run(clone, (ctx) => billing.GetBill(ctx, bill.billId))).rejects.toThrow(/^FORBIDDEN/);
    await expect(world.run(clone, (ctx) => billing.DisputeBill(ctx, bill.billId, 'forged'))).rejects.toThrow(
      /^FORBIDDEN: only the household of .* caller is subscriber hh-001/,
    );
    expect(
      parse<BillRecord>(await world.run(id.d1Operator, (ctx) => billing.GetBill(ctx, bill.billId))).status,
    ).toBe('ISSUED');
  });

  it("when a distributor's own CA issues a role=subscriber certificate then it is no household at all", async () => {
    const world = await World.create();
    const household = await world.active();
    const fromDistributorCa: FakeIdentity = {
      mspId: 'Distributor1MSP',
      attributes: { role: 'subscriber', subscriberId: 'hh-001' },
      certificate: 'key-a',
    };
    await expect(
      world.run(fromDistributorCa, (ctx) =>
        subscription.EndSubscription(ctx, household.subscriptionId, 'x', ''),
      ),
    ).rejects.toThrow(/^FORBIDDEN/);
  });

  it('when the household rebinds to a new certificate then the old key is refused and the new one owns it', async () => {
    const world = await World.create();
    const household = await world.active();
    const renewed: FakeIdentity = { ...household.subscriber, certificate: 'subscriber-hh-001' };
    const rebound = parse<SubscriptionRecord>(
      await world.run(household.subscriber, (ctx) =>
        subscription.RebindKey(
          ctx,
          household.subscriptionId,
          'subscriber',
          testCertificate('subscriber-hh-001'),
        ),
      ),
    );
    expect(rebound.keyRebinds).toHaveLength(1);
    expect(rebound.keyRebinds?.[0]).toMatchObject({ party: 'subscriber' });
    await expect(
      world.run(household.subscriber, (ctx) => subscription.GetSubscription(ctx, household.subscriptionId)),
    ).rejects.toThrow(/^FORBIDDEN/);
    expect(
      parse<SubscriptionRecord>(
        await world.run(renewed, (ctx) => subscription.GetSubscription(ctx, household.subscriptionId)),
      ).subscriberKeyFingerprint,
    ).toBe(rebound.subscriberKeyFingerprint);
  });

  it.each([
    ['a certificate of another role', 'meter-MTR-001', 'subscriber', /must be of role subscriber/],
    ['not a certificate', 'garbage', 'subscriber', /certificatePem must be a PEM certificate/],
    ['an unknown party', 'subscriber-hh-001', 'operator', /party must be subscriber or meter/],
  ])(
    'when the rebind names %s then it is INVALID_ARGUMENT and nothing changes',
    async (_l, cert, party, message) => {
      const world = await World.create();
      const household = await world.active();
      const before = world.ledger.dump();
      const pem = cert === 'garbage' ? 'garbage' : testCertificate(cert as 'meter-MTR-001');
      await expect(
        world.run(household.subscriber, (ctx) =>
          subscription.RebindKey(ctx, household.subscriptionId, party, pem),
        ),
      ).rejects.toThrow(message);
      expect(world.ledger.dump()).toEqual(before);
    },
  );

  it('when the operator tries to rebind a household to its own certificate then it is FORBIDDEN', async () => {
    const world = await World.create();
    const household = await world.active();
    await expect(
      world.run(id.d1Operator, (ctx) =>
        subscription.RebindKey(
          ctx,
          household.subscriptionId,
          'subscriber',
          testCertificate('subscriber-hh-001'),
        ),
      ),
    ).rejects.toThrow(/^FORBIDDEN: only the household/);
  });
});

describe('a meter is the key that paired', () => {
  it('when a clone of the paired meter submits a reading then it is FORBIDDEN and nothing is stored', async () => {
    const world = await World.create();
    const household = await world.active();
    const before = world.ledger.dump();
    await expect(
      world.run(cloneOf(household.meter), (ctx) =>
        measurement.SubmitReading(ctx, JSON.stringify(reading(household, 0))),
      ),
    ).rejects.toThrow(/^FORBIDDEN: meter MTR-001 .* is not the meter of subscription/);
    expect(world.ledger.dump()).toEqual(before);
  });

  it('when the paired meter submits then it is stored, and the pairing recorded its key', async () => {
    const world = await World.create();
    const household = await world.active();
    await world.run(household.meter, (ctx) =>
      measurement.SubmitReading(ctx, JSON.stringify(reading(household, 0))),
    );
    expect((await world.subscription(household.subscriptionId)).meterKeyFingerprint).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  it('when a clone pairs after the meter then it is FORBIDDEN', async () => {
    const world = await World.create();
    const household = await world.approved();
    await world.run(household.meter, (ctx) =>
      subscription.ConfirmPairing(
        ctx,
        household.subscriptionId,
        pairingProof(household.sessionKey, household.meterId),
      ),
    );
    await expect(
      world.run(cloneOf(household.meter), (ctx) =>
        subscription.ConfirmPairing(
          ctx,
          household.subscriptionId,
          pairingProof(household.sessionKey, 'MTR-001'),
        ),
      ),
    ).rejects.toThrow(/^FORBIDDEN/);
  });
});

describe('bookmarks cannot leave their query', () => {
  const attacks = [
    '\u0000bill\u0000',
    '\u0000subscription\u0000',
    '\u0000accessRequest\u0000',
    'zzz',
    'reading/',
  ];

  it.each(attacks)(
    'when GetReadings is given the bookmark %j then it is INVALID_ARGUMENT',
    async (bookmark) => {
      const world = await World.create();
      const household = await billableHousehold(world);
      await expect(
        world.run(household.subscriber, (ctx) =>
          measurement.GetReadings(ctx, household.subscriptionId, period(0), period(4), '2', bookmark),
        ),
      ).rejects.toThrow(/^INVALID_ARGUMENT: bookmark does not belong to this query/);
    },
  );

  const foreign = ['\u0000bill\u0000', '\u0000subscriptionByStatus\u0000', '\u0000orgKey\u0000', 'reading/'];
  it.each([
    [
      'ListSubscriptions',
      (ctx: Context, b: string) => subscription.ListSubscriptions(ctx, '', '10', b),
      ['\u0000bill\u0000', '\u0000orgKey\u0000', 'reading/'],
    ],
    [
      'ListSubscriptions by status',
      (ctx: Context, b: string) => subscription.ListSubscriptions(ctx, 'ACTIVE', '10', b),
      [...foreign, '\u0000subscriptionByStatus\u0000REQUESTED\u0000'],
    ],
    ['ListBills', (ctx: Context, b: string) => billing.ListBills(ctx, '10', b), foreign.slice(1)],
    [
      'ListAccessRequests',
      (ctx: Context, b: string) => personalData.ListAccessRequests(ctx, '10', b),
      foreign,
    ],
  ])(
    'when %s is given a bookmark outside its own records then it is INVALID_ARGUMENT',
    async (_label, list, bookmarks) => {
      const world = await World.create();
      await billableHousehold(world);
      for (const bookmark of bookmarks) {
        await expect(world.run(id.auditor, (ctx) => list(ctx, bookmark))).rejects.toThrow(
          /^INVALID_ARGUMENT: bookmark does not belong to this query/,
        );
      }
    },
  );

  it('when a page hands back its own bookmark then the next page follows', async () => {
    const world = await World.create();
    const household = await billableHousehold(world);
    const first = parse<{ records: unknown[]; bookmark: string }>(
      await world.run(household.subscriber, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(0), period(4), '2', ''),
      ),
    );
    const second = parse<{ records: unknown[]; bookmark: string }>(
      await world.run(household.subscriber, (ctx) =>
        measurement.GetReadings(ctx, household.subscriptionId, period(0), period(4), '2', first.bookmark),
      ),
    );
    expect(first.records).toHaveLength(2);
    expect(second.records).toHaveLength(2);
  });
});

describe('a reading that does not decrypt never blocks billing', () => {
  it('when an old ciphertext sits in the next slot then the bill is issued and lists it as INVALID_READING', async () => {
    const world = await World.create();
    const household = await billableHousehold(world);
    // The ciphertext of slot 0, submitted for slot 4: stored (the ledger cannot decrypt), but it opens nowhere.
    const moved = { ...reading(household, 0), sequence: 5, periodStart: period(4) };
    await world.run(household.meter, (ctx) => measurement.SubmitReading(ctx, JSON.stringify(moved)));
    const bill = parse<BillRecord>(
      await world.run(
        id.d1Operator,
        (ctx) => billing.IssueBill(ctx, household.subscriptionId, period(0), period(6)),
        { transient: { sessionKey: household.sessionKey } },
      ),
    );
    expect(bill.readingCount).toBe(4);
    expect(bill.energyWh).toBe(4000);
    expect(bill.invalidReadings).toEqual([
      { periodStart: period(4), code: 'INVALID_READING', reason: 'does not decrypt in its slot' },
    ]);
    expect(bill.missingPeriods).toEqual([period(5)]);
    expect(JSON.parse(world.ledger.events.at(-1)?.payload ?? '{}')).toMatchObject({ invalidReadings: 1 });
  });

  it('when a reading decrypts in its slot to something that is no reading then it is INVALID_READING too', async () => {
    const world = await World.create();
    const household = await billableHousehold(world);
    const slot = {
      channel: 'northgrid',
      subscriptionId: household.subscriptionId,
      sequence: 5,
      periodStart: period(4),
    };
    // A meter (or anyone with the key) encrypting a negative "reading": the AEAD opens, the payload is invalid.
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', household.sessionKey, nonce);
    cipher.setAAD(readingAad(slot));
    const plaintext = Buffer.from(
      JSON.stringify({ energyWh: -5, quality: 'measured', unit: 'Wh', utility: 'electricity' }).padEnd(
        128,
        ' ',
      ),
    );
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    await world.run(household.meter, (ctx) =>
      measurement.SubmitReading(
        ctx,
        JSON.stringify({
          subscriptionId: slot.subscriptionId,
          sequence: slot.sequence,
          periodStart: slot.periodStart,
          ciphertext: ciphertext.toString('base64'),
          nonce: nonce.toString('base64'),
          keyId: keyIdOf(household.sessionKey),
        }),
      ),
    );
    const bill = parse<BillRecord>(
      await world.run(
        id.d1Operator,
        (ctx) => billing.IssueBill(ctx, household.subscriptionId, period(0), period(5)),
        { transient: { sessionKey: household.sessionKey } },
      ),
    );
    expect(bill.readingCount).toBe(4);
    expect(bill.invalidReadings).toEqual([
      {
        periodStart: period(4),
        code: 'INVALID_READING',
        reason: 'decrypts to no valid reading: energyWh must be a non-negative integer',
      },
    ]);
  });
});

describe('personal-data requests carry a key of their own', () => {
  it('when the request is filed then its public key is on the record', async () => {
    const world = await World.create();
    const household = await world.active();
    const key = newOrgKeyPair();
    const request = parse<AccessRequestRecord>(
      await world.run(id.auditor, (ctx) =>
        personalData.RequestPersonalData(ctx, household.subscriptionId, 'audit', key.publicKeyPem),
      ),
    );
    expect(request.requestPublicKeyPem).toBe(key.publicKeyPem);
    expect(newSessionKey()).toHaveLength(32);
  });
});

describe('proposal time guard', () => {
  const ctxAt = (ms: number) =>
    ({
      stub: { getTxTimestamp: () => ({ seconds: Math.floor(ms / 1000), nanos: 0 }) },
    }) as unknown as Context;

  afterEach(() => {
    Reflect.deleteProperty(process.env, TIME_WINDOW_ENV);
  });

  it.each([
    ['on time', 0, true],
    ['14 minutes ahead', 14 * 60_000, true],
    ['three days ahead', 3 * 86_400_000, false],
    ['16 minutes behind', -16 * 60_000, false],
  ])('when the proposal is %s then the guard %s', (_label, offset, passes) => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const check = () => {
      requireProposalTimeNearClock(ctxAt(now + offset), now);
    };
    if (passes) expect(check).not.toThrow();
    else expect(check).toThrow(/^INVALID_ARGUMENT: the proposal's timestamp .* at most 900 s are allowed/);
  });

  it('when the window is configured then it applies', () => {
    process.env[TIME_WINDOW_ENV] = '60';
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(() => {
      requireProposalTimeNearClock(ctxAt(now + 90_000), now);
    }).toThrow(/at most 60 s/);
  });

  it('when a transaction name is unknown then the refusal carries INVALID_ARGUMENT', async () => {
    const world = await World.create();
    await expect(
      world.run(id.auditor, (ctx) => subscription.unknownTransaction(ctx), { fcn: 'Subscription:Nope' }),
    ).rejects.toThrow(/^INVALID_ARGUMENT: unknown transaction Subscription:Nope/);
  });
});

describe('the chaincode server codes the refusals fabric-shim makes itself', () => {
  it.each([
    ['Contract name is not known: Nope', 'INVALID_ARGUMENT: Contract name is not known: Nope'],
    [
      'Expected 2 parameters, but 1 have been supplied',
      'INVALID_ARGUMENT: Expected 2 parameters, but 1 have been supplied',
    ],
    ['FORBIDDEN: no', 'FORBIDDEN: no'],
    [
      "Cannot read properties of undefined (reading 'x')",
      "INTERNAL: Cannot read properties of undefined (reading 'x')",
    ],
  ])('when the dispatch fails with %j then the client sees %j', (message, expected) => {
    expect(withErrorCode(message)).toBe(expected);
  });
});
