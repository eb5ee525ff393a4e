import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  CryptoInputError,
  bf2Entry,
  bloomFilterHas,
  parseBloomFilterJson,
  parseGridShare,
  sumPrids,
  verifyShareSignature,
  type BloomFilterJson,
  type GridShare,
} from '@smartmeter/crypto';
import {
  AggregationLimits,
  EventName,
  gridShareRecordOf,
  type AggregationFiltersRecord,
  type AggregationFiltersView,
  type AggregationRoundRecord,
  type Bf1PartRecord,
  type FaultyMeterRecord,
  type GridShareRecord,
  type RoundResolution,
} from '@smartmeter/domain';
import { callerOf, describe, isAggregator, isAuditor, isOperatorOf, type Caller } from '../access';
import {
  DAY_SECONDS,
  bf1PartFor,
  bf1PartKey,
  filtersFor,
  parseDay,
  parseDecimal,
  requireRegionCode,
  requireShareTime,
  roundContext,
  roundRecord,
  sharesOfRound,
  type RoundContext,
} from '../aggregation';
import { SmartMeterContract } from '../baseContract';
import { derivePolicyPrice } from '../pricing';
import { alreadyExists, conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys, aggregationRoundKey, gridShareKey } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { readOptional, saveAndEmit, valuesByPartialKey, valuesByRange, write } from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds, txTimeIso } from '../ledger/txTime';
import {
  parseIntegerArgument,
  parseJsonArray,
  parseJsonObject,
  requireIdentifier,
  requireInteger,
  requireOnlyFields,
} from '../validate';

/**
 * This Fabric's SmartBFT refuses a transaction over 500 KB (hard-coded, orderer/consensus/smartbft/util.go), and
 * a stored argument is in a transaction twice (argument and write set): the header and each BF1 part stay under
 * these, and the client cuts BF1 into parts that do (buildDayFilters).
 */
const MAX_FILTERS_JSON = 200 * 1024;
const MAX_BF1_PART_JSON = 200 * 1024;
const MAX_BATCH_JSON = 256 * 1024;
const MASK_SUM_LIMIT = 2n ** 32n * BigInt(AggregationLimits.maxMetersPerRegion);
const MAX_LIST_DAYS = 7;

/**
 * The aggregate privacy mode (docs/aggregation.md, after Oksuz 2024). The distributor publishes each day's
 * filters and mask sums; the aggregator submits the meters' pseudonymous shares and closes rounds; every
 * endorser re-verifies every share, so an aggregator that forges, alters or drops shares is caught here.
 */
@Info({ title: 'Aggregation', description: 'Pseudonymous grid shares and regional loads' })
export class AggregationContract extends SmartMeterContract {
  constructor() {
    super('Aggregation');
  }

