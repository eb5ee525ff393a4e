/**
 * Prepaid metering (issue 18, after the Wattcoin design of Aiman et al.): a token wallet per subscription,
 * denominated in the tariff's currency minor units (pence, cents), so that a settlement debits exactly what the
 * same pure bill function (computeBill) says the readings cost, and a top-up is money. Energy units would make
 * the wallet's value depend on the tariff version and the period's price; money does not.
 *
 * Conventions of fabric-samples' token-erc-20 where they fit: BalanceOf, Transfer, TotalSupply and a Transfer
 * event { from, to, value }; a top-up mints, an exhaustion burns into the supplier's account. Invariant, per
 * distributor and channel: Σ top-ups = Σ balances + Σ exhausted (balances may go below zero only by emergency
 * credit, down to −emergencyCreditMinor).
 *
 * Below the types, the pure rules a wallet follows (validateMeterPolicy, supplyFor, emergency credit, amounts and
 * settlement ranges): deterministic, integers only, no clock; they import only other domain files.
 */
import { WEEKDAYS, type Weekday } from './tariffs';
import { isoSeconds } from './time';

export const SUPPLY_STATES = ['on', 'power-saving', 'off'] as const;
export type SupplyState = (typeof SUPPLY_STATES)[number];

/** Why the supply is in its state: what a household reads and the meter logs. */
export type SupplyReason =
  | 'balance-ok'
  | 'low-balance-warning'
  | 'power-saving-threshold'
  | 'switch-off-threshold'
  | 'friendly-hours'
  | 'emergency-credit';

/**
 * Friendly-credit hours: the supply is never switched off in them (nights, weekend days, holidays), in the
 * household's fixed local time (utcOffsetMinutes, as tariffs).
 */
export interface FriendlyHours {
  utcOffsetMinutes: number;
  /** Minute of the local day the night starts (inclusive) and ends (exclusive); may wrap past midnight. */
  night?: { startMinute: number; endMinute: number };
  /** Local weekdays that are friendly all day: 'sat', 'sun', ... */
  days: ('sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat')[];
  /** Local dates (YYYY-MM-DD) friendly all day. */
  holidays: string[];
}

/** The household's meter policy (set by the household, validated; thresholds in minor units of the wallet). */
export interface MeterPolicy {
  /** Below this balance the meter warns (logs, and the wallet shows low-balance-warning). */
  warningBelowMinor: number;
  /** Below this the meter goes to power-saving mode (its load is limited to powerSavingLimitW). */
  powerSavingBelowMinor: number;
  /** Below this (outside friendly hours) the supply is switched off. warning ≥ powerSaving ≥ switchOff. */
  switchOffBelowMinor: number;
  /** The load limit in power-saving mode, W. */
  powerSavingLimitW: number;
  friendlyHours: FriendlyHours;
}

export interface WalletRecord {
  docType: 'wallet';
  subscriptionId: string;
  channel: string;
  distributorMspId: string;
  /** The tariff's currency (ISO 4217); the balance is in its minor unit. */
  currency: string;
  balanceMinor: number;
  /** How far below zero emergency credit lets the balance go, once taken. */
  emergencyCreditMinor: number;
  emergencyCreditTakenAt?: string;
  /** Readings of periods starting before this are settled (exhausted). */
  settledUntil: string;
  policy: MeterPolicy;
  supply: SupplyState;
  supplyReason: SupplyReason;
  supplyChangedAt: string;
  updatedAt: string;
  /** How many history entries the wallet has: the next entry's sequence number is this + 1. */
  entries: number;
}

export type WalletEntryKind =
  | 'open'
  | 'top-up'
  | 'exhaustion'
  | 'transfer-in'
  | 'transfer-out'
  | 'emergency-credit'
  | 'policy'
  | 'supply';

/** One change of a wallet: its history (balance after each change, never rewritten). */
export interface WalletEntryRecord {
  docType: 'walletEntry';
  subscriptionId: string;
  /** 1, 2, 3 …: the wallet's history in order, whatever the transactions' times. */
  sequence: number;
  kind: WalletEntryKind;
  /** Signed change of the balance (0 for policy and supply entries). */
  amountMinor: number;
  balanceAfterMinor: number;
  /** A top-up's payment reference, a transfer's counterpart subscription, a settlement's range. */
  reference?: string;
  periodFrom?: string;
  periodTo?: string;
  supply?: SupplyState;
  supplyReason?: SupplyReason;
  at: string;
  txId: string;
}

