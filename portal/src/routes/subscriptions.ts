import { Type } from '@sinclair/typebox';
import {
  runSubscriptionApprove,
  runSubscriptionCheckGrant,
  runSubscriptionEnd,
  runSubscriptionList,
  runSubscriptionReject,
  runSubscriptionShow,
} from '@smartmeter/client/dist/commands/subscription';
import { ErrorCode, type SubscriptionRecord } from '@smartmeter/domain';
import type { CompletenessView, ConsumptionView, GrantCheckView, TariffView } from '../api';
import type { PortalContext } from '../context';
import { PortalError } from '../errors';
import { IsoTime, Range, SubscriptionParams, SubscriptionStatus, Text, type RouteModule } from '../schemas';
import { completenessView, consumptionView } from '../views';
import { rangeOf } from './range';

const tags = ['subscriptions'];

/** Subscriptions: a household's own, an organization's on the channel; approval, rejection, the end. */
export const subscriptionRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    app.get(
      '/api/subscriptions',
      {
        schema: {
          tags,
          summary: "The household's own subscriptions; an organization's, by status",
          querystring: Type.Object(
            { status: Type.Optional(SubscriptionStatus) },
            { additionalProperties: false },
          ),
        },
      },
      (request) =>
        ctx.command<SubscriptionRecord[]>((deps) =>
          runSubscriptionList(deps, {
            status: (request.query.status ?? '') as SubscriptionRecord['status'] | '',
            mine: ctx.party === 'household',
          }),
        ),
    );

    app.get(
      '/api/subscriptions/:id',
      { schema: { tags, summary: 'One subscription', params: SubscriptionParams } },
      (request) => ctx.command<SubscriptionRecord>((deps) => runSubscriptionShow(deps, request.params.id)),
    );

    app.get(
      '/api/subscriptions/:id/consumption',
      {
        schema: {
          tags,
          summary:
            'Readings decrypted in this server (the caller holds the key), per hour, day or month, and the cost so far',
          params: SubscriptionParams,
          querystring: Type.Object(
            {
              from: Type.Optional(IsoTime),
              to: Type.Optional(IsoTime),
              bucket: Type.Optional(
                Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('month')]),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      (request): Promise<ConsumptionView> =>
        consumptionView(ctx.deps, request.params.id, {
          ...rangeOf(request.query, ctx.deps.now()),
          bucket: request.query.bucket ?? 'day',
        }),
    );

    app.get(
      '/api/subscriptions/:id/completeness',
      {
        schema: {
          tags,
          summary: 'Expected, present, missing and undecryptable readings of a range',
          params: SubscriptionParams,
          querystring: Range,
        },
      },
      (request): Promise<CompletenessView> =>
        completenessView(ctx.deps, request.params.id, rangeOf(request.query, ctx.deps.now())),
    );

    app.get(
      '/api/subscriptions/:id/tariff',
      {
        schema: {
          tags,
          summary: "The subscription's tariff in force and its region's price signals of a range",
          params: SubscriptionParams,
          querystring: Range,
        },
      },
      (request): Promise<TariffView> => {
        const range = rangeOf(request.query, ctx.deps.now());
        return ctx.deps.withChannel(async ({ subscriptions, pricing }) => {
          const subscription = await subscriptions.get(request.params.id);
          const approval = subscription.approval;
          if (!approval) throw notApproved(subscription.subscriptionId);
          return {
            tariff: await pricing.tariff(subscription.distributorMspId, approval.tariffId),
            signals: await pricing.signals(approval.regionCode, range.from, range.to),
          };
        });
      },
    );

    app.get(
      '/api/subscriptions/:id/grant-check',
      {
        schema: {
          tags,
          summary: 'The distributor checks the session key granted to it before approving',
          params: SubscriptionParams,
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        return ctx.command<GrantCheckView>((deps) => runSubscriptionCheckGrant(deps, request.params.id));
      },
    );

    app.post(
      '/api/subscriptions/:id/approve',
      {
        schema: {
          tags,
          summary: 'The distributor approves (after checking its key grant): tariff, region, interval, start',
          params: SubscriptionParams,
          body: Type.Object(
            {
              tariffId: Text('tariff id', 64),
              regionCode: Text('region code, e.g. north/d1', 64),
              intervalSeconds: Type.Integer({ minimum: 60, maximum: 86_400 }),
              startDate: Type.Optional(IsoTime),
            },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        return ctx.command<SubscriptionRecord>((deps) =>
          runSubscriptionApprove(deps, request.params.id, request.body),
        );
      },
    );

    app.post(
      '/api/subscriptions/:id/reject',
      {
        schema: {
          tags,
          summary: 'The distributor rejects a request, saying why',
          params: SubscriptionParams,
          body: Type.Object({ reason: Text('why') }, { additionalProperties: false }),
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        return ctx.command<SubscriptionRecord>((deps) =>
          runSubscriptionReject(deps, request.params.id, request.body.reason),
        );
      },
    );

    app.post(
      '/api/subscriptions/:id/end',
      {
        schema: {
          tags,
          summary: 'The household or the distributor ends the subscription (now, or at a time)',
          params: SubscriptionParams,
          body: Type.Object(
            { reason: Text('why'), effectiveAt: Type.Optional(IsoTime) },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('household', 'distributor');
        return ctx.command<SubscriptionRecord>((deps) =>
          runSubscriptionEnd(deps, request.params.id, {
            reason: request.body.reason,
            effectiveAt: request.body.effectiveAt ?? '',
          }),
        );
      },
    );
  };

function notApproved(subscriptionId: string): PortalError {
  return new PortalError(
    409,
    ErrorCode.Conflict,
    `subscription ${subscriptionId} is not approved: it has no tariff yet`,
  );
}
