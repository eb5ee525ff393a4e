import { createHash } from 'node:crypto';
import {
  WEEKDAYS,
  type BillComputation,
  type BillLineItem,
  type InvalidReading,
  type StandingChargePart,
  type TariffRecord,
  type TaxBasis,
  type TimeOfUseBand,
} from '../tariffs';
import { periodsStartingIn, type PeriodSchedule } from '../periods';
import { isoSeconds } from '../time';
import type { IntervalChange } from '../records';
import { bandMinutes } from './tariffValidation';
import type { Utility } from '@smartmeter/crypto';
import { gasLitresToWh } from '../utilityUnits';

/**
 * The bill, as a pure function of the decrypted readings, the tariff versions and the price signals. The
 * chaincode runs it on every endorsing peer; a household runs the same function to check its bill. Integer
 * arithmetic only (BigInt where products can exceed 2^53).
 *
 * The rules (the README's "Billing rules" say the same):
 * - Running totals. Every amount accrues exactly in a running total that restarts at 00:00 UTC on the 1st of
 *   each month (the accounting month). An amount on a bill is the running total at the bill's end, rounded half
 *   up to a whole minor unit, minus the same at the bill's start, summed over the months the bill touches.
 *   Rounded running totals never decrease, so no amount is negative, and adjacent bills add up exactly to one
 *   bill over their whole period: splitting never changes a line, the standing charge, the tax or the total.
 * - Energy. A reading is priced by the tariff version in force when its period starts; one line per version,
 *   price label and price, except that a dynamic tariff's signal-priced readings make one line per version
 *   (their prices may change every period: one running total, shown at the energy-weighted average price). Tiers count the accounting month's energy, so a bill that starts after the 1st takes
 *   the month's earlier readings (`priorReadings`) into account for tiers and rounding, without billing them.
 * - Standing charge. Accrues per second while the subscription runs, at 1/86 400 of the daily charge of the
 *   version in force at that second (the first version before any is), one running total per version.
 * - Tax. Each amount is taxed at the rate of the version it accrued under: the running tax is the sum over the
 *   running amounts (rounded) of each version times its rate, rounded half up.
 * - Estimated readings are billed like measured ones and counted, with their energy and periods, on the bill.
 * - Gas. Readings are litres; the energy priced is their running volume converted to Wh with the calorific
 *   value and volume correction of the version in force, rounded half up, minus the same before the reading.
 *   The running volume restarts on the 1st (with the running totals) and when the version changes, so a bill
 *   converts its whole volume in one rounding per version, and splitting a bill never changes its energy.
 * - Water. Readings are litres and prices are per m³, which is the arithmetic of Wh and prices per kWh.
 */
