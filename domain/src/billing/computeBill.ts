import { createHash } from 'node:crypto';
import {
  WEEKDAYS,
  type BillComputation,
  type BillLineItem,
  type InvalidReading,
  type TariffRecord,
  type TimeOfUseBand,
} from '../tariffs';
import { periodsStartingIn, type PeriodSchedule } from '../periods';
import { isoSeconds } from '../time';
import type { IntervalChange } from '../records';
import { bandMinutes } from './tariffValidation';

/**
 * The bill, as a pure function of the decrypted readings, the tariff versions and the price signals. The
 * chaincode runs it on every endorsing peer; a household runs the same function to check its bill. Integer
 * arithmetic only (BigInt where products can exceed 2^53); see api/tariffs.ts for units and the rounding rule.
 */
export interface BilledReading {
  periodStart: string;
  energyWh: number;
  /** The reading's ciphertext as stored on the ledger: the digest proves which readings were billed. */
  ciphertext: string;
}

export interface BillInput {
  /** [periodFrom, periodTo): ISO 8601 UTC seconds. */
  periodFrom: string;
  periodTo: string;
  intervalSeconds: number;
  intervalChanges?: IntervalChange[];
  /** The subscription's first period start and, if it ended, its end: no readings are expected outside. */
  subscriptionStart: string;
  subscriptionEnd?: string;
  readings: BilledReading[];
  /** Readings on the ledger for the period that cannot be billed (they do not decrypt to a reading). */
  invalidReadings?: InvalidReading[];
  /** Every version of the subscription's tariff. */
  tariffVersions: TariffRecord[];
  /** Price signals for the subscription's region, by period start. */
  signals: Readonly<Partial<Record<string, number>>>;
}

export class BillingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BillingError';
  }
}

const SECONDS_PER_DAY = 86_400;
/** Wh × micro-minor/kWh = 10^-9 minor units. */
const LINE_DENOMINATOR = 1_000_000_000n;
const MICRO = 1_000_000n;

export function computeBill(input: BillInput): BillComputation {
  const from = epoch(input.periodFrom);
  const to = epoch(input.periodTo);
  const versions = [...input.tariffVersions].sort((a, b) => a.version - b.version);
  if (versions.length === 0) throw new BillingError('the subscription has no tariff');
  const currency = versions[0].currency;
  if (versions.some((v) => v.currency !== currency))
    throw new BillingError('tariff versions use different currencies');

  const readings = [...input.readings].sort((a, b) =>
    a.periodStart < b.periodStart ? -1 : a.periodStart > b.periodStart ? 1 : 0,
  );
  const lines = new Map<string, Omit<BillLineItem, 'amountMinor'>>();
  const used = new Map<string, { tariffId: string; version: number }>();
  let cumulativeWh = 0;
  for (const reading of readings) {
    const at = epoch(reading.periodStart);
    if (at < from || at >= to)
      throw new BillingError(`reading ${reading.periodStart} lies outside the billing period`);
    if (!Number.isSafeInteger(reading.energyWh) || reading.energyWh < 0) {
      throw new BillingError(`reading ${reading.periodStart} has an invalid energy`);
    }
    const tariff = versionAt(versions, at, reading.periodStart);
    used.set(`${tariff.tariffId}/${tariff.version}`, { tariffId: tariff.tariffId, version: tariff.version });
    for (const part of priceParts(tariff, at, reading, cumulativeWh, input.signals)) {
      const key = `${tariff.tariffId}\u0000${String(tariff.version).padStart(10, '0')}\u0000${part.label}\u0000${String(part.price).padStart(16, '0')}`;
      const line = lines.get(key) ?? {
        label: part.label,
        tariffId: tariff.tariffId,
        tariffVersion: tariff.version,
        energyWh: 0,
        priceMicroPerKwh: part.price,
      };
      line.energyWh += part.energyWh;
      lines.set(key, line);
    }
    cumulativeWh += reading.energyWh;
  }

  const lineItems: BillLineItem[] = [...lines.keys()]
    .sort()
    .map((key) => lines.get(key) as Omit<BillLineItem, 'amountMinor'>)
    .map((line) => ({
      ...line,
      amountMinor: roundHalfUp(BigInt(line.energyWh) * BigInt(line.priceMicroPerKwh), LINE_DENOMINATOR),
    }));

  const standingCharge = standingChargeFor(versions, from, to);
  const linesMinor = lineItems.reduce((sum, line) => sum + line.amountMinor, 0);
  const subtotalMinor = linesMinor + standingCharge.amountMinor;
  const taxBasisPoints = versionAt(versions, from, isoSeconds(from), versions[0]).taxBasisPoints;
  const taxMinor = roundHalfUp(BigInt(subtotalMinor) * BigInt(taxBasisPoints), 10_000n);
  const invalidReadings = [...(input.invalidReadings ?? [])].sort((a, b) =>
    a.periodStart < b.periodStart ? -1 : a.periodStart > b.periodStart ? 1 : 0,
  );
  for (const invalid of invalidReadings) {
    const at = epoch(invalid.periodStart);
    if (at < from || at >= to)
      throw new BillingError(`reading ${invalid.periodStart} lies outside the billing period`);
  }
  const onLedger = new Set([...readings, ...invalidReadings].map((r) => r.periodStart));
  const { expected, missing } = expectedPeriods(input, from, to, onLedger);

  const digest = createHash('sha256');
  for (const reading of readings) digest.update(`${reading.ciphertext}\n`);
  return {
    currency,
    lineItems,
    standingCharge,
    subtotalMinor,
    taxBasisPoints,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
    energyWh: cumulativeWh,
    readingCount: readings.length,
    expectedReadings: expected,
    missingPeriods: missing,
    invalidReadings,
    readingsDigest: digest.digest('hex'),
    tariffVersions: [...used.values()].sort((a, b) =>
      a.tariffId === b.tariffId ? a.version - b.version : a.tariffId < b.tariffId ? -1 : 1,
    ),
  };
}

