import { newSessionKey } from '@smartmeter/crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  actingIdentity,
  requireHousehold,
  resolveIdentity,
  transientEndorsers,
} from '../../src/commands/context';
import { ProfileError } from '../../src/profile';
import { subscriptionRecord } from './support/fixtures';
import { distributorProfile, householdsProfile, TestWorld } from './support/world';

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

    const result = await world.run('bill', 'issue', 'sub_000000000000000000000001', '--from', '2026-11-01');

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

    expect(await world.run('bill', 'show', 'bill_000000000000000000000001')).toEqual({
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

describe('the identity a command acts as', () => {
  const cert = (name: string) =>
    readFileSync(
      join(__dirname, '..', '..', '..', 'chaincode', 'test', 'support', 'certs', `${name}.pem`),
      'utf8',
    );

  it("actingIdentity reads the role from the certificate: the keystore's household is a subscriber, a certificate without attributes has none", () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const household = world.keystore.saveIdentity(
      'Distributor1HouseholdsMSP',
      'hh-001',
      cert('subscriber-hh-001'),
      'KEY',
    );
    const plain = world.keystore.saveIdentity('Distributor1HouseholdsMSP', 'plain', cert('key-a'), 'KEY');

    expect(actingIdentity(world.profile, 'hh-001', world.keystore)).toEqual({
      name: 'hh-001',
      files: household,
      chosen: true,
      role: 'subscriber',
    });
    const none = actingIdentity(world.profile, 'plain', world.keystore);
    expect(none).toEqual({ name: 'plain', files: plain, chosen: true, role: undefined });
    expect(() => {
      requireHousehold({ identity: () => none, profile: () => world.profile }, 'personal-data grant');
    }).toThrow(
      "personal-data grant is for the household: it would run as identity plain whose role is (none), not subscriber; pass -i <the household's identity> with its households profile",
    );
  });

  it('when the certificate cannot be read then it is a configuration error naming the file', () => {
    const world = new TestWorld();

    expect(() => actingIdentity(world.profile, undefined, world.keystore)).toThrow(
      new ProfileError(
        `cannot read the certificate of identity operator ${world.dir}/operator-cert.pem: ENOENT`,
      ),
    );
  });
});

describe('ids are checked before connecting', () => {
  it.each([
    [['subscription', 'show', 'sub_1'], '"sub_1" is not a subscription id'],
    [
      ['subscription', 'approve', 'SUB_0123456789ABCDEF01234567', '--tariff', 't', '--region', 'r'],
      'subscription id',
    ],
    [
      ['readings', 'list', 'sub_0123456789abcdef0123456', '--from', '2026-11-01', '--to', '2026-11-02'],
      'subscription id',
    ],
    [['bill', 'list', '--subscription', 'bill_0123456789abcdef01234567'], 'subscription id'],
    [['bill', 'pay', 'sub_0123456789abcdef01234567', '--amount', '1', '--reference', 'r'], 'bill id'],
    [['bill', 'verify', 'bill_0123456789abcdef0123456g'], 'bill id'],
    [['personal-data', 'fetch', 'par_1'], '"par_1" is not a request id'],
    [['personal-data', 'forget', 'request-17'], 'request id'],
  ])(
    'when `meterctl %j` has a malformed id then it exits 2 and says what the id looks like',
    async (args, what) => {
      const world = new TestWorld();

      const result = await world.run(...args);

      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(what);
      expect(result.stderr).toMatch(
        /: it is (sub|bill|par)_ followed by 24 lowercase hex characters, as meterctl prints it\n$/,
      );
      expect(world.connections).toBe(0);
      expect(world.calls).toEqual([]);
    },
  );
});

describe('channels', () => {
  it('when -c names a channel the organization is not a member of then it exits 1, naming its channels, and sends nothing', async () => {
    const world = new TestWorld();

    const result = await world.run('-c', 'southgrid', 'subscription', 'show', 'sub_000000000000000000000001');

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'meterctl: Distributor1MSP is not a member of channel southgrid: its channels are northgrid (-c northgrid)\n',
    });
    expect(world.calls).toEqual([]);
  });
});
