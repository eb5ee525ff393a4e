import { UsageError } from './errors';

/**
 * Amounts are kept in minor units (pence for GBP) as integers everywhere; people read and type them in the
 * currency's usual form ("110.89"). Both ways are exact: digits are moved, never multiplied as floating point.
 */

/** ISO 4217 currencies whose minor unit is not a hundredth; every other currency has 2 minor digits. */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/** How many digits the currency's minor unit has after the decimal point (GBP: 2). */
export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency] ?? 2;
}

/** Minor units in the currency's usual form, without the currency: 11089 GBP → "110.89", 500 JPY → "500". */
export function formatAmount(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const text = String(Math.abs(amountMinor)).padStart(digits + 1, '0');
  if (digits === 0) return `${sign}${text}`;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Whether the text is a non-negative decimal number at all (checked before anything is sent). */
export function checkAmountSyntax(option: string, text: string): string {
  if (!DECIMAL.test(text))
    throw new UsageError(
      `${option} must be a non-negative amount as bills show it, e.g. 110.89 (got "${text}")`,
    );
  return text;
}

/**
 * An amount in the currency's usual form as an exact number of minor units: "110.89" GBP → 11089, "110" →
 * 11000, "110.8" → 11080. More decimals than the currency has ("110.891"), a sign or anything but digits and
 * one point is a UsageError.
 */
export function parseAmount(option: string, text: string, currency: string): number {
  const match = DECIMAL.exec(checkAmountSyntax(option, text));
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  const digits = minorDigits(currency);
  if (fraction.length > digits) {
    throw new UsageError(
      digits === 0
        ? `${option} must be a whole number of ${currency} (it has no minor unit; got "${text}")`
        : `${option} has more than ${digits} decimals, the minor unit of ${currency} (got "${text}")`,
    );
  }
  const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${option} is too large (got "${text}")`);
  return Number(minor);
}