/** A distributor's supplier account on one channel: what it sold and what has been used up. */
export interface SupplierAccountRecord {
  docType: 'supplierAccount';
  distributorMspId: string;
  currency: string;
  toppedUpMinor: number;
  exhaustedMinor: number;
}

/** A top-up, idempotent per (distributor, reference). */
export interface TopUpRecord {
  docType: 'topUp';
  distributorMspId: string;
  reference: string;
  subscriptionId: string;
  amountMinor: number;
  at: string;
  txId: string;
}

/** A settlement of [periodFrom, periodTo): the cost of its readings, debited. */
export interface SettlementRecord {
  docType: 'settlement';
  subscriptionId: string;
  periodFrom: string;
  periodTo: string;
  /**
   * What this settlement debited: the cost of the month's settled range (from its first settlement, or the last
   * bill) as the ledger had it, minus the month's earlier settlements — so a late reading or price is debited
   * here; negative when a late, lower price credits the household back.
   */
  amountMinor: number;
  /** Readings (or, for an `aggregate` subscription, share pairs) and their digest of that whole range. */
  readingCount: number;
  readingsDigest: string;
  /**
   * The cost basis: the range [costFrom, periodTo) was priced (costFrom is the month's first settled period, or
   * the end of the last bill) and cost costMinor; amountMinor is costMinor minus the earlier settlements of it.
   * The household recomputes exactly this to verify a settlement (meterctl wallet verify).
   */
  costFrom: string;
  costMinor: number;
  /** `readings`: priced by the endorsers from the encrypted readings; `shares`: claimed by the distributor. */
  source: 'readings' | 'shares';
  at: string;
  txId: string;
}