export interface BilledReading {
  periodStart: string;
  energyWh: number;
  /** From the decrypted payload: an estimated reading is billed like a measured one and flagged on the bill. */
  quality: 'measured' | 'estimated';
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
  /**
   * The readings (that decrypt) of the bill's accounting month before the bill: periods in
   * [runningTotalsSince(periodFrom), periodFrom). Not billed; none when the bill starts on the 1st at 00:00 UTC.
   */
  priorReadings: BilledReading[];
  /** Readings on the ledger for the period that cannot be billed (they do not decrypt to a reading). */
  invalidReadings?: InvalidReading[];
  /** Every version of the subscription's tariff. */
  tariffVersions: TariffRecord[];
  /** The subscription's utility (default electricity): its tariff must price the same one. */
  utility?: Utility;
  /** Price signals for the subscription's region, by period start (for the prior readings too). */
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
/** micro-minor/day × seconds = 1 / (86 400 × 10^6) minor units. */
const STANDING_DENOMINATOR = BigInt(SECONDS_PER_DAY) * 1_000_000n;
const BASIS_POINTS = 10_000n;
const QUALITIES: readonly string[] = ['measured', 'estimated'];

/** Where the running totals of a bill starting at `periodFrom` start: 00:00 UTC on the 1st of its month. */
export function runningTotalsSince(periodFrom: string): string {
  return isoSeconds(monthStart(epoch(periodFrom)));
}

export function computeBill(input: BillInput): BillComputation {
  const from = epoch(input.periodFrom);
  const to = epoch(input.periodTo);
  const since = monthStart(from);
  const versions = [...input.tariffVersions].sort((a, b) => a.version - b.version);
  if (versions.length === 0) throw new BillingError('the subscription has no tariff');
  const currency = versions[0].currency;
  if (versions.some((v) => v.currency !== currency))
    throw new BillingError('tariff versions use different currencies');

  const utility = billedUtility(versions, input.utility ?? 'electricity');
  const measured = sortedReadings(input.readings, from, to, 'the billing period');
  const measuredPrior = sortedReadings(input.priorReadings, since, from, 'the month before the bill');
  const [prior, readings] =
    utility === 'gas' ? gasAsEnergy(measuredPrior, measured, versions) : [measuredPrior, measured];
  const totals = new RunningTotals(
    versions,
    new StandingCharge(versions, input.subscriptionStart, input.subscriptionEnd),
  );
  // Tiers count from the 1st, so the month's earlier readings are priced first.
  totals.price([...prior, ...readings], input.signals);
  const { lineItems, byVersion, taxMinor } = totals.bill(from, to);
  const standingSeconds = byVersion.reduce((sum, part) => sum + part.seconds, 0);
  const standingCharge = {
    days: Math.ceil(standingSeconds / SECONDS_PER_DAY),
    seconds: standingSeconds,
    amountMinor: byVersion.reduce((sum, part) => sum + part.amountMinor, 0),
    byVersion,
  };
  const linesMinor = lineItems.reduce((sum, line) => sum + line.amountMinor, 0);
  const subtotalMinor = linesMinor + standingCharge.amountMinor;
  const taxBasisPoints = versionAt(versions, from, isoSeconds(from), versions[0]).taxBasisPoints;
  const taxBases = taxBasesOf(versions, lineItems, byVersion);

  const invalidReadings = sortedInvalid(input.invalidReadings ?? [], from, to);
  const onLedger = new Set([...readings, ...invalidReadings].map((r) => r.periodStart));
  const { expected, missing } = expectedPeriods(input, from, to, onLedger);
  const estimated = readings.filter((r) => r.quality === 'estimated');

  return {
    currency,
    lineItems,
    standingCharge,
    subtotalMinor,
    taxBasisPoints,
    taxBases,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
    energyWh: readings.reduce((sum, r) => sum + r.energyWh, 0),
    readingCount: readings.length,
    expectedReadings: expected,
    estimatedReadings: estimated.length,
    estimatedEnergyWh: estimated.reduce((sum, r) => sum + r.energyWh, 0),
    estimatedPeriods: estimated.map((r) => r.periodStart),
    missingPeriods: missing,
    invalidReadings,
    readingsDigest: digestOf(readings),
    runningTotals: {
      since: isoSeconds(since),
      priorReadingCount: prior.length,
      priorReadingsDigest: digestOf(prior),
    },
    tariffVersions: taxBases.map(({ tariffId, version }) => ({ tariffId, version })),
    ...(utility === 'electricity' ? {} : { metered: meteredVolume(utility, measured) }),
  };
}

/** The utility every version prices, which must be the subscription's. */
function billedUtility(versions: TariffRecord[], subscriptionUtility: Utility): Utility {
  for (const version of versions) {
    const priced = version.utility ?? 'electricity';
    if (priced !== subscriptionUtility) {
      throw new BillingError(
        `tariff ${version.tariffId} version ${version.version} prices ${priced}; the subscription meters ${subscriptionUtility}`,
      );
    }
    if (priced === 'gas' && !version.gasConversion)
      throw new BillingError(
        `gas tariff ${version.tariffId} version ${version.version} has no gasConversion`,
      );
  }
  return subscriptionUtility;
}

function meteredVolume(
  utility: 'gas' | 'water',
  readings: BilledReading[],
): NonNullable<BillComputation['metered']> {
  const litres = (list: BilledReading[]): number => list.reduce((sum, r) => sum + r.energyWh, 0);
  return {
    utility,
    litres: litres(readings),
    estimatedLitres: litres(readings.filter((r) => r.quality === 'estimated')),
  };
}

/**
 * Gas readings (litres) as the Wh they are priced at: the running volume since the 1st, or since the version
 * in force changed, converted and rounded once, minus the same at the previous reading (see the rules above).
 */
function gasAsEnergy(
  prior: BilledReading[],
  readings: BilledReading[],
  versions: TariffRecord[],
): [BilledReading[], BilledReading[]] {
  let runKey = '';
  let runLitres = 0;
  let runWh = 0;
  const convert = (reading: BilledReading): BilledReading => {
    const at = epoch(reading.periodStart);
    const tariff = versionAt(versions, at, reading.periodStart);
    const key = `${monthStart(at)}|${tariff.version}`;
    if (key !== runKey) [runKey, runLitres, runWh] = [key, 0, 0];
    runLitres += reading.energyWh;
    const upTo = gasLitresToWh(runLitres, tariff.gasConversion as NonNullable<TariffRecord['gasConversion']>);
    const energyWh = upTo - runWh;
    runWh = upTo;
    return { ...reading, energyWh };
  };
  return [prior.map(convert), readings.map(convert)];
}

type LineTerms = Omit<BillLineItem, 'amountMinor' | 'energyWh'>;

/** A running total: one line's energy (exact in 10^-9 minor units) or one version's standing charge. */
interface Account {
  key: string;
  tariff: TariffRecord;
  denominator: bigint;
  line?: LineTerms;
}

interface PricedReading {
  at: number;
  parts: { account: Account; energyWh: number; exact: bigint }[];
}

/** The accounts of the accounting months a bill touches, and the bill's amounts as differences of them. */
class RunningTotals {
  private readonly accounts = new Map<string, Account>();
  private readonly priced: PricedReading[] = [];

