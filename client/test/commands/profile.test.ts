import { authorityProfile, householdsProfile, TestWorld } from './support/world';

describe('meterctl profile show', () => {
  it('when shown then the organization, channels, peer, CA and identity are printed', async () => {
    const world = new TestWorld();

    const result = await world.run('profile', 'show');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'organization  distributor1 (Distributor1MSP)',
        'channels      northgrid',
        'peer          127.0.0.1:7051 (TLS name peer0.distributor1)',
        'CA            https://127.0.0.1:7054 (ca-distributor1)',
        `identity      operator: ${world.dir}/operator-cert.pem`,
        '',
      ].join('\n'),
    });
  });

  it('when --json and -i are given then the profile and that identity are printed as JSON', async () => {
    const world = new TestWorld();
    world.profile = authorityProfile(world.dir);

    const result = await world.run('--json', '-i', 'auditor', 'profile', 'show');

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      ...world.profile,
      identity: 'auditor',
      identityFiles: world.profile.identities.auditor,
    });
  });

  it('when the identity is neither in the profile nor in the keystore then it exits 2 and lists the known ones', async () => {
    const world = new TestWorld();

    expect(await world.run('-i', 'nobody', 'profile', 'show')).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: no identity "nobody" for Distributor1MSP: not in the profile (operator, registrar, households-registrar) nor in the keystore ${world.keystore.dir}\n`,
    });
  });

  it('when -i names an identity enrolled into the keystore only then that identity is shown', async () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const files = world.keystore.saveIdentity('Distributor1HouseholdsMSP', 'hh-17', 'CERT', 'KEY');

    const result = await world.run('-i', 'hh-17', 'profile', 'show');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`identity      hh-17: ${files.certPath}\n`);
  });
});
