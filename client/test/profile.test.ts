import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFiles, loadProfile, ProfileError, type ConnectionProfile } from '../src/profile';

const valid: ConnectionProfile = {
  org: 'distributor1',
  mspId: 'Distributor1MSP',
  authorityMspId: 'AuthorityMSP',
  chaincodeName: 'smartmeter',
  channels: ['northgrid'],
  peer: { endpoint: '127.0.0.1:7051', hostAlias: 'peer0.distributor1', tlsRootCertPath: '/n/ca.pem' },
  ca: { url: 'https://127.0.0.1:8054', caName: 'ca-distributor1', tlsCertPath: '/n/ca.pem' },
  defaultIdentity: 'operator',
  identities: { operator: { certPath: '/n/cert.pem', keyPath: '/n/key_sk' } },
};

function writeProfile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'profile-')), 'p.json');
  writeFileSync(file, content);
  return file;
}

describe('connection profiles', () => {
  it('when a profile is complete then it loads unchanged', () => {
    expect(loadProfile(writeProfile(JSON.stringify(valid)))).toEqual(valid);
  });

  it('when the file is missing then the error names the path and the profiles that exist in its folder', () => {
    const folder = mkdtempSync(join(tmpdir(), 'profiles-'));
    for (const name of ['distributor1.json', 'authority.json', 'notes.txt'])
      writeFileSync(join(folder, name), '{}');

    expect(() => loadProfile(join(folder, 'distributer1.json'))).toThrow(
      new ProfileError(
        `no connection profile ${folder}/distributer1.json; the profiles in ${folder} are authority.json, distributor1.json`,
      ),
    );
    expect(() => loadProfile(folder)).toThrow(
      new ProfileError(
        `connection profile ${folder} is a folder, not a profile file; the profiles in ${folder} are authority.json, distributor1.json`,
      ),
    );
  });

  it('when the folder is missing or empty too then the error says so', () => {
    const empty = mkdtempSync(join(tmpdir(), 'profiles-'));
    mkdirSync(join(empty, 'sub'));

    expect(() => loadProfile('/nonexistent/p.json')).toThrow(
      new ProfileError(
        'no connection profile /nonexistent/p.json: the folder /nonexistent does not exist either (./test-network.sh up writes the profiles to .network/profiles/)',
      ),
    );
    expect(() => loadProfile(join(empty, 'p.json'))).toThrow(
      new ProfileError(`no connection profile ${empty}/p.json, and ${empty} holds no profile (*.json)`),
    );
  });

  it('when the file is not JSON then the error says so', () => {
    expect(() => loadProfile(writeProfile('{ nope'))).toThrow(/is not valid JSON/);
  });

  it('when fields are missing then every missing field is listed at once', () => {
    const broken = { ...valid, mspId: '', peer: { endpoint: '127.0.0.1:7051' } };
    expect(() => loadProfile(writeProfile(JSON.stringify(broken)))).toThrow(
      /missing or has invalid: mspId, peer\.hostAlias, peer\.tlsRootCertPath$/,
    );
  });

  it('when a households profile is used without -i then the error says to name an identity', () => {
    const households: ConnectionProfile = {
      ...valid,
      org: 'households1',
      mspId: 'Distributor1HouseholdsMSP',
      distributorMspId: 'Distributor1MSP',
      defaultIdentity: '',
      identities: {},
    };
    expect(loadProfile(writeProfile(JSON.stringify(households)))).toEqual(households);
    expect(() => identityFiles(households)).toThrow(
      /households1 profile has no default identity: pass -i <name>/,
    );
  });

  it('when an unknown identity is asked for then the error lists the known ones', () => {
    expect(() => identityFiles(valid, 'auditor')).toThrow(
      'profile distributor1 has no identity "auditor" (known: operator)',
    );
    expect(identityFiles(valid)).toEqual(valid.identities.operator);
  });
});
