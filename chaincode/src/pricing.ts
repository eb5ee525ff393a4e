import type { Context } from 'fabric-contract-api';
import {
  REGION_CODE_PATTERN,
  averagePowerW,
  policyPrice,
  policyRegionsFor,
  type PolicyPriceDerivation,
  type PricePolicyRecord,
  type PriceSignalRecord,
  type TariffPointer,
  type TariffRecord,
} from '@smartmeter/domain';
import { invalidArgument } from './contractError';
import { fixedWidth, Keys, priceSignalKey } from './ledger/keys';
import { readOptional, readRequired, valuesByPartialKey, valuesByRange, write } from './ledger/store';

/** Tariffs and price signals, as the Pricing contract writes them and the Billing contract reads them. */

export function requireRegion(value: unknown): string {
  if (typeof value !== 'string' || !REGION_CODE_PATTERN.test(value)) {
    throw invalidArgument(
      'regionCode must be a grid area path such as north/d3/c12 (lowercase letters, digits, -)',
    );
  }
  return value;
}

export function tariffVersionKey(
  ctx: Context,
  distributorMspId: string,
  tariffId: string,
  version: number,
): string {
  return Keys.tariff.key(ctx, { distributorMspId, tariffId, version: fixedWidth(version) });
}

export async function currentTariff(
  ctx: Context,
  distributorMspId: string,
  tariffId: string,
): Promise<TariffRecord | undefined> {
  const pointer = await readOptional<TariffPointer>(
    ctx,
    Keys.tariffCurrent.key(ctx, { distributorMspId, tariffId }),
  );
  if (!pointer) return undefined;
  return readRequired<TariffRecord>(
    ctx,
    tariffVersionKey(ctx, distributorMspId, tariffId, pointer.version),
    `tariff ${tariffId} v${pointer.version}`,
  );
}

/** Every version of a tariff, oldest first. */
export async function tariffVersions(
  ctx: Context,
  distributorMspId: string,
  tariffId: string,
): Promise<TariffRecord[]> {
  return valuesByPartialKey<TariffRecord, 'distributorMspId' | 'tariffId' | 'version'>(ctx, Keys.tariff, {
    distributorMspId,
    tariffId,
  });
}

/** A region's price signals for periods starting in [from, to). */
export async function priceSignalsIn(
  ctx: Context,
  region: string,
  from: string,
  to: string,
): Promise<PriceSignalRecord[]> {
  return valuesByRange<PriceSignalRecord>(ctx, priceSignalKey(region, from), priceSignalKey(region, to));
}

export function pricePolicyVersionKey(ctx: Context, regionCode: string, version: number): string {
  return Keys.pricePolicy.key(ctx, { regionCode, version: fixedWidth(version) });
}

/** Every version of a region's own price policy, oldest first. */
export async function pricePolicyVersions(ctx: Context, regionCode: string): Promise<PricePolicyRecord[]> {
  return valuesByPartialKey<PricePolicyRecord, 'regionCode' | 'version'>(ctx, Keys.pricePolicy, {
    regionCode,
  });
}

/**
 * The policy that prices a period of a region: the version in force at the period's start of the region's own
 * policy, or else (none of its own, or none in force yet) of the nearest enclosing grid area's (north/d3/c1, then
 * north/d3, then north).
 */
export async function policyInForce(
  ctx: Context,
  regionCode: string,
  periodStart: string,
): Promise<PricePolicyRecord | undefined> {
  for (const area of policyRegionsFor(regionCode)) {
    // An area whose own versions all start later falls back to the enclosing area's policy.
    const inForce = (await pricePolicyVersions(ctx, area))
      .filter((v) => v.effectiveFrom <= periodStart)
      .at(-1);
    if (inForce) return inForce;
  }
  return undefined;
}

/**
 * When a round gets its load (COMPLETE, or RESOLVED with enough meters), the period's price follows from the
 * policy in force: stored as the period's price signal (source policy). A manual signal already there stays:
 * it becomes an override, with the policy's price beside it. Returns the signal, or undefined without policy.
 */
export async function derivePolicyPrice(
  ctx: Context,
  round: { regionCode: string; periodStart: string; periodSeconds: number; load: string },
  now: string,
): Promise<PriceSignalRecord | undefined> {
  const policy = await policyInForce(ctx, round.regionCode, round.periodStart);
  if (!policy) return undefined;
  const load = BigInt(round.load);
  const derivation: PolicyPriceDerivation = {
    policyRegionCode: policy.regionCode,
    policyVersion: policy.version,
    loadWh: round.load,
    periodSeconds: round.periodSeconds,
    averagePowerW: averagePowerW(load, round.periodSeconds),
    priceMicroPerKwh: policyPrice(policy, load, round.periodSeconds),
  };
  const key = priceSignalKey(round.regionCode, round.periodStart);
  const existing = await readOptional<PriceSignalRecord>(ctx, key);
  const signal: PriceSignalRecord = existing
    ? { ...existing, source: 'override', policy: derivation }
    : {
        docType: 'priceSignal',
        regionCode: round.regionCode,
        periodStart: round.periodStart,
        priceMicroPerKwh: derivation.priceMicroPerKwh,
        publishedAt: now,
        source: 'policy',
        policy: derivation,
      };
  await write(ctx, key, signal);
  return signal;
}