  /** The distributor's operator publishes BF1, BF2 and the mask sums of one region and day, once. */
  @Transaction()
  @Returns('string')
  async PublishFilters(ctx: Context, filtersJson: string): Promise<string> {
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller)) {
      throw forbidden(`PublishFilters needs a distributor's operator; caller is ${describe(caller)}`);
    }
    const input = parseFilters(filtersJson);
    const dayStart = parseDay(input.day);
    const now = txEpochSeconds(ctx);
    if (dayStart + DAY_SECONDS + AggregationLimits.maxShareDelaySeconds < now) {
      throw invalidArgument(
        `${input.day} is too far in the past: no share of it can reach the ledger any more`,
      );
    }
    if (dayStart > now + 40 * DAY_SECONDS) throw invalidArgument(`${input.day} is more than 40 days ahead`);
    const key = Keys.aggregationFilters.key(ctx, { regionCode: input.regionCode, day: input.day });
    if (await readOptional(ctx, key)) {
      throw alreadyExists(`filters for ${input.regionCode} on ${input.day} are already published`);
    }
    const record: AggregationFiltersRecord = {
      ...input,
      docType: 'aggregationFilters',
      distributorMspId: caller.mspId,
      publishedAt: isoSeconds(now),
    };
    return saveAndEmit(ctx, key, record, EventName.AggregationFiltersPublished, {
      regionCode: input.regionCode,
      day: input.day,
      meterCount: input.meterCount,
    });
  }

  /** The distributor's operator publishes one part of BF1 for a day whose header it published. */
  @Transaction()
  @Returns('string')
  async PublishBf1Part(
    ctx: Context,
    regionCode: string,
    day: string,
    part: string,
    bf1Json: string,
  ): Promise<string> {
    const caller = callerOf(ctx);
    const region = requireRegionCode(regionCode);
    parseDay(day);
    const filters = await filtersFor(ctx, region, day);
    if (!filters) throw notFound(`no aggregation filters for ${region} on ${day}: publish the header first`);
    if (!isOperatorOf(caller, filters.distributorMspId)) {
      throw forbidden(
        `PublishBf1Part needs an operator of ${filters.distributorMspId}; caller is ${describe(caller)}`,
      );
    }
    const parts = DAY_SECONDS / filters.periodSeconds / filters.periodsPerPart;
    const index = parseIntegerArgument('part', part, 0, parts - 1);
    const key = bf1PartKey(ctx, region, day, index);
    if (await readOptional(ctx, key))
      throw alreadyExists(`BF1 part ${index} of ${region} on ${day} is already published`);
    const record: Bf1PartRecord = {
      docType: 'aggregationBf1Part',
      regionCode: region,
      day,
      part: index,
      bf1: bloomFilterArgument('bf1', parseJsonObject('bf1', bf1Json, MAX_BF1_PART_JSON)),
      publishedAt: txTimeIso(ctx),
    };
    await write(ctx, key, record);
    const event = { regionCode: region, day, part: index, parts };
    ctx.stub.setEvent(EventName.AggregationFiltersPublished, Buffer.from(canonicalJson(event)));
    return canonicalJson(event);
  }

  /**
   * The aggregator submits shares of one round. Each is checked against BF1 and its signature, its time and
   * the round; a share already stored is skipped (a resend), the same PRID with other content is CONFLICT.
   */
  @Transaction()
  @Returns('string')
  async SubmitShares(ctx: Context, batchJson: string): Promise<string> {
    requireAggregator(callerOf(ctx), 'SubmitShares');
    const batch = parseJsonObject('batch', batchJson, MAX_BATCH_JSON);
    requireOnlyFields('batch', batch, ['regionCode', 'periodStart', 'shares']);
    const regionCode = requireRegionCode(batch.regionCode);
    const periodStart = requireIsoText('periodStart', batch.periodStart);
    if (!Array.isArray(batch.shares) || batch.shares.length === 0) {
      throw invalidArgument('shares must be a non-empty array');
    }
    if (batch.shares.length > AggregationLimits.maxSharesPerBatch) {
      throw invalidArgument(
        `a batch holds at most ${AggregationLimits.maxSharesPerBatch} shares (got ${batch.shares.length})`,
      );
    }
    const round = await roundContext(ctx, regionCode, periodStart);
    if (await roundRecord(ctx, regionCode, periodStart)) {
      throw conflict(`round ${regionCode} ${periodStart} is closed: no more shares`);
    }
    const now = txEpochSeconds(ctx);
    const bf1 = (await bf1PartFor(ctx, round)).bf1 as BloomFilterJson;
    const fresh = new Map<string, GridShareRecord>();
    let duplicates = 0;
    for (const [index, raw] of batch.shares.entries()) {
      const share = checkedShare(`shares[${index}]`, raw, regionCode, periodStart, round, now, bf1);
      const record = gridShareRecordOf(share);
      const earlier = fresh.get(share.prid) ?? (await storedShare(ctx, share));
      if (earlier) {
        if (canonicalJson(earlier) !== canonicalJson(record)) {
          throw conflict(`shares[${index}]: PRID ${share.prid} already has another share in this round`);
        }
        duplicates += 1;
        continue;
      }
      fresh.set(share.prid, record);
    }
    for (const record of fresh.values()) {
      await write(ctx, gridShareKey(regionCode, periodStart, record.prid), record);
    }
    const result = { regionCode, periodStart, stored: fresh.size, duplicates };
    ctx.stub.setEvent(EventName.GridSharesSubmitted, Buffer.from(canonicalJson(result)));
    return canonicalJson(result);
  }

  /**
   * Ends a round: adds up its PRIDs and checks the sum against BF2. If every meter reported, the round is
   * COMPLETE with the regional load Σ values − Z; otherwise it is FAULT and shows no load.
   */
  @Transaction()
  @Returns('string')
  async CloseRound(ctx: Context, regionCode: string, periodStart: string): Promise<string> {
    requireAggregator(callerOf(ctx), 'CloseRound');
    const region = requireRegionCode(regionCode);
    const start = requireIsoText('periodStart', periodStart);
    const round = await roundContext(ctx, region, start);
    if (txEpochSeconds(ctx) < round.periodEndSeconds) {
      throw invalidArgument(`round ${region} ${start} has not ended yet`);
    }
    if (await roundRecord(ctx, region, start)) throw conflict(`round ${region} ${start} is already closed`);
    const shares = await sharesOfRound(ctx, region, start);
    const shareSum = shares.reduce((sum, share) => sum + BigInt(share.value), 0n);
    const pridSum = sumPrids(shares.map((share) => share.prid));
    const expectedShares = 2 * round.filters.meterCount;
    const matches =
      shares.length === expectedShares &&
      bloomFilterHas(round.filters.bf2 as BloomFilterJson, bf2Entry(start, pridSum));
    const maskSum = round.filters.maskSums[round.periodIndex];
    const record: AggregationRoundRecord = {
      docType: 'aggregationRound',
      regionCode: region,
      periodStart: start,
      periodSeconds: round.filters.periodSeconds,
      distributorMspId: round.filters.distributorMspId,
      status: matches ? 'COMPLETE' : 'FAULT',
      shareCount: shares.length,
      expectedShares,
      shareSum: shareSum.toString(),
      pridSum,
      ...(matches ? { maskSum, load: (shareSum - BigInt(maskSum)).toString() } : {}),
      closedAt: txTimeIso(ctx),
    };
    const signal =
      record.load === undefined
        ? undefined
        : await derivePolicyPrice(ctx, { ...record, load: record.load }, record.closedAt);
    return saveAndEmit(ctx, aggregationRoundKey(region, start), record, EventName.AggregationRoundClosed, {
      regionCode: region,
      periodStart: start,
      status: record.status,
      ...(signal ? { priceMicroPerKwh: signal.priceMicroPerKwh, priceSource: signal.source } : {}),
    });
  }

  /**
   * The distributor resolves a FAULT round: it names the meters that did not report, the shares to leave out
   * (a half-reporting meter's lone share, or one from no known meter) and the mask sum of the meters that did.
   */
  @Transaction()
  @Returns('string')
  async ResolveRound(ctx: Context, resolutionJson: string): Promise<string> {
    const raw = parseJsonObject('resolution', resolutionJson, MAX_BATCH_JSON);
    requireOnlyFields('resolution', raw, [
      'regionCode',
      'periodStart',
      'missingMeters',
      'excludedPrids',
      'correctedMaskSum',
    ]);
    const region = requireRegionCode(raw.regionCode);
    const start = requireIsoText('periodStart', raw.periodStart);
    const round = await roundRecord(ctx, region, start);
    if (!round) throw notFound(`round ${region} ${start} is not closed`);
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller, round.distributorMspId)) {
      throw forbidden(
        `ResolveRound needs an operator of ${round.distributorMspId}; caller is ${describe(caller)}`,
      );
    }
    if (round.status !== 'FAULT') throw conflict(`round ${region} ${start} is ${round.status}, not FAULT`);
    const missingMeters = requireIdList('missingMeters', raw.missingMeters, requireIdentifier);
    const excludedPrids = requireIdList('excludedPrids', raw.excludedPrids, requirePrid);
    const correctedMaskSum = parseDecimal('correctedMaskSum', raw.correctedMaskSum, MASK_SUM_LIMIT);
    const shares = await sharesOfRound(ctx, region, start);
    const stored = new Set(shares.map((share) => share.prid));
    const unknown = excludedPrids.filter((prid) => !stored.has(prid));
    if (unknown.length > 0)
      throw invalidArgument(`excludedPrids are not shares of this round: ${unknown.join(', ')}`);
    const excluded = new Set(excludedPrids);
    const countedShares = shares.filter((share) => !excluded.has(share.prid));
    const load = countedShares.reduce((sum, share) => sum + BigInt(share.value), 0n) - correctedMaskSum;
    const now = txTimeIso(ctx);
    for (const meterId of missingMeters) {
      const finding: FaultyMeterRecord = {
        docType: 'faultyMeter',
        distributorMspId: round.distributorMspId,
        meterId,
        regionCode: region,
        periodStart: start,
        recordedAt: now,
      };
      await write(
        ctx,
        Keys.faultyMeter.key(ctx, { distributorMspId: round.distributorMspId, meterId, periodStart: start }),
        finding,
      );
    }
    const resolution: RoundResolution = {
      missingMeters,
      excludedPrids,
      correctedMaskSum: correctedMaskSum.toString(),
      resolvedAt: now,
    };
    // Too few meters left in the sum would make it one household's consumption: then no load is shown.
    const counted = round.expectedShares / 2 - missingMeters.length;
    const resolved: AggregationRoundRecord = {
      ...round,
      status: 'RESOLVED',
      maskSum: correctedMaskSum.toString(),
      ...(counted >= AggregationLimits.minMetersPerLoad ? { load: load.toString() } : {}),
      resolution,
    };
    const signal =
      resolved.load === undefined
        ? undefined
        : await derivePolicyPrice(ctx, { ...resolved, load: resolved.load }, now);
    return saveAndEmit(
      ctx,
      aggregationRoundKey(region, start),
      resolved,
      EventName.AggregationRoundResolved,
      {
        regionCode: region,
        periodStart: start,
        missingMeters: missingMeters.length,
        ...(signal ? { priceMicroPerKwh: signal.priceMicroPerKwh, priceSource: signal.source } : {}),
      },
    );
  }

  @Transaction(false)
  @Returns('string')
  async GetFilters(ctx: Context, regionCode: string, day: string): Promise<string> {
    requireGridReader(callerOf(ctx), 'GetFilters');
    const region = requireRegionCode(regionCode);
    parseDay(day);
    const filters = await filtersFor(ctx, region, day);
    if (!filters) throw notFound(`no aggregation filters for ${region} on ${day}`);
    const parts = DAY_SECONDS / filters.periodSeconds / filters.periodsPerPart;
    const bf1Parts = [];
    for (let part = 0; part < parts; part++) {
      const record = await readOptional<Bf1PartRecord>(ctx, bf1PartKey(ctx, region, day, part));
      if (!record)
        throw notFound(
          `the filters of ${region} on ${day} are incomplete: BF1 part ${part} of ${parts} is missing`,
        );
      bf1Parts.push(record.bf1);
    }
    const view: AggregationFiltersView = { ...filters, bf1Parts };
    return canonicalJson(view);
  }

  @Transaction(false)
  @Returns('string')
  async GetRound(ctx: Context, regionCode: string, periodStart: string): Promise<string> {
    requireGridReader(callerOf(ctx), 'GetRound');
    const region = requireRegionCode(regionCode);
    const round = await roundRecord(ctx, region, requireIsoText('periodStart', periodStart));
    if (!round) throw notFound(`round ${region} ${periodStart} is not closed`);
    return canonicalJson(round);
  }

  /** The closed rounds of a region in [from, to), at most a week. */
  @Transaction(false)
  @Returns('string')
  async ListRounds(ctx: Context, regionCode: string, from: string, to: string): Promise<string> {
    requireGridReader(callerOf(ctx), 'ListRounds');
    const region = requireRegionCode(regionCode);
    const fromSeconds = parseIsoSeconds('from', from);
    const toSeconds = parseIsoSeconds('to', to);
    if (toSeconds <= fromSeconds || toSeconds - fromSeconds > MAX_LIST_DAYS * DAY_SECONDS) {
      throw invalidArgument(`to must be after from, at most ${MAX_LIST_DAYS} days later`);
    }
    const rounds = await valuesByRange<AggregationRoundRecord>(
      ctx,
      aggregationRoundKey(region, from),
      aggregationRoundKey(region, to),
    );
    return canonicalJson(rounds);
  }

  /** A round's stored shares: the distributor's fault scan compares them with its meters' PRIDs. */
  @Transaction(false)
  @Returns('string')
  async ListShares(ctx: Context, regionCode: string, periodStart: string): Promise<string> {
    requireGridReader(callerOf(ctx), 'ListShares');
    const region = requireRegionCode(regionCode);
    return canonicalJson(await sharesOfRound(ctx, region, requireIsoText('periodStart', periodStart)));
  }

  /**
   * The shares stored under the given PRIDs, of one region: how the distributor finds one household's shares
   * to bill it, and how the household finds them to check its bill. Each PRID is a key lookup, never a scan.
   * Households may look up too: a PRID is known only to the holder of the session key (and, once listed, to the
   * grid roles, which households are not), so a household can read its own shares and no one else's.
   */
  @Transaction(false)
  @Returns('string')
  async GetShares(ctx: Context, regionCode: string, lookupsJson: string): Promise<string> {
    const caller = callerOf(ctx);
    if (
      !isOperatorOf(caller) &&
      !isAuditor(caller) &&
      !isAggregator(caller) &&
      caller.role !== 'subscriber'
    ) {
      throw forbidden(`GetShares needs a grid role or a household; caller is ${describe(caller)}`);
    }
    const region = requireRegionCode(regionCode);
    const lookups = parseShareLookups(lookupsJson);
    const found: GridShareRecord[] = [];
    for (const lookup of lookups) {
      for (const prid of lookup.prids) {
        const share = await readOptional<GridShareRecord>(
          ctx,
          gridShareKey(region, lookup.periodStart, prid),
        );
        if (share) found.push(share);
      }
    }
    return canonicalJson(found);
  }

  /** Meters found missing, for one distributor: its operators and the authority's auditors. */
  @Transaction(false)
  @Returns('string')
  async ListFaultyMeters(ctx: Context, distributorMspId: string): Promise<string> {
    const distributor = requireIdentifier('distributorMspId', distributorMspId);
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller, distributor) && !isAuditor(caller)) {
      throw forbidden(
        `ListFaultyMeters needs an operator of ${distributor} or an auditor; caller is ${describe(caller)}`,
      );
    }
    const findings = await valuesByPartialKey<
      FaultyMeterRecord,
      'distributorMspId' | 'meterId' | 'periodStart'
    >(ctx, Keys.faultyMeter, { distributorMspId: distributor });
    return canonicalJson(findings);
  }
}