  constructor(
    private readonly versions: TariffRecord[],
    private readonly standing: StandingCharge,
  ) {}

  /** Prices readings in period order; tiers count each accounting month's energy from its 1st. */
  price(readings: BilledReading[], signals: BillInput['signals']): void {
    let month = Number.NaN;
    let monthWh = 0;
    for (const reading of readings) {
      const at = epoch(reading.periodStart);
      if (monthStart(at) !== month) [month, monthWh] = [monthStart(at), 0];
      const tariff = versionAt(this.versions, at, reading.periodStart);
      const parts = priceParts(tariff, at, reading, monthWh, signals).map((part) => ({
        account: this.account(lineKey(tariff, part), tariff, LINE_DENOMINATOR, {
          label: part.label,
          tariffId: tariff.tariffId,
          tariffVersion: tariff.version,
          priceMicroPerKwh: part.price,
        }),
        energyWh: part.energyWh,
        exact: BigInt(part.energyWh) * BigInt(part.price),
      }));
      this.priced.push({ at, parts });
      monthWh += reading.energyWh;
    }
  }

  /** The amounts of [from, to): rounded running totals at its end minus at its start, month by month. */
  bill(from: number, to: number) {
    const amounts = new Map<string, number>();
    let taxMinor = 0;
    for (const [start, end] of monthSegments(from, to)) {
      const opening = this.roundedAt(monthStart(start), start);
      const closing = this.roundedAt(monthStart(start), end);
      for (const [account, amount] of closing.rounded)
        amounts.set(
          account.key,
          (amounts.get(account.key) ?? 0) + amount - (opening.rounded.get(account) ?? 0),
        );
      taxMinor += closing.tax - opening.tax;
    }
    const lineEnergy = new Map<string, number>();
    const lineExact = new Map<string, bigint>();
    for (const reading of this.priced.filter((r) => r.at >= from && r.at < to))
      for (const part of reading.parts) {
        lineEnergy.set(part.account.key, (lineEnergy.get(part.account.key) ?? 0) + part.energyWh);
        lineExact.set(part.account.key, (lineExact.get(part.account.key) ?? 0n) + part.exact);
      }
    const lineItems: BillLineItem[] = [...lineEnergy.keys()].sort().map((key) => {
      const terms = this.accounts.get(key)?.line as LineTerms;
      const energyWh = lineEnergy.get(key) as number;
      // The signal line's price is the energy-weighted average of the periods' prices (display only).
      const priceMicroPerKwh =
        terms.label === SIGNAL_LABEL
          ? energyWh === 0
            ? 0
            : roundHalfUp(lineExact.get(key) ?? 0n, BigInt(energyWh))
          : terms.priceMicroPerKwh;
      return { ...terms, priceMicroPerKwh, energyWh, amountMinor: amounts.get(key) ?? 0 };
    });
    const byVersion: StandingChargePart[] = this.standing
      .secondsByVersion(from, to)
      .map(([tariff, seconds]) => ({
        tariffId: tariff.tariffId,
        version: tariff.version,
        microPerDay: tariff.standingChargeMicroPerDay,
        seconds,
        amountMinor: amounts.get(standingKey(tariff)) ?? 0,
      }));
    return { lineItems, byVersion, taxMinor };
  }

