import swagger from '@fastify/swagger';

import { Type } from '@sinclair/typebox';
import type { CommandDeps } from '@smartmeter/client/dist/commands/deps';
import type { RunningPortal, ServeOptions } from '@smartmeter/client/dist/commands/serve';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SessionInfo } from './api';
import { registerAssets } from './assets';
import { AccessControl, checkOrigin, sendCookie, type Session } from './auth';
import { portalContext, type PortalContext } from './context';
import { httpFailureOf, PortalCode, PortalError } from './errors';
import { EventHub } from './events';
import { securityHeaders } from './headers';
import type { SchemaTypes } from './schemas';
import { billRoutes } from './routes/bills';
import { gridRoutes } from './routes/grid';
import { personalDataRoutes } from './routes/personalData';
import { prepaidRoutes } from './routes/prepaid';
import { reportRoutes } from './routes/reports';
import { subscriptionRoutes } from './routes/subscriptions';

/** Calls that need no session: signing in, and the API's description. */
const OPEN_ROUTES = ['/api/login', '/api/openapi.json'];

export interface Portal {
  app: FastifyInstance;
  ctx: PortalContext;
  access: AccessControl;
  events: EventHub;
  /** Host headers the server answers (set once it listens: the port is known then). */
  allowHosts(hosts: string[]): void;
}

/** The portal's Fastify app for one party, not yet listening. */
export async function buildPortal(
  ctx: PortalContext,
  access: AccessControl = new AccessControl(undefined, Boolean(ctx.options.tls)),
): Promise<Portal> {
  const tls = ctx.options.tls;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    ...(tls ? { https: { cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } } : {}),
    // Nothing is converted: a JSON amount of true or "15" is refused, not read as 1 or 15.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  });
  const events = new EventHub(ctx);
  let hosts: string[] = [];
  const scheme = tls ? 'https' : 'http';

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'smartmeter-fabric portal API',
        version: '1',
        description:
          "The API the portal's pages use, served by meterctl serve for one identity. Sign in with POST /api/login (the launch's access token), then send the session cookie and, on every POST, the x-csrf-token header; or send the access token as a bearer token.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.addHook('onRequest', (request, _reply, done) => {
    try {
      checkOrigin(request, hosts, scheme);
      // The route matched, not the URL as sent: the router decodes it, so "/%61pi/..." is an API route too.
      const route = request.routeOptions.url;
      if (route !== undefined && route.startsWith('/api/') && !OPEN_ROUTES.includes(route))
        access.authenticate(request);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    securityHeaders(reply, Boolean(tls));
    return payload;
  });
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    const failure = err.validation
      ? {
          status: 400,
          error: {
            code: PortalCode.Validation,
            message: `the request does not match the API: ${err.message}`,
            fields: err.validation.map(
              (v) => `${err.validationContext ?? 'request'}${v.instancePath}: ${v.message ?? 'invalid'}`,
            ),
          },
        }
      : isFastifyClientError(err)
        ? { status: err.statusCode ?? 400, error: { code: PortalCode.Usage, message: err.message } }
        : httpFailureOf(err, ctx.profile.peer.endpoint);
    void reply.status(failure.status).send({ error: failure.error });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: {
        code: PortalCode.NotFound,
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      },
    });
  });

  const sessionInfo = (session: Session): SessionInfo => ({
    party: ctx.party,
    org: ctx.profile.org,
    mspId: ctx.profile.mspId,
    identity: ctx.identity.name,
    channel: ctx.channel,
    csrfToken: session.csrfToken,
    reportDb: Boolean(ctx.options.reportDb.url || ctx.deps.env.REPORT_DB_URL || ctx.profile.reportDbUrl),
  });

  app.post(
    '/api/login',
    {
      schema: {
        tags: ['session'],
        summary: "Trade the launch's access token for a session cookie and a CSRF token",
        security: [],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
      },
    },
    (request, reply) => {
      const session = access.login((request.body as { token: string }).token);
      sendCookie(reply, access.sessionCookie(session));
      return sessionInfo(session);
    },
  );
  app.post('/api/logout', { schema: { tags: ['session'], summary: 'End the session' } }, (request, reply) => {
    access.logout(request);
    sendCookie(reply, access.clearedCookie());
    return { ok: true };
  });
  app.get(
    '/api/session',
    { schema: { tags: ['session'], summary: 'Who this server acts for; the CSRF token' } },
    (request) => {
      const session = access.sessionOf(request);
      if (!session) throw new PortalError(401, PortalCode.Unauthenticated, 'not signed in with a cookie');
      return sessionInfo(session);
    },
  );
  app.get(
    '/api/events',
    { schema: { tags: ['session'], summary: 'Server-sent events: "ledger", one LedgerEvent each' } },
    (_request, reply) => {
      securityHeaders(reply, Boolean(tls));
      reply.hijack();
      reply.raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      events.add(reply.raw);
    },
  );
  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());

  for (const routes of [
    subscriptionRoutes,
    billRoutes,
    personalDataRoutes,
    prepaidRoutes,
    gridRoutes,
    reportRoutes,
  ])
    routes(ctx)(app.withTypeProvider<SchemaTypes>());
  registerAssets(app);
  return { app, ctx, access, events, allowHosts: (list) => (hosts = list) };
}

/** Fastify's own client errors (a body that is not JSON, an unsupported media type, too large): 4xx. */
function isFastifyClientError(err: FastifyError): boolean {
  return (
    !(err instanceof PortalError) &&
    typeof err.code === 'string' &&
    err.code.startsWith('FST_') &&
    (err.statusCode ?? 500) < 500
  );
}

/** meterctl serve: the portal for the served identity, listening, with its live updates running. */
export async function startPortal(deps: CommandDeps, options: ServeOptions): Promise<RunningPortal> {
  const ctx = portalContext(deps, options);
  const portal = await buildPortal(ctx);
  await portal.app.listen({ host: options.host, port: options.port });
  const { port } = portal.app.server.address() as AddressInfo;
  const hostName = options.host.includes(':') ? `[${options.host}]` : options.host;
  portal.allowHosts(hostNames(options.host, hostName, port));
  portal.events.start();
  const url = `${options.tls ? 'https' : 'http'}://${hostName}:${port}/`;
  return {
    url,
    loginUrl: `${url}#token=${portal.access.accessToken}`,
    party: ctx.party,
    identity: ctx.identity.name,
    channel: ctx.channel,
    close: async () => {
      portal.events.stop();
      await portal.app.close();
    },
  };
}

/** The Host headers a browser sends to this server: its address, and localhost for a loopback one. */
export function hostNames(host: string, hostName: string, port: number): string[] {
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  return [`${hostName}:${port}`, ...(loopback ? [`localhost:${port}`, `127.0.0.1:${port}`] : [])];
}
