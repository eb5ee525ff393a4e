import type { Command } from 'commander';
import {
  buildDayFilters,
  findMissingMeters,
  periodStartsOfDay,
  type AggregateMeter,
  type AggregationRoundRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { UsageError } from '../errors';
import { formatKwh, printResult, printRows } from '../output';
import { sessionKeyFor } from '../sessionKeys';
import { isoOption } from './context';
import type { CommandDeps, ContractClients } from './deps';

/**
 * meterctl grid: the aggregate privacy mode (docs/aggregation.md). The distributor publishes each day's
 * filters and finds missing meters; the authority and the distributor read the regional loads.
 */

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const REGION_PATTERN = /^[a-z0-9-]{1,16}(\/[a-z0-9-]{1,16}){0,5}$/;

export interface GridDayOptions {
  regionCode: string;
  day: string;
}

export function parseGridDayOptions(flags: { region: string; day: string }): GridDayOptions {
  if (!REGION_PATTERN.test(flags.region))
    throw new UsageError(`--region ${flags.region} is not a grid area path`);
  if (!DAY_PATTERN.test(flags.day) || Number.isNaN(Date.parse(`${flags.day}T00:00:00Z`))) {
    throw new UsageError(`--day must be a UTC date YYYY-MM-DD (got ${flags.day})`);
  }
  return { regionCode: flags.region, day: flags.day };
}

/** The region's aggregate meters whose subscriptions were active on the day, with their session keys. */
async function aggregateMetersOf(
  deps: CommandDeps,
  clients: ContractClients,
  options: GridDayOptions,
): Promise<{ meters: AggregateMeter[]; periodSeconds: number }> {
  const dayStart = Date.parse(`${options.day}T00:00:00Z`) / 1000;
  const subscriptions = (await clients.subscriptions.all('ACTIVE')).filter(
    (s) =>
      s.privacyMode === 'aggregate' && s.approval?.regionCode === options.regionCode && startsBy(s, dayStart),
  );
  if (subscriptions.length === 0) {
    throw new UsageError(`no active aggregate-mode subscription in ${options.regionCode} on ${options.day}`);
  }
  const intervals = new Set(subscriptions.map((s) => s.approval?.intervalSeconds));
  if (intervals.size !== 1) {
    throw new UsageError(
      `the aggregate meters of ${options.regionCode} report at different intervals (${[...intervals].join(', ')} s): one region, one period length`,
    );
  }
  const { mspId } = deps.profile();
  const keystore = deps.keystore();
  const meters = subscriptions.map((s) => ({
    meterId: s.meterId,
    sessionKey: sessionKeyFor(s, mspId, keystore).key,
  }));
  return { meters, periodSeconds: [...intervals][0] ?? 0 };
}

function startsBy(subscription: SubscriptionRecord, dayStart: number): boolean {
  const start = subscription.approval ? Date.parse(subscription.approval.startDate) / 1000 : Infinity;
  return start <= dayStart;
}

export async function runGridPublishFilters(deps: CommandDeps, options: GridDayOptions): Promise<void> {
  const record = await deps.withChannel(async (clients) => {
    const { meters, periodSeconds } = await aggregateMetersOf(deps, clients, options);
    deps.output.stderr.write(`deriving ${meters.length} meters' pseudonyms and masks for ${options.day}\n`);
    const set = buildDayFilters({ ...options, periodSeconds, meters });
    const header = await clients.aggregation.publishFilters(set, (published, parts) => {
      deps.output.stderr.write(`published BF1 part ${published} of ${parts}\n`);
    });
    return { ...header, bf1Parts: set.bf1Parts.length };
  });
  printResult(
    deps.output,
    record,
    () =>
      `published the filters of ${record.regionCode} for ${record.day}: ${record.meterCount} meters, ${record.maskSums.length} periods of ${record.periodSeconds} s, BF1 in ${record.bf1Parts} part(s)`,
  );
}

export interface GridRoundsOptions {
  regionCode: string;
  from: string;
  to: string;
}

export async function runGridRounds(deps: CommandDeps, options: GridRoundsOptions): Promise<void> {
  const rounds = await deps.withChannel(({ aggregation }) =>
    aggregation.rounds(options.regionCode, options.from, options.to),
  );
  printRows(deps.output, rounds, roundColumns);
}

const roundColumns = [
  { header: 'period start', value: (r: AggregationRoundRecord) => r.periodStart },
  { header: 'status', value: (r: AggregationRoundRecord) => r.status },
  {
    header: 'shares',
    value: (r: AggregationRoundRecord) => `${r.shareCount}/${r.expectedShares}`,
    csv: [
      { header: 'shares', value: (r: AggregationRoundRecord) => r.shareCount },
      { header: 'expected_shares', value: (r: AggregationRoundRecord) => r.expectedShares },
    ],
  },
  {
    header: 'load kWh',
    value: (r: AggregationRoundRecord) => (r.load === undefined ? '-' : formatKwh(Number(r.load))),
    csv: [{ header: 'load_wh', value: (r: AggregationRoundRecord) => r.load }],
  },
  {
    header: 'missing meters',
    value: (r: AggregationRoundRecord) => r.resolution?.missingMeters.join(' ') ?? '',
  },
];

export interface GridFaultsOptions extends GridDayOptions {
  /** Only report what was found, record nothing. */
  dryRun: boolean;
}

/**
 * For every FAULT round of the day: recompute the meters' PRIDs, name the meters that sent nothing or only
 * one share, and record that with the corrected mask sum, so the round's load becomes exact.
 */
export async function runGridFaults(deps: CommandDeps, options: GridFaultsOptions): Promise<void> {
  const findings = await deps.withChannel(async (clients) => {
    const { meters, periodSeconds } = await aggregateMetersOf(deps, clients, options);
    const starts = periodStartsOfDay(options.day, periodSeconds);
    const from = new Date(starts[0] * 1000).toISOString().replace('.000Z', 'Z');
    const to = new Date((starts[0] + 86_400) * 1000).toISOString().replace('.000Z', 'Z');
    const faulted = (await clients.aggregation.rounds(options.regionCode, from, to)).filter(
      (r) => r.status === 'FAULT',
    );
    const results = [];
    for (const round of faulted) {
      const shares = await clients.aggregation.shares(options.regionCode, round.periodStart);
      const resolution = findMissingMeters({
        regionCode: options.regionCode,
        periodStartSeconds: Date.parse(round.periodStart) / 1000,
        meters,
        storedPrids: shares.map((share) => share.prid),
      });
      const resolved = options.dryRun ? round : await clients.aggregation.resolveRound(resolution);
      results.push({ round: resolved, resolution });
      for (const meterId of resolution.missingMeters) {
        deps.output.stderr.write(
          `ALERT: meter ${meterId} did not report ${options.regionCode} ${round.periodStart}: investigate it\n`,
        );
      }
    }
    return results;
  });
  if (deps.output.json) {
    printResult(deps.output, findings, () => '');
    return;
  }
  if (findings.length === 0) {
    deps.output.stdout.write(`no faulted round in ${options.regionCode} on ${options.day}\n`);
    return;
  }
  printRows(
    deps.output,
    findings.map((f) => f.round),
    roundColumns,
  );
}

export async function runGridFaultyMeters(deps: CommandDeps, distributorMspId: string): Promise<void> {
  const findings = await deps.withChannel(({ aggregation }) => aggregation.faultyMeters(distributorMspId));
  printRows(deps.output, findings, [
    { header: 'meter', value: (f) => f.meterId },
    { header: 'region', value: (f) => f.regionCode },
    { header: 'period start', value: (f) => f.periodStart },
    { header: 'recorded', value: (f) => f.recordedAt },
  ]);
}

export function registerGridCommands(program: Command, deps: () => CommandDeps): void {
  const grid = program
    .command('grid')
    .description(
      'aggregate privacy mode: day filters, regional loads and missing meters (docs/aggregation.md)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid grid rounds --region north/d3 --from 2026-12-02 --to 2026-12-03',
    );
  grid
    .command('publish-filters')
    .description(
      "publish a region's BF1, BF2 and mask sums for a day (distributor operator), from its meters' keys",
    )
    .requiredOption('--region <regionCode>', 'grid area, e.g. north/d3')
    .requiredOption('--day <YYYY-MM-DD>', 'UTC day')
    .addHelpText(
      'after',
      "\nPublish before the day starts: a meter that joins later is in the next day's filters.\nExample:\n  meterctl -p .network/profiles/distributor1.json grid publish-filters --region north/d3 --day 2026-12-02",
    )
    .action((flags: { region: string; day: string }) =>
      runGridPublishFilters(deps(), parseGridDayOptions(flags)),
    );
  grid
    .command('rounds')
    .description('closed rounds of a region in [from, to): status, shares and regional load')
    .requiredOption('--region <regionCode>', 'grid area')
    .requiredOption('--from <time>', 'start (UTC)')
    .requiredOption('--to <time>', 'end (exclusive, at most 7 days later)')
    .addHelpText(
      'after',
      '\nWith --csv the load is a number column, load_wh.\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid grid rounds --region north/d3 --from 2026-12-02 --to 2026-12-03',
    )
    .action((flags: { region: string; from: string; to: string }) =>
      runGridRounds(deps(), {
        regionCode: flags.region,
        from: isoOption('--from', flags.from),
        to: isoOption('--to', flags.to),
      }),
    );
  grid
    .command('faults')
    .description(
      "find the meters missing from a day's FAULT rounds and record them with the corrected mask sum",
    )
    .requiredOption('--region <regionCode>', 'grid area')
    .requiredOption('--day <YYYY-MM-DD>', 'UTC day')
    .option('--dry-run', 'only say what was found')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/distributor1.json grid faults --region north/d3 --day 2026-12-01',
    )
    .action((flags: { region: string; day: string; dryRun?: boolean }) =>
      runGridFaults(deps(), { ...parseGridDayOptions(flags), dryRun: flags.dryRun === true }),
    );
  grid
    .command('faulty-meters')
    .description(
      "meters recorded as missing, for one distributor (its operators and the authority's auditors)",
    )
    .requiredOption('--distributor <mspId>', 'distributor MSP id, e.g. Distributor1MSP')
    .addHelpText(
      'after',
      '\nExample:\n  meterctl -p .network/profiles/authority.json -c northgrid grid faulty-meters --distributor Distributor1MSP',
    )
    .action((flags: { distributor: string }) => runGridFaultyMeters(deps(), flags.distributor));
}
