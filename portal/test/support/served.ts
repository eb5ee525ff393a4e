import type { AddressInfo } from 'node:net';
import type { CommandDeps } from '@smartmeter/client/dist/commands/deps';
import type { ServeOptions } from '@smartmeter/client/dist/commands/serve';
import { portalContext } from '../../src/context';
import { buildPortal, hostNames, type Portal } from '../../src/server';

export interface ServedPortal {
  portal: Portal;
  base: string;
  token: string;
  /** A request as a browser or script sends it: the Host header is the server's own unless given. */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Signs in like the page: the session cookie and the CSRF token. */
  signIn(): Promise<{ cookie: string; csrfToken: string }>;
  close(): Promise<void>;
}

export const SERVE_OPTIONS: ServeOptions = {
  host: '127.0.0.1',
  port: 0,
  reportDb: { name: 'smartmeter_reports' },
  pollSeconds: 3600,
};

/** The portal over these dependencies, listening on a free loopback port (real HTTP, as the browser uses it). */
export async function servePortal(
  deps: CommandDeps,
  options: Partial<ServeOptions> = {},
): Promise<ServedPortal> {
  const portal = await buildPortal(portalContext(deps, { ...SERVE_OPTIONS, ...options }));
  await portal.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = portal.app.server.address() as AddressInfo;
  portal.allowHosts(hostNames('127.0.0.1', '127.0.0.1', port));
  const base = `http://127.0.0.1:${port}`;
  const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
  return {
    portal,
    base,
    token: portal.access.accessToken,
    call,
    signIn: async () => {
      const response = await call('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: portal.access.accessToken }),
      });
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
      const { csrfToken } = (await response.json()) as { csrfToken: string };
      return { cookie, csrfToken };
    },
    close: async () => {
      portal.events.stop();
      await portal.app.close();
    },
  };
}
