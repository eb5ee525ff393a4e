import { Type } from '@sinclair/typebox';
import {
  runPersonalDataDeny,
  runPersonalDataGrant,
  runPersonalDataList,
} from '@smartmeter/client/dist/commands/personalData';
import type { AccessRequestRecord } from '@smartmeter/domain';
import type { PortalContext } from '../context';
import { PortalCode, PortalError } from '../errors';
import { RequestParams, SubscriptionId, Text, type RouteModule } from '../schemas';

const tags = ['personal data'];

/** Requests for a household's personal data: who asks and why; the household grants (sealed) or denies. */
export const personalDataRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    app.get(
      '/api/personal-data',
      {
        schema: {
          tags,
          summary: "Requests for a subscription's personal data (a household: for all of its own)",
          querystring: Type.Object(
            { subscription: Type.Optional(SubscriptionId) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { subscription } = request.query;
        if (subscription || ctx.party !== 'household')
          return ctx.command<AccessRequestRecord[]>((deps) => runPersonalDataList(deps, { subscription }));
        // A household reads the requests of its own subscriptions, one by one.
        return ctx.deps.withChannel(async ({ subscriptions, personalData }) => {
          const requests: AccessRequestRecord[] = [];
          for (const own of await subscriptions.mine())
            requests.push(...(await personalData.forSubscription(own.subscriptionId)));
          return requests.sort((a, b) => (a.requestedAt < b.requestedAt ? -1 : 1));
        });
      },
    );

    app.post(
      '/api/personal-data/:id/grant',
      {
        schema: {
          tags,
          summary:
            "The household consents: the data goes sealed for the requester's key of this request only",
          params: RequestParams,
          body: Type.Object(
            { data: Text('the personal data to share', 4000) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        ctx.requireParty('household');
        const key = await sessionKeyNameFor(ctx, request.params.id);
        return ctx.command<AccessRequestRecord>((deps) =>
          runPersonalDataGrant(deps, request.params.id, {
            data: { plain: Buffer.from(request.body.data) },
            key,
          }),
        );
      },
    );

    app.post(
      '/api/personal-data/:id/deny',
      {
        schema: {
          tags,
          summary: 'The household refuses, saying why',
          params: RequestParams,
          body: Type.Object({ reason: Text('why') }, { additionalProperties: false }),
        },
      },
      (request) => {
        ctx.requireParty('household');
        return ctx.command<AccessRequestRecord>((deps) =>
          runPersonalDataDeny(deps, request.params.id, request.body.reason),
        );
      },
    );
  };

/** The keystore's name of the session key of the request's subscription (meterctl's --key). */
async function sessionKeyNameFor(ctx: PortalContext, requestId: string): Promise<string> {
  const keyId = await ctx.deps.withChannel(async ({ personalData, subscriptions }) => {
    const request = await personalData.get(requestId);
    return (await subscriptions.get(request.subscriptionId)).keyId;
  });
  const stored = ctx.deps
    .keystore()
    .sessionKeys()
    .find((k) => k.keyId === keyId);
  if (!stored)
    throw new PortalError(
      400,
      PortalCode.Usage,
      `the subscription's session key ${keyId} is not in this keystore ${ctx.deps.keystore().dir}`,
    );
  return stored.name;
}
