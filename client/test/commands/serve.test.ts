import { Command } from 'commander';
import type { CommandDeps } from '../../src/commands/deps';
import {
  DEFAULT_PORTAL_PORT,
  isLoopback,
  parseServeOptions,
  registerServeCommand,
  runServe,
  type PortalModule,
  type RunningPortal,
  type ServeOptions,
} from '../../src/commands/serve';
import { UsageError } from '../../src/errors';
import { householdsProfile, TestWorld } from './support/world';

type ServeFlags = Parameters<typeof parseServeOptions>[0];

/** The flags as meterctl serve passes them when none is given: the defaults its options declare. */
function defaultFlags(): ServeFlags {
  const program = new Command();
  registerServeCommand(program, () => {
    throw new Error('the command is not run here');
  });
  const serve = program.commands.find((command) => command.name() === 'serve');
  if (!serve) throw new Error('no serve command registered');
  return serve.opts<ServeFlags>();
}

function flags(overrides: Partial<ServeFlags>): ServeFlags {
  return { ...defaultFlags(), ...overrides };
}

describe('meterctl serve options', () => {
  it('when no option is given then it listens on 127.0.0.1:8470 over http, polls every 15 s and reads smartmeter_reports', () => {
    expect(parseServeOptions(defaultFlags())).toEqual({
      host: '127.0.0.1',
      port: DEFAULT_PORTAL_PORT,
      tls: undefined,
      reportDb: { url: undefined, name: 'smartmeter_reports' },
      pollSeconds: 15,
    });
    expect(DEFAULT_PORTAL_PORT).toBe(8470);
  });

  it.each(['0.0.0.0', '::'])(
    'when the host %s is a wildcard then it is a usage error asking for the one address browsers use',
    (host) => {
      const tls = { tlsCert: __filename, tlsKey: __filename };
      expect(() => parseServeOptions(flags({ host, ...tls }))).toThrow(UsageError);
      expect(() => parseServeOptions(flags({ host, ...tls }))).toThrow(
        /listens everywhere: give the one address/,
      );
    },
  );

  it.each(['192.168.1.20', '10.0.0.1'])(
    'when the host %s is reachable from other machines and no TLS is given then it is a usage error naming --tls-cert',
    (host) => {
      expect(() => parseServeOptions(flags({ host }))).toThrow(UsageError);
      expect(() => parseServeOptions(flags({ host }))).toThrow(/--tls-cert and --tls-key/);
    },
  );

  it('when the host is a name other than localhost then it is a usage error', () => {
    expect(() => parseServeOptions(flags({ host: 'portal.example' }))).toThrow(
      new UsageError('--host must be an IP address or localhost (got "portal.example")'),
    );
  });

  it.each([
    ['--tls-cert', { tlsCert: 'cert.pem' }],
    ['--tls-key', { tlsKey: 'key.pem' }],
  ])('when only %s is given then it is a usage error asking for both', (_which, tls) => {
    expect(() => parseServeOptions(flags(tls))).toThrow(
      new UsageError('give both --tls-cert and --tls-key, or neither'),
    );
  });

  it('when a TLS file does not exist then it is a usage error naming it', () => {
    const world = new TestWorld();
    const cert = world.file('cert.pem', 'CERT');
    const key = `${world.dir}/no-key.pem`;

    expect(() => parseServeOptions(flags({ tlsCert: cert, tlsKey: key }))).toThrow(
      new UsageError(`no such file: ${key}`),
    );
  });

  it('when both TLS files exist then another machine may be served, over TLS', () => {
    const world = new TestWorld();
    const cert = world.file('cert.pem', 'CERT');
    const key = world.file('key.pem', 'KEY');

    expect(parseServeOptions(flags({ host: '192.168.1.20', tlsCert: cert, tlsKey: key }))).toMatchObject({
      host: '192.168.1.20',
      tls: { certPath: cert, keyPath: key },
    });
  });

  it.each(['65536', '-1', '80a', ''])('when the port is %j then it is a usage error', (port) => {
    expect(() => parseServeOptions(flags({ port }))).toThrow(
      new UsageError(`--port must be an integer from 0 to 65535 (got "${port}")`),
    );
  });

  it.each([
    ['0', 0],
    ['65535', 65_535],
  ])('when the port is %s then it is taken (0: any free port)', (port, expected) => {
    expect(parseServeOptions(flags({ port })).port).toBe(expected);
  });

  it.each(['0', '3601'])('when --poll is %s then it is a usage error', (poll) => {
    expect(() => parseServeOptions(flags({ poll }))).toThrow(
      new UsageError(`--poll must be an integer from 1 to 3600 (got "${poll}")`),
    );
  });

  it('when --db-url and --db-name are given then the authority pages read that database', () => {
    expect(parseServeOptions(flags({ dbUrl: 'http://reports:5984', dbName: 'north' })).reportDb).toEqual({
      url: 'http://reports:5984',
      name: 'north',
    });
  });
});

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', 'localhost'])(
    'when the host is %s then only this device reaches it',
    (host) => {
      expect(isLoopback(host)).toBe(true);
    },
  );

  it.each(['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', '127.0.0.1.example', 'localhost.example'])(
    'when the host is %s then it is not loopback',
    (host) => {
      expect(isLoopback(host)).toBe(false);
    },
  );
});

