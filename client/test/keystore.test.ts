import { keyIdOf } from '@smartmeter/crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../src/errors';
import { fileMode, Keystore, writeSecretFile } from '../src/keystore';

const fresh = () => new Keystore(join(mkdtempSync(join(tmpdir(), 'keystore-')), 'ks'));

describe('Keystore', () => {
  it('when a session key is created then its file is 0600 in a 0700 folder and its id matches the key', () => {
    const keystore = fresh();
    const stored = keystore.newSessionKey('home');
    const file = join(keystore.dir, 'session-keys', 'home.json');
    expect(fileMode(file)).toBe(0o600);
    expect(statSync(join(keystore.dir, 'session-keys')).mode & 0o777).toBe(0o700);
    expect(stored.keyId).toBe(keyIdOf(Buffer.from(stored.key, 'hex')));
    expect(keystore.sessionKey('home')).toEqual(stored);
  });

  it('when a session key name is taken then new refuses and says to rotate', () => {
    const keystore = fresh();
    keystore.newSessionKey('home');
    expect(() => keystore.newSessionKey('home')).toThrow(/use meterctl keys rotate home/);
  });

  it('when a key is rotated then the name holds a new key and the old one stays findable by id', () => {
    const keystore = fresh();
    const first = keystore.newSessionKey('home');
    const second = keystore.rotateSessionKey('home');
    expect(second.keyId).not.toBe(first.keyId);
    expect(second.previousKeyIds).toEqual([first.keyId]);
    expect(keystore.sessionKeyById(first.keyId)?.toString('hex')).toBe(first.key);
    expect(keystore.sessionKeyById(second.keyId)?.toString('hex')).toBe(second.key);
    expect(fileMode(join(keystore.dir, 'session-keys', 'retired', `${first.keyId}.json`))).toBe(0o600);
  });

  it('when an org key is published then the pending file becomes the version file, 0600, per channel', () => {
    const keystore = fresh();
    const { pair, pendingPath } = keystore.newPendingOrgKey('northgrid', 'AuthorityMSP');
    expect(fileMode(pendingPath)).toBe(0o600);
    const path = keystore.commitOrgKey(pendingPath, 'northgrid', 'AuthorityMSP', 3);
    expect(fileMode(path)).toBe(0o600);
    expect(keystore.orgPrivateKey('northgrid', 'AuthorityMSP', 3)).toBe(pair.privateKeyPem);
    expect(() => keystore.orgPrivateKey('southgrid', 'AuthorityMSP', 3)).toThrow(UsageError);
  });

  it('when an identity is saved then both files are 0600 and it is found by MSP and name', () => {
    const keystore = fresh();
    const files = keystore.saveIdentity('Distributor1MSP', 'mtr-1', 'CERT', 'KEY');
    expect(fileMode(files.keyPath)).toBe(0o600);
    expect(fileMode(files.certPath)).toBe(0o600);
    expect(keystore.identity('Distributor1MSP', 'mtr-1')).toEqual(files);
    expect(keystore.identity('Distributor2MSP', 'mtr-1')).toBeUndefined();
  });

  it('when a secret file existed with wider permissions then writing it makes it 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    const path = join(dir, 'bundle.json');
    writeFileSync(path, 'old', { mode: 0o644 });
    writeSecretFile(path, 'new');
    expect(fileMode(path)).toBe(0o600);
  });

  it('when a name has a path separator then it is refused', () => {
    expect(() => fresh().newSessionKey('../escape')).toThrow(UsageError);
  });
});
