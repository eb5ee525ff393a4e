/**
 * The public authority's pages, from its reporting database (filled from the ledger): the load of the grid's
 * regions, where buckets of too few households are suppressed so that no household's consumption shows; price
 * signals; who asked for whose personal data; subscription counts; and missing readings.
 */
import type {
  AccessLogRow,
  GroupCount,
  LoadPoint,
  MissingReadingsRow,
  PriceSignalRecord,
  RegionLoad,
} from '../src/api';
import { seriesChart } from './charts.js';
import { dataTable, h, tableRow } from './dom.js';
import { actionForm, dayRangeOf, regionCodeField } from './forms.js';
import {
  addDays,
  endOfDay,
  formatEnergy,
  formatInteger,
  formatPeriod,
  formatTime,
  minorPerKwh,
  secondsBucketLabel,
  startOfDay,
  todayUtc,
} from './format.js';
import { getJson } from './http.js';
import { priceSignalChart } from './ledgerViews.js';
import { afterChange, note, page, section, type PartyPages, type ViewContext } from './views.js';

/**
 * The reporting database leaves out the load of a bucket of fewer households than this (the ledger's
 * AggregationLimits.minMetersPerLoad); the API does not send the number, so the note states it.
 */
const SUPPRESSION_HOUSEHOLDS = 5;
const DEFAULT_RANGE_DAYS = 7;
const LOAD_LEVELS = 5;
const BUCKET_CHOICES: [string, string][] = [
  ['1800', '30 minutes'],
  ['3600', '1 hour'],
  ['86400', '1 day'],
];

interface DayRange {
  from: string;
  to: string;
}

/** The last seven UTC days, today included. */
function defaultRange(): DayRange {
  const today = todayUtc();
  return { from: addDays(today, 1 - DEFAULT_RANGE_DAYS), to: today };
}

function rangeQuery(range: DayRange): { from: string; to: string } {
  return { from: startOfDay(range.from), to: endOfDay(range.to) };
}

