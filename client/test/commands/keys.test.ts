import { newOrgKeyPair, publicKeyFingerprint } from '@smartmeter/crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  chaincodeRefusal,
  CHANNEL,
  orgKeyInKeystore,
  orgKeyRecord,
  subscriptionRecord,
} from './support/fixtures';
import { TestWorld } from './support/world';

const D1 = 'Distributor1MSP';
const NO_KEY = chaincodeRefusal(
  'NOT_FOUND: Distributor1MSP has not published an encryption key on this channel',
);

/** A world whose ledger has v`version` of Distributor1's key current, with that public key. */
function worldWithCurrentKey(
  version: number,
  publicKeyPem: string,
): { world: TestWorld; publish: jest.Mock } {
  const world = new TestWorld();
  const publish = jest.fn(async (pem: string) =>
    orgKeyRecord({ version: version + 1, publicKeyPem: pem, fingerprint: publicKeyFingerprint(pem) }),
  );
  const current = orgKeyRecord({
    version,
    publicKeyPem,
    fingerprint: publicKeyFingerprint(publicKeyPem),
    publishedAt: '2026-11-09T08:00:00Z',
  });
  world.clients.orgKeys = { current: async () => current, publish };
  return { world, publish };
}

/** The files of the organization's keys in the world's keystore (pending ones too). */
function orgKeyFiles(world: TestWorld): string[] {
  const dir = dirname(world.keystore.orgKeyPath(CHANNEL, D1, 1));
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('meterctl keys publish', () => {
  it('when the organization has no key on the channel then the public key is sent and the private key kept under its version', async () => {
    const world = new TestWorld();
    const publish = jest.fn(async (publicKeyPem: string) => orgKeyRecord({ version: 1, publicKeyPem }));
    world.clients.orgKeys = {
      current: async () => {
        throw NO_KEY;
      },
      publish,
    };

    const result = await world.run('keys', 'publish');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'published Distributor1MSP encryption key v1 (fingerprint 0123456789abcdef...)\n',
    });
    expect(publish.mock.calls[0][0]).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(world.methodsCalled()).toEqual(['orgKeys.current', 'orgKeys.publish']);
    expect(orgKeyFiles(world)).toEqual(['v1.pem']);
  });

  it('when this keystore published the current key then publishing again exits 2, names the version and publishes nothing', async () => {
    const world = new TestWorld();
    const publicKeyPem = orgKeyInKeystore(world.keystore, D1, 2);
    const { world: ledger, publish } = worldWithCurrentKey(2, publicKeyPem);
    world.clients = ledger.clients;

    const result = await world.run('keys', 'publish');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: Distributor1MSP's current encryption key on northgrid is v2 (published 2026-11-09T08:00:00Z), and this keystore (${world.keystore.dir}) holds its private key: nothing to publish. To replace it with a new key (v3), add --rotate\n`,
    });
    expect(publish).not.toHaveBeenCalled();
    expect(orgKeyFiles(world)).toEqual(['v2.pem']);
  });

  it('when another keystore published the current key then publishing exits 2 and says this keystore lacks its private key', async () => {
    const { world, publish } = worldWithCurrentKey(2, newOrgKeyPair().publicKeyPem);
    orgKeyInKeystore(world.keystore, D1, 1);

    const result = await world.run('keys', 'publish');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `meterctl: Distributor1MSP's current encryption key on northgrid is v2 (published 2026-11-09T08:00:00Z), and this keystore (${world.keystore.dir}) does not hold its private key: it was published from another keystore; use that one (-k <folder> or METERCTL_HOME). Publishing here would make new requests wrapped for a key only this keystore opens; to do so anyway, add --rotate\n`,
    );
    expect(publish).not.toHaveBeenCalled();
    expect(orgKeyFiles(world)).toEqual(['v1.pem']);
  });

  it("when the keystore's file of the current version holds another key (an earlier network's) then it does not count as held", async () => {
    const { world } = worldWithCurrentKey(1, newOrgKeyPair().publicKeyPem);
    orgKeyInKeystore(world.keystore, D1, 1);

    const result = await world.run('keys', 'publish');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does not hold its private key');
  });

  it('when --rotate is given then a new version replaces the current one and the old private key stays in the keystore', async () => {
    const world = new TestWorld();
    const { world: ledger, publish } = worldWithCurrentKey(2, orgKeyInKeystore(world.keystore, D1, 2));
    world.clients = ledger.clients;

    const result = await world.run('--json', 'keys', 'publish', '--rotate');
    const record = publish.mock.results[0].value as Promise<{ version: number; fingerprint: string }>;

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await record);
    expect(orgKeyFiles(world)).toEqual(['v2.pem', 'v3.pem']);
    expect(world.keystore.holdsOrgKey(CHANNEL, D1, 3, (await record).fingerprint)).toBe(true);
  });

  it('when --rotate is given then the line says which version it replaced', async () => {
    const { world } = worldWithCurrentKey(4, newOrgKeyPair().publicKeyPem);

    const result = await world.run('keys', 'publish', '--rotate');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^published Distributor1MSP encryption key v5 \(fingerprint [0-9a-f]{16}\.\.\.\), replacing v4\n$/,
    );
  });

  it('when the current key cannot be read then the refusal is printed and nothing is published', async () => {
    const world = new TestWorld();
    const publish = jest.fn();
    world.clients.orgKeys = {
      current: async () => {
        throw chaincodeRefusal('FORBIDDEN: caller is not a member of this channel');
      },
      publish,
    };

    const result = await world.run('keys', 'publish');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('FORBIDDEN: caller is not a member of this channel');
    expect(publish).not.toHaveBeenCalled();
  });
});