  /** Each account's running total over [start, at) (start: a month start), rounded; and the running tax. */
  private roundedAt(start: number, at: number): { rounded: Map<Account, number>; tax: number } {
    const exact = new Map<Account, bigint>();
    for (const reading of this.priced) {
      if (reading.at < start || reading.at >= at) continue;
      for (const part of reading.parts) exact.set(part.account, (exact.get(part.account) ?? 0n) + part.exact);
    }
    for (const [tariff, seconds] of this.standing.secondsByVersion(start, at)) {
      const account = this.account(standingKey(tariff), tariff, STANDING_DENOMINATOR);
      exact.set(account, BigInt(tariff.standingChargeMicroPerDay) * BigInt(seconds));
    }
    const rounded = new Map<Account, number>();
    let taxExact = 0n;
    for (const [account, value] of exact) {
      const amount = roundHalfUp(value, account.denominator);
      rounded.set(account, amount);
      taxExact += BigInt(amount) * BigInt(account.tariff.taxBasisPoints);
    }
    return { rounded, tax: roundHalfUp(taxExact, BASIS_POINTS) };
  }

  private account(key: string, tariff: TariffRecord, denominator: bigint, line?: LineTerms): Account {
    const found = this.accounts.get(key) ?? { key, tariff, denominator, line };
    this.accounts.set(key, found);
    return found;
  }
}

/**
 * One running total per line: per (version, label, price), except the authority's signals, whose price may change
 * every period. Per price, a month of dynamic prices would be thousands of lines each rounded to a minor unit, and
 * their sum would drift from Σ energy × price by up to half a unit per line; so all signal-priced energy of a
 * version accrues in one running total (one line, "signal", at the energy-weighted average price).
 */
function lineKey(tariff: TariffRecord, part: PricePart): string {
  const version = String(tariff.version).padStart(10, '0');
  const price = part.label === SIGNAL_LABEL ? 'per-period' : String(part.price).padStart(16, '0');
  return `energy\u0000${tariff.tariffId}\u0000${version}\u0000${part.label}\u0000${price}`;
}

const SIGNAL_LABEL = 'signal';

function sortedInvalid(invalid: InvalidReading[], from: number, to: number): InvalidReading[] {
  const sorted = [...invalid].sort((a, b) =>
    a.periodStart < b.periodStart ? -1 : a.periodStart > b.periodStart ? 1 : 0,
  );
  for (const reading of sorted) {
    const at = epoch(reading.periodStart);
    if (at < from || at >= to)
      throw new BillingError(`reading ${reading.periodStart} lies outside the billing period`);
  }
  return sorted;
}

function sortedReadings(readings: BilledReading[], from: number, to: number, where: string): BilledReading[] {
  const sorted = [...readings].sort((a, b) =>
    a.periodStart < b.periodStart ? -1 : a.periodStart > b.periodStart ? 1 : 0,
  );
  for (const reading of sorted) {
    const at = epoch(reading.periodStart);
    if (at < from || at >= to) throw new BillingError(`reading ${reading.periodStart} lies outside ${where}`);
    if (!Number.isSafeInteger(reading.energyWh) || reading.energyWh < 0)
      throw new BillingError(`reading ${reading.periodStart} has an invalid energy`);
    if (!QUALITIES.includes(reading.quality))
      throw new BillingError(`reading ${reading.periodStart} has an invalid quality`);
  }
  return sorted;
}

function digestOf(readings: BilledReading[]): string {
  const digest = createHash('sha256');
  for (const reading of readings) digest.update(`${reading.ciphertext}\n`);
  return digest.digest('hex');
}

function standingKey(tariff: TariffRecord): string {
  return `standing\u0000${tariff.tariffId}\u0000${String(tariff.version).padStart(10, '0')}`;
}

/** The taxable amount of each version with a line or standing charge on the bill, in version order. */
function taxBasesOf(
  versions: TariffRecord[],
  lineItems: BillLineItem[],
  standing: StandingChargePart[],
): TaxBasis[] {
  return versions
    .map((tariff) => {
      const lines = lineItems.filter(
        (l) => l.tariffId === tariff.tariffId && l.tariffVersion === tariff.version,
      );
      const charge = standing.filter((s) => s.tariffId === tariff.tariffId && s.version === tariff.version);
      return {
        used: lines.length + charge.length > 0,
        basis: {
          tariffId: tariff.tariffId,
          version: tariff.version,
          taxBasisPoints: tariff.taxBasisPoints,
          taxableMinor: [...lines, ...charge].reduce((sum, item) => sum + item.amountMinor, 0),
        },
      };
    })
    .filter((entry) => entry.used)
    .map((entry) => entry.basis);
}

/**
 * Which version is in force at each second, and for how long while the subscription runs: before the first
 * version takes effect, the first version's charge applies.
 */
class StandingCharge {
  private readonly start: number;
  private readonly end: number;

