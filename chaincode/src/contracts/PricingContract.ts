import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  EventName,
  validatePricePolicy,
  validateTariffDefinition,
  type TariffDefinition,
  type PricePolicyPointer,
  type PricePolicyRecord,
  type PriceSignalRecord,
  type TariffPointer,
  type TariffRecord,
} from '@smartmeter/domain';
import { callerOf, describe, isAuditor, isOperatorOf } from '../access';
import { SmartMeterContract } from '../baseContract';
import { conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys, priceSignalKey } from '../ledger/keys';
import { canonicalJson, marshal } from '../ledger/marshal';
import { readOptional, saveAndEmit, write } from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds } from '../ledger/txTime';
import {
  currentTariff,
  pricePolicyVersionKey,
  pricePolicyVersions,
  priceSignalsIn,
  requireRegion,
  tariffVersionKey,
  tariffVersions,
} from '../pricing';
import { BACKLOG_LIMIT_SECONDS } from '../subscriptions';
import {
  parseJsonArray,
  parseJsonObject,
  requireIdentifier,
  requireInteger,
  requireOnlyFields,
} from '../validate';

export const MAX_SIGNALS_PER_BATCH = 96;
const SIGNAL_ALIGNMENT_SECONDS = 300;
const MAX_SIGNAL_PRICE = 100_000_000_000;

/** Tariffs (versioned, never changed once published) and the authority's dynamic price signals. */
@Info({ title: 'Pricing', description: 'Tariff versions and regional price signals' })
export class PricingContract extends SmartMeterContract {
  constructor() {
    super('Pricing');
  }

