import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, main } from '../src/cli';
import { buildRunConfig, ConfigError, type RunCliOptions } from '../src/config';
import { readPasswordFile } from '../src/passwordFile';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aggregator-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function passwordFile(mode: number, content = 'correct-horse-battery-staple\n'): string {
  const path = join(dir, `password-${mode.toString(8)}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const runOptions = (overrides: Partial<RunCliOptions>): RunCliOptions => ({
  mqttUrl: 'mqtts://127.0.0.1:8883',
  passwordFile: passwordFile(0o600),
  name: 'main',
  stateDir: join(dir, 'state'),
  collectSeconds: '120',
  filtersWaitSeconds: '900',
  filtersRetrySeconds: '30',
  concurrency: '2',
  profile: join(dir, 'profile.json'),
  ...overrides,
});

describe('the password file', () => {
  test('when it is mode 0600 then its first line is the password', () => {
    expect(readPasswordFile(passwordFile(0o600, 'correct-horse-battery-staple\nignored\n'))).toBe(
      'correct-horse-battery-staple',
    );
    expect(readPasswordFile(passwordFile(0o400))).toBe('correct-horse-battery-staple');
  });

  test.each(['644', '640', '604', '660'])(
    'when it is mode 0%s then it is refused with a clear error',
    (octal) => {
      const path = passwordFile(parseInt(octal, 8));
      expect(() => readPasswordFile(path)).toThrow(
        `the password file ${path} has mode 0${octal}: it must be readable by its owner only (chmod 600 ${path})`,
      );
    },
  );

  test('when it is missing or the password is short then it is refused', () => {
    expect(() => readPasswordFile(join(dir, 'nope'))).toThrow(/cannot read the password file .*ENOENT/);
    expect(() => readPasswordFile(passwordFile(0o600, 'short\n'))).toThrow(/at least 16 characters/);
  });
});

describe('aggregator run options', () => {
  test('when the options are valid then the service gets numbers, regions and its derived client id', () => {
    const config = buildRunConfig(runOptions({ regions: 'north, south/d2', collectSeconds: '30' }));
    expect(config.service).toEqual(
      expect.objectContaining({
        collectSeconds: 30,
        regions: ['north', 'south/d2'],
        password: 'correct-horse-battery-staple',
        clientId: expect.stringMatching(/^aggregator-main-[0-9a-f]{12}$/) as unknown,
      }),
    );
    expect(config.ledger.profilePath).toBe(join(dir, 'profile.json'));
  });

  test.each([
    [{ collectSeconds: '0' }, '--collect-seconds must be an integer from 1 to 86400 (got "0")'],
    [{ collectSeconds: 'soon' }, '--collect-seconds must be an integer'],
    [{ regions: 'North' }, '--regions: not a region path such as north/d3: North'],
    [{ mqttUrl: 'http://broker' }, '--mqtt-url must be mqtts://host:port'],
    [{ name: 'Main Aggregator' }, '--name must be 1-32 lowercase letters'],
    [{ mqttCa: '/nonexistent/ca.pem' }, '--mqtt-ca: cannot read /nonexistent/ca.pem: ENOENT'],
  ])('when given %p then it explains: %s', (overrides, message) => {
    expect(() => buildRunConfig(runOptions(overrides))).toThrow(ConfigError);
    expect(() => buildRunConfig(runOptions(overrides))).toThrow(message);
  });
});

describe('the aggregator CLI', () => {
  let stderr: string;
  let stdout: string;
  let restore: () => void;

  beforeEach(() => {
    stderr = '';
    stdout = '';
    const errWrite = process.stderr.write.bind(process.stderr);
    const outWrite = process.stdout.write.bind(process.stdout);
    process.stderr.write = (text: string | Uint8Array) => {
      stderr += String(text);
      return true;
    };
    process.stdout.write = (text: string | Uint8Array) => {
      stdout += String(text);
      return true;
    };
    restore = () => {
      process.stderr.write = errWrite;
      process.stdout.write = outWrite;
    };
  });

  afterEach(() => {
    restore();
    process.exitCode = undefined;
  });

  test('when run --help is asked then it lists every option with its variable, and examples', async () => {
    expect(await main(['node', 'aggregator', 'run', '--help'])).toBe(0);
    for (const text of [
      '--mqtt-url',
      'MQTT_URL',
      '--password-file',
      '--state-dir',
      '--collect-seconds',
      '--regions',
      '--profile',
      '--identity-dir',
      '--channel',
      'AGGREGATOR_PROFILE',
      'Examples:',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  test('when the password file is readable by others then the broker does not start: exit 2', async () => {
    const path = passwordFile(0o644);
    const code = await main([
      'node',
      'aggregator',
      'broker',
      '--cert',
      path,
      '--key',
      path,
      '--password-file',
      path,
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain(`aggregator: the password file ${path} has mode 0644`);
  });

  test('when the connection profile cannot be read then the service does not start: exit 2', async () => {
    const profile = join(dir, 'missing-profile.json');
    const args = [
      '--password-file',
      passwordFile(0o600),
      '--profile',
      profile,
      '--state-dir',
      join(dir, 'state'),
    ];
    expect(await main(['node', 'aggregator', 'run', ...args])).toBe(2);
    expect(stderr).toContain(profile);
  });

  test('when a mandatory option is missing then it is a usage error: exit 2', async () => {
    const program = buildProgram({ broker: () => Promise.resolve(0), run: () => Promise.resolve(0) });
    await expect(program.parseAsync(['node', 'aggregator', 'run'])).rejects.toThrow(/--password-file/);
    expect(await main(['node', 'aggregator', 'broker'])).toBe(2);
  });
});
