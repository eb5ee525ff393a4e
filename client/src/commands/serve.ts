import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from '../errors';
import { printResult } from '../output';
import { DEFAULT_REPORT_DB_NAME } from '../reporting/reportDb';
import { integerOption } from './context';
import type { CommandDeps } from './deps';

/** Where the portal listens, and how it reaches the reporting database (authority pages). */
export interface ServeOptions {
  host: string;
  port: number;
  /** Both or neither: required when host is not a loopback address. */
  tls?: { certPath: string; keyPath: string };
  reportDb: { url?: string; name: string };
  /** How often a household's server looks for its own new readings and bills (it may not follow events). */
  pollSeconds: number;
}

/** A portal that is listening: loginUrl carries the launch's access token (in the fragment, never sent). */
export interface RunningPortal {
  url: string;
  loginUrl: string;
  /** household, distributor or authority. */
  party: string;
  identity: string;
  channel: string;
  close(): Promise<void>;
}

/** What the portal package (@smartmeter/portal) provides to meterctl serve. */
export interface PortalModule {
  startPortal(deps: CommandDeps, options: ServeOptions): Promise<RunningPortal>;
}

export const DEFAULT_PORTAL_PORT = 8470;

/** 127.0.0.0/8, ::1 and "localhost": a browser on the same device only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export function parseServeOptions(flags: {
  host: string;
  port: string;
  tlsCert?: string;
  tlsKey?: string;
  dbUrl?: string;
  dbName: string;
  poll: string;
}): ServeOptions {
  if (!isLoopback(flags.host) && isIP(flags.host) === 0)
    throw new UsageError(`--host must be an IP address or localhost (got "${flags.host}")`);
  // The server answers only the Host it listens on (against DNS rebinding): a wildcard names no host.
  if (flags.host === '0.0.0.0' || flags.host === '::')
    throw new UsageError(
      `--host ${flags.host} listens everywhere: give the one address browsers use (the one the TLS certificate names)`,
    );
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    throw new UsageError('give both --tls-cert and --tls-key, or neither');
  const tls = flags.tlsCert && flags.tlsKey ? { certPath: flags.tlsCert, keyPath: flags.tlsKey } : undefined;
  for (const path of tls ? [tls.certPath, tls.keyPath] : [])
    if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
  if (!tls && !isLoopback(flags.host))
    throw new UsageError(
      `--host ${flags.host} is reachable from other machines: serve it with --tls-cert and --tls-key (the access token and the household's data must not cross a network in clear)`,
    );
  return {
    host: flags.host,
    port: integerOption('--port', flags.port, 0, 65_535),
    tls,
    reportDb: { url: flags.dbUrl, name: flags.dbName },
    pollSeconds: integerOption('--poll', flags.poll, 1, 3600),
  };
}

/** The portal package, loaded when serve runs: meterctl's other commands do not need the web server. */
export function loadPortal(): PortalModule {
  let loaded: Partial<PortalModule>;
  try {
    // A runtime dependency only: the portal is built on this package, so it cannot be a build reference.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('@smartmeter/portal') as Partial<PortalModule>;
  } catch (err) {
    throw new UsageError(
      `meterctl serve needs the portal package (@smartmeter/portal): ${(err as Error).message.split('\n')[0]}; run npm ci and npm run build in the repository`,
    );
  }
  if (typeof loaded.startPortal !== 'function')
    throw new UsageError('@smartmeter/portal does not export startPortal: rebuild it (npm run build)');
  return loaded as PortalModule;
}

/** Starts the portal, prints where to open it, and serves until Ctrl-C or SIGTERM. */
export async function runServe(
  deps: CommandDeps,
  options: ServeOptions,
  portal: PortalModule = loadPortal(),
): Promise<void> {
  const running = await portal.startPortal(deps, options);
  const stopped = new Promise<void>((resolve) => {
    const release = deps.onInterrupt(() => {
      release();
      resolve();
    });
  });
  printResult(
    deps.output,
    {
      url: running.url,
      loginUrl: running.loginUrl,
      party: running.party,
      identity: running.identity,
      channel: running.channel,
    },
    () =>
      [
        `meterctl portal for ${running.identity} (${running.party}) on ${running.channel}, at ${running.url}`,
        `open this address in a browser on this device (it carries this launch's access token; keep it private):`,
        `  ${running.loginUrl}`,
        'Ctrl-C stops it.',
      ].join('\n'),
  );
  await stopped;
  await running.close();
  deps.output.stderr.write('portal stopped\n');
}

export function registerServeCommand(program: Command, deps: () => CommandDeps): void {
  program
    .command('serve')
    .description(
      "the web app for this identity: a local server over the same profile, identity and keystore (a household's keys stay on its device)",
    )
    .option('--host <address>', 'address to listen on (beyond loopback only with TLS)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', String(DEFAULT_PORTAL_PORT))
    .option('--tls-cert <file>', 'TLS certificate (PEM) for serving beyond loopback')
    .option('--tls-key <file>', 'its private key (PEM)')
    .option(
      '--db-url <url>',
      'reporting database for the authority pages (default: REPORT_DB_URL or the profile reportDbUrl)',
    )
    .option('--db-name <name>', 'reporting database name', DEFAULT_REPORT_DB_NAME)
    .option('--poll <seconds>', "how often a household's server looks for its new readings and bills", '15')
    .addHelpText(
      'after',
      "\nThe page opens with the access token printed at launch (a new one each time); state-changing calls also need\nthe session's CSRF token. The API is described at /api/openapi.json.\nExamples:\n  meterctl -p .network/profiles/households1.json -i hh-17 serve\n  meterctl -p .network/profiles/authority.json -c northgrid serve --port 8471",
    )
    .action(async (flags: Parameters<typeof parseServeOptions>[0]) => {
      await runServe(deps(), parseServeOptions(flags));
    });
}