/** Hard limits of the Prepaid contract, in minor units. */
export const PrepaidLimits = {
  /** One top-up: 10,000.00 in the currency. */
  maxTopUpMinor: 1_000_000,
  /** One transfer between neighbours: 500.00. */
  maxTransferMinor: 50_000,
  /** A wallet never holds more than 100,000.00. */
  maxBalanceMinor: 10_000_000,
  /** The emergency credit a wallet opens with (how far below zero it may go once taken): 10.00. */
  defaultEmergencyCreditMinor: 1_000,
  maxEmergencyCreditMinor: 10_000,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Meter policy: validation and the default

const MINUTES_PER_DAY = 1440;
const SECONDS_PER_DAY = 86_400;
const MAX_POWER_SAVING_LIMIT_W = 100_000;
const MAX_HOLIDAYS = 366;
const POLICY_FIELDS = [
  'warningBelowMinor',
  'powerSavingBelowMinor',
  'switchOffBelowMinor',
  'powerSavingLimitW',
  'friendlyHours',
];
const FRIENDLY_FIELDS = ['utcOffsetMinutes', 'night', 'days', 'holidays'];
const NIGHT_FIELDS = ['startMinute', 'endMinute'];
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

type Raw = Record<string, unknown>;
type Thresholds = Pick<MeterPolicy, 'warningBelowMinor' | 'powerSavingBelowMinor' | 'switchOffBelowMinor'>;

/**
 * The policy a wallet opens with: warn below 5.00, power-saving (1000 W) below 2.00, switch off below 0; never
 * switched off from 22:00 to 07:00 UTC nor on Saturdays and Sundays. Copy it before changing it.
 */
export const DEFAULT_METER_POLICY: MeterPolicy = {
  warningBelowMinor: 500,
  powerSavingBelowMinor: 200,
  switchOffBelowMinor: 0,
  powerSavingLimitW: 1000,
  friendlyHours: {
    utcOffsetMinutes: 0,
    night: { startMinute: 22 * 60, endMinute: 7 * 60 },
    days: ['sat', 'sun'],
    holidays: [],
  },
};

/**
 * Checks a household's meter policy field by field and returns every problem at once ("field: what is wrong",
 * nested fields as friendlyHours.night.startMinute); the policy only when there is none. Unknown fields are
 * refused at every level. Thresholds are whole minor units from −PrepaidLimits.maxEmergencyCreditMinor to
 * PrepaidLimits.maxBalanceMinor with warning ≥ powerSaving ≥ switchOff; powerSavingLimitW 1 to 100,000 W;
 * utcOffsetMinutes −840 to 840 in steps of 15; night, when given, startMinute 0-1439 and endMinute 1-1440 (not
 * equal; below startMinute it wraps past midnight); days distinct weekday names; holidays at most 366 distinct
 * real calendar dates YYYY-MM-DD. The policy returned is a copy.
 */
export function validateMeterPolicy(raw: unknown): { policy?: MeterPolicy; errors: string[] } {
  const input = asObject(raw);
  if (!input) return { errors: ['policy: must be a JSON object'] };
  const errors: string[] = [];
  unknownFields(errors, '', input, POLICY_FIELDS);
  const thresholds = validateThresholds(errors, input);
  const powerSavingLimitW = integerField(
    errors,
    'powerSavingLimitW',
    input.powerSavingLimitW,
    1,
    MAX_POWER_SAVING_LIMIT_W,
  );
  const friendlyHours = validateFriendlyHours(errors, input.friendlyHours);
  if (errors.length > 0 || !thresholds || powerSavingLimitW === undefined || !friendlyHours)
    return { errors };
  return { policy: { ...thresholds, powerSavingLimitW, friendlyHours }, errors };
}

function validateThresholds(errors: string[], input: Raw): Thresholds | undefined {
  // Never below zero: going below zero is the operator's emergency credit, not the household's policy.
  const threshold = (field: keyof Thresholds) =>
    integerField(errors, field, input[field], 0, PrepaidLimits.maxBalanceMinor);
  const warning = threshold('warningBelowMinor');
  const powerSaving = threshold('powerSavingBelowMinor');
  const switchOff = threshold('switchOffBelowMinor');
  notAbove(errors, 'powerSavingBelowMinor', powerSaving, 'warningBelowMinor', warning);
  notAbove(errors, 'switchOffBelowMinor', switchOff, 'powerSavingBelowMinor', powerSaving);
  // Without a valid middle threshold the outer two still have to be in order.
  if (powerSaving === undefined)
    notAbove(errors, 'switchOffBelowMinor', switchOff, 'warningBelowMinor', warning);
  if (warning === undefined || powerSaving === undefined || switchOff === undefined) return undefined;
  return { warningBelowMinor: warning, powerSavingBelowMinor: powerSaving, switchOffBelowMinor: switchOff };
}

/** An inverted pair of thresholds: the error names both. */
function notAbove(
  errors: string[],
  lowerField: string,
  lower: number | undefined,
  upperField: string,
  upper: number | undefined,
): void {
  if (lower !== undefined && upper !== undefined && lower > upper)
    errors.push(`${lowerField}: must not be above ${upperField} (${lower} > ${upper})`);
}

function validateFriendlyHours(errors: string[], value: unknown): FriendlyHours | undefined {
  const input = asObject(value);
  if (!input) {
    errors.push(
      'friendlyHours: must be an object with utcOffsetMinutes, days, holidays and optionally night',
    );
    return undefined;
  }
  unknownFields(errors, 'friendlyHours.', input, FRIENDLY_FIELDS);
  const utcOffsetMinutes = integerField(
    errors,
    'friendlyHours.utcOffsetMinutes',
    input.utcOffsetMinutes,
    -840,
    840,
  );
  if (utcOffsetMinutes !== undefined && utcOffsetMinutes % 15 !== 0)
    errors.push('friendlyHours.utcOffsetMinutes: must be a multiple of 15 minutes');
  // null: no night (absent); undefined: an invalid one.
  const night = input.night === undefined ? null : validateNight(errors, input.night);
  const days = validateDays(errors, input.days);
  const holidays = validateHolidays(errors, input.holidays);
  if (utcOffsetMinutes === undefined || night === undefined || !days || !holidays) return undefined;
  return { utcOffsetMinutes, ...(night ? { night } : {}), days, holidays };
}

function validateNight(errors: string[], value: unknown): FriendlyHours['night'] {
  const input = asObject(value);
  if (!input) {
    errors.push('friendlyHours.night: must be an object { startMinute, endMinute }, or absent');
    return undefined;
  }
  unknownFields(errors, 'friendlyHours.night.', input, NIGHT_FIELDS);
  const where = 'friendlyHours.night.';
  const startMinute = integerField(errors, `${where}startMinute`, input.startMinute, 0, MINUTES_PER_DAY - 1);
  const endMinute = integerField(errors, `${where}endMinute`, input.endMinute, 1, MINUTES_PER_DAY);
  if (startMinute === undefined || endMinute === undefined) return undefined;
  if (startMinute === endMinute) {
    errors.push(`${where}endMinute: must differ from startMinute (${startMinute})`);
    return undefined;
  }
  return { startMinute, endMinute };
}

function validateDays(errors: string[], value: unknown): Weekday[] | undefined {
  const isWeekday = (day: unknown): day is Weekday => (WEEKDAYS as readonly unknown[]).includes(day);
  return distinctList(
    errors,
    'friendlyHours.days',
    value,
    WEEKDAYS.length,
    isWeekday,
    `one of ${WEEKDAYS.join(', ')}`,
  );
}

function validateHolidays(errors: string[], value: unknown): string[] | undefined {
  return distinctList(
    errors,
    'friendlyHours.holidays',
    value,
    MAX_HOLIDAYS,
    isCalendarDate,
    'a real calendar date YYYY-MM-DD',
  );
}

/** A list of at most `max` distinct items that each pass `valid`; an error per bad or repeated item. */
function distinctList<T>(
  errors: string[],
  field: string,
  value: unknown,
  max: number,
  valid: (item: unknown) => item is T,
  what: string,
): T[] | undefined {
  if (!Array.isArray(value) || value.length > max) {
    errors.push(`${field}: must be a list of at most ${max} items, each ${what}`);
    return undefined;
  }
  const before = errors.length;
  const items: T[] = [];
  value.forEach((item: unknown, index) => {
    if (!valid(item)) errors.push(`${field}[${index}]: must be ${what}`);
    else if (items.includes(item)) errors.push(`${field}[${index}]: ${String(item)} is listed twice`);
    else items.push(item);
  });
  return errors.length === before ? items : undefined;
}

/** YYYY-MM-DD naming a day that exists (2026-02-29 and 2026-02-30 do not; 2028-02-29 does). */
function isCalendarDate(value: unknown): value is string {
  const match = typeof value === 'string' ? CALENDAR_DATE.exec(value) : null;
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

function asObject(value: unknown): Raw | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : null;
}

function unknownFields(errors: string[], where: string, input: Raw, allowed: string[]): void {
  for (const field of Object.keys(input))
    if (!allowed.includes(field))
      errors.push(`${where}${field}: unknown field (allowed: ${allowed.join(', ')})`);
}

function integerField(
  errors: string[],
  field: string,
  value: unknown,
  min: number,
  max: number,
): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  errors.push(`${field}: must be a whole number from ${min} to ${max}`);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Friendly hours and the supply state

/**
 * Whether a moment (epoch seconds) is friendly, in the household's fixed local time (atSeconds +
 * utcOffsetMinutes, as tariffs): in the night window (start inclusive, end exclusive; when end < start it wraps
 * past midnight, so 22:00-07:00 is 22:00 ≤ t or t < 07:00 on every day, and a night starting on Friday 22:00
 * runs into Saturday 07:00 whatever the days), on a listed weekday all day, or on a holiday date all day.
 */
export function isFriendlyTime(hours: FriendlyHours, atSeconds: number): boolean {
  const local = atSeconds + hours.utcOffsetMinutes * 60;
  const day = Math.floor(local / SECONDS_PER_DAY);
  const minute = Math.floor((local - day * SECONDS_PER_DAY) / 60);
  return (
    (hours.night !== undefined && inNight(hours.night, minute)) ||
    hours.days.includes(weekdayOf(day)) ||
    hours.holidays.includes(calendarDateOf(day))
  );
}

function inNight(night: { startMinute: number; endMinute: number }, minute: number): boolean {
  return night.startMinute < night.endMinute
    ? night.startMinute <= minute && minute < night.endMinute
    : night.startMinute <= minute || minute < night.endMinute;
}

/** The weekday of a day counted from 1970-01-01, a Thursday. */
function weekdayOf(day: number): Weekday {
  return WEEKDAYS[(((day + 4) % 7) + 7) % 7] ?? 'thu';
}

/** YYYY-MM-DD of a day counted from 1970-01-01 (the proleptic Gregorian calendar; H. Hinnant's civil_from_days). */
function calendarDateOf(day: number): string {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const dayOfMonth = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(dayOfMonth, 2)}`;
}

/**
 * The supply a wallet's balance gives at a moment, first rule that matches:
 * 1. balance ≥ warningBelowMinor → on, balance-ok;
 * 2. balance ≥ powerSavingBelowMinor → on, low-balance-warning;
 * 3. balance ≥ switchOffBelowMinor → power-saving, power-saving-threshold;
 * below the switch-off threshold:
 * 4. emergency credit taken (emergencyCreditTakenAt set) and balance > −emergencyCreditMinor → power-saving,
 *    emergency-credit;
 * 5. friendly time (isFriendlyTime) → power-saving, friendly-hours: never switched off then;
 * 6. otherwise → off, switch-off-threshold.
 * With the thresholds in order (validateMeterPolicy), a higher balance never gives a worse supply.
 */
export function supplyFor(
  wallet: Pick<WalletRecord, 'balanceMinor' | 'policy' | 'emergencyCreditMinor' | 'emergencyCreditTakenAt'>,
  atSeconds: number,
): { supply: SupplyState; reason: SupplyReason } {
  const { balanceMinor: balance, policy } = wallet;
  if (balance >= policy.warningBelowMinor) return { supply: 'on', reason: 'balance-ok' };
  if (balance >= policy.powerSavingBelowMinor) return { supply: 'on', reason: 'low-balance-warning' };
  if (balance >= policy.switchOffBelowMinor)
    return { supply: 'power-saving', reason: 'power-saving-threshold' };
  if (wallet.emergencyCreditTakenAt !== undefined && balance > -wallet.emergencyCreditMinor)
    return { supply: 'power-saving', reason: 'emergency-credit' };
  if (isFriendlyTime(policy.friendlyHours, atSeconds))
    return { supply: 'power-saving', reason: 'friendly-hours' };
  return { supply: 'off', reason: 'switch-off-threshold' };
}

// ---------------------------------------------------------------------------------------------------------------
// Emergency credit: once per low-balance episode

/*
 * A household may take emergency credit once per low-balance episode: when the balance is below its warning
 * threshold and the credit is not already taken. Taking it records emergencyCreditTakenAt (the balance may then
 * go down to −emergencyCreditMinor in power-saving mode); a top-up that brings the balance back to 0 or more
 * repays it and ends the episode, so the credit is available again for the next one.
 */

/** Why the household may not take emergency credit now, or undefined when it may. */
export function emergencyCreditRefusal(
  wallet: Pick<WalletRecord, 'balanceMinor' | 'policy' | 'emergencyCreditTakenAt' | 'emergencyCreditMinor'>,
): string | undefined {
  if (wallet.emergencyCreditTakenAt !== undefined)
    return `emergency credit was already taken at ${wallet.emergencyCreditTakenAt}; a top-up that brings the balance to 0 or more makes it available again`;
  if (wallet.balanceMinor >= wallet.policy.warningBelowMinor)
    return `emergency credit is for a low balance: the balance (${wallet.balanceMinor}) is not below the warning threshold (${wallet.policy.warningBelowMinor})`;
  return undefined;
}

/** emergencyCreditTakenAt after a top-up: repaid (undefined) when the balance is back to 0 or more, else kept. */
export function emergencyCreditAfterTopUp(
  takenAt: string | undefined,
  balanceAfter: number,
): string | undefined {
  return balanceAfter >= 0 ? undefined : takenAt;
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments of the Prepaid contract

/** A top-up's or transfer's amount: a whole number of minor units from 1 to max, else "name: ...". */
export function amountError(name: string, value: unknown, max: number): string | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= max
    ? undefined
    : `${name}: must be a whole number of minor units from 1 to ${max}`;
}

/**
 * Whether a settlement up to `to` (exclusive) may run now: `to` is an ISO 8601 UTC time with seconds, after the
 * wallet's settledUntil and not after nowSeconds (the transaction's time). Undefined when it may.
 */
export function settlementRangeError(
  settledUntil: string,
  to: string,
  nowSeconds: number,
): string | undefined {
  const toSeconds = isoEpochSeconds(to);
  if (toSeconds === undefined)
    return 'to: must be an ISO 8601 UTC time with seconds, like 2026-01-15T10:00:00Z';
  const fromSeconds = isoEpochSeconds(settledUntil);
  if (fromSeconds === undefined) return `settledUntil: not an ISO 8601 UTC time (${settledUntil})`;
  if (toSeconds <= fromSeconds) return `to: must be after settledUntil (${settledUntil})`;
  if (toSeconds > nowSeconds) return `to: must not be in the future (now is ${isoSeconds(nowSeconds)})`;
  return undefined;
}

/** Epoch seconds of a real ISO 8601 UTC time with seconds (Date.parse rolls 30 February over: only a real one round-trips). */
function isoEpochSeconds(value: string): number | undefined {
  if (!ISO_SECONDS.test(value)) return undefined;
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) return undefined;
  const seconds = millis / 1000;
  return isoSeconds(seconds) === value ? seconds : undefined;
}
