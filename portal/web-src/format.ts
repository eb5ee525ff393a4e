/**
 * Money, energy, prices and times as people read them. The ledger keeps integers in fixed units (minor units,
 * Wh, micro-minor units per kWh) and UTC times; the pages show them in UTC too, so that a household and its
 * distributor read the same period boundaries.
 */
import type { Bucket } from '../src/api';

const LOCALE = 'en-GB';
const MICRO = 1_000_000;
const SECONDS_PER_DAY = 86_400;

function currencyFormatter(currency: string, extraDigits = 0): Intl.NumberFormat {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat(LOCALE, {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits + extraDigits,
  });
}

/** How many minor units a currency's major unit has, as a power of ten (GBP 2, JPY 0). */
export function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
    2
  );
}

export function formatMoney(amountMinor: number, currency: string): string {
  return currencyFormatter(currency).format(amountMinor / 10 ** minorDigits(currency));
}

/**
 * An amount typed in major units ("12.5") as whole minor units (1250), or undefined when it is not an amount
 * with at most the currency's minor digits (zero is one: a prepaid bill may have nothing left due). Parsed as
 * text so that binary floating point (0.1 + 0.2) cannot change what is paid.
 */
export function parseMajorAmount(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  // An absent group is undefined at run time, whatever the type says.
  const [, whole = '0', fraction = ''] = match;
  if (fraction.length > digits) return undefined;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** Minor units as a major-unit amount for a form's default value (1250 GBP → "12.50"). */
export function majorAmountText(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  return (amountMinor / 10 ** digits).toFixed(digits);
}

const kwhFormat = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const integerFormat = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

export function formatEnergy(wh: number): string {
  return `${kwhFormat.format(wh / 1000)} kWh`;
}

/** A reading quantity in its unit: Wh shown as kWh, L (gas, water) as litres and cubic metres. */
export function formatQuantity(quantity: number, unit: string): string {
  if (unit === 'Wh') return formatEnergy(quantity);
  if (unit === 'L') return `${integerFormat.format(quantity)} L (${kwhFormat.format(quantity / 1000)} m³)`;
  return `${integerFormat.format(quantity)} ${unit}`;
}

/** The unit a chart of quantities uses: thousands of the reading unit (kWh for Wh, m³ for L). */
export function chartUnit(unit: string): string {
  if (unit === 'Wh') return 'kWh';
  if (unit === 'L') return 'm³';
  return `k${unit}`;
}

export function formatInteger(value: number): string {
  return integerFormat.format(value);
}

/** A price in micro-minor units per kWh, in the currency when it is known (11 760 000 GBP → £0.1176 per kWh). */
export function formatPricePerKwh(microPerKwh: number, currency?: string): string {
  if (currency === undefined) return `${minorPerKwh(microPerKwh)} minor units per kWh`;
  return `${currencyFormatter(currency, 4).format(microPerKwh / MICRO / 10 ** minorDigits(currency))} per kWh`;
}

/** Micro-minor units as minor units (pence, cents), for charts and tables of price signals. */
export function minorPerKwh(microPerKwh: number): number {
  return Math.round((microPerKwh / MICRO) * 10_000) / 10_000;
}

export function formatPerDay(microPerDay: number, currency: string): string {
  return `${currencyFormatter(currency, 4).format(microPerDay / MICRO / 10 ** minorDigits(currency))} per day`;
}

export function formatBasisPoints(basisPoints: number): string {
  return new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: 2 }).format(
    basisPoints / 10_000,
  );
}

/** "2026-01-15 10:00 UTC" (seconds are always :00 on period boundaries, so they are left out unless not). */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const [date = iso, time = ''] = iso.replace(/Z$/, '').split('T');
  const shown = time.endsWith(':00') ? time.slice(0, 5) : time;
  return `${date} ${shown} UTC`;
}

export function formatPeriod(from: string, to: string): string {
  return `${formatTime(from)} – ${formatTime(to)}`;
}

/** A bucket's start as its label on a chart: the hour, the day or the month. */
export function bucketLabel(iso: string, bucket: Bucket): string {
  if (bucket === 'month') return iso.slice(0, 7);
  if (bucket === 'day') return iso.slice(0, 10);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A chart label of a time with a bucket length in seconds (days show the date only). */
export function secondsBucketLabel(iso: string, bucketSeconds: number): string {
  return bucketSeconds >= SECONDS_PER_DAY ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** An instant as the API takes it: UTC, whole seconds, Z ("2026-01-15T10:00:00Z"). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The start of a date input's day (YYYY-MM-DD) in UTC. */
export function startOfDay(date: string): string {
  return `${date}T00:00:00Z`;
}

/** The end of a date input's day: 00:00 UTC of the next day, so the "to" date is included. */
export function endOfDay(date: string): string {
  return startOfDay(addDays(date, 1));
}

/** The date input value of the last day an exclusive end covers (2026-02-01T00:00:00Z → 2026-01-31). */
export function lastDayBefore(isoEnd: string): string {
  return isoSeconds(new Date(Date.parse(isoEnd) - 1000)).slice(0, 10);
}

export function dateOf(iso: string): string {
  return iso.slice(0, 10);
}

export function todayUtc(): string {
  return isoSeconds(new Date()).slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return isoSeconds(new Date(Date.parse(startOfDay(date)) + days * SECONDS_PER_DAY * 1000)).slice(0, 10);
}

/** A minute of the local day as a clock time (450 → 07:30; 1440 → 24:00). */
export function formatMinuteOfDay(minute: number): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
}

/** A fixed UTC offset in minutes as "UTC+01:00". */
export function formatUtcOffset(minutes: number): string {
  const sign = minutes < 0 ? '−' : '+';
  return `UTC${sign}${formatMinuteOfDay(Math.abs(minutes))}`;
}