/** At most this many periods per GetShares call (two PRIDs each): about 0.8 MB of answer. */
export const MAX_SHARE_LOOKUPS = 1000;

function parseShareLookups(json: string): { periodStart: string; prids: string[] }[] {
  const items = parseJsonArray('lookups', json, MAX_SHARE_LOOKUPS * 200);
  if (items.length === 0 || items.length > MAX_SHARE_LOOKUPS) {
    throw invalidArgument(`send 1 to ${MAX_SHARE_LOOKUPS} lookups at a time (got ${items.length})`);
  }
  return items.map((item, index) => {
    const where = `lookups[${index}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw invalidArgument(`${where} must be an object`);
    const raw = item as Record<string, unknown>;
    requireOnlyFields(where, raw, ['periodStart', 'prids']);
    const periodStart = requireIsoText(`${where}.periodStart`, raw.periodStart);
    if (!Array.isArray(raw.prids) || raw.prids.length === 0 || raw.prids.length > 2)
      throw invalidArgument(`${where}.prids must list one or two PRIDs`);
    return { periodStart, prids: raw.prids.map((prid, j) => requirePrid(`${where}.prids[${j}]`, prid)) };
  });
}

function requireAggregator(caller: Caller, action: string): void {
  if (!isAggregator(caller)) {
    throw forbidden(`${action} needs the aggregator (role=aggregator); caller is ${describe(caller)}`);
  }
}

/** Regional data: the distributors' operators, the authority's auditors and the aggregator; no household. */
function requireGridReader(caller: Caller, action: string): void {
  if (!isOperatorOf(caller) && !isAuditor(caller) && !isAggregator(caller)) {
    throw forbidden(
      `${action} needs an operator, an auditor or the aggregator; caller is ${describe(caller)}`,
    );
  }
}

function requireIsoText(name: string, value: unknown): string {
  parseIsoSeconds(name, value);
  return value as string;
}

function requirePrid(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw invalidArgument(`${name} must be a PRID (64 lowercase hex characters)`);
  }
  return value;
}

function requireIdList(
  name: string,
  value: unknown,
  check: (name: string, value: unknown) => string,
): string[] {
  if (!Array.isArray(value) || value.length > 2 * AggregationLimits.maxMetersPerRegion) {
    throw invalidArgument(`${name} must be an array of at most ${2 * AggregationLimits.maxMetersPerRegion}`);
  }
  const items = value.map((item, index) => check(`${name}[${index}]`, item));
  if (new Set(items).size !== items.length) throw invalidArgument(`${name} lists an entry twice`);
  return [...items].sort();
}

type FiltersInput = Omit<AggregationFiltersRecord, 'docType' | 'distributorMspId' | 'publishedAt'>;

function parseFilters(json: string): FiltersInput {
  const raw = parseJsonObject('filters', json, MAX_FILTERS_JSON);
  requireOnlyFields('filters', raw, [
    'regionCode',
    'day',
    'periodSeconds',
    'meterCount',
    'periodsPerPart',
    'bf2',
    'maskSums',
  ]);
  const regionCode = requireRegionCode(raw.regionCode);
  parseDay(raw.day);
  const periodSeconds = requireInteger(
    'periodSeconds',
    raw.periodSeconds,
    AggregationLimits.minPeriodSeconds,
    DAY_SECONDS,
  );
  if (periodSeconds % AggregationLimits.minPeriodSeconds !== 0 || DAY_SECONDS % periodSeconds !== 0) {
    throw invalidArgument('periodSeconds must be a multiple of 300 that divides a day');
  }
  const meterCount = requireInteger(
    'meterCount',
    raw.meterCount,
    AggregationLimits.minMetersPerLoad,
    AggregationLimits.maxMetersPerRegion,
  );
  const periods = DAY_SECONDS / periodSeconds;
  const periodsPerPart = requireInteger('periodsPerPart', raw.periodsPerPart, 1, periods);
  if (periods % periodsPerPart !== 0)
    throw invalidArgument(`periodsPerPart must divide the day's ${periods} periods`);
  if (!Array.isArray(raw.maskSums) || raw.maskSums.length !== periods) {
    throw invalidArgument(`maskSums must list one mask sum per period: ${periods}`);
  }
  const maskSums = raw.maskSums.map((value, index) =>
    parseDecimal(`maskSums[${index}]`, value, MASK_SUM_LIMIT).toString(),
  );
  return {
    regionCode,
    day: raw.day as string,
    periodSeconds,
    meterCount,
    periodsPerPart,
    bf2: bloomFilterArgument('bf2', raw.bf2),
    maskSums,
  };
}

function bloomFilterArgument(name: string, value: unknown): BloomFilterJson {
  try {
    return parseBloomFilterJson(value);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`${name}: ${err.message}`);
    throw err;
  }
}

/** Parses and verifies one share of a batch; every refusal names the share. */
function checkedShare(
  where: string,
  raw: unknown,
  regionCode: string,
  periodStart: string,
  round: RoundContext,
  txSeconds: number,
  bf1: BloomFilterJson,
): GridShare {
  let share: GridShare;
  try {
    share = parseGridShare(raw);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`${where}: ${err.message}`);
    throw err;
  }
  if (share.region !== regionCode || share.periodStart !== periodStart) {
    throw invalidArgument(`${where} belongs to round ${share.region} ${share.periodStart}, not this batch's`);
  }
  requireShareTime(where, parseIsoSeconds(`${where}.sentAt`, share.sentAt), round, txSeconds);
  if (!bloomFilterHas(bf1, share.prid)) {
    throw forbidden(`${where}: PRID ${share.prid} is no meter of ${regionCode} on this day (not in BF1)`);
  }
  if (!verifyShareSignature(share)) throw forbidden(`${where}: the signature does not verify`);
  return share;
}

async function storedShare(ctx: Context, share: GridShare): Promise<GridShareRecord | undefined> {
  return readOptional<GridShareRecord>(ctx, gridShareKey(share.region, share.periodStart, share.prid));
}
