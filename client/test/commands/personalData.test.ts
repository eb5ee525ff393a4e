import {
  newOrgKeyPair,
  type OrgKeyPair,
  openSealed,
  PERSONAL_DATA_PADDED_BYTES,
  sealForRecipient,
  sealPersonalData,
} from '@smartmeter/crypto';
import type { AccessRequestRecord } from '@smartmeter/domain';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessRequestRecord, chaincodeRefusal, householdSubscription } from './support/fixtures';
import { authorityProfile, householdsProfile, TestWorld } from './support/world';

function authorityWorld(): TestWorld {
  const world = new TestWorld();
  world.profile = authorityProfile(world.dir);
  return world;
}

/** A request key committed to the authority's keystore, as personal-data request leaves it. */
function requestKeyIn(world: TestWorld, requestId = 'par_000000000000000000000001'): string {
  const pending = world.keystore.newPendingRequestKey('northgrid');
  world.keystore.commitRequestKey(pending.pendingPath, 'northgrid', requestId);
  return pending.pair.publicKeyPem;
}

describe('meterctl personal-data request', () => {
  it("when the authority requests then the request's own public key is sent and its private key kept", async () => {
    const world = authorityWorld();
    const request = jest.fn(async (_id: string, reason: string, requestPublicKeyPem: string) =>
      accessRequestRecord({ reason, requestPublicKeyPem }),
    );
    world.clients.personalData = { request };

    const result = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'request',
      'sub_000000000000000000000001',
      '--reason',
      'fraud case 117',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'par_000000000000000000000001 for sub_000000000000000000000001 by AuthorityMSP: PENDING\n  reason: fraud case 117\n',
    });
    expect(request.mock.calls[0].slice(0, 2)).toEqual(['sub_000000000000000000000001', 'fraud case 117']);
    expect(world.keystore.requestPrivateKey('northgrid', 'par_000000000000000000000001')).toMatch(
      /PRIVATE KEY/,
    );
  });

  it('when the request is refused then the key made for it is destroyed (exit 1)', async () => {
    const world = authorityWorld();
    world.clients.personalData = {
      request: async () => {
        throw chaincodeRefusal('NOT_FOUND: subscription sub_000000000000000000000009 does not exist');
      },
    };

    const result = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'request',
      'sub_000000000000000000000009',
      '--reason',
      'r',
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'meterctl: NOT_FOUND: subscription sub_000000000000000000000009 does not exist (127.0.0.1:7051, Distributor1MSP)\n',
    });
    expect(readdirSync(join(world.keystore.dir, 'request-keys', 'northgrid'))).toEqual([]);
  });

  it('when the authority gives no --channel then it exits 2 before connecting (it is on two channels)', async () => {
    const world = authorityWorld();

    expect(
      await world.run('personal-data', 'request', 'sub_000000000000000000000001', '--reason', 'r'),
    ).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'meterctl: AuthorityMSP is on channels northgrid, southgrid: choose one with -c <channel>, e.g. -c northgrid\n',
    });
    expect(world.calls).toEqual([]);
  });
});

