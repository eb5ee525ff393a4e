import { PAIR_BUNDLE_FORMAT, type PairBundle } from '@smartmeter/client/dist/pairBundle';
import { keyIdOf } from '@smartmeter/crypto';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, main } from '../src/cli';
import { buildRunConfig, ConfigError, type RunOptions } from '../src/config';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const sessionKey = Buffer.alloc(32, 7);
const fixtureIdentity = {
  certificatePem: fixture('meter-cert.pem'),
  privateKeyPem: fixture('meter-key.pem'),
};
const validBundle: PairBundle = {
  format: PAIR_BUNDLE_FORMAT,
  channel: 'northgrid',
  mspId: 'Distributor1MSP',
  chaincodeName: 'smartmeter',
  subscriptionId: 'sub_0123456789abcdef01234567',
  meterId: 'mtr-fixture-1',
  peer: {
    endpoint: '127.0.0.1:7051',
    hostAlias: 'peer0.distributor1.example.com',
    tlsRootCertPem: fixture('meter-cert.pem'),
  },
  identity: fixtureIdentity,
  sessionKey: { keyId: keyIdOf(sessionKey), keyHex: sessionKey.toString('hex') },
  createdAt: '2026-11-01T00:00:00Z',
};
const foreignKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const dir = mkdtempSync(join(tmpdir(), 'meter-config-'));

function writeBundle(name: string, bundle: object, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(bundle));
  chmodSync(path, mode);
  return path;
}

const defaults: RunOptions = {
  stateDir: join(dir, 'state'),
  source: 'household',
  utility: 'electricity',
  utcOffset: '0',
  speed: '1',
  maxJitter: '60',
  batchSize: '96',
  refresh: '60',
  mqttUrl: 'mqtts://127.0.0.1:8883',
  mqttConnection: 'per-share',
  shareWindow: '240',
  minShareGap: '20',
  walletPollSeconds: '60',
};

