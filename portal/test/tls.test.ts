import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningPortal } from '@smartmeter/client/dist/commands/serve';
import { householdsProfile, TestWorld } from '../../client/test/commands/support/world';
import { writeBrokerCertificate } from '../../test/support/brokerCertificate';
import { startPortal } from '../src/server';
import { SERVE_OPTIONS } from './support/served';

/** The portal over TLS, as `meterctl serve --tls-cert --tls-key` starts it for an address beyond loopback. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpsCall(url: string, ca: Buffer, init: { method?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = httpsRequest(
      url,
      { method: init.method ?? 'GET', ca, headers: init.body ? { 'content-type': 'application/json' } : {} },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    call.on('error', reject);
    call.end(init.body);
  });
}

describe('the portal over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portal-tls-'));
  const certificate = writeBrokerCertificate(dir);
  const ca = readFileSync(certificate.certPath);
  let portal: RunningPortal;

  beforeAll(async () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    portal = await startPortal(world.deps({ identity: 'hh-17' }), { ...SERVE_OPTIONS, tls: certificate });
  });

  afterAll(async () => {
    await portal.close();
  });

  it('prints an https address, and serves the pages with HSTS', async () => {
    expect(portal.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(portal.loginUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    const page = await httpsCall(portal.url, ca);
    expect(page.status).toBe(200);
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('gives a Secure session cookie for the right token', async () => {
    const token = new URL(portal.loginUrl).hash.slice('#token='.length);
    const login = await httpsCall(new URL('/api/login', portal.url).href, ca, {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
  });

  it('does not answer plain HTTP on its port', async () => {
    const plain = new Promise<number>((resolve, reject) => {
      const call = httpRequest(portal.url.replace('https:', 'http:'), (response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
      });
      call.on('error', reject);
      call.end();
    });
    // The TLS server hangs up on a request in clear: it never serves the page (nor takes a token) without TLS.
    await expect(plain).rejects.toThrow('socket hang up');
  });
});
