import { keyIdOf, newOrgKeyPair, newSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { runSubscriptionApprove } from '../../src/commands/subscription';
import type { ApprovalTerms } from '../../src/contracts/SubscriptionClient';
import { chaincodeRefusal, orgKeyInKeystore, orgKeyRecord, subscriptionRecord } from './support/fixtures';
import { householdsProfile, TestWorld } from './support/world';

/** A request granted to the distributor (its private key in the world's keystore) and to the authority. */
function requestedIn(world: TestWorld, wrappedKey?: Buffer): SubscriptionRecord {
  const distributorKey = orgKeyInKeystore(world.keystore, 'Distributor1MSP');
  return subscriptionRecord(
    newSessionKey(),
    [
      { mspId: 'Distributor1MSP', publicKeyPem: distributorKey },
      { mspId: 'AuthorityMSP', publicKeyPem: newOrgKeyPair().publicKeyPem, version: 2 },
    ],
    {},
    wrappedKey,
  );
}

function approvedAs(requested: SubscriptionRecord, terms: ApprovalTerms): SubscriptionRecord {
  const at = '2026-11-15T10:07:01Z';
  return { ...requested, status: 'APPROVED', updatedAt: at, approval: { ...terms, approvedAt: at } };
}

/** A world where the ledger holds the request and approving it returns it approved. */
function approvalWorld(wrappedKey?: Buffer): {
  world: TestWorld;
  requested: SubscriptionRecord;
  approve: jest.Mock<Promise<SubscriptionRecord>, [string, ApprovalTerms]>;
} {
  const world = new TestWorld();
  const requested = requestedIn(world, wrappedKey);
  const approve = jest.fn(async (_id: string, terms: ApprovalTerms) => approvedAs(requested, terms));
  world.clients.subscriptions = { get: async () => requested, approve };
  return { world, requested, approve };
}

describe('meterctl subscription approve', () => {
  it('when the grant to the distributor holds the key then it approves from the next boundary and prints the subscription', async () => {
    const { world, requested, approve } = approvalWorld();

    const result = await world.run(
      'subscription',
      'approve',
      'sub_000000000000000000000001',
      '--tariff',
      'tou-2026',
      '--region',
      'north/d1',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'subscription sub_000000000000000000000001 (northgrid): APPROVED',
        '  distributor Distributor1MSP, electricity meter mtr-42, subscriber hh-17, plan standard',
        `  session key ${requested.keyId}, wrapped for Distributor1MSP (key v1), AuthorityMSP (key v2)`,
        '  requested 2026-11-01T09:00:00Z, updated 2026-11-15T10:07:01Z',
        '  approved 2026-11-15T10:07:01Z: every 1800s from 2026-11-15T10:30:00Z, tariff tou-2026, region north/d1',
        '',
      ].join('\n'),
    });
    expect(approve).toHaveBeenCalledWith('sub_000000000000000000000001', {
      intervalSeconds: 1800,
      tariffId: 'tou-2026',
      regionCode: 'north/d1',
      startDate: '2026-11-15T10:30:00Z',
    });
    expect(world.methodsCalled()).toEqual(['subscriptions.get', 'subscriptions.approve']);
  });

  it('when the grant wraps another key then it is refused as INVALID_GRANT (exit 1) and approve is never sent', async () => {
    const other = newSessionKey();
    const { world, requested, approve } = approvalWorld(other);

    const result = await world.run(
      'subscription',
      'approve',
      'sub_000000000000000000000001',
      '--tariff',
      't',
      '--region',
      'r',
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `meterctl: INVALID_GRANT: the key granted to Distributor1MSP on sub_000000000000000000000001 is ${keyIdOf(other)}, not the subscription's key ${requested.keyId}: reject the request\n`,
    });
    expect(approve).not.toHaveBeenCalled();
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });

  it('when --interval or --start is malformed then it exits 2 before connecting and calls nothing', async () => {
    const { world } = approvalWorld();
    const approve = [
      'subscription',
      'approve',
      'sub_000000000000000000000001',
      '--tariff',
      't',
      '--region',
      'r',
    ];

    expect(await world.run(...approve, '--interval', '59')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --interval must be an integer from 60 to 86400 (got "59")\n',
    });
    expect(await world.run(...approve, '--start', 'soon')).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'meterctl: --start must be a UTC time like 2026-01-15T10:00:00Z or a date like 2026-01-15 (got "soon")\n',
    });
    expect(world.connections).toBe(0);
    expect(world.calls).toEqual([]);
  });

  it('when the chaincode refuses then its code, text and peer are printed on stderr (exit 1)', async () => {
    const { world, requested } = approvalWorld();
    world.clients.subscriptions = {
      get: async () => requested,
      approve: async () => {
        throw chaincodeRefusal(
          'CONFLICT: cannot approve subscription sub_000000000000000000000001: it is ACTIVE (needs REQUESTED)',
        );
      },
    };

    const result = await world.run(
      '--json',
      'subscription',
      'approve',
      'sub_000000000000000000000001',
      '--tariff',
      't',
      '--region',
      'r',
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'meterctl: CONFLICT: cannot approve subscription sub_000000000000000000000001: it is ACTIVE (needs REQUESTED) (127.0.0.1:7051, Distributor1MSP)\n',
    });
  });

  it('when the run function is called directly with a start then that start is sent, and --json prints the record', async () => {
    const { world, approve } = approvalWorld();

    await runSubscriptionApprove(world.deps({ json: true }), 'sub_000000000000000000000001', {
      tariffId: 't',
      regionCode: 'r',
      intervalSeconds: 900,
      startDate: '2026-12-01T00:00:00Z',
    });

    expect(approve.mock.calls[0][1]).toEqual({
      intervalSeconds: 900,
      tariffId: 't',
      regionCode: 'r',
      startDate: '2026-12-01T00:00:00Z',
    });
    expect(JSON.parse(world.output().stdout)).toMatchObject({
      subscriptionId: 'sub_000000000000000000000001',
      status: 'APPROVED',
      approval: { intervalSeconds: 900, startDate: '2026-12-01T00:00:00Z' },
    });
  });
});

