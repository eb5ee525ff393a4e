import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli';

/** Runs meterctl in-process, capturing stdout and stderr. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'meterctl', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

const profileDir = mkdtempSync(join(tmpdir(), 'meterctl-cli-'));
const profilePath = join(profileDir, 'profile.json');
writeFileSync(
  profilePath,
  JSON.stringify({
    org: 'distributor1',
    mspId: 'Distributor1MSP',
    authorityMspId: 'AuthorityMSP',
    chaincodeName: 'smartmeter',
    channels: ['northgrid'],
    peer: { endpoint: '127.0.0.1:1', hostAlias: 'peer0', tlsRootCertPath: '/nonexistent' },
    ca: { url: 'https://127.0.0.1:1', caName: 'ca', tlsCertPath: '/nonexistent' },
    defaultIdentity: 'operator',
    identities: { operator: { certPath: '/nonexistent', keyPath: '/nonexistent' } },
  }),
);

describe('meterctl argument parsing', () => {
  it('when a command group is asked for help then it exits 0 and lists its commands', async () => {
    const result = await run('subscription', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/request \[options\]/);
    expect(result.stdout).toMatch(/approve \[options\] <subscriptionId>/);
  });

  it('when the command is unknown then it exits 2', async () => {
    const result = await run('subscriptoin', 'list');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'subscriptoin'/);
  });

  it('when a required option is missing then it exits 2 and names it', async () => {
    const result = await run('subscription', 'approve', 'sub_000000000000000000000001', '--tariff', 't');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/required option '--region <regionCode>' not specified/);
  });

  it('when a number option is not a number then it exits 2 before connecting', async () => {
    const result = await run(
      '-p',
      profilePath,
      'subscription',
      'approve',
      'sub_000000000000000000000001',
      '--tariff',
      't',
      '--region',
      'r',
      '--interval',
      'soon',
    );
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe('meterctl: --interval must be an integer from 60 to 86400 (got "soon")\n');
  });

  it('when a time option is malformed then it exits 2 with the expected form', async () => {
    const result = await run(
      '-p',
      profilePath,
      'readings',
      'list',
      'sub_000000000000000000000001',
      '--from',
      'yesterday',
      '--to',
      '2026-01-02',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--from must be a UTC time like 2026-01-15T10:00:00Z/);
  });

  it('when a dispute outcome is not UPHELD or REJECTED then it exits 2', async () => {
    const result = await run(
      '-p',
      profilePath,
      'bill',
      'resolve',
      'bill_000000000000000000000001',
      '--outcome',
      'maybe',
      '--note',
      'n',
    );
    expect(result).toMatchObject({ code: 2, stderr: 'meterctl: --outcome must be UPHELD or REJECTED\n' });
  });

  it('when an identity is registered with missing attributes then every problem is listed, exit 2', async () => {
    const result = await run(
      '-p',
      profilePath,
      'identity',
      'register',
      'x',
      '--role',
      'meter',
      '--subscriber-id',
      's',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'meterctl: a meter needs --meter-id; --subscriber-id is only for subscribers\n',
    );
  });

  it('when a file the profile names is missing then it exits 2 and names the file, nothing is sent', async () => {
    const listed = await run('-p', profilePath, '--keystore', profileDir, 'keys', 'list');
    expect(listed).toMatchObject({ code: 0, stdout: '(none)\n' });
    const result = await run('-p', profilePath, 'subscription', 'show', 'sub_000000000000000000000001');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      "meterctl: cannot read the peer's TLS root certificate /nonexistent: ENOENT\n",
    );
  });
});
