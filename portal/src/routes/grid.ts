import { Type } from '@sinclair/typebox';
import type { FaultyMeterRecord, PriceSignalRecord } from '@smartmeter/domain';
import type { PortalContext } from '../context';
import { Range, Text, type RouteModule } from '../schemas';
import { rangeOf } from './range';

const tags = ['grid'];

/** The grid's side: faulty meters (aggregate mode) and a region's price signals. */
export const gridRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    app.get(
      '/api/faulty-meters',
      { schema: { tags, summary: "The distributor's meters whose shares the ledger found faulty" } },
      (): Promise<FaultyMeterRecord[]> => {
        ctx.requireParty('distributor');
        return ctx.deps.withChannel(({ aggregation }) => aggregation.faultyMeters(ctx.profile.mspId));
      },
    );

    app.get(
      '/api/price-signals',
      {
        schema: {
          tags,
          summary: "A region's price signals of a range (manual, or derived from the regional load)",
          querystring: Type.Composite([Type.Object({ region: Text('region code', 64) }), Range], {
            additionalProperties: false,
          }),
        },
      },
      (request): Promise<PriceSignalRecord[]> => {
        const range = rangeOf(request.query, ctx.deps.now());
        return ctx.deps.withChannel(({ pricing }) =>
          pricing.signals(request.query.region, range.from, range.to),
        );
      },
    );
  };