function problemsOf(options: Partial<RunOptions>): string[] {
  try {
    buildRunConfig({ ...defaults, ...options });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('meter-sim configuration', () => {
  it('when the bundle and options are right then the config holds the meter, its key and its source', () => {
    const config = buildRunConfig({
      ...defaults,
      bundle: [writeBundle('ok.json', validBundle)],
      speed: '1440',
    });
    expect(config.meters).toHaveLength(1);
    expect(config.meters[0].sessionKey).toEqual(sessionKey);
    expect(config.sources[0].description).toBe('synthetic electricity household (seed mtr-fixture-1)');
    expect(config).toMatchObject({ speed: 1440, batchSize: 96, maxJitterSeconds: 60 });
  });

  it('when several settings are wrong then every problem is reported at once', () => {
    const problems = problemsOf({
      bundle: [writeBundle('ok2.json', validBundle)],
      speed: '0',
      batchSize: '200',
      utility: 'steam',
      from: 'yesterday',
      maxJitter: '-1',
    });
    expect(problems).toEqual([
      '--speed must be a number from 0.001 to 1000000 (got "0")',
      '--from must be an ISO 8601 UTC time like 2026-01-15T00:00:00Z (got "yesterday")',
      '--max-jitter must be an integer from 0 to 3600 (got "-1")',
      '--batch-size must be an integer from 1 to 96 (got "200")',
      '--utility must be one of electricity, gas, water (got "steam")',
    ]);
  });

  it('when no bundle is given then the message says where one comes from', () => {
    expect(problemsOf({})).toEqual([
      'no pair bundle: give --bundle <file> (from "meterctl meter pair-bundle") or --bundle-dir <dir>',
    ]);
  });

  it('when the bundle is readable by others, has a wrong key id, a foreign private key and another meter id then each is named', () => {
    const otherKey = Buffer.alloc(32, 9);
    const path = writeBundle(
      'bad.json',
      {
        ...validBundle,
        meterId: 'mtr-0042',
        sessionKey: { keyId: keyIdOf(otherKey), keyHex: sessionKey.toString('hex') },
        identity: {
          certificatePem: fixtureIdentity.certificatePem,
          privateKeyPem: foreignKeyPem,
        },
      },
      0o644,
    );
    expect(problemsOf({ bundle: [path] })).toEqual([
      `${path}: holds the meter's private key but is readable by others (mode 644); chmod 600 ${path}`,
      `${path}: sessionKey.keyId ${keyIdOf(otherKey)} is not the id of the key in the bundle (${keyIdOf(sessionKey)})`,
      `${path}: identity.privateKeyPem does not belong to the certificate`,
      `${path}: the certificate is for meter mtr-fixture-1, the bundle for meter mtr-0042`,
    ]);
  });

  it('when the bundle is not a bundle then the missing fields are listed', () => {
    const path = writeBundle('empty.json', { format: 'something-else', channel: 'northgrid' });
    const problems = problemsOf({ bundle: [path] });
    expect(problems[0]).toBe(`${path}: format must be "${PAIR_BUNDLE_FORMAT}" (got "something-else")`);
    expect(problems).toContain(`${path}: subscriptionId is missing`);
    expect(problems).toContain(`${path}: subscriptionId is missing`);
    expect(problemsOf({ bundle: [join(dir, 'absent.json')] })).toEqual([
      `${join(dir, 'absent.json')}: cannot read the pair bundle (ENOENT)`,
    ]);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a number', '42'],
    ['not JSON', '{"format":'],
  ])('when the bundle file holds %s then it is named as no pair bundle, without a crash', (_label, text) => {
    const path = join(dir, 'not-a-bundle.json');
    writeFileSync(path, text, { mode: 0o600 });
    expect(problemsOf({ bundle: [path] })).toEqual([
      `${path}: is not a JSON object; expected a pair bundle from "meterctl meter pair-bundle"`,
    ]);
  });

  it('when LCL replay is misconfigured then the file, the household and the utility are checked', () => {
    const bundle = [writeBundle('lcl.json', validBundle)];
    const sample = join(__dirname, '..', 'data', 'lcl-sample.csv');
    expect(problemsOf({ bundle, source: 'lcl' })).toEqual([
      '--source lcl needs --lcl-file <csv> (a London LCL smart-meter file)',
    ]);
    expect(problemsOf({ bundle, source: 'lcl', lclFile: sample, lclId: 'MAC999', utility: 'gas' })).toEqual([
      '--source lcl replays electricity data: use --utility electricity',
      `--lcl-id MAC999 is not in ${sample} (it has MAC000002, MAC004387)`,
    ]);
    const config = buildRunConfig({
      ...defaults,
      bundle,
      source: 'lcl',
      lclFile: sample,
      lclId: 'MAC004387',
    });
    expect(config.sources[0].description).toBe(
      "LCL household MAC004387 (ToU, 7 days from 2013-01-07); file day 2013-01-07 (Mon) plays on the subscription's first day",
    );
  });

  it('when --lcl-from is given then that file day starts the replay; a day outside the file or no date is named', () => {
    const bundle = [writeBundle('lcl-from.json', validBundle)];
    const acorn = join(__dirname, 'fixtures', 'lcl-acorn.csv');
    const lcl = { bundle, source: 'lcl', lclFile: acorn };
    const config = buildRunConfig({ ...defaults, ...lcl, lclFrom: '2013-01-09' });
    expect(config.sources[0].description).toBe(
      "LCL household MAC000003 (ToU, 3 days from 2013-01-07); file day 2013-01-09 (Wed) plays on the subscription's first day",
    );
    expect(problemsOf({ ...lcl, lclFrom: '2013-02-01' })).toEqual([
      `--lcl-from 2013-02-01 is not a day of LCL household MAC000003 in ${acorn} (it has 2013-01-07 to 2013-01-09)`,
    ]);
    expect(problemsOf({ ...lcl, lclFrom: '2013-02-30' })).toEqual([
      '--lcl-from must be a day of the LCL file like 2013-01-07 (got "2013-02-30")',
    ]);
    expect(problemsOf({ ...lcl, lclFrom: '8 Jan 2013' })).toEqual([
      '--lcl-from must be a day of the LCL file like 2013-01-07 (got "8 Jan 2013")',
    ]);
    expect(problemsOf({ bundle, lclFrom: '2013-01-08' })).toEqual([
      '--lcl-file, --lcl-id and --lcl-from go with --source lcl',
    ]);
  });

  it('when --inject-anomalies is given then each source carries its fault plan; bad kinds or no span are named', () => {
    const bundle = [writeBundle('anomalies.json', validBundle)];
    const month = { from: '2026-01-01T00:00:00Z', until: '2026-01-31T00:00:00Z' };
    const config = buildRunConfig({
      ...defaults,
      ...month,
      bundle,
      utility: 'gas',
      injectAnomalies: 'spike,leak,stuck,drop',
    });
    expect(config.sources[0].description).toMatch(
      /^synthetic gas household \(seed mtr-fixture-1\), with 4 injected faults \((spike|leak|stuck|drop)(, (spike|leak|stuck|drop)){3}\)$/,
    );
    const again = buildRunConfig({
      ...defaults,
      ...month,
      bundle,
      utility: 'gas',
      injectAnomalies: 'spike,leak,stuck,drop',
    });
    expect(again.sources[0].description).toBe(config.sources[0].description);
    expect(problemsOf({ bundle, injectAnomalies: 'spike' })).toEqual([
      '--inject-anomalies needs --from and --until: the faults are spread over that span',
    ]);
    expect(problemsOf({ ...month, bundle, injectAnomalies: 'spike,surge' })).toEqual([
      '--inject-anomalies spike,surge: unknown anomaly kind "surge": choose from spike, leak, stuck, drop',
    ]);
    expect(problemsOf({ ...month, bundle, injectAnomalies: 'leak' })).toEqual([
      '--inject-anomalies leak: a leak is a gas or water fault; electricity cannot leak',
    ]);
    expect(problemsOf({ bundle, anomalySeed: 'x' })).toEqual(['--anomaly-seed goes with --inject-anomalies']);
  });

  it('when more meters are asked for than bundles exist then it says how many it has', () => {
    expect(problemsOf({ bundle: [writeBundle('one.json', validBundle)], meters: '3' })).toEqual([
      '--meters 3 needs 3 pair bundles, 1 given',
    ]);
  });

  it('when --mqtt-connection is per-share or persistent then the config takes it; anything else is named', () => {
    const bundle = [writeBundle('mqtt-connection.json', validBundle)];
    expect(buildRunConfig({ ...defaults, bundle }).mqtt.connection).toBe('per-share');
    expect(buildRunConfig({ ...defaults, bundle, mqttConnection: 'persistent' }).mqtt.connection).toBe(
      'persistent',
    );
    expect(problemsOf({ bundle, mqttConnection: 'sometimes' })).toEqual([
      '--mqtt-connection must be per-share or persistent (got "sometimes")',
    ]);
    expect(problemsOf({ bundle, mqttConnection: 'Persistent' })).toHaveLength(1);
  });

  it('when --wallet-poll-seconds is 0 or more real seconds then the config takes it; anything else is named', () => {
    const bundle = [writeBundle('wallet-poll.json', validBundle)];
    expect(buildRunConfig({ ...defaults, bundle }).walletPollSeconds).toBe(60);
    expect(buildRunConfig({ ...defaults, bundle, walletPollSeconds: '0' }).walletPollSeconds).toBe(0);
    expect(buildRunConfig({ ...defaults, bundle, walletPollSeconds: '2.5' }).walletPollSeconds).toBe(2.5);
    expect(problemsOf({ bundle, walletPollSeconds: '-1' })).toEqual([
      '--wallet-poll-seconds must be a number from 0 to 86400 (got "-1")',
    ]);
    expect(problemsOf({ bundle, walletPollSeconds: 'often' })).toHaveLength(1);
  });
});

describe('meter-sim command line', () => {
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err.push(String(chunk));
      return true;
    });
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const exitCode = process.exitCode;
    try {
      const code = await main(['node', 'meter-sim', ...argv]);
      return { code, out: out.join(''), err: err.join('') };
    } finally {
      process.exitCode = exitCode;
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) Reflect.deleteProperty(process.env, key);
        else process.env[key] = saved[key];
      }
      stdout.mockRestore();
      stderr.mockRestore();
    }
  };
  const checkArgs = () => [
    'check',
    '--bundle',
    writeBundle('cli.json', validBundle),
    '--state-dir',
    join(dir, 'cli-state'),
  ];

  it('when --mqtt-connection has a bad value then meter-sim says what it takes and exits 2', async () => {
    const { code, err, out } = await run([...checkArgs(), '--mqtt-connection', 'pooled']);
    expect(code).toBe(ExitCode.Config);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('--mqtt-connection must be per-share or persistent (got "pooled")');
    const fromEnv = await run(checkArgs(), { METER_SIM_MQTT_CONNECTION: 'one' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.err).toContain('--mqtt-connection must be per-share or persistent (got "one")');
  });

  it('when the mode is per-share by default, or persistent from METER_SIM_MQTT_CONNECTION, then check says so', async () => {
    const byDefault = await run(checkArgs());
    expect(byDefault.code).toBe(0);
    expect(byDefault.out).toContain('one connection per share');
    const persistent = await run(checkArgs(), { METER_SIM_MQTT_CONNECTION: 'persistent' });
    expect(persistent.code).toBe(0);
    expect(persistent.out).toContain('one connection for all shares');
  });

  it('when asked for help then --wallet-poll-seconds is there with its default, variable and an example', async () => {
    const { code, out } = await run(['run', '--help']);
    expect(code).toBe(0);
    const help = out.replace(/\s+/g, ' ');
    expect(help).toContain('--wallet-poll-seconds <seconds>');
    expect(help).toContain('(default: "60", env: METER_SIM_WALLET_POLL_SECONDS)');
    expect(help).toContain('meter-sim run --bundle meter.json --wallet-poll-seconds 15');
    expect(help).toContain('"supply: power-saving (power-saving-threshold, balance 1.50 GBP)"');
    const fromEnv = await run(checkArgs(), { METER_SIM_WALLET_POLL_SECONDS: 'never' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.err).toContain('--wallet-poll-seconds must be a number from 0 to 86400 (got "never")');
  });

  it('when asked for help then --inject-anomalies is there with its kinds, variable and an example', async () => {
    const { code, out } = await run(['run', '--help']);
    expect(code).toBe(0);
    const help = out.replace(/\s+/g, ' ');
    expect(help).toContain('--inject-anomalies <kinds>');
    expect(help).toContain('(spike, leak, stuck, drop; leak for gas and water only)');
    expect(help).toContain('(env: METER_SIM_INJECT_ANOMALIES)');
    expect(help).toContain('--anomaly-seed <text>');
    expect(help).toContain('--inject-anomalies spike,leak,stuck,drop --from 2026-01-01T00:00:00Z');
    const noSpan = await run([...checkArgs(), '--inject-anomalies', 'spike']);
    expect(noSpan.code).toBe(2);
    expect(noSpan.err).toContain('--inject-anomalies needs --from and --until');
  });

  it('when asked for help then --mqtt-connection says what persistent gives away', async () => {
    const { code, out } = await run(['run', '--help']);
    expect(code).toBe(0);
    const help = out.replace(/\s+/g, ' ');
    expect(help).toContain('--mqtt-connection <mode>');
    expect(help).toContain('(default: "per-share", env: METER_SIM_MQTT_CONNECTION)');
    expect(help).toMatch(
      /persistent \(one connection per meter: .*the broker can link all of a meter's shares/,
    );
  });
});