/** The version in force at a time: the latest effectiveFrom at or before it. */
function versionAt(
  versions: TariffRecord[],
  at: number,
  what: string,
  fallback?: TariffRecord,
): TariffRecord {
  let found: TariffRecord | undefined;
  for (const version of versions) if (epoch(version.effectiveFrom) <= at) found = version;
  if (found) return found;
  if (fallback) return fallback;
  throw new BillingError(`no tariff version is in force at ${what}`);
}

interface PricePart {
  label: string;
  price: number;
  energyWh: number;
}

function priceParts(
  tariff: TariffRecord,
  at: number,
  reading: BilledReading,
  cumulativeWh: number,
  signals: Readonly<Partial<Record<string, number>>>,
): PricePart[] {
  const pricing = tariff.pricing;
  switch (pricing.kind) {
    case 'flat':
      return [{ label: 'flat', price: pricing.priceMicroPerKwh, energyWh: reading.energyWh }];
    case 'dynamic': {
      const signal = signals[reading.periodStart];
      return signal === undefined
        ? [{ label: 'base', price: pricing.basePriceMicroPerKwh, energyWh: reading.energyWh }]
        : [{ label: 'signal', price: signal, energyWh: reading.energyWh }];
    }
    case 'timeOfUse': {
      const band = bandAt(pricing.bands, at, tariff.utcOffsetMinutes);
      return [{ label: band.name, price: band.priceMicroPerKwh, energyWh: reading.energyWh }];
    }
    case 'tiered': {
      // A reading that crosses a tier boundary is split at the boundary.
      const parts: PricePart[] = [];
      let remaining = reading.energyWh;
      let position = cumulativeWh;
      pricing.tiers.forEach((tier, index) => {
        if (remaining === 0 && parts.length > 0) return;
        const room = tier.upToWh === null ? Infinity : Math.max(0, tier.upToWh - position);
        if (room === 0) return;
        const take = Math.min(room, remaining);
        parts.push({ label: `tier ${index + 1}`, price: tier.priceMicroPerKwh, energyWh: take });
        remaining -= take;
        position += take;
      });
      return parts;
    }
  }
}

/** A reading is priced at the band in force when its period starts, in the tariff's fixed local time. */
export function bandAt(bands: TimeOfUseBand[], at: number, utcOffsetMinutes: number): TimeOfUseBand {
  const local = at + utcOffsetMinutes * 60;
  const day = WEEKDAYS[new Date(local * 1000).getUTCDay()];
  const minute = Math.floor((((local % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY) / 60);
  const band = bands.find((b) => b.days.includes(day) && bandMinutes(b).includes(minute));
  if (!band) throw new BillingError(`no time-of-use band covers ${day} minute ${minute}`);
  return band;
}

function standingChargeFor(versions: TariffRecord[], from: number, to: number) {
  const days = Math.ceil((to - from) / SECONDS_PER_DAY);
  let totalMicro = 0n;
  for (let day = 0; day < days; day++) {
    const at = from + day * SECONDS_PER_DAY;
    totalMicro += BigInt(versionAt(versions, at, isoSeconds(at), versions[0]).standingChargeMicroPerDay);
  }
  return { days, totalMicro: Number(totalMicro), amountMinor: roundHalfUp(totalMicro, MICRO) };
}

function expectedPeriods(input: BillInput, from: number, to: number, present: Set<string>) {
  const schedule: PeriodSchedule = {
    startDate: input.subscriptionStart,
    intervalSeconds: input.intervalSeconds,
    intervalChanges: input.intervalChanges,
  };
  const end = input.subscriptionEnd ? Math.min(to, epoch(input.subscriptionEnd)) : to;
  const missing: string[] = [];
  let expected = 0;
  // A period is expected when it ends by the end of the bill (or of the subscription).
  for (const period of periodsStartingIn(schedule, from, end)) {
    if (period.startSeconds + period.intervalSeconds > end) break;
    expected += 1;
    const iso = isoSeconds(period.startSeconds);
    if (!present.has(iso)) missing.push(iso);
  }
  return { expected, missing };
}

/** Rounds numerator/denominator to the nearest integer, halves away from zero (amounts are never negative). */
export function roundHalfUp(numerator: bigint, denominator: bigint): number {
  const result = (numerator * 2n + denominator) / (denominator * 2n);
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) throw new BillingError('amount too large');
  return Number(result);
}

function epoch(iso: string): number {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new BillingError(`not a time: ${iso}`);
  return millis / 1000;
}
