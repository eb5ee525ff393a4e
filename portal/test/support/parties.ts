import { request } from 'node:http';
import type { CommandDeps } from '@smartmeter/client/dist/commands/deps';
import { authorityProfile, householdsProfile, TestWorld } from '../../../client/test/commands/support/world';
import type { ApiError, Party } from '../../src/api';
import { servePortal, type ServedPortal } from './served';

/** A world whose profile is the party's: households1 (for hh-17), distributor1's operator, the authority. */
export function worldOf(party: Party): TestWorld {
  const world = new TestWorld();
  if (party === 'household') world.profile = householdsProfile(world.dir);
  if (party === 'authority') world.profile = authorityProfile(world.dir);
  return world;
}

/** meterctl's global options for the party's server: a household names its identity; the authority, a channel. */
export function globalsOf(party: Party): CommandDeps['globals'] {
  if (party === 'household') return { identity: 'hh-17' };
  if (party === 'authority') return { channel: 'northgrid' };
  return {};
}

/**
 * The party's portal over the world, listening. Give the world its fakes first: the dependencies take the
 * contract fakes the world holds when they are made.
 */
export function servePartyPortal(world: TestWorld, party: Party): Promise<ServedPortal> {
  return servePortal(world.deps(globalsOf(party)));
}

/** What a script sends instead of a session: the launch's access token. */
export function bearer(served: ServedPortal): Record<string, string> {
  return { authorization: `Bearer ${served.token}` };
}

/** A POST with a JSON body, as a script sends it (bearer token) unless other headers are given. */
export function postJson(
  served: ServedPortal,
  path: string,
  body: unknown,
  headers: Record<string, string> = bearer(served),
): Promise<Response> {
  return served.call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export function getWithBearer(served: ServedPortal, path: string): Promise<Response> {
  return served.call(path, { headers: bearer(served) });
}

/** The status and the API error of a refusal. */
export async function refusalOf(response: Response): Promise<{ status: number; error: ApiError }> {
  const { error } = (await response.json()) as { error: ApiError };
  return { status: response.status, error };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request with headers fetch refuses to set (Host), as a page whose own name resolves to this server
 * (DNS rebinding) sends it.
 */
export function rawRequest(
  served: ServedPortal,
  path: string,
  options: { method?: string; headers: Record<string, string>; body?: string },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(served.base);
  return new Promise((resolve, reject) => {
    const sent = request(
      { host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    sent.on('error', reject);
    sent.end(options.body);
  });
}