  /**
   * A distributor's operator publishes a new version of one of its tariffs. Later versions may only take
   * effect from now on: a new version never reprices readings that an earlier version already covers.
   */
  @Transaction()
  @Returns('string')
  async PublishTariff(ctx: Context, tariffJson: string): Promise<string> {
    const { tariff, errors } = validateTariffDefinition(parseJsonObject('tariff', tariffJson));
    if (!tariff) throw invalidArgument(`tariff is invalid: ${errors.join('; ')}`);
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller))
      throw forbidden(`PublishTariff needs a distributor's operator; caller is ${describe(caller)}`);
    const now = txEpochSeconds(ctx);
    const effective = parseIsoSeconds('effectiveFrom', tariff.effectiveFrom);
    const current = await currentTariff(ctx, caller.mspId, tariff.tariffId);
    if (!current && effective < now - BACKLOG_LIMIT_SECONDS) {
      throw invalidArgument('effectiveFrom of a first version may lie at most 45 days in the past');
    }
    if (current) requireFitsCurrent(tariff, current, effective, now);
    const record: TariffRecord = {
      ...tariff,
      docType: 'tariff',
      distributorMspId: caller.mspId,
      version: (current?.version ?? 0) + 1,
      publishedAt: isoSeconds(now),
    };
    const pointer: TariffPointer = {
      docType: 'tariffPointer',
      distributorMspId: caller.mspId,
      tariffId: tariff.tariffId,
      version: record.version,
    };
    await write(
      ctx,
      Keys.tariffCurrent.key(ctx, { distributorMspId: caller.mspId, tariffId: tariff.tariffId }),
      pointer,
    );
    return saveAndEmit(
      ctx,
      tariffVersionKey(ctx, caller.mspId, tariff.tariffId, record.version),
      record,
      EventName.TariffPublished,
      { distributorMspId: caller.mspId, tariffId: tariff.tariffId, version: record.version },
    );
  }

  @Transaction(false)
  @Returns('string')
  async GetTariff(ctx: Context, distributorMspId: string, tariffId: string): Promise<string> {
    const tariff = await currentTariff(
      ctx,
      requireIdentifier('distributorMspId', distributorMspId),
      requireIdentifier('tariffId', tariffId),
    );
    if (!tariff) throw notFound(`${distributorMspId} has no tariff ${tariffId}`);
    return canonicalJson(tariff);
  }

  /** The version in force at a time. */
  @Transaction(false)
  @Returns('string')
  async GetTariffAsOf(ctx: Context, distributorMspId: string, tariffId: string, at: string): Promise<string> {
    const when = parseIsoSeconds('at', at);
    const versions = await tariffVersions(
      ctx,
      requireIdentifier('distributorMspId', distributorMspId),
      requireIdentifier('tariffId', tariffId),
    );
    const inForce = versions.filter((v) => parseIsoSeconds('effectiveFrom', v.effectiveFrom) <= when).at(-1);
    if (!inForce) throw notFound(`no version of ${tariffId} is in force at ${at}`);
    return canonicalJson(inForce);
  }

  @Transaction(false)
  @Returns('string')
  async GetTariffHistory(ctx: Context, distributorMspId: string, tariffId: string): Promise<string> {
    return canonicalJson(
      await tariffVersions(
        ctx,
        requireIdentifier('distributorMspId', distributorMspId),
        requireIdentifier('tariffId', tariffId),
      ),
    );
  }

  /**
   * The authority's control center publishes prices per region and period. A published signal never
   * changes: sending the same one again is accepted, a different price for it is CONFLICT.
   */
  @Transaction()
  @Returns('string')
  async PublishPriceSignals(ctx: Context, regionCode: string, signalsJson: string): Promise<string> {
    const region = requireRegion(regionCode);
    const items = parseJsonArray('signals', signalsJson, MAX_SIGNALS_PER_BATCH * 200);
    if (items.length === 0 || items.length > MAX_SIGNALS_PER_BATCH) {
      throw invalidArgument(`send 1 to ${MAX_SIGNALS_PER_BATCH} signals at a time (got ${items.length})`);
    }
    const caller = callerOf(ctx);
    if (!isAuditor(caller))
      throw forbidden(`price signals come from the authority's auditor; caller is ${describe(caller)}`);
    const now = isoSeconds(txEpochSeconds(ctx));
    const seen = new Set<string>();
    let stored = 0;
    for (const [index, item] of items.entries()) {
      const where = `signals[${index}]`;
      const raw =
        item !== null && typeof item === 'object' && !Array.isArray(item)
          ? (item as Record<string, unknown>)
          : null;
      if (!raw) throw invalidArgument(`${where} must be an object`);
      requireOnlyFields(where, raw, ['periodStart', 'priceMicroPerKwh']);
      const start = parseIsoSeconds(`${where}.periodStart`, raw.periodStart);
      if (start % SIGNAL_ALIGNMENT_SECONDS !== 0)
        throw invalidArgument(`${where}.periodStart must be on a 5-minute boundary`);
      const price = requireInteger(`${where}.priceMicroPerKwh`, raw.priceMicroPerKwh, 0, MAX_SIGNAL_PRICE);
      const periodStart = raw.periodStart as string;
      if (seen.has(periodStart)) throw invalidArgument(`${where}.periodStart ${periodStart} appears twice`);
      seen.add(periodStart);
      const existing = await readOptional<PriceSignalRecord>(ctx, priceSignalKey(region, periodStart));
      if (existing) {
        if (existing.priceMicroPerKwh !== price) {
          throw conflict(`${region} at ${periodStart} already has price ${existing.priceMicroPerKwh}`);
        }
        continue;
      }
      const record: PriceSignalRecord = {
        docType: 'priceSignal',
        regionCode: region,
        periodStart,
        priceMicroPerKwh: price,
        publishedAt: now,
        source: 'manual',
      };
      await write(ctx, priceSignalKey(region, periodStart), record);
      stored += 1;
    }
    const result = { regionCode: region, submitted: items.length, stored };
    ctx.stub.setEvent(EventName.PriceSignalsPublished, marshal(result));
    return canonicalJson(result);
  }

  @Transaction(false)
  @Returns('string')
  async GetPriceSignals(ctx: Context, regionCode: string, from: string, to: string): Promise<string> {
    const region = requireRegion(regionCode);
    parseIsoSeconds('from', from);
    parseIsoSeconds('to', to);
    return canonicalJson(await priceSignalsIn(ctx, region, from, to));
  }

  /**
   * The authority's auditor publishes a new version of a region's price policy (domain/src/pricePolicy.ts):
   * from then on, every round of the region (and of its sub-areas without a policy of their own) that gets a
   * load is priced by it on chain. Like tariffs, a later version only takes effect from now on.
   */
  @Transaction()
  @Returns('string')
  async PublishPricePolicy(ctx: Context, policyJson: string): Promise<string> {
    const caller = callerOf(ctx);
    if (!isAuditor(caller))
      throw forbidden(`price policies come from the authority's auditor; caller is ${describe(caller)}`);
    const { policy, errors } = validatePricePolicy(parseJsonObject('policy', policyJson, 16 * 1024));
    if (!policy) throw invalidArgument(`the price policy is invalid: ${errors.join('; ')}`);
    const now = txEpochSeconds(ctx);
    const effective = parseIsoSeconds('effectiveFrom', policy.effectiveFrom);
    const current = (await pricePolicyVersions(ctx, policy.regionCode)).at(-1);
    // A first version may lie in the past: it prices only rounds that close from now on, never a closed one.
    if (
      current &&
      (effective < now || effective <= parseIsoSeconds('effectiveFrom', current.effectiveFrom))
    ) {
      throw conflict(
        `version ${current.version + 1} of the price policy of ${policy.regionCode} must take effect from now on and after version ${current.version} (${current.effectiveFrom})`,
      );
    }
    const record: PricePolicyRecord = {
      ...policy,
      docType: 'pricePolicy',
      version: (current?.version ?? 0) + 1,
      publishedAt: isoSeconds(now),
    };
    const pointer: PricePolicyPointer = {
      docType: 'pricePolicyPointer',
      regionCode: policy.regionCode,
      version: record.version,
    };
    await write(ctx, Keys.pricePolicyCurrent.key(ctx, { regionCode: policy.regionCode }), pointer);
    return saveAndEmit(
      ctx,
      pricePolicyVersionKey(ctx, policy.regionCode, record.version),
      record,
      EventName.PricePolicyPublished,
      { regionCode: policy.regionCode, version: record.version },
    );
  }

  /** Every version of a region's own price policy, oldest first (empty when it has none). */
  @Transaction(false)
  @Returns('string')
  async GetPricePolicyHistory(ctx: Context, regionCode: string): Promise<string> {
    return canonicalJson(await pricePolicyVersions(ctx, requireRegion(regionCode)));
  }
}

/**
 * A new version takes effect from now on and after the current one, in the same currency, and prices the same
 * utility: subscriptions were approved against what the tariff prices.
 */
function requireFitsCurrent(
  tariff: TariffDefinition,
  current: TariffRecord,
  effective: number,
  now: number,
): void {
  if (effective < now || effective <= parseIsoSeconds('effectiveFrom', current.effectiveFrom)) {
    throw conflict(
      `version ${current.version + 1} of ${tariff.tariffId} must take effect from now on and after version ${current.version} (${current.effectiveFrom})`,
    );
  }
  if (current.currency !== tariff.currency) {
    throw conflict(`${tariff.tariffId} is priced in ${current.currency}, not ${tariff.currency}`);
  }
  const [was, is] = [current.utility ?? 'electricity', tariff.utility ?? 'electricity'];
  if (was !== is) throw conflict(`${tariff.tariffId} prices ${was}, not ${is}: publish another tariff`);
}
