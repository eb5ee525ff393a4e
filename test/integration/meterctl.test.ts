import type { TariffDefinition } from '@smartmeter/domain';
import type { ConnectionProfile } from '../../client/src/profile';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meterctl as run } from '../support/meterctl';
import { networkHome, repoDir } from '../support/network';

/** The built meterctl against the running network: exit codes, messages on stderr, results on stdout. */
const profiles = join(networkHome, 'profiles');
const meterctl = (...args: string[]) => run(args);

const work = mkdtempSync(join(tmpdir(), 'meterctl-'));
const example = JSON.parse(
  readFileSync(join(repoDir, 'examples', 'tariffs', 'time-of-use.json'), 'utf8'),
) as TariffDefinition;

describe('meterctl', () => {
  it('when no profile is given then it exits 2 and says how to give one', async () => {
    const result = await meterctl('profile', 'show');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'meterctl: no connection profile: pass --profile <file> or set METERCTL_PROFILE\n',
    );
  });

  it('when a tariff file is valid then publish submits it and show reads it back (exit 0)', async () => {
    const tariffId = `cli-${Date.now().toString(36)}`;
    const file = join(work, 'tariff.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...example,
        tariffId,
        effectiveFrom: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      }),
    );
    const profile = join(profiles, 'distributor1.json');
    const published = await meterctl('--profile', profile, '--json', 'tariff', 'publish', file);
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({
      tariffId,
      version: 1,
      distributorMspId: 'Distributor1MSP',
    });
    const shown = await meterctl(
      '--profile',
      join(profiles, 'authority.json'),
      '--channel',
      'northgrid',
      'tariff',
      'show',
      tariffId,
      '--distributor',
      'Distributor1MSP',
    );
    expect(shown).toMatchObject({
      code: 0,
      stdout: `${tariffId} v1 of Distributor1MSP: timeOfUse, GBP, from ${(JSON.parse(readFileSync(file, 'utf8')) as TariffDefinition).effectiveFrom}\n`,
    });
  });

  it('when a tariff file has schema errors then they are listed by field and nothing is sent (exit 2)', async () => {
    const file = join(work, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...example, currency: 'pounds', taxBasisPoints: -5 }));
    const result = await meterctl(
      '--profile',
      join(profiles, 'distributor1.json'),
      'tariff',
      'publish',
      file,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'currency: a 3-letter ISO 4217 code such as GBP; taxBasisPoints: a whole number from 0 to 10000',
    );
  });

  it('when the chaincode refuses then the code, text and peer are printed (exit 1)', async () => {
    const file = join(work, 'auditor.json');
    writeFileSync(file, JSON.stringify({ ...example, tariffId: 'not-for-auditors' }));
    const result = await meterctl(
      '--profile',
      join(profiles, 'authority.json'),
      '--channel',
      'northgrid',
      'tariff',
      'publish',
      file,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^meterctl: FORBIDDEN: PublishTariff needs a distributor's operator; caller is auditor of AuthorityMSP \(key [0-9a-f]{8}…\) \(127\.0\.0\.1:\d+, AuthorityMSP\)\n$/,
    );
  });

  it('when the peer cannot be reached then it exits 3 and points at the network status', async () => {
    const profile = JSON.parse(
      readFileSync(join(profiles, 'distributor1.json'), 'utf8'),
    ) as ConnectionProfile;
    const file = join(work, 'unreachable.json');
    writeFileSync(file, JSON.stringify({ ...profile, peer: { ...profile.peer, endpoint: '127.0.0.1:1' } }));
    const result = await meterctl(
      '--profile',
      file,
      'tariff',
      'show',
      'x',
      '--distributor',
      'Distributor1MSP',
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'meterctl: cannot reach 127.0.0.1:1; is the network up? ./test-network.sh status\n',
    );
  });
});
