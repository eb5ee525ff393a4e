import type { BillRecord } from '@smartmeter/domain';
import type { FastifyRequest } from 'fastify';
import { billEvidence } from '../../client/test/commands/support/fixtures';
import type { TestWorld } from '../../client/test/commands/support/world';
import type { SessionInfo } from '../src/api';
import { AccessControl, SESSION_COOKIE } from '../src/auth';
import {
  bearer,
  getWithBearer,
  postJson,
  rawRequest,
  refusalOf,
  servePartyPortal,
  worldOf,
} from './support/parties';
import type { ServedPortal } from './support/served';

const BILL = 'bill_000000000000000000000001';
const DISPUTE = `/api/bills/${BILL}/dispute`;

/** A household's server whose ledger takes a dispute of its bill and answers the bill disputed. */
async function householdPortal(): Promise<{ world: TestWorld; served: ServedPortal; dispute: jest.Mock }> {
  const world = worldOf('household');
  const { bill } = billEvidence(Buffer.alloc(32, 3), [1000]);
  const dispute = jest.fn(async (billId: string, reason: string): Promise<BillRecord> => ({
    ...bill,
    billId,
    status: 'DISPUTED',
    dispute: { reason, disputedAt: '2026-11-15T10:07:00Z' },
  }));
  world.clients = { billing: { dispute }, subscriptions: { mine: async () => [] } };
  return { world, served: await servePartyPortal(world, 'household'), dispute };
}

function disputeWith(served: ServedPortal, headers: Record<string, string>): Promise<Response> {
  return postJson(served, DISPUTE, { reason: 'the peak line looks high' }, headers);
}

/** The cookie's name=value and its attributes, as the browser reads a Set-Cookie header. */
function parseSetCookie(header: string): { name: string; value: string; attributes: string[] } {
  const [pair, ...attributes] = header.split(';').map((part) => part.trim());
  const [name, ...value] = pair.split('=');
  return { name, value: value.join('='), attributes };
}

describe('portal sign-in', () => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => ({ world, served } = await householdPortal()));
  afterEach(() => served.close());

  it('when a call has neither a session cookie nor a bearer token then it is refused 401 UNAUTHENTICATED and nothing is called', async () => {
    const response = await served.call('/api/subscriptions');

    expect(await refusalOf(response)).toEqual({
      status: 401,
      error: {
        code: 'UNAUTHENTICATED',
        message: 'not signed in: open the address meterctl serve printed',
      },
    });
    expect(world.calls).toEqual([]);
  });

  it('when /api/login gets a wrong token then it answers 401 UNAUTHENTICATED and sets no cookie', async () => {
    const response = await postJson(served, '/api/login', { token: `${served.token}x` }, {});

    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await refusalOf(response)).toMatchObject({ status: 401, error: { code: 'UNAUTHENTICATED' } });
    expect(world.calls).toEqual([]);
  });

  it("when /api/login gets the launch's token then it answers the session and an HttpOnly, SameSite=Strict cookie for / without Secure over http", async () => {
    const response = await postJson(served, '/api/login', { token: served.token }, {});
    const header = response.headers.get('set-cookie') ?? '';
    const cookie = parseSetCookie(header);
    const session = (await response.json()) as SessionInfo;

    expect(response.status).toBe(200);
    expect(session).toEqual({
      party: 'household',
      org: 'households1',
      mspId: 'Distributor1HouseholdsMSP',
      identity: 'hh-17',
      channel: 'northgrid',
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as string,
      reportDb: true,
    });
    expect(cookie.name).toBe(SESSION_COOKIE);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    expect(cookie.attributes).not.toContain('Secure');
    expect(header).not.toContain(served.token);
    expect(cookie.value).not.toBe(session.csrfToken);
  });

  it('when GET /api/session carries the cookie then it answers who the server acts for and the CSRF token of the session', async () => {
    const { cookie, csrfToken } = await served.signIn();

    const response = await served.call('/api/session', { headers: { cookie } });

    expect(response.status).toBe(200);
    expect((await response.json()) as SessionInfo).toMatchObject({
      party: 'household',
      identity: 'hh-17',
      channel: 'northgrid',
      csrfToken,
    });
  });

  it('when the browser signs in twice then each session has its own cookie and CSRF token', async () => {
    const first = await served.signIn();
    const second = await served.signIn();

    expect(second.cookie).not.toBe(first.cookie);
    expect(second.csrfToken).not.toBe(first.csrfToken);
  });
});

