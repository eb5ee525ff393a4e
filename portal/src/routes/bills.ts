import { Type } from '@sinclair/typebox';
import {
  billReportHtml,
  billVerification,
  fetchSealedReport,
  runBillDispute,
  runBillIssue,
  runBillList,
  runBillResolve,
  runBillShow,
} from '@smartmeter/client/dist/commands/bill';
import type { BillRecord } from '@smartmeter/domain';
import type { BillVerificationView } from '../api';
import type { PortalContext } from '../context';
import { BILL_REPORT_CSP } from '../headers';
import { BillParams, IsoTime, MinorAmount, SubscriptionId, Text, type RouteModule } from '../schemas';

const tags = ['bills'];

/** Bills: list and show, verify against the ledger, the report page, issue, dispute, resolve, pay. */
export const billRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    app.get(
      '/api/bills',
      {
        schema: {
          tags,
          summary: "A subscription's bills; without one, every bill the caller may read",
          querystring: Type.Object(
            { subscription: Type.Optional(SubscriptionId) },
            { additionalProperties: false },
          ),
        },
      },
      (request) =>
        ctx.command<BillRecord[]>((deps) => runBillList(deps, { subscription: request.query.subscription })),
    );

    app.get('/api/bills/:id', { schema: { tags, summary: 'One bill', params: BillParams } }, (request) =>
      ctx.command<BillRecord>((deps) => runBillShow(deps, request.params.id)),
    );

    app.get(
      '/api/bills/:id/verification',
      {
        schema: {
          tags,
          summary: 'bill verify: the bill recomputed here from the ledger with the key the caller holds',
          params: BillParams,
        },
      },
      (request): Promise<BillVerificationView> => billVerification(ctx.deps, request.params.id, {}),
    );

    app.get(
      '/api/bills/:id/report',
      {
        schema: {
          tags,
          summary: "The bill's report page (HTML): rendered here (disclosed) or opened from IPFS (aggregate)",
          params: BillParams,
        },
      },
      async (request, reply) => {
        const bill = await ctx.deps.withChannel(({ billing }) => billing.get(request.params.id));
        const html = bill.aggregate
          ? (await fetchSealedReport(ctx.deps, bill.billId)).html
          : await billReportHtml(ctx.deps, bill.billId, {});
        // The page is a document of its own: no script runs in it, and it may not reach anything.
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', BILL_REPORT_CSP)
          .send(html);
      },
    );

    app.post(
      '/api/bills',
      {
        schema: {
          tags,
          summary: 'The distributor issues the bill of a period',
          body: Type.Object(
            { subscriptionId: SubscriptionId, from: IsoTime, to: IsoTime },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        const { subscriptionId, from, to } = request.body;
        return ctx.command<BillRecord>((deps) => runBillIssue(deps, subscriptionId, { from, to }));
      },
    );

    app.post(
      '/api/bills/:id/dispute',
      {
        schema: {
          tags,
          summary: 'The household disputes its bill, saying why',
          params: BillParams,
          body: Type.Object(
            { reason: Text('why the household disputes it') },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('household');
        return ctx.command<BillRecord>((deps) =>
          runBillDispute(deps, request.params.id, request.body.reason),
        );
      },
    );

    app.post(
      '/api/bills/:id/resolve',
      {
        schema: {
          tags,
          summary: 'The distributor resolves a dispute: UPHELD (the household was right) or REJECTED',
          params: BillParams,
          body: Type.Object(
            {
              outcome: Type.Union([Type.Literal('UPHELD'), Type.Literal('REJECTED')]),
              note: Text('what was found'),
            },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        return ctx.command<BillRecord>((deps) => runBillResolve(deps, request.params.id, request.body));
      },
    );

    app.post(
      '/api/bills/:id/payments',
      {
        schema: {
          tags,
          summary: 'The distributor records a payment (idempotent per reference)',
          params: BillParams,
          body: Type.Object(
            { amountMinor: MinorAmount, reference: Text('payment reference', 64) },
            { additionalProperties: false },
          ),
        },
      },
      (request) => {
        ctx.requireParty('distributor');
        const { amountMinor, reference } = request.body;
        return ctx.deps.withChannel(({ billing }) => billing.pay(request.params.id, amountMinor, reference));
      },
    );
  };