describe('meterctl personal-data grant', () => {
  /** The household's world with a pending request by the authority, whose request key pair is `requester`. */
  function householdWorld(): {
    world: TestWorld;
    sessionKey: Buffer;
    grant: jest.Mock;
    requester: OrgKeyPair;
  } {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const { sessionKey, subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
    const requester = newOrgKeyPair();
    const pending = accessRequestRecord({ requestPublicKeyPem: requester.publicKeyPem });
    const grant = jest.fn(async (): Promise<AccessRequestRecord> => ({
      ...pending,
      status: 'GRANTED',
      decidedAt: '2026-11-11T08:00:00Z',
    }));
    world.clients = {
      personalData: { get: async () => pending, grant },
      subscriptions: { get: async () => subscription },
    };
    return { world, sessionKey, grant, requester };
  }

  it("when the household grants a data file then it goes sealed for the request's key to the distributor and the authority", async () => {
    const { world, grant, requester } = householdWorld();
    const data = world.file('me.json', '{"name":"A. Household"}');

    const result = await world.run(
      '-i',
      'hh-17',
      'personal-data',
      'grant',
      'par_000000000000000000000001',
      '--data-file',
      data,
      '--key',
      'home',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'par_000000000000000000000001 for sub_000000000000000000000001 by AuthorityMSP: GRANTED, decided 2026-11-11T08:00:00Z\n  reason: fraud case 117\n',
    });
    const [requestId, sealed, endorsers] = grant.mock.calls[0] as [string, Buffer, string[]];
    expect(requestId).toBe('par_000000000000000000000001');
    expect(endorsers).toEqual(['Distributor1MSP', 'AuthorityMSP']);
    expect(openSealed(sealed, requester.privateKeyPem, 'par_000000000000000000000001').toString()).toBe(
      '{"name":"A. Household"}',
    );
  });

  it("when the household grants the meter's sealed copy then it is opened with the session key and re-sealed", async () => {
    const { world, sessionKey, grant, requester } = householdWorld();
    const sealedFile = world.file(
      'personal-data.sealed',
      sealPersonalData(Buffer.from('from the meter'), sessionKey, 'sub_000000000000000000000001'),
    );

    const result = await world.run(
      '-i',
      'hh-17',
      'personal-data',
      'grant',
      'par_000000000000000000000001',
      '--sealed-file',
      sealedFile,
      '--key',
      'home',
    );

    expect(result.code).toBe(0);
    const sealed = (grant.mock.calls[0] as [string, Buffer])[1];
    expect(openSealed(sealed, requester.privateKeyPem, 'par_000000000000000000000001').toString()).toBe(
      'from the meter',
    );
  });

  it('when both or neither of --data-file and --sealed-file are given then it exits 2 and sends nothing', async () => {
    const { world } = householdWorld();

    const neither = await world.run(
      'personal-data',
      'grant',
      'par_000000000000000000000001',
      '--key',
      'home',
    );
    const both = await world.run(
      'personal-data',
      'grant',
      'par_000000000000000000000001',
      '--key',
      'home',
      '--data-file',
      'a',
      '--sealed-file',
      'b',
    );

    for (const result of [neither, both])
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: 'meterctl: give exactly one of --data-file and --sealed-file\n',
      });
    expect(world.calls).toEqual([]);
  });

  it('when the data file is empty then it exits 2 with the allowed size and sends nothing', async () => {
    const { world } = householdWorld();
    const empty = world.file('empty.json', '');

    const result = await world.run(
      'personal-data',
      'grant',
      'par_000000000000000000000001',
      '--data-file',
      empty,
      '--key',
      'home',
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: personal data file ${empty} must hold 1 to 8188 bytes\n`,
    });
    expect(world.calls).toEqual([]);
  });
});

describe('meterctl personal-data fetch', () => {
  it("when the data was granted then it is opened with the request's key and printed", async () => {
    const world = authorityWorld();
    const publicKeyPem = requestKeyIn(world);
    const sealed = sealForRecipient(
      Buffer.from('{"name":"A. Household"}'),
      publicKeyPem,
      'par_000000000000000000000001',
      PERSONAL_DATA_PADDED_BYTES,
    );
    world.clients.personalData = {
      fetch: async () => ({
        docType: 'personalDataDelivery',
        requestId: 'par_000000000000000000000001',
        subscriptionId: 'sub_000000000000000000000001',
        sealedPersonalData: sealed.toString('base64'),
        deliveredAt: '2026-11-11T08:00:00Z',
      }),
    };

    const human = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'fetch',
      'par_000000000000000000000001',
    );
    const json = await world.run(
      '--json',
      '-c',
      'northgrid',
      'personal-data',
      'fetch',
      'par_000000000000000000000001',
    );
    const out = join(world.dir, 'data', 'me.json');
    const file = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'fetch',
      'par_000000000000000000000001',
      '--out',
      out,
    );

    expect(human).toEqual({ code: 0, stderr: '', stdout: '{"name":"A. Household"}\n' });
    expect(JSON.parse(json.stdout)).toEqual({
      requestId: 'par_000000000000000000000001',
      subscriptionId: 'sub_000000000000000000000001',
      deliveredAt: '2026-11-11T08:00:00Z',
      data: '{"name":"A. Household"}',
    });
    expect(file).toEqual({
      code: 0,
      stdout: '',
      stderr: `wrote the personal data of sub_000000000000000000000001 to ${out}\n`,
    });
    expect(readFileSync(out, 'utf8')).toBe('{"name":"A. Household"}');
  });

  it('when the peers have purged the data (NOT_FOUND) then the request key is destroyed, said so, and it exits 1', async () => {
    const world = authorityWorld();
    requestKeyIn(world);
    world.clients.personalData = {
      fetch: async () => {
        throw chaincodeRefusal(
          'NOT_FOUND: no personal data for par_000000000000000000000001 (purged or never granted)',
        );
      },
    };

    const result = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'fetch',
      'par_000000000000000000000001',
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        'destroyed the key of par_000000000000000000000001: its data was purged, no copy can be opened',
        'meterctl: NOT_FOUND: no personal data for par_000000000000000000000001 (purged or never granted) (127.0.0.1:7051, Distributor1MSP)',
        '',
      ].join('\n'),
    });
    expect(existsSync(world.keystore.requestKeyPath('northgrid', 'par_000000000000000000000001'))).toBe(
      false,
    );
  });

  it('when the key is forgotten then forget says so without connecting, and says so again when it is gone', async () => {
    const world = authorityWorld();
    requestKeyIn(world);

    const first = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'forget',
      'par_000000000000000000000001',
    );
    const again = await world.run(
      '-c',
      'northgrid',
      'personal-data',
      'forget',
      'par_000000000000000000000001',
    );

    expect(first).toEqual({
      code: 0,
      stderr: '',
      stdout: 'destroyed the key of par_000000000000000000000001\n',
    });
    expect(again).toEqual({
      code: 0,
      stderr: '',
      stdout: 'no key of par_000000000000000000000001 in this keystore (already destroyed?)\n',
    });
    expect(world.connections).toBe(0);
  });
});