describe('portal CSRF protection', () => {
  let world: TestWorld;
  let served: ServedPortal;
  let dispute: jest.Mock;
  beforeEach(async () => ({ world, served, dispute } = await householdPortal()));
  afterEach(() => served.close());

  it('when a cookie session POSTs without x-csrf-token then it is refused 403 CSRF and nothing is sent', async () => {
    const { cookie } = await served.signIn();

    const response = await disputeWith(served, { cookie });

    expect(await refusalOf(response)).toEqual({
      status: 403,
      error: { code: 'CSRF', message: 'missing or wrong x-csrf-token header: reload the page' },
    });
    expect(world.calls).toEqual([]);
  });

  it("when the x-csrf-token is wrong or another session's then it is refused 403 CSRF and nothing is sent", async () => {
    const { cookie, csrfToken } = await served.signIn();
    const other = await served.signIn();

    const wrong = await disputeWith(served, { cookie, 'x-csrf-token': `${csrfToken.slice(1)}A` });
    const another = await disputeWith(served, { cookie, 'x-csrf-token': other.csrfToken });

    expect(await refusalOf(wrong)).toMatchObject({ status: 403, error: { code: 'CSRF' } });
    expect(await refusalOf(another)).toMatchObject({ status: 403, error: { code: 'CSRF' } });
    expect(world.calls).toEqual([]);
  });

  it("when the x-csrf-token is the session's then the dispute is sent and the disputed bill answered", async () => {
    const { cookie, csrfToken } = await served.signIn();

    const response = await disputeWith(served, { cookie, 'x-csrf-token': csrfToken });

    expect(response.status).toBe(200);
    expect((await response.json()) as BillRecord).toMatchObject({
      billId: BILL,
      status: 'DISPUTED',
      dispute: { reason: 'the peak line looks high' },
    });
    expect(dispute).toHaveBeenCalledWith(BILL, 'the peak line looks high');
  });

  it('when a script POSTs with the bearer token then it needs no CSRF token', async () => {
    const response = await disputeWith(served, bearer(served));

    expect(response.status).toBe(200);
    expect(dispute).toHaveBeenCalledTimes(1);
  });

  it('when the bearer token is wrong then it is refused 401 UNAUTHENTICATED, also beside a valid cookie, and nothing is sent', async () => {
    const { cookie, csrfToken } = await served.signIn();

    const alone = await disputeWith(served, { authorization: 'Bearer not-the-token' });
    const besideCookie = await disputeWith(served, {
      authorization: 'Bearer not-the-token',
      cookie,
      'x-csrf-token': csrfToken,
    });

    expect(await refusalOf(alone)).toEqual({
      status: 401,
      error: { code: 'UNAUTHENTICATED', message: 'wrong bearer token' },
    });
    expect(await refusalOf(besideCookie)).toMatchObject({ status: 401, error: { code: 'UNAUTHENTICATED' } });
    expect(world.calls).toEqual([]);
  });

  it('when a POST comes with the Origin of another site then it is refused 403 CSRF, whatever token it carries, and nothing is sent', async () => {
    const { cookie, csrfToken } = await served.signIn();
    const origin = 'http://evil.example';

    const withSession = await disputeWith(served, { cookie, 'x-csrf-token': csrfToken, origin });
    const withBearer = await disputeWith(served, { ...bearer(served), origin });

    expect(await refusalOf(withSession)).toEqual({
      status: 403,
      error: { code: 'CSRF', message: 'requests from http://evil.example are not accepted' },
    });
    expect(await refusalOf(withBearer)).toMatchObject({ status: 403, error: { code: 'CSRF' } });
    expect(world.calls).toEqual([]);
  });

  it('when another site posts the access token to /api/login then no session is made', async () => {
    const response = await postJson(
      served,
      '/api/login',
      { token: served.token },
      { origin: 'http://evil.example' },
    );

    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await refusalOf(response)).toMatchObject({ status: 403, error: { code: 'CSRF' } });
  });

  it("when a POST comes with the server's own Origin then it is accepted", async () => {
    const { cookie, csrfToken } = await served.signIn();

    const response = await disputeWith(served, { cookie, 'x-csrf-token': csrfToken, origin: served.base });

    expect(response.status).toBe(200);
    expect(dispute).toHaveBeenCalledTimes(1);
  });
});

describe('portal Host check (DNS rebinding)', () => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => ({ world, served } = await householdPortal()));
  afterEach(() => served.close());

  it.each([
    ['the page', 'GET', '/'],
    ['an API call with the bearer token', 'GET', '/api/subscriptions'],
    ['signing in with the right token', 'POST', '/api/login'],
  ])(
    'when %s names another host then it answers 421 WRONG_HOST, calls nothing and sets no cookie',
    async (_what, method, path) => {
      const answer = await rawRequest(served, path, {
        method,
        headers: { host: 'evil.example:1234', 'content-type': 'application/json', ...bearer(served) },
        body: method === 'POST' ? JSON.stringify({ token: served.token }) : undefined,
      });

      expect(answer.status).toBe(421);
      expect(JSON.parse(answer.body)).toEqual({
        error: { code: 'WRONG_HOST', message: 'this server does not serve host "evil.example:1234"' },
      });
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(world.calls).toEqual([]);
    },
  );

  it("when the Host is localhost with the loopback server's port then it answers", async () => {
    const port = new URL(served.base).port;

    const answer = await rawRequest(served, '/api/subscriptions', {
      headers: { host: `localhost:${port}`, ...bearer(served) },
    });

    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: '[]' });
  });
});