  constructor(
    private readonly versions: TariffRecord[],
    subscriptionStart: string,
    subscriptionEnd: string | undefined,
  ) {
    this.start = epoch(subscriptionStart);
    this.end = subscriptionEnd === undefined ? Infinity : epoch(subscriptionEnd);
  }

  /** Seconds of [from, to) during the subscription under each version in force, in version order. */
  secondsByVersion(from: number, to: number): [TariffRecord, number][] {
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.end);
    const seconds = new Map<TariffRecord, number>();
    if (a >= b) return [];
    const cuts = [
      a,
      ...[...new Set(this.versions.map((v) => epoch(v.effectiveFrom)))].filter((t) => t > a && t < b),
      b,
    ].sort((x, y) => x - y);
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      const tariff = versionAt(this.versions, cuts[i], isoSeconds(cuts[i]), this.versions[0]);
      seconds.set(tariff, (seconds.get(tariff) ?? 0) + cuts[i + 1] - cuts[i]);
    }
    return this.versions.filter((v) => seconds.has(v)).map((v) => [v, seconds.get(v) as number]);
  }
}

/** 00:00 UTC on the 1st of the month of `at`. */
function monthStart(at: number): number {
  const date = new Date(at * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
}

function nextMonthStart(at: number): number {
  const date = new Date(at * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
}

/** [from, to) cut at the month starts inside it. */
function monthSegments(from: number, to: number): [number, number][] {
  const segments: [number, number][] = [];
  for (let start = from; start < to; start = nextMonthStart(start))
    segments.push([start, Math.min(to, nextMonthStart(start))]);
  return segments;
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
  monthWh: number,
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
        : [{ label: SIGNAL_LABEL, price: signal, energyWh: reading.energyWh }];
    }
    case 'timeOfUse': {
      const band = bandAt(pricing.bands, at, tariff.utcOffsetMinutes);
      return [{ label: band.name, price: band.priceMicroPerKwh, energyWh: reading.energyWh }];
    }
    case 'tiered': {
      // Tiers count the accounting month's energy; a reading that crosses a tier boundary is split there.
      const parts: PricePart[] = [];
      let remaining = reading.energyWh;
      let position = monthWh;
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

/** How one reading of a bill was priced: its parts (one, or several where a tier boundary splits it). */
export interface PricedPeriod {
  periodStart: string;
  parts: { label: string; priceMicroPerKwh: number; energyWh: number }[];
  /** Σ energyWh × price of its parts, exactly: 10^-9 minor units. */
  amountNanoMinor: bigint;
}

/**
 * The readings of a bill priced one by one, exactly as computeBill prices them (tiers count from the month's
 * prior readings): the bill report's per-period lines. computeBill's amounts are these, accrued in running
 * totals and rounded (see the rules above).
 */
export function pricedPeriods(
  input: Pick<
    BillInput,
    'periodFrom' | 'periodTo' | 'readings' | 'priorReadings' | 'tariffVersions' | 'signals'
  >,
): PricedPeriod[] {
  const from = epoch(input.periodFrom);
  const to = epoch(input.periodTo);
  const versions = [...input.tariffVersions].sort((a, b) => a.version - b.version);
  const readings = sortedReadings(input.readings, from, to, 'the billing period');
  const prior = sortedReadings(input.priorReadings, monthStart(from), from, 'the month before the bill');
  const result: PricedPeriod[] = [];
  let month = Number.NaN;
  let monthWh = 0;
  for (const reading of [...prior, ...readings]) {
    const at = epoch(reading.periodStart);
    if (monthStart(at) !== month) [month, monthWh] = [monthStart(at), 0];
    const tariff = versionAt(versions, at, reading.periodStart);
    const parts = priceParts(tariff, at, reading, monthWh, input.signals);
    monthWh += reading.energyWh;
    if (at < from) continue;
    result.push({
      periodStart: reading.periodStart,
      parts: parts.map((p) => ({ label: p.label, priceMicroPerKwh: p.price, energyWh: p.energyWh })),
      amountNanoMinor: parts.reduce((sum, p) => sum + BigInt(p.energyWh) * BigInt(p.price), 0n),
    });
  }
  return result;
}
