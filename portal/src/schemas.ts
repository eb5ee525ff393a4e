import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The request schemas the routes validate with (Fastify's Ajv) and document (OpenAPI): a request that does not
 * match is refused with VALIDATION and the fields, before anything is sent to a peer.
 */
const derivedId = (prefix: string, what: string) =>
  Type.String({
    pattern: `^${prefix}_[0-9a-f]{24}$`,
    description: `${what} id, ${prefix}_ and 24 hex digits`,
  });

export const SubscriptionId = derivedId('sub', 'subscription');
export const BillId = derivedId('bill', 'bill');
export const RequestId = derivedId('par', 'personal-data request');

/** UTC with seconds, as the ledger writes times. */
export const IsoTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$',
  description: 'UTC time with seconds, e.g. 2026-01-15T00:00:00Z',
});

export const Text = (description: string, maxLength = 500) =>
  Type.String({ minLength: 1, maxLength, description });

export const Range = Type.Object(
  { from: Type.Optional(IsoTime), to: Type.Optional(IsoTime) },
  { additionalProperties: false },
);

export const SubscriptionParams = Type.Object({ id: SubscriptionId });
export const BillParams = Type.Object({ id: BillId });
export const RequestParams = Type.Object({ id: RequestId });

export const MinorAmount = Type.Integer({
  minimum: 1,
  maximum: 1_000_000_000,
  description: "an amount in the currency's minor unit (cents, pence)",
});

/** A body that carries nothing (a JSON object with no properties). */
export const NoFields = Type.Record(Type.String(), Type.Never(), { maxProperties: 0 });

export const SubscriptionStatus = Type.Union(
  ['REQUESTED', 'APPROVED', 'REJECTED', 'ACTIVE', 'ENDED'].map((s) => Type.Literal(s)),
);

/**
 * Route handlers see their request typed from these schemas (Fastify's type providers, in five lines: the
 * provider package resolves another TypeBox than ours in this workspace).
 */
export interface SchemaTypes extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** The app as route modules see it: requests typed from their schemas. */
export type PortalApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  SchemaTypes
>;

/** A module of routes (one per area of the API). */
export type RouteModule = (app: PortalApp) => void;
