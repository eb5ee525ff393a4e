import { openPersonalData } from '@smartmeter/crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileMode } from '../../src/keystore';
import type { PairBundle } from '../../src/pairBundle';
import { householdSubscription } from './support/fixtures';
import { householdsProfile, TestWorld } from './support/world';

function householdWorld(status: 'APPROVED' | 'ENDED' = 'APPROVED'): { world: TestWorld; sessionKey: Buffer } {
  const world = new TestWorld();
  world.profile = householdsProfile(world.dir);
  const { sessionKey, subscription } = householdSubscription(world.keystore, { status });
  world.clients.subscriptions = { get: async () => subscription };
  return { world, sessionKey };
}

describe('meterctl meter pair-bundle', () => {
  it("when the key is the subscription's then a 0600 bundle with the session key and the sealed personal data is written", async () => {
    const { world, sessionKey } = householdWorld();
    const personalData = world.file('me.json', '{"name":"A. Household"}');
    const out = join(world.dir, 'meter', 'bundle.json');

    const result = await world.run(
      '-i',
      'hh-17',
      'meter',
      'pair-bundle',
      'sub_000000000000000000000001',
      '--key',
      'home',
      '--personal-data',
      personalData,
      '--out',
      out,
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `wrote pair bundle for meter mtr-42 of sub_000000000000000000000001 to ${out} (0600)\n`,
    });
    expect(fileMode(out)).toBe(0o600);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as PairBundle;
    expect(bundle).toMatchObject({
      channel: 'northgrid',
      mspId: 'Distributor1HouseholdsMSP',
      subscriptionId: 'sub_000000000000000000000001',
      meterId: 'mtr-42',
      peer: { endpoint: '127.0.0.1:7051', hostAlias: 'peer0.distributor1' },
      sessionKey: { keyHex: sessionKey.toString('hex') },
    });
    expect(bundle.identity).toBeUndefined();
    const sealed = Buffer.from(bundle.sealedPersonalData ?? '', 'base64');
    expect(openPersonalData(sealed, sessionKey, 'sub_000000000000000000000001').toString()).toBe(
      '{"name":"A. Household"}',
    );
  });

  it('when --json is given then the bundle file, subscription, meter and channel are printed as JSON', async () => {
    const { world } = householdWorld();
    const out = join(world.dir, 'bundle.json');

    const result = await world.run(
      '--json',
      'meter',
      'pair-bundle',
      'sub_000000000000000000000001',
      '--key',
      'home',
      '--out',
      out,
    );

    expect(result.stdout).toBe(
      `${JSON.stringify({ out, subscriptionId: 'sub_000000000000000000000001', meterId: 'mtr-42', channel: 'northgrid' }, null, 2)}\n`,
    );
  });

  it("when the key is not the subscription's and it has ended then both problems are listed (exit 2), no file written", async () => {
    const { world } = householdWorld('ENDED');
    world.keystore.newSessionKey('old');
    const { keyId } = world.keystore.sessionKey('home');
    const out = join(world.dir, 'bundle.json');

    const result = await world.run(
      'meter',
      'pair-bundle',
      'sub_000000000000000000000001',
      '--key',
      'old',
      '--out',
      out,
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: session key old is not the subscription's key ${keyId}; subscription sub_000000000000000000000001 is ENDED\n`,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('when the keystore has no such session key then it exits 2 before connecting', async () => {
    const { world } = householdWorld();

    const result = await world.run(
      'meter',
      'pair-bundle',
      'sub_000000000000000000000001',
      '--key',
      'nope',
      '--out',
      'x.json',
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: no session key named nope in ${world.keystore.dir} (create one with meterctl keys new nope)\n`,
    });
    expect(world.connections).toBe(0);
  });
});