describe('portal sign-out', () => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => ({ world, served } = await householdPortal()));
  afterEach(() => served.close());

  it('when the session signs out then the cookie is cleared and no longer works', async () => {
    const { cookie, csrfToken } = await served.signIn();

    const logout = await served.call('/api/logout', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    const session = await served.call('/api/session', { headers: { cookie } });
    const list = await served.call('/api/subscriptions', { headers: { cookie } });

    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ ok: true });
    expect(parseSetCookie(logout.headers.get('set-cookie') ?? '')).toMatchObject({
      name: SESSION_COOKIE,
      value: '',
      attributes: expect.arrayContaining(['Max-Age=0']) as string[],
    });
    expect(session.status).toBe(401);
    expect(await refusalOf(list)).toMatchObject({ status: 401, error: { code: 'UNAUTHENTICATED' } });
    expect(world.calls).toEqual([]);
  });

  it('when sign-out comes without the CSRF token then it is refused and the session goes on', async () => {
    const { cookie } = await served.signIn();

    const logout = await served.call('/api/logout', { method: 'POST', headers: { cookie } });
    const session = await served.call('/api/session', { headers: { cookie } });

    expect(await refusalOf(logout)).toMatchObject({ status: 403, error: { code: 'CSRF' } });
    expect(session.status).toBe(200);
  });
});

describe('portal API paths', () => {
  let world: TestWorld;
  let served: ServedPortal;
  let dispute: jest.Mock;
  beforeEach(async () => ({ world, served, dispute } = await householdPortal()));
  afterEach(() => served.close());

  // The router decodes percent-escapes before it matches a route: /%61pi/ is /api/ to it.
  it('when the /api/ of a path is percent-encoded then reading without a session is still refused and nothing is called', async () => {
    const response = await served.call('/%61pi/subscriptions');

    expect(world.calls).toEqual([]);
    expect(response.status).toBeGreaterThanOrEqual(400);
  });

  it('when the /api/ of a POST is percent-encoded then a dispute without session or CSRF token is not sent', async () => {
    const response = await disputeWith(served, {});
    const encoded = await postJson(served, `/%61pi/bills/${BILL}/dispute`, { reason: 'forged' }, {});

    expect(dispute).not.toHaveBeenCalled();
    expect(response.status).toBe(401);
    expect(encoded.status).toBeGreaterThanOrEqual(400);
  });

  it("when a bearer token reads a route then the answer is the command's", async () => {
    const response = await getWithBearer(served, '/api/subscriptions');

    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 200,
      body: [],
    });
    expect(world.methodsCalled()).toEqual(['subscriptions.mine']);
  });
});

/** What AccessControl reads of a request: its method and headers. */
function requestWith(headers: Record<string, string>, method = 'GET'): FastifyRequest {
  return { method, headers } as unknown as FastifyRequest;
}

describe('AccessControl sessions', () => {
  it('when a session is older than 12 hours then it no longer authenticates', () => {
    let now = Date.parse('2026-11-15T10:00:00Z');
    const access = new AccessControl('launch-token', false, () => now);
    const session = access.login('launch-token');
    const withCookie = requestWith({ cookie: `${SESSION_COOKIE}=${session.id}` });

    now += 12 * 3600_000;
    const atTwelveHours = access.authenticate(withCookie);
    now += 1;

    expect(atTwelveHours).toBe(session);
    expect(() => access.authenticate(withCookie)).toThrow(
      expect.objectContaining({ status: 401, code: 'UNAUTHENTICATED' }) as Error,
    );
  });

  it('when served over TLS then the session cookie is also Secure; over http it is not', () => {
    const overTls = new AccessControl('launch-token', true);
    const overHttp = new AccessControl('launch-token', false);

    expect(overTls.sessionCookie(overTls.login('launch-token'))).toMatch(/; Secure$/);
    expect(overHttp.sessionCookie(overHttp.login('launch-token'))).not.toContain('Secure');
  });

  it('when a 65th session signs in then the oldest one ends and the others go on', () => {
    const access = new AccessControl('launch-token');
    const sessions = Array.from({ length: 65 }, () => access.login('launch-token'));
    const cookieOf = (index: number) => requestWith({ cookie: `${SESSION_COOKIE}=${sessions[index].id}` });

    expect(access.sessionOf(cookieOf(0))).toBeUndefined();
    expect(access.sessionOf(cookieOf(1))).toBe(sessions[1]);
    expect(access.sessionOf(cookieOf(64))).toBe(sessions[64]);
  });

  it('when a GET has the session cookie then it needs no CSRF token; a POST does', () => {
    const access = new AccessControl('launch-token');
    const session = access.login('launch-token');
    const cookie = `${SESSION_COOKIE}=${session.id}`;

    expect(access.authenticate(requestWith({ cookie }))).toBe(session);
    expect(() => access.authenticate(requestWith({ cookie }, 'POST'))).toThrow(
      expect.objectContaining({ status: 403, code: 'CSRF' }) as Error,
    );
    expect(access.authenticate(requestWith({ cookie, 'x-csrf-token': session.csrfToken }, 'POST'))).toBe(
      session,
    );
  });
});
