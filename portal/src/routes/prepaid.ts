import { Type } from '@sinclair/typebox';
import type { WalletRecord } from '@smartmeter/domain';
import type { WalletView } from '../api';
import type { PortalContext } from '../context';
import {
  MinorAmount,
  NoFields,
  SubscriptionId,
  SubscriptionParams,
  Text,
  type RouteModule,
} from '../schemas';

const tags = ['prepaid'];

/** A prepaid subscription's wallet: balance and supply; top-up (operator), transfer and emergency credit (household). */
export const prepaidRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    app.get(
      '/api/subscriptions/:id/wallet',
      {
        schema: {
          tags,
          summary: 'The wallet (NOT_FOUND when the subscription is not prepaid)',
          params: SubscriptionParams,
        },
      },
      async (request): Promise<WalletView> => ({
        wallet: await ctx.deps.withChannel(({ prepaid }) => prepaid.wallet(request.params.id)),
      }),
    );

    app.post(
      '/api/subscriptions/:id/wallet/top-up',
      {
        schema: {
          tags,
          summary: 'The operator records a purchase (idempotent per payment reference)',
          params: SubscriptionParams,
          body: Type.Object(
            { amountMinor: MinorAmount, reference: Text('payment reference', 64) },
            { additionalProperties: false },
          ),
        },
      },
      (request): Promise<WalletRecord> => {
        ctx.requireParty('distributor');
        const { amountMinor, reference } = request.body;
        return ctx.deps.withChannel(({ prepaid }) =>
          prepaid.topUp(request.params.id, amountMinor, reference),
        );
      },
    );

    app.post(
      '/api/subscriptions/:id/wallet/transfer',
      {
        schema: {
          tags,
          summary: "The household gives tokens to a neighbour's wallet on the same channel",
          params: SubscriptionParams,
          body: Type.Object(
            { to: SubscriptionId, amountMinor: MinorAmount },
            { additionalProperties: false },
          ),
        },
      },
      (request): Promise<WalletRecord> => {
        ctx.requireParty('household');
        const { to, amountMinor } = request.body;
        return ctx.deps.withChannel(({ prepaid }) => prepaid.transfer(request.params.id, to, amountMinor));
      },
    );

    app.post(
      '/api/subscriptions/:id/wallet/emergency-credit',
      {
        schema: {
          tags,
          summary: 'The household takes its emergency credit',
          params: SubscriptionParams,
          body: Type.Optional(NoFields),
        },
      },
      (request): Promise<WalletRecord> => {
        ctx.requireParty('household');
        return ctx.deps.withChannel(({ prepaid }) => prepaid.takeEmergencyCredit(request.params.id));
      },
    );
  };