describe('a grant for an organization key this keystore does not hold', () => {
  /** Distributor1's grant is for v2, published from another keystore; this one holds v1 only. */
  function otherKeystoreWorld(): { world: TestWorld; id: string } {
    const world = new TestWorld();
    orgKeyInKeystore(world.keystore, D1, 1);
    const subscription = subscriptionRecord(
      Buffer.alloc(32, 3),
      [{ mspId: D1, publicKeyPem: newOrgKeyPair().publicKeyPem, version: 2 }],
      { status: 'ACTIVE' },
    );
    world.clients = {
      subscriptions: { get: async () => subscription, approve: jest.fn() },
      billing: { issue: jest.fn() },
      measurements: { all: async () => [] },
    };
    return { world, id: subscription.subscriptionId };
  }

  function missingKeyLine(world: TestWorld): string {
    const path = join(world.keystore.dir, 'org-keys', 'northgrid', D1, 'v2.pem');
    return `meterctl: no private key for version 2 of Distributor1MSP's encryption key on northgrid in the keystore ${world.keystore.dir} (it needs ${path}; this keystore holds v1). v2 was published from another keystore: run with that one (-k <folder> or METERCTL_HOME), or copy its org-keys/northgrid/Distributor1MSP/v2.pem here; if that key is lost, publish a new one from this keystore (meterctl keys publish --rotate) and have the household request the subscription again\n`;
  }

  it('when approving then it exits 2 naming the keystore, the version and the fix, and approves nothing', async () => {
    const { world, id } = otherKeystoreWorld();

    const result = await world.run('subscription', 'approve', id, '--tariff', 't', '--region', 'r');

    expect(result).toEqual({ code: 2, stdout: '', stderr: missingKeyLine(world) });
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });

  it('when issuing a bill then it exits 2 with the same line and issues nothing', async () => {
    const { world, id } = otherKeystoreWorld();

    const result = await world.run('bill', 'issue', id, '--from', '2026-11-01', '--to', '2026-11-02');

    expect(result).toEqual({ code: 2, stdout: '', stderr: missingKeyLine(world) });
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });

  it('when reading then it exits 2 with the same line', async () => {
    const { world, id } = otherKeystoreWorld();

    const result = await world.run('readings', 'list', id, '--from', '2026-11-01', '--to', '2026-11-02');

    expect(result).toEqual({ code: 2, stdout: '', stderr: missingKeyLine(world) });
  });

  it('when the keystore holds no version at all then the line says so', async () => {
    const { world, id } = otherKeystoreWorld();
    const empty = new TestWorld();
    empty.clients = world.clients;

    const result = await empty.run('subscription', 'check-grant', id);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('this keystore holds no version)');
  });
});

describe('meterctl keys', () => {
  it('when --history is asked then every version is listed, as a table or JSON', async () => {
    const world = new TestWorld();
    const versions = [orgKeyRecord(), orgKeyRecord({ version: 2, publishedAt: '2026-11-09T08:00:00Z' })];
    world.clients.orgKeys = { history: async () => versions };

    const table = await world.run('keys', 'show', 'Distributor1MSP', '--history');
    const json = await world.run('--json', 'keys', 'show', 'Distributor1MSP', '--history');

    expect(table).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'MSP              VERSION  PUBLISHED             FINGERPRINT',
        'Distributor1MSP  1        2026-11-01T08:00:00Z  0123456789abcdef0123456789abcdef',
        'Distributor1MSP  2        2026-11-09T08:00:00Z  0123456789abcdef0123456789abcdef',
        '',
      ].join('\n'),
    });
    expect(json.stdout).toBe(`${JSON.stringify(versions, null, 2)}\n`);
    expect(world.methodsCalled()).toEqual(['orgKeys.history', 'orgKeys.history']);
  });

  it('when a session key is made and listed then its id is printed and the list shows it (CSV), without the key', async () => {
    const world = new TestWorld();

    const made = await world.run('keys', 'new', 'home');
    const { keyId, createdAt, key } = world.keystore.sessionKey('home');
    const listed = await world.run('--csv', 'keys', 'list');

    expect(made).toEqual({ code: 0, stderr: '', stdout: `session key home: key id ${keyId}\n` });
    expect(listed).toEqual({
      code: 0,
      stderr: '',
      stdout: `name,key_id,created,rotations\nhome,${keyId},${createdAt},0\n`,
    });
    expect(listed.stdout).not.toContain(key);
    expect(world.connections).toBe(0);
  });

  it('when a session key of that name exists then keys new exits 2 and points at rotate', async () => {
    const world = new TestWorld();
    world.keystore.newSessionKey('home');

    expect(await world.run('keys', 'new', 'home')).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: a session key named home exists already; use meterctl keys rotate home\n`,
    });
  });
});
