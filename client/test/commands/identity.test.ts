import type { RegistrationRequest, RegistrationTarget } from '../../src/identities';
import type { IdentityFiles } from '../../src/profile';
import { CaError } from '../../src/errors';
import { householdsProfile, TestWorld } from './support/world';

describe('meterctl identity', () => {
  it("when a subscriber is registered then the households CA gets the request with the households registrar's files", async () => {
    const world = new TestWorld();
    const register = jest.fn(
      async (_target: RegistrationTarget, _registrar: IdentityFiles, _request: RegistrationRequest) =>
        's3cret',
    );
    world.ca = { register };

    const result = await world.run(
      'identity',
      'register',
      'hh-17',
      '--role',
      'subscriber',
      '--subscriber-id',
      'hh-17',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'registered hh-17 at ca-households1 (Distributor1HouseholdsMSP) as subscriber\nsecret s3cret\n',
    });
    const [target, registrar, request] = register.mock.calls[0];
    expect(target).toMatchObject({ mspId: 'Distributor1HouseholdsMSP', registrar: 'households-registrar' });
    expect(registrar).toBe(world.profile.identities['households-registrar']);
    expect(request).toEqual({
      name: 'hh-17',
      role: 'subscriber',
      meterId: undefined,
      subscriberId: 'hh-17',
      secret: undefined,
    });
  });

  it('when --json is given then register prints the name, MSP, role and secret as JSON', async () => {
    const world = new TestWorld();
    world.ca = { register: async () => 'abc' };

    const result = await world.run('--json', 'identity', 'register', 'op-2', '--role', 'operator');

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${JSON.stringify({ name: 'op-2', mspId: 'Distributor1MSP', role: 'operator', secret: 'abc' }, null, 2)}\n`,
    );
  });

  it('when the attributes do not fit the role then every problem is listed (exit 2) and the CA is not called', async () => {
    const world = new TestWorld();

    const result = await world.run('identity', 'register', 'x', '--role', 'meter', '--subscriber-id', 's');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: a meter needs --meter-id; --subscriber-id is only for subscribers\n',
    });
    expect(world.calls).toEqual([]);
  });

  it('when the CA refuses then its message is printed (exit 1)', async () => {
    const world = new TestWorld();
    world.ca = {
      register: async () => {
        throw new CaError('the CA ca-households1 refused: Identity hh-17 is already registered', false);
      },
    };

    const result = await world.run(
      'identity',
      'register',
      'hh-17',
      '--role',
      'subscriber',
      '--subscriber-id',
      'hh-17',
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'meterctl: the CA ca-households1 refused: Identity hh-17 is already registered\n',
    });
  });

  it('when a household enrolls then the certificate and key paths in its keystore are printed', async () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const enroll = jest.fn(async () => ({ certPath: '/ks/cert.pem', keyPath: '/ks/key.pem' }));
    world.ca = { enroll };

    const result = await world.run('identity', 'enroll', 'hh-17', '--secret', 's3cret');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'enrolled hh-17 of Distributor1HouseholdsMSP\ncertificate /ks/cert.pem\nprivate key /ks/key.pem (0600)\n',
    });
    expect(enroll).toHaveBeenCalledWith(world.profile, world.keystore, 'hh-17', 's3cret');
  });
});
