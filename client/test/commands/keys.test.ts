import { existsSync } from 'node:fs';
import { orgKeyRecord } from './support/fixtures';
import { TestWorld } from './support/world';

describe('meterctl keys', () => {
  it('when the organization publishes then the public key is sent and the private key kept under its version', async () => {
    const world = new TestWorld();
    const publish = jest.fn(async (publicKeyPem: string) => orgKeyRecord({ version: 3, publicKeyPem }));
    world.clients.orgKeys = { publish };

    const result = await world.run('keys', 'publish');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'published Distributor1MSP encryption key v3 (fingerprint 0123456789abcdef...)\n',
    });
    expect(publish.mock.calls[0][0]).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(existsSync(world.keystore.orgKeyPath('northgrid', 'Distributor1MSP', 3))).toBe(true);
  });

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
      stdout: `name,key id,created,rotations\nhome,${keyId},${createdAt},0\n`,
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
