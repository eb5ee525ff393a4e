import { APPROVAL, billEvidence, householdSubscription } from '../../client/test/commands/support/fixtures';
import type { TestWorld } from '../../client/test/commands/support/world';
import { bearer, rawRequest, refusalOf, servePartyPortal, worldOf } from './support/parties';
import type { ServedPortal } from './support/served';

/** A Content-Security-Policy as directive → its sources. */
function directivesOf(csp: string | null): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const directive of (csp ?? '').split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) directives.set(name, sources);
  }
  return directives;
}

type HeaderSource = Pick<Headers, 'get'>;

/** The headers every answer carries, whatever its status. */
function expectPageHeaders(headers: HeaderSource): void {
  const csp = directivesOf(headers.get('content-security-policy'));
  expect(csp.get('default-src')).toEqual(["'none'"]);
  expect(csp.get('script-src')).toEqual(["'self'"]);
  expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('x-frame-options')).toBe('DENY');
  // HSTS over plain http would pin a name to TLS that this server does not offer.
  expect(headers.get('strict-transport-security')).toBeNull();
}

/** Node's raw headers read like fetch's. */
function headersOf(raw: Record<string, string | string[] | undefined>): HeaderSource {
  return {
    get: (name) => {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : String(value);
    },
  };
}

describe('portal security headers', () => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => {
    world = worldOf('household');
    world.clients = { subscriptions: { mine: async () => [] } };
    served = await servePartyPortal(world, 'household');
  });
  afterEach(() => served.close());

  it.each([
    ['the page', '/', false],
    ['the session', '/api/session', true],
    ['an API answer', '/api/subscriptions', true],
    ['an unknown API route (404)', '/api/no-such-route', true],
    ['a refusal without a session (401)', '/api/subscriptions', false],
    ["the API's description", '/api/openapi.json', false],
  ])(
    'when the server answers %s then it carries the CSP, nosniff, no-referrer and DENY',
    async (_what, path, signedIn) => {
      const headers: Record<string, string> = signedIn ? { cookie: (await served.signIn()).cookie } : {};

      const response = await served.call(path, { headers });

      expectPageHeaders(response.headers);
    },
  );

  it.each([
    ['the session', '/api/session', true],
    ['an unknown API route (404)', '/api/no-such-route', true],
    ['a refusal without a session (401)', '/api/subscriptions', false],
  ])('when the API answers %s then it may not be cached', async (_what, path, signedIn) => {
    const headers: Record<string, string> = signedIn ? { cookie: (await served.signIn()).cookie } : {};

    const response = await served.call(path, { headers });

    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('when the server refuses another Host (421) then that answer carries the headers too', async () => {
    const answer = await rawRequest(served, '/api/session', { headers: { host: 'evil.example:1234' } });

    expect(answer.status).toBe(421);
    expectPageHeaders(headersOf(answer.headers));
  });

  it('when the event stream opens then it carries the page policy and is not cached', async () => {
    const response = await served.call('/api/events', { headers: bearer(served) });
    await response.body?.cancel();

    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expectPageHeaders(response.headers);
  });
});

describe('portal bill report page', () => {
  const BILL = 'bill_000000000000000000000001';
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => {
    world = worldOf('household');
    const { sessionKey } = householdSubscription(world.keystore, { status: 'ACTIVE', approval: APPROVAL });
    const evidence = billEvidence(sessionKey, [1000, 2500]);
    world.clients = { billing: { get: async () => evidence.bill }, billEvidence: async () => evidence };
    served = await servePartyPortal(world, 'household');
  });
  afterEach(() => served.close());

  it('when the household opens its bill report then it is HTML under a sandbox policy in which nothing runs or loads', async () => {
    const response = await served.call(`/api/bills/${BILL}/report`, { headers: bearer(served) });
    const html = await response.text();
    const csp = directivesOf(response.headers.get('content-security-policy'));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(csp.get('sandbox')).toEqual([]);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.has('script-src')).toBe(false);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(html).toContain(BILL);
    expect(html).not.toMatch(/<script/i);
    expect(world.methodsCalled()).toEqual(['billing.get', 'clients.billEvidence']);
  });
});

describe('portal static files', () => {
  let served: ServedPortal;
  beforeEach(async () => {
    served = await servePartyPortal(worldOf('household'), 'household');
  });
  afterEach(() => served.close());

  it.each([
    ['an encoded ../ out of the web folder', '/assets/..%2Fpackage.json'],
    ['an encoded ../../ out of the portal', '/assets/..%2F..%2Fpackage.json'],
    ['encoded dots and slashes', '/assets/%2e%2e%2fpackage.json'],
    ['a name that is not a script or stylesheet', '/assets/x.txt'],
    ['a script name that is not there', '/assets/missing.js'],
  ])('when asked for %s then it answers 404 NOT_FOUND with the page headers', async (_what, path) => {
    const response = await served.call(path);
    const headers = response.headers;

    expect(await refusalOf(response)).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } });
    expectPageHeaders(headers);
  });

  it('when the page loads the vendored ECharts then it is served as JavaScript with nosniff', async () => {
    const response = await served.call('/vendor/echarts.min.js');
    await response.body?.cancel();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('max-age=86400');
    expectPageHeaders(response.headers);
  });
});
