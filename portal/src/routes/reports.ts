import { Type } from '@sinclair/typebox';
import { parseLoadOptions } from '@smartmeter/client/dist/commands/report';
import { integerOption } from '@smartmeter/client/dist/commands/context';
import {
  DEFAULT_MIN_HOUSEHOLDS,
  groupSubscriptions,
  missingReadings,
  type LoadRow,
} from '@smartmeter/client/dist/reporting/reports';
import { isoSecondsOf } from '@smartmeter/domain';
import type { AccessLogRow, GroupCount, LoadPoint, MissingReadingsRow, RegionLoad } from '../api';
import type { PortalContext } from '../context';
import { IsoTime, Range, Text, type RouteModule } from '../schemas';
import { rangeOf } from './range';

const tags = ['reports'];

/** The authority's pages, from its reporting database (meterctl report sync fills it). */
export const reportRoutes =
  (ctx: PortalContext): RouteModule =>
  (app) => {
    const store = () => {
      ctx.requireParty('authority');
      return ctx.reportStore();
    };
    // As meterctl report load: REPORT_MIN_HOUSEHOLDS, else the default.
    const minHouseholds = () =>
      integerOption(
        'REPORT_MIN_HOUSEHOLDS',
        ctx.deps.env.REPORT_MIN_HOUSEHOLDS ?? String(DEFAULT_MIN_HOUSEHOLDS),
        1,
        1_000_000,
      );

    app.get(
      '/api/reports/load',
      {
        schema: {
          tags,
          summary: "A region's load in buckets; buckets of fewer households than the minimum are suppressed",
          querystring: Type.Object(
            {
              region: Text('region code', 64),
              from: IsoTime,
              to: IsoTime,
              bucketSeconds: Type.Optional(
                Type.String({ pattern: '^[0-9]{1,8}$', description: 'seconds per bucket, 60 to 2678400' }),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request): Promise<LoadPoint[]> => {
        const { region, from, to } = request.query;
        const options = parseLoadOptions(
          {
            region,
            from,
            to,
            interval: String(
              integerOption('bucketSeconds', request.query.bucketSeconds ?? '3600', 60, 31 * 86_400),
            ),
            dbName: '-',
          },
          ctx.deps.env,
        );
        return (await store()).load(
          region,
          options.from,
          options.to,
          options.bucketSeconds,
          options.minHouseholds,
        );
      },
    );

    app.get(
      '/api/reports/regions',
      {
        schema: {
          tags,
          summary: "Every region's load over a range, summed over its days that may be shown",
          querystring: Range,
        },
      },
      async (request): Promise<RegionLoad[]> => {
        const range = rangeOf(request.query, ctx.deps.now());
        const db = await store();
        const regions = [
          ...new Set((await db.subscriptions()).flatMap((s) => (s.regionCode ? [s.regionCode] : []))),
        ].sort();
        const loads: RegionLoad[] = [];
        for (const regionCode of regions)
          loads.push(
            regionTotal(regionCode, await db.load(regionCode, range.from, range.to, 86_400, minHouseholds())),
          );
        return loads;
      },
    );

    app.get(
      '/api/reports/subscriptions',
      {
        schema: {
          tags,
          summary: 'Subscriptions counted by status, region or distributor',
          querystring: Type.Object(
            {
              by: Type.Optional(
                Type.Union([Type.Literal('status'), Type.Literal('region'), Type.Literal('distributor')]),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request): Promise<GroupCount[]> =>
        groupSubscriptions(await (await store()).subscriptions(), request.query.by ?? 'status'),
    );

    app.get(
      '/api/reports/missing-readings',
      { schema: { tags, summary: 'Per subscription: periods ended so far, readings received, missing' } },
      async (): Promise<MissingReadingsRow[]> =>
        missingReadings(await (await store()).subscriptions(), isoSecondsOf(ctx.deps.now())).map((row) => ({
          subscriptionId: row.subscriptionId,
          channel: row.channel,
          regionCode: row.regionCode,
          expected: row.expected,
          received: row.received,
          missing: row.missing,
          lastPeriodStart: row.lastPeriodStart ?? null,
        })),
    );

    app.get(
      '/api/reports/access-log',
      { schema: { tags, summary: 'Who asked for whose personal data, why, and what the household decided' } },
      async (): Promise<AccessLogRow[]> =>
        (await (await store()).accessRequests({}))
          .map((r) => ({
            requestId: r.requestId,
            subscriptionId: r.subscriptionId,
            requesterMspId: r.requesterMspId,
            reason: r.reason,
            status: r.status,
            requestedAt: r.requestedAt,
            decidedAt: r.decidedAt,
          }))
          .sort((a, b) => (a.requestedAt < b.requestedAt ? -1 : 1)),
    );
  };

/**
 * A region's days summed: a day that may not be shown (fewer households than the minimum) adds nothing, and
 * the region is suppressed when every day with readings is.
 */
export function regionTotal(regionCode: string, days: readonly LoadRow[]): RegionLoad {
  const withReadings = days.filter((d) => d.households > 0);
  const shown = withReadings.filter((d) => !d.suppressed);
  const suppressed = withReadings.length > 0 && shown.length === 0;
  return {
    regionCode,
    energyWh: suppressed ? null : shown.reduce((sum, d) => sum + (d.energyWh ?? 0), 0),
    households: Math.max(0, ...withReadings.map((d) => d.households)),
    suppressed,
  };
}