describe('meterctl subscription check-grant, request, list', () => {
  it('when the grant holds the key then check-grant says OK with the org key version', async () => {
    const { world, requested } = approvalWorld();

    const result = await world.run('subscription', 'check-grant', 'sub_000000000000000000000001');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `OK: the key granted to Distributor1MSP (org key v1) is ${requested.keyId}, the key of sub_000000000000000000000001\n`,
    });
  });

  it("when a household requests then its key is wrapped for its distributor's and the authority's current keys", async () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const stored = world.keystore.newSessionKey('home');
    const keys = { Distributor1MSP: newOrgKeyPair(), AuthorityMSP: newOrgKeyPair() };
    const request = jest.fn(async (json: string) => {
      const parsed = JSON.parse(json) as Pick<SubscriptionRecord, 'meterId' | 'requestedPlan' | 'keyId'>;
      return subscriptionRecord(Buffer.from(stored.key, 'hex'), [], parsed);
    });
    world.clients = {
      orgKeys: {
        current: async (mspId: string) =>
          orgKeyRecord({ mspId, version: 3, publicKeyPem: keys[mspId as keyof typeof keys].publicKeyPem }),
      },
      subscriptions: { request },
    };

    const result = await world.run(
      '-i',
      'hh-17',
      'subscription',
      'request',
      '--meter',
      'mtr-42',
      '--key',
      'home',
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^subscription sub_000000000000000000000001 \(northgrid\): REQUESTED\n/);
    const sent = JSON.parse(request.mock.calls[0][0]) as {
      distributorMspId: string;
      keyId: string;
      requestedPlan: string;
      keyGrants: { mspId: string; orgKeyVersion: number }[];
    };
    expect(sent).toMatchObject({
      distributorMspId: 'Distributor1MSP',
      keyId: stored.keyId,
      requestedPlan: 'standard',
    });
    expect(sent.keyGrants.map((g) => [g.mspId, g.orgKeyVersion])).toEqual([
      ['Distributor1MSP', 3],
      ['AuthorityMSP', 3],
    ]);
  });

  it('when the profile is not a households profile then request exits 2 and says which profile to use', async () => {
    const world = new TestWorld();
    world.keystore.newSessionKey('home');

    const result = await world.run('subscription', 'request', '--meter', 'mtr-42', '--key', 'home');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "meterctl: distributor1 is not a households profile: a household requests with its distributor's households profile (e.g. .network/profiles/households1.json) and its own identity (-i)\n",
    });
    expect(world.calls).toEqual([]);
  });

  it('when --mine and --status are given then the own list is filtered here and printed as a table', async () => {
    const world = new TestWorld();
    const key = newSessionKey();
    world.clients.subscriptions = {
      mine: async () => [
        subscriptionRecord(key, [], { subscriptionId: 'sub_a', status: 'ACTIVE', approval: undefined }),
        subscriptionRecord(key, [], { subscriptionId: 'sub_00000000000000000000000b', status: 'ENDED' }),
      ],
    };

    const result = await world.run('subscription', 'list', '--mine', '--status', 'active');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'SUBSCRIPTION  STATUS  DISTRIBUTOR      METER   REGION  INTERVAL  UPDATED',
        'sub_a         ACTIVE  Distributor1MSP  mtr-42                    2026-11-01T09:00:00Z',
        '',
      ].join('\n'),
    });
  });

  it('when --status is not a status then list exits 2 and names the statuses', async () => {
    const world = new TestWorld();
    expect(await world.run('subscription', 'list', '--status', 'open')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --status must be one of REQUESTED, APPROVED, REJECTED, ACTIVE, ENDED\n',
    });
    expect(world.connections).toBe(0);
  });

  it('when --party is neither subscriber nor meter then rebind exits 2 before reading the certificate', async () => {
    const world = new TestWorld();
    expect(
      await world.run(
        'subscription',
        'rebind',
        'sub_000000000000000000000001',
        '--party',
        'owner',
        '--certificate',
        '/nonexistent',
      ),
    ).toEqual({ code: 2, stdout: '', stderr: 'meterctl: --party must be subscriber or meter\n' });
    expect(world.calls).toEqual([]);
  });
});