const RUNNING = {
  url: 'http://127.0.0.1:8470/',
  loginUrl: 'http://127.0.0.1:8470/#token=launch-token',
  party: 'household',
  identity: 'hh-17',
  channel: 'northgrid',
};

/** A portal package whose server only records how it was started and stopped. */
function fakePortal(): { module: PortalModule; startPortal: jest.Mock; close: jest.Mock } {
  const close = jest.fn(async () => undefined);
  const startPortal = jest.fn(async (): Promise<RunningPortal> => ({ ...RUNNING, close }));
  return { module: { startPortal }, startPortal, close };
}

/**
 * Runs serve until it has printed where to open it. `ended` settles when serve returns (wrapped: an async
 * function returning the promise itself would wait for it).
 */
async function startServe(
  deps: CommandDeps,
  portal: PortalModule,
  options: ServeOptions,
): Promise<{ ended: Promise<void> }> {
  const ended = runServe(deps, options, portal);
  // The address is printed once the fake portal's start has settled.
  await new Promise((resolve) => setImmediate(resolve));
  return { ended };
}

describe('meterctl serve', () => {
  const options = parseServeOptions(defaultFlags());

  function householdWorld(): TestWorld {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    return world;
  }

  it('when the portal is listening then it prints the login address for this device and keeps serving', async () => {
    const world = householdWorld();
    const { module, startPortal, close } = fakePortal();
    const deps = world.deps({ identity: 'hh-17' });

    const { ended } = await startServe(deps, module, options);

    expect(world.output()).toEqual({
      stdout: [
        'meterctl portal for hh-17 (household) on northgrid, at http://127.0.0.1:8470/',
        "open this address in a browser on this device (it carries this launch's access token; keep it private):",
        '  http://127.0.0.1:8470/#token=launch-token',
        'Ctrl-C stops it.',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(startPortal).toHaveBeenCalledWith(deps, options);
    expect(close).not.toHaveBeenCalled();
    world.interrupt();
    await ended;
  });

  it('when --json is given then the addresses are printed as one JSON object', async () => {
    const world = householdWorld();
    const { module } = fakePortal();

    const { ended } = await startServe(world.deps({ identity: 'hh-17', json: true }), module, options);

    expect(JSON.parse(world.output().stdout)).toEqual(RUNNING);
    world.interrupt();
    await ended;
  });

  it('when interrupted (Ctrl-C) then it closes the portal once and says it stopped', async () => {
    const world = householdWorld();
    const { module, close } = fakePortal();
    const { ended } = await startServe(world.deps({ identity: 'hh-17' }), module, options);

    world.interrupt();
    await ended;
    world.interrupt();

    expect(close).toHaveBeenCalledTimes(1);
    expect(world.output().stderr).toBe('portal stopped\n');
  });

  it('when the portal cannot start then serve fails with its error and prints nothing', async () => {
    const world = householdWorld();
    const portal: PortalModule = {
      startPortal: async () => {
        throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:8470');
      },
    };

    await expect(runServe(world.deps({ identity: 'hh-17' }), options, portal)).rejects.toThrow('EADDRINUSE');
    expect(world.output()).toEqual({ stdout: '', stderr: '' });
  });
});
