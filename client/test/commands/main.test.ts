import { newSessionKey } from '@smartmeter/crypto';
import { resolveIdentity, transientEndorsers } from '../../src/commands/context';
import { subscriptionRecord } from './support/fixtures';
import { distributorProfile, TestWorld } from './support/world';

describe('meterctl main with a factory', () => {
  it("when help is asked then commander's help goes to the factory's stdout and it exits 0", async () => {
    const world = new TestWorld();

    const result = await world.run('bill', '--help');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: meterctl bill \[options\] \[command\]\n/);
    expect(result.stdout).toMatch(/verify \[options\] <billId>/);
    expect(result.stderr).toBe('');
  });

  it("when an option is missing then commander's message goes to the factory's stderr, exit 2, nothing called", async () => {
    const world = new TestWorld();

    const result = await world.run('bill', 'issue', 'sub_1', '--from', '2026-11-01');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: required option '--to <time>' not specified\n/);
    expect(world.connections).toBe(0);
  });

  it('when a contract method fails with a plain error then its message is printed and it exits 1', async () => {
    const world = new TestWorld();
    world.clients.billing = {
      get: async () => {
        throw new Error('socket hang\nup');
      },
    };

    expect(await world.run('bill', 'show', 'bill_1')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'meterctl: socket hang up\n',
    });
  });
});

describe('command context', () => {
  it("transientEndorsers names the subscription's distributor and the profile's authority, in that order", () => {
    const subscription = subscriptionRecord(newSessionKey(), [], { distributorMspId: 'Distributor2MSP' });
    const profile = { ...distributorProfile(new TestWorld().dir), authorityMspId: 'RegulatorMSP' };

    expect(transientEndorsers(subscription, profile)).toEqual(['Distributor2MSP', 'RegulatorMSP']);
  });

  it('resolveIdentity finds an identity enrolled into the keystore, and names the keystore when there is none', () => {
    const world = new TestWorld();
    const files = world.keystore.saveIdentity('Distributor1MSP', 'mtr-42', 'CERT', 'KEY');

    expect(resolveIdentity(world.profile, 'mtr-42', world.keystore)).toEqual({ name: 'mtr-42', files });
    expect(() => resolveIdentity(world.profile, 'mtr-43', world.keystore)).toThrow(
      `no identity "mtr-43" for Distributor1MSP: not in the profile (operator, registrar, households-registrar) nor in the keystore ${world.keystore.dir}`,
    );
  });
});