function withReportDb(ctx: ViewContext, title: string, render: () => Promise<Node>): Promise<Node> {
  if (ctx.session.reportDb) return render();
  return Promise.resolve(
    page(
      title,
      note(
        'The reporting database is not configured: start meterctl serve with its --db-url.',
        'no-report-db',
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// #/load

const loadFilter: { region?: string; range?: DayRange; bucketSeconds: number } = { bucketSeconds: 3600 };

function renderLoad(ctx: ViewContext): Promise<Node> {
  return withReportDb(ctx, 'Regional load', async () => {
    const range = loadFilter.range ?? defaultRange();
    const regions = await getJson<RegionLoad[]>('/api/reports/regions', rangeQuery(range));
    const sorted = [...regions].sort((a, b) => a.regionCode.localeCompare(b.regionCode));
    const region = loadFilter.region ?? sorted.at(0)?.regionCode;
    const points =
      region === undefined
        ? undefined
        : await getJson<LoadPoint[]>('/api/reports/load', {
            region,
            ...rangeQuery(range),
            bucketSeconds: loadFilter.bucketSeconds,
          });
    return page(
      'Regional load',
      loadForm(ctx, region, range),
      region === undefined || points === undefined
        ? note('No region has readings in this period.')
        : loadSection(region, range, points),
      regionGrid(ctx, sorted, region, range),
    );
  });
}

function loadForm(ctx: ViewContext, region: string | undefined, range: DayRange): HTMLFormElement {
  return actionForm({
    id: 'load-filter',
    className: 'filter',
    fields: [
      regionCodeField('load-region', region),
      {
        name: 'from',
        label: 'From (UTC day)',
        kind: 'date',
        required: true,
        value: range.from,
        testId: 'load-from',
      },
      {
        name: 'to',
        label: 'To (UTC day, included)',
        kind: 'date',
        required: true,
        value: range.to,
        testId: 'load-to',
      },
      {
        name: 'bucket',
        label: 'Bucket',
        kind: 'select',
        required: true,
        value: String(loadFilter.bucketSeconds),
        options: BUCKET_CHOICES,
        testId: 'load-bucket',
      },
    ],
    submitLabel: 'Show',
    submitTestId: 'load-submit',
    onSubmit: (values) => {
      loadFilter.range = dayRangeOf(values);
      loadFilter.region = values.text('region');
      loadFilter.bucketSeconds = Number(values.text('bucket'));
      return Promise.resolve(`Load of ${loadFilter.region}`);
    },
    onSuccess: afterChange(ctx),
  });
}

function loadSection(region: string, range: DayRange, points: LoadPoint[]): HTMLElement {
  const suppressed = points.filter((point) => point.suppressed || point.energyWh === null).length;
  const sumWh = points.reduce((sum, point) => sum + (point.energyWh ?? 0), 0);
  const chart = seriesChart({
    testId: 'region-load-chart',
    // Bars: a suppressed bucket is an empty slot, and a lone bucket between two gaps still shows.
    kind: 'bar',
    label: `Load of region ${region} in kWh per bucket, ${formatPeriod(startOfDay(range.from), endOfDay(range.to))}; suppressed buckets are gaps`,
    summary: loadSummary(points, sumWh),
    categories: points.map((point) => secondsBucketLabel(point.periodStart, loadFilter.bucketSeconds)),
    values: points.map((point) => (point.energyWh === null ? null : point.energyWh / 1000)),
    seriesName: `Load of ${region} (kWh)`,
    yAxisName: 'kWh',
    drawnAttributes: { 'data-points': String(points.length), 'data-sum-wh': String(sumWh) },
  });
  return section(
    `Load of ${region}`,
    chart,
    h(
      'p',
      { class: 'note', 'data-testid': 'suppressed-note' },
      `${suppressed} ${suppressed === 1 ? 'bucket' : 'buckets'} suppressed (fewer than ${SUPPRESSION_HOUSEHOLDS} households)`,
    ),
  );
}

function loadSummary(points: LoadPoint[], sumWh: number): string {
  const shown = points.filter((point): point is LoadPoint & { energyWh: number } => point.energyWh !== null);
  if (shown.length === 0) return `${points.length} buckets, none with a load that may be shown.`;
  const peak = shown.reduce((best, point) => (point.energyWh > best.energyWh ? point : best));
  return `${points.length} buckets; ${formatEnergy(sumWh)} in the buckets shown; the highest was ${formatEnergy(peak.energyWh)} at ${formatTime(peak.periodStart)}.`;
}

/** Tiles of every region, shaded in five levels of the largest region's load; the figures are in each tile. */
function regionGrid(
  ctx: ViewContext,
  regions: RegionLoad[],
  selected: string | undefined,
  range: DayRange,
): HTMLElement {
  const max = Math.max(0, ...regions.map((region) => region.energyWh ?? 0));
  return section(
    `Regions, ${formatPeriod(startOfDay(range.from), endOfDay(range.to))}`,
    h('p', { class: 'hint' }, 'Darker tiles carry more load, relative to the region with the most.'),
    regions.length === 0
      ? note('No region has readings in this period.')
      : h(
          'ul',
          { class: 'region-grid' },
          ...regions.map((region) => regionTile(ctx, region, max, region.regionCode === selected)),
        ),
  );
}

function regionTile(ctx: ViewContext, region: RegionLoad, max: number, selected: boolean): HTMLElement {
  const shade =
    region.suppressed || region.energyWh === null ? 'suppressed' : `load-${loadLevel(region.energyWh, max)}`;
  const button = h(
    'button',
    { type: 'button', class: 'tile-name', 'aria-current': selected ? 'true' : undefined },
    region.regionCode,
  );
  button.addEventListener('click', () => {
    loadFilter.region = region.regionCode;
    afterChange(ctx)(`Load of ${region.regionCode}`);
  });
  return h(
    'li',
    {
      class: `region-tile ${shade}${selected ? ' selected' : ''}`,
      'data-testid': 'region-tile',
      'data-region': region.regionCode,
    },
    button,
    h(
      'p',
      { class: 'tile-load' },
      region.energyWh === null
        ? `Suppressed (fewer than ${SUPPRESSION_HOUSEHOLDS} households)`
        : formatEnergy(region.energyWh),
    ),
    h('p', { class: 'tile-households' }, `${formatInteger(region.households)} households`),
  );
}

function loadLevel(energyWh: number, max: number): number {
  if (max <= 0) return 0;
  return Math.min(LOAD_LEVELS - 1, Math.floor((energyWh / max) * LOAD_LEVELS));
}

// ---------------------------------------------------------------------------------------------------------------
// #/prices

const priceFilter: { region?: string; range?: DayRange } = {};

async function renderPrices(ctx: ViewContext): Promise<Node> {
  const range = priceFilter.range ?? defaultRange();
  const region = priceFilter.region ?? loadFilter.region;
  const form = pricesForm(ctx, region, range);
  if (region === undefined)
    return page('Price signals', form, note('Give a region code to see its price signals.'));
  const signals = await getJson<PriceSignalRecord[]>('/api/price-signals', { region, ...rangeQuery(range) });
  const sorted = [...signals].sort((a, b) => a.periodStart.localeCompare(b.periodStart));
  return page(
    'Price signals',
    form,
    section(
      `Price signals of ${region}`,
      priceSignalChart(
        sorted,
        `Price signals of region ${region}, ${formatPeriod(startOfDay(range.from), endOfDay(range.to))}`,
      ),
      sorted.length === 0 ? null : signalTable(sorted),
    ),
  );
}

function pricesForm(ctx: ViewContext, region: string | undefined, range: DayRange): HTMLFormElement {
  return actionForm({
    id: 'prices-filter',
    className: 'filter',
    fields: [
      regionCodeField('prices-region', region),
      { name: 'from', label: 'From (UTC day)', kind: 'date', required: true, value: range.from },
      { name: 'to', label: 'To (UTC day, included)', kind: 'date', required: true, value: range.to },
    ],
    submitLabel: 'Show',
    submitTestId: 'prices-submit',
    onSubmit: (values) => {
      priceFilter.range = dayRangeOf(values);
      priceFilter.region = values.text('region');
      return Promise.resolve(`Price signals of ${priceFilter.region}`);
    },
    onSuccess: afterChange(ctx),
  });
}

function signalTable(signals: PriceSignalRecord[]): HTMLElement {
  return dataTable({
    caption: 'Price signals',
    headers: ['Period', 'Price (minor units per kWh)', 'Source', 'Published', 'Policy'],
    rows: signals.map((signal) =>
      tableRow(
        [
          formatTime(signal.periodStart),
          String(minorPerKwh(signal.priceMicroPerKwh)),
          signal.source ?? 'manual',
          formatTime(signal.publishedAt),
          policyText(signal),
        ],
        { 'data-testid': 'price-signal-row' },
      ),
    ),
    testId: 'price-signals',
  });
}

function policyText(signal: PriceSignalRecord): string {
  const policy = signal.policy;
  if (!policy) return '—';
  return `policy v${policy.policyVersion} of ${policy.policyRegionCode}: ${formatInteger(policy.averagePowerW)} W on average gives ${minorPerKwh(policy.priceMicroPerKwh)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// #/access-log

function renderAccessLog(ctx: ViewContext): Promise<Node> {
  return withReportDb(ctx, 'Access to personal data', async () => {
    const rows = await getJson<AccessLogRow[]>('/api/reports/access-log');
    const newestFirst = [...rows].sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
    return page(
      'Access to personal data',
      dataTable({
        caption: 'Requests for households’ personal data and what the households decided',
        headers: ['Requested', 'Requester', 'Subscription', 'Reason', 'Status', 'Decided'],
        rows: newestFirst.map((row) =>
          tableRow(
            [
              formatTime(row.requestedAt),
              row.requesterMspId,
              row.subscriptionId,
              row.reason,
              row.status,
              formatTime(row.decidedAt),
            ],
            { 'data-testid': 'access-log-row', 'data-request-id': row.requestId },
          ),
        ),
        testId: 'access-log',
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/subscriptions

function renderSubscriptionCounts(ctx: ViewContext): Promise<Node> {
  return withReportDb(ctx, 'Subscriptions', async () => {
    const [byStatus, byRegion] = await Promise.all([
      getJson<GroupCount[]>('/api/reports/subscriptions', { by: 'status' }),
      getJson<GroupCount[]>('/api/reports/subscriptions', { by: 'region' }),
    ]);
    return page(
      'Subscriptions',
      h(
        'div',
        { class: 'two-columns' },
        countTable('By status', 'Status', byStatus, 'subscriptions-by-status'),
        countTable('By region', 'Region', byRegion, 'subscriptions-by-region'),
      ),
    );
  });
}

function countTable(caption: string, groupHeader: string, counts: GroupCount[], testId: string): HTMLElement {
  const sorted = [...counts].sort((a, b) => a.group.localeCompare(b.group));
  return dataTable({
    caption,
    headers: [groupHeader, 'Subscriptions'],
    rows: sorted.map((count) =>
      tableRow([count.group, formatInteger(count.subscriptions)], { 'data-group': count.group }),
    ),
    testId,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/missing

function renderMissingReadings(ctx: ViewContext): Promise<Node> {
  return withReportDb(ctx, 'Missing readings', async () => {
    const rows = await getJson<MissingReadingsRow[]>('/api/reports/missing-readings');
    if (rows.length === 0) return page('Missing readings', note('No subscription misses readings.'));
    const mostMissingFirst = [...rows].sort((a, b) => b.missing - a.missing);
    return page(
      'Missing readings',
      dataTable({
        caption: 'Subscriptions with missing readings',
        headers: ['Subscription', 'Channel', 'Region', 'Expected', 'Received', 'Missing', 'Last reading'],
        rows: mostMissingFirst.map((row) =>
          tableRow(
            [
              row.subscriptionId,
              row.channel,
              row.regionCode,
              formatInteger(row.expected),
              formatInteger(row.received),
              formatInteger(row.missing),
              row.lastPeriodStart === null ? 'none yet' : formatTime(row.lastPeriodStart),
            ],
            { 'data-testid': 'missing-readings-row', 'data-subscription-id': row.subscriptionId },
          ),
        ),
        testId: 'missing-readings',
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------

export const authorityPages: PartyPages = {
  landing: '/load',
  routes: [
    { path: '/load', label: 'Regional load', render: renderLoad },
    { path: '/prices', label: 'Price signals', render: renderPrices },
    { path: '/access-log', label: 'Access log', render: renderAccessLog },
    { path: '/subscriptions', label: 'Subscriptions', render: renderSubscriptionCounts },
    { path: '/missing', label: 'Missing readings', render: renderMissingReadings },
  ],
};
