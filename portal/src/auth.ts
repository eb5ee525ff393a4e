import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PortalCode, PortalError } from './errors';

/**
 * Who may use the API: whoever holds this launch's access token (printed by meterctl serve, as Jupyter does).
 * The page trades it once for a session: an HttpOnly, SameSite=Strict cookie the page's scripts cannot read,
 * and a CSRF token they send with every state-changing call. Scripts may send the access token as a bearer
 * token instead (no cookie, so no CSRF). Nothing secret is kept in the browser's storage.
 */
export interface Session {
  id: string;
  csrfToken: string;
  createdAt: number;
}

export const SESSION_COOKIE = 'portal_session';
/** Sessions end with the server, or after this long. */
const SESSION_MS = 12 * 3600_000;
const MAX_SESSIONS = 64;

export class AccessControl {
  readonly accessToken: string;
  private readonly sessions = new Map<string, Session>();

  constructor(
    accessToken: string = randomToken(),
    private readonly secureCookie = false,
    private readonly now: () => number = Date.now,
  ) {
    this.accessToken = accessToken;
  }

  /** A new session for the right access token; UNAUTHENTICATED otherwise. */
  login(token: string): Session {
    if (!sameSecret(token, this.accessToken))
      throw new PortalError(
        401,
        PortalCode.Unauthenticated,
        'wrong access token: use the one meterctl serve printed at this launch',
      );
    this.forgetExpired();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    const session = { id: randomToken(), csrfToken: randomToken(), createdAt: this.now() };
    this.sessions.set(session.id, session);
    return session;
  }

  logout(request: FastifyRequest): void {
    const id = cookieOf(request, SESSION_COOKIE);
    if (id) this.sessions.delete(id);
  }

  sessionCookie(session: Session): string {
    const secure = this.secureCookie ? '; Secure' : '';
    return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${secure}`;
  }

  clearedCookie(): string {
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }

  /**
   * The caller's session (cookie) or "bearer" (access token); UNAUTHENTICATED without either. A cookie session
   * calling anything but GET must also carry its CSRF token: CSRF otherwise.
   */
  authenticate(request: FastifyRequest): Session | 'bearer' {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) {
      if (sameSecret(bearer, this.accessToken)) return 'bearer';
      throw new PortalError(401, PortalCode.Unauthenticated, 'wrong bearer token');
    }
    const session = this.sessionOf(request);
    if (!session)
      throw new PortalError(
        401,
        PortalCode.Unauthenticated,
        'not signed in: open the address meterctl serve printed',
      );
    if (!SAFE_METHODS.includes(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrfToken))
        throw new PortalError(403, PortalCode.Csrf, 'missing or wrong x-csrf-token header: reload the page');
    }
    return session;
  }

  sessionOf(request: FastifyRequest): Session | undefined {
    const id = cookieOf(request, SESSION_COOKIE);
    const session = id ? this.sessions.get(id) : undefined;
    if (!session || this.now() - session.createdAt > SESSION_MS) return undefined;
    return session;
  }

  private forgetExpired(): void {
    for (const [id, session] of this.sessions)
      if (this.now() - session.createdAt > SESSION_MS) this.sessions.delete(id);
  }
}

const SAFE_METHODS = ['GET', 'HEAD'];

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * Refuses a request whose Host header is not this server's own name (a DNS-rebinding page that resolved its
 * own name to 127.0.0.1), and a state-changing one whose Origin is another site's.
 */
export function checkOrigin(request: FastifyRequest, allowedHosts: readonly string[], scheme: string): void {
  const host = request.headers.host ?? '';
  if (!allowedHosts.includes(host))
    throw new PortalError(421, PortalCode.WrongHost, `this server does not serve host "${host}"`);
  const origin = request.headers.origin;
  if (origin !== undefined && !SAFE_METHODS.includes(request.method) && origin !== `${scheme}://${host}`)
    throw new PortalError(403, PortalCode.Csrf, `requests from ${origin} are not accepted`);
}

export function sendCookie(reply: FastifyReply, cookie: string): void {
  reply.header('set-cookie', cookie);
}
