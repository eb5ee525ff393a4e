import type { Context } from 'fabric-contract-api';
import {
  REGION_CODE_PATTERN,
  type PriceSignalRecord,
  type TariffPointer,
  type TariffRecord,
} from '@smartmeter/domain';
import { invalidArgument } from './contractError';
import { fixedWidth, Keys, priceSignalKey } from './ledger/keys';
import { readOptional, readRequired, valuesByPartialKey, valuesByRange } from './ledger/store';

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
