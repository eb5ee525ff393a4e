import { periodSecrets, splitReading, type GridShare, type PeriodSecrets } from '@smartmeter/crypto';
import { buildDayFilters, isoSeconds, type AggregateMeter, type DayFilterSet } from '@smartmeter/domain';
import { randomBytes, randomInt } from 'node:crypto';

export const PERIOD_SECONDS = 900;

/** Aggregate meters with random session keys, as the distributor knows them. */
export function newMeters(count: number): AggregateMeter[] {
  return Array.from({ length: count }, (_, i) => ({
    meterId: `meter-${i + 1}`,
    sessionKey: randomBytes(32),
  }));
}

/** Yesterday (UTC): its periods have ended, and the ledger still takes their shares. */
export function yesterday(): string {
  return new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
}

/** The start (epoch seconds) of the index-th period of a day. */
export function periodStart(day: string, index: number): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000 + index * PERIOD_SECONDS;
}

export function dayFiltersFor(
  regionCode: string,
  day: string,
  meters: readonly AggregateMeter[],
): DayFilterSet {
  return buildDayFilters({ regionCode, day, periodSeconds: PERIOD_SECONDS, meters });
}

export interface Reading {
  meter: AggregateMeter;
  secrets: PeriodSecrets;
  wattHours: number;
  shares: [GridShare, GridShare];
}

/** One reading per meter for the period: its two signed shares, sent a few seconds after the period ended. */
export function readings(
  region: string,
  meters: readonly AggregateMeter[],
  startSeconds: number,
  sentAfter = 5,
): Reading[] {
  const sentAt = isoSeconds(startSeconds + PERIOD_SECONDS + sentAfter);
  return meters.map((meter) => {
    const secrets = periodSecrets(meter.sessionKey, startSeconds);
    const wattHours = randomInt(0, 2000);
    return {
      meter,
      secrets,
      wattHours,
      shares: splitReading({ wattHours, secrets, region, sentAt: [sentAt, sentAt] }),
    };
  });
}
