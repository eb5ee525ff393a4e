import fc from 'fast-check';
import {
  DEFAULT_METER_POLICY,
  PrepaidLimits,
  SUPPLY_STATES,
  WEEKDAYS,
  amountError,
  emergencyCreditAfterTopUp,
  emergencyCreditRefusal,
  isFriendlyTime,
  isoSeconds,
  settlementRangeError,
  supplyFor,
  validateMeterPolicy,
  type FriendlyHours,
  type MeterPolicy,
  type SupplyState,
  type WalletRecord,
} from '@smartmeter/domain';

/** The prepaid wallet's pure rules (domain/src/prepaid.ts): meter policy, friendly hours, supply, emergency credit. */
const epoch = (iso: string): number => Date.parse(iso) / 1000;
// January 2026: Thursday the 1st, so Friday 2, Saturday 3, Sunday 4, Monday 5.
const FRIDAY_NOON = epoch('2026-01-02T12:00:00Z');
const SATURDAY_NOON = epoch('2026-01-03T12:00:00Z');
const MAX_SECONDS = epoch('2200-01-01T00:00:00Z');

/** A deep copy of the default policy with some fields replaced (or removed with undefined), as untyped input. */
function variant(
  changes: Record<string, unknown> = {},
  friendly: Record<string, unknown> = {},
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(DEFAULT_METER_POLICY)) as Record<string, unknown>;
  return { ...copy, friendlyHours: { ...(copy.friendlyHours as object), ...friendly }, ...changes };
}
const errorsOf = (value: unknown) => validateMeterPolicy(value).errors;

describe('validateMeterPolicy', () => {
  it('when the default policy is validated then it passes and a copy of it is returned', () => {
    const result = validateMeterPolicy(DEFAULT_METER_POLICY);
    expect(result).toEqual({ policy: DEFAULT_METER_POLICY, errors: [] });
    expect(result.policy).not.toBe(DEFAULT_METER_POLICY);
    expect(result.policy?.friendlyHours.days).not.toBe(DEFAULT_METER_POLICY.friendlyHours.days);
  });

  it('when the night is absent then the policy is valid and has no night', () => {
    const result = validateMeterPolicy(variant({}, { night: undefined }));
    expect(result.errors).toEqual([]);
    expect(result.policy?.friendlyHours).not.toHaveProperty('night');
  });

  it('when the thresholds are equal, at the limits, or a night ends at 24:00 then the policy is valid', () => {
    const min = 0;
    expect(
      errorsOf(
        variant(
          {
            warningBelowMinor: 0,
            powerSavingBelowMinor: 0,
            switchOffBelowMinor: 0,
            powerSavingLimitW: 100_000,
          },
          { utcOffsetMinutes: -840, night: { startMinute: 0, endMinute: 1440 }, days: [] },
        ),
      ),
    ).toEqual([]);
    expect(
      errorsOf(
        variant(
          {
            warningBelowMinor: PrepaidLimits.maxBalanceMinor,
            powerSavingBelowMinor: min,
            switchOffBelowMinor: min,
            powerSavingLimitW: 1,
          },
          { utcOffsetMinutes: 840, days: [...WEEKDAYS], holidays: ['2028-02-29', '2026-12-25'] },
        ),
      ),
    ).toEqual([]);
  });

  const range = `from 0 to ${PrepaidLimits.maxBalanceMinor}`;
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    [
      'a fractional threshold',
      { warningBelowMinor: 500.5 },
      {},
      `warningBelowMinor: must be a whole number ${range}`,
    ],
    [
      'a threshold as a string',
      { powerSavingBelowMinor: '200' },
      {},
      'powerSavingBelowMinor: must be a whole number',
    ],
    [
      "a threshold below zero (only the operator's emergency credit goes below zero)",
      { switchOffBelowMinor: -1 },
      {},
      'switchOffBelowMinor: must be a whole number',
    ],
    [
      'a threshold above the balance limit',
      { warningBelowMinor: PrepaidLimits.maxBalanceMinor + 1 },
      {},
      'warningBelowMinor: must be a whole number',
    ],
    [
      'a missing threshold',
      { switchOffBelowMinor: undefined },
      {},
      'switchOffBelowMinor: must be a whole number',
    ],
    [
      'no power-saving limit',
      { powerSavingLimitW: 0 },
      {},
      'powerSavingLimitW: must be a whole number from 1 to 100000',
    ],
    [
      'a power-saving limit too high',
      { powerSavingLimitW: 100_001 },
      {},
      'powerSavingLimitW: must be a whole number',
    ],
    ['friendly hours that are not an object', { friendlyHours: [] }, {}, 'friendlyHours: must be an object'],
    [
      'an offset beyond 14 hours',
      {},
      { utcOffsetMinutes: 841 },
      'friendlyHours.utcOffsetMinutes: must be a whole number',
    ],
    [
      'an offset of 10 minutes',
      {},
      { utcOffsetMinutes: 10 },
      'friendlyHours.utcOffsetMinutes: must be a multiple of 15',
    ],
    ['a night that is not an object', {}, { night: '22-07' }, 'friendlyHours.night: must be an object'],
    ['a null night', {}, { night: null }, 'friendlyHours.night: must be an object'],
    [
      'a night starting at 24:00',
      {},
      { night: { startMinute: 1440, endMinute: 420 } },
      'friendlyHours.night.startMinute: must be a whole number from 0 to 1439',
    ],
    [
      'a night ending at 00:00',
      {},
      { night: { startMinute: 1320, endMinute: 0 } },
      'friendlyHours.night.endMinute: must be a whole number from 1 to 1440',
    ],
    [
      'a night of no length',
      {},
      { night: { startMinute: 420, endMinute: 420 } },
      'friendlyHours.night.endMinute: must differ from startMinute (420)',
    ],
    [
      'days that are not a list',
      {},
      { days: 'sat' },
      'friendlyHours.days: must be a list of at most 7 items',
    ],
    [
      'a day that is no weekday',
      {},
      { days: ['sat', 'saturday'] },
      'friendlyHours.days[1]: must be one of sun, mon',
    ],
    ['a day listed twice', {}, { days: ['sat', 'sun', 'sat'] }, 'friendlyHours.days[2]: sat is listed twice'],
    [
      'holidays that are not a list',
      {},
      { holidays: null },
      'friendlyHours.holidays: must be a list of at most 366',
    ],
    [
      '30 February',
      {},
      { holidays: ['2026-12-25', '2026-02-30'] },
      'friendlyHours.holidays[1]: must be a real calendar date YYYY-MM-DD',
    ],
    [
      '29 February of a common year',
      {},
      { holidays: ['2026-02-29'] },
      'friendlyHours.holidays[0]: must be a real',
    ],
    ['a 13th month', {}, { holidays: ['2026-13-01'] }, 'friendlyHours.holidays[0]: must be a real'],
    [
      'a date and time',
      {},
      { holidays: ['2026-12-25T00:00:00Z'] },
      'friendlyHours.holidays[0]: must be a real',
    ],
    ['a two-digit year', {}, { holidays: ['26-12-25'] }, 'friendlyHours.holidays[0]: must be a real'],
    [
      'a holiday listed twice',
      {},
      { holidays: ['2026-12-25', '2026-12-26', '2026-12-25'] },
      'friendlyHours.holidays[2]: 2026-12-25 is listed twice',
    ],
  ])(
    'when the policy has %s then it is refused with an error naming the field',
    (_label, changes, friendly, error) => {
      const result = validateMeterPolicy(variant(changes, friendly));
      expect(result.policy).toBeUndefined();
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toContain(error);
    },
  );

  it('when there are 367 holidays then the list is refused', () => {
    const holidays = Array.from({ length: 367 }, (_, n) =>
      isoSeconds(epoch('2026-01-01T00:00:00Z') + n * 86_400),
    );
    expect(errorsOf(variant({}, { holidays: holidays.map((h) => h.slice(0, 10)) }))).toEqual([
      'friendlyHours.holidays: must be a list of at most 366 items, each a real calendar date YYYY-MM-DD',
    ]);
    expect(errorsOf(variant({}, { holidays: holidays.slice(0, 366).map((h) => h.slice(0, 10)) }))).toEqual(
      [],
    );
  });

  it.each([
    [
      'warning below power saving',
      { warningBelowMinor: 100 },
      ['powerSavingBelowMinor: must not be above warningBelowMinor (200 > 100)'],
    ],
    [
      'power saving below switch-off',
      { switchOffBelowMinor: 300 },
      ['switchOffBelowMinor: must not be above powerSavingBelowMinor (300 > 200)'],
    ],
    [
      'warning below switch-off with an invalid power-saving threshold',
      { warningBelowMinor: 100, powerSavingBelowMinor: null, switchOffBelowMinor: 300 },
      [
        'powerSavingBelowMinor: must be a whole number from 0 to 10000000',
        'switchOffBelowMinor: must not be above warningBelowMinor (300 > 100)',
      ],
    ],
  ])('when the thresholds are inverted (%s) then the error names both', (_label, changes, errors) => {
    expect(validateMeterPolicy(variant(changes))).toEqual({ errors });
  });

  it('when there are unknown fields at any level then each is refused by its path', () => {
    expect(
      errorsOf(
        variant(
          { maxLoadW: 3000 },
          { weekends: true, night: { startMinute: 1320, endMinute: 420, tz: 'UTC' } },
        ),
      ),
    ).toEqual([
      'maxLoadW: unknown field (allowed: warningBelowMinor, powerSavingBelowMinor, switchOffBelowMinor, powerSavingLimitW, friendlyHours)',
      'friendlyHours.weekends: unknown field (allowed: utcOffsetMinutes, night, days, holidays)',
      'friendlyHours.night.tz: unknown field (allowed: startMinute, endMinute)',
    ]);
  });

  it('when several fields are wrong then every problem is reported at once, by field', () => {
    const errors = errorsOf(
      variant(
        { powerSavingLimitW: -1, warningBelowMinor: 'lots' },
        { utcOffsetMinutes: 7.5, days: ['fri', 'fry'], holidays: ['2026-02-30'] },
      ),
    );
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'warningBelowMinor',
      'powerSavingLimitW',
      'friendlyHours.utcOffsetMinutes',
      'friendlyHours.days[1]',
      'friendlyHours.holidays[0]',
    ]);
  });

  it.each([null, [], 'policy', 42])('when the policy is %p then it must be a JSON object', (value) => {
    expect(validateMeterPolicy(value)).toEqual({ errors: ['policy: must be a JSON object'] });
  });
});

const hours = (changes: Partial<FriendlyHours> = {}): FriendlyHours => ({
  ...DEFAULT_METER_POLICY.friendlyHours,
  ...changes,
});

describe('isFriendlyTime', () => {
  it.each([
    ['Friday 12:00', '2026-01-02T12:00:00Z', false],
    ['Friday 21:59', '2026-01-02T21:59:59Z', false],
    ['Friday 22:00 (the night starts)', '2026-01-02T22:00:00Z', true],
    ['Friday 23:00 (night)', '2026-01-02T23:00:00Z', true],
    ['Saturday 03:00 (the Friday night continues)', '2026-01-03T03:00:00Z', true],
    ['Saturday 12:00 (a friendly day)', '2026-01-03T12:00:00Z', true],
    ['Sunday 23:59 (a friendly day and night)', '2026-01-04T23:59:59Z', true],
    ['Monday 06:59 (the Sunday night continues)', '2026-01-05T06:59:59Z', true],
    ['Monday 07:00 (the night has ended)', '2026-01-05T07:00:00Z', false],
    ['Monday 12:00', '2026-01-05T12:00:00Z', false],
  ])('when it is %s UTC with the default hours then friendly is %p', (_label, at, friendly) => {
    expect(isFriendlyTime(hours(), epoch(at))).toBe(friendly);
  });

  it.each([
    ['Friday 20:59 UTC = 21:59 local', '2026-01-02T20:59:00Z', false],
    ['Friday 21:00 UTC = 22:00 local', '2026-01-02T21:00:00Z', true],
    ['Monday 05:59 UTC = 06:59 local', '2026-01-05T05:59:00Z', true],
    ['Monday 06:00 UTC = 07:00 local', '2026-01-05T06:00:00Z', false],
  ])(
    'when the offset is +60 then the night moves an hour earlier in UTC: %s is friendly %p',
    (_label, at, friendly) => {
      expect(isFriendlyTime(hours({ utcOffsetMinutes: 60 }), epoch(at))).toBe(friendly);
    },
  );

  it.each([
    ['+60, Friday 22:59 UTC = Friday 23:59 local', 60, '2026-01-02T22:59:00Z', false],
    ['+60, Friday 23:00 UTC = Saturday 00:00 local', 60, '2026-01-02T23:00:00Z', true],
    ['+60, Sunday 23:00 UTC = Monday 00:00 local', 60, '2026-01-04T23:00:00Z', false],
    ['+60, Sunday 22:59 UTC = Sunday 23:59 local', 60, '2026-01-04T22:59:00Z', true],
    ['-300, Saturday 04:59 UTC = Friday 23:59 local', -300, '2026-01-03T04:59:00Z', false],
    ['-300, Monday 04:59 UTC = Sunday 23:59 local', -300, '2026-01-05T04:59:00Z', true],
  ])(
    'when there is no night then the weekday is the local one: %s is friendly %p',
    (_label, offset, at, friendly) => {
      expect(isFriendlyTime(hours({ utcOffsetMinutes: offset, night: undefined }), epoch(at))).toBe(friendly);
    },
  );

  it('when the night does not wrap then it runs from its start (inclusive) to its end (exclusive) on every day', () => {
    const siesta = hours({ night: { startMinute: 13 * 60, endMinute: 15 * 60 }, days: [] });
    expect(isFriendlyTime(siesta, epoch('2026-01-05T12:59:59Z'))).toBe(false);
    expect(isFriendlyTime(siesta, epoch('2026-01-05T13:00:00Z'))).toBe(true);
    expect(isFriendlyTime(siesta, epoch('2026-01-05T14:59:59Z'))).toBe(true);
    expect(isFriendlyTime(siesta, epoch('2026-01-05T15:00:00Z'))).toBe(false);
    expect(isFriendlyTime(siesta, epoch('2026-01-05T23:00:00Z'))).toBe(false);
    const lateEvening = hours({ night: { startMinute: 23 * 60, endMinute: 1440 }, days: [] });
    expect(isFriendlyTime(lateEvening, epoch('2026-01-05T23:59:59Z'))).toBe(true);
    expect(isFriendlyTime(lateEvening, epoch('2026-01-06T00:00:00Z'))).toBe(false);
  });

  it('when a date is a holiday then all of its local day is friendly, and only it', () => {
    // Christmas 2026 is a Friday.
    const christmas = hours({ night: undefined, holidays: ['2026-12-25'] });
    expect(isFriendlyTime(christmas, epoch('2026-12-24T23:59:59Z'))).toBe(false);
    expect(isFriendlyTime(christmas, epoch('2026-12-25T00:00:00Z'))).toBe(true);
    expect(isFriendlyTime(christmas, epoch('2026-12-25T12:00:00Z'))).toBe(true);
    expect(isFriendlyTime(christmas, epoch('2026-12-25T23:59:59Z'))).toBe(true);
    expect(isFriendlyTime({ ...christmas, days: [] }, epoch('2026-12-26T00:00:00Z'))).toBe(false);
    const inParis = { ...christmas, utcOffsetMinutes: 60, days: [] };
    expect(isFriendlyTime(inParis, epoch('2026-12-24T23:00:00Z'))).toBe(true);
    expect(isFriendlyTime(inParis, epoch('2026-12-25T23:00:00Z'))).toBe(false);
  });

  it('when a holiday is the local date of any moment then that moment is friendly (dates agree with the calendar)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_SECONDS }),
        fc.integer({ min: -56, max: 56 }).map((q) => q * 15),
        (at, offset) => {
          const date = isoSeconds(at + offset * 60).slice(0, 10);
          const holiday = hours({ utcOffsetMinutes: offset, night: undefined, days: [], holidays: [date] });
          expect(isFriendlyTime(holiday, at)).toBe(true);
          expect(isFriendlyTime({ ...holiday, holidays: [] }, at)).toBe(false);
        },
      ),
    );
  });
});

type Wallet = Pick<
  WalletRecord,
  'balanceMinor' | 'policy' | 'emergencyCreditMinor' | 'emergencyCreditTakenAt'
>;
const wallet = (balanceMinor: number, changes: Partial<Wallet> = {}): Wallet => ({
  balanceMinor,
  policy: DEFAULT_METER_POLICY,
  emergencyCreditMinor: PrepaidLimits.defaultEmergencyCreditMinor,
  ...changes,
});
const TAKEN = '2026-01-02T08:00:00Z';

describe('supplyFor', () => {
  it.each([
    [10_000, 'on', 'balance-ok'],
    [500, 'on', 'balance-ok'],
    [499, 'on', 'low-balance-warning'],
    [200, 'on', 'low-balance-warning'],
    [199, 'power-saving', 'power-saving-threshold'],
    [0, 'power-saving', 'power-saving-threshold'],
    [-1, 'off', 'switch-off-threshold'],
  ])(
    'when the balance is %p outside friendly hours then the supply is %s (%s)',
    (balance, supply, reason) => {
      expect(supplyFor(wallet(balance), FRIDAY_NOON)).toEqual({ supply, reason });
    },
  );

  it('when the balance is below the switch-off threshold in friendly hours then the supply is power-saving', () => {
    expect(supplyFor(wallet(-1), SATURDAY_NOON)).toEqual({
      supply: 'power-saving',
      reason: 'friendly-hours',
    });
    expect(supplyFor(wallet(-50_000), epoch('2026-01-05T06:59:59Z'))).toEqual({
      supply: 'power-saving',
      reason: 'friendly-hours',
    });
    expect(supplyFor(wallet(-1), epoch('2026-01-05T07:00:00Z'))).toEqual({
      supply: 'off',
      reason: 'switch-off-threshold',
    });
  });

  it('when the thresholds are moved then their boundaries move with them', () => {
    const policy: MeterPolicy = {
      ...DEFAULT_METER_POLICY,
      warningBelowMinor: 0,
      powerSavingBelowMinor: -200,
      switchOffBelowMinor: -500,
    };
    const at = (balance: number) => supplyFor(wallet(balance, { policy }), FRIDAY_NOON);
    expect(at(0)).toEqual({ supply: 'on', reason: 'balance-ok' });
    expect(at(-1)).toEqual({ supply: 'on', reason: 'low-balance-warning' });
    expect(at(-200)).toEqual({ supply: 'on', reason: 'low-balance-warning' });
    expect(at(-201)).toEqual({ supply: 'power-saving', reason: 'power-saving-threshold' });
    expect(at(-500)).toEqual({ supply: 'power-saving', reason: 'power-saving-threshold' });
    expect(at(-501)).toEqual({ supply: 'off', reason: 'switch-off-threshold' });
  });

  it.each([
    [-1, 'power-saving', 'emergency-credit'],
    [-999, 'power-saving', 'emergency-credit'],
    [-1000, 'off', 'switch-off-threshold'],
    [-1001, 'off', 'switch-off-threshold'],
  ])(
    'when emergency credit (10.00) is taken and the balance is %p outside friendly hours then %s (%s)',
    (balance, supply, reason) => {
      expect(supplyFor(wallet(balance, { emergencyCreditTakenAt: TAKEN }), FRIDAY_NOON)).toEqual({
        supply,
        reason,
      });
    },
  );

  it('when emergency credit is used up in friendly hours then the supply stays power-saving', () => {
    expect(supplyFor(wallet(-1000, { emergencyCreditTakenAt: TAKEN }), SATURDAY_NOON)).toEqual({
      supply: 'power-saving',
      reason: 'friendly-hours',
    });
  });

  it('when emergency credit is taken but the balance is above the switch-off threshold then the thresholds decide', () => {
    expect(supplyFor(wallet(100, { emergencyCreditTakenAt: TAKEN }), FRIDAY_NOON)).toEqual({
      supply: 'power-saving',
      reason: 'power-saving-threshold',
    });
  });

  it('when emergency credit is not taken then it does not keep the supply on', () => {
    expect(supplyFor(wallet(-1, { emergencyCreditMinor: 10_000 }), FRIDAY_NOON)).toEqual({
      supply: 'off',
      reason: 'switch-off-threshold',
    });
  });

  const friendlyArb: fc.Arbitrary<FriendlyHours> = fc.record(
    {
      utcOffsetMinutes: fc.integer({ min: -56, max: 56 }).map((q) => q * 15),
      night: fc
        .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }))
        .filter(([start, end]) => start !== end)
        .map(([startMinute, endMinute]) => ({ startMinute, endMinute })),
      days: fc.subarray([...WEEKDAYS]),
      holidays: fc.uniqueArray(
        fc
          .integer({
            min: epoch('2026-01-01T00:00:00Z') / 86_400,
            max: epoch('2027-12-31T00:00:00Z') / 86_400,
          })
          .map((day) => isoSeconds(day * 86_400).slice(0, 10)),
        { maxLength: 20 },
      ),
    },
    { requiredKeys: ['utcOffsetMinutes', 'days', 'holidays'] },
  );
  const thresholdArb = fc.integer({ min: 0, max: PrepaidLimits.maxBalanceMinor });
  const policyArb: fc.Arbitrary<MeterPolicy> = fc
    .record({
      thresholds: fc.tuple(thresholdArb, thresholdArb, thresholdArb).map((t) => t.sort((a, b) => b - a)),
      powerSavingLimitW: fc.integer({ min: 1, max: 100_000 }),
      friendlyHours: friendlyArb,
    })
    .map(({ thresholds: [warning, powerSaving, switchOff], powerSavingLimitW, friendlyHours }) => ({
      warningBelowMinor: warning,
      powerSavingBelowMinor: powerSaving,
      switchOffBelowMinor: switchOff,
      powerSavingLimitW,
      friendlyHours,
    }));
  const walletArb = fc.record({
    policy: policyArb,
    emergencyCreditMinor: fc.integer({ min: 0, max: PrepaidLimits.maxEmergencyCreditMinor }),
    emergencyCreditTakenAt: fc.option(fc.constant(TAKEN), { nil: undefined }),
  });
  const balanceArb = fc.integer({
    min: -3 * PrepaidLimits.maxEmergencyCreditMinor,
    max: PrepaidLimits.maxBalanceMinor,
  });
  const timeArb = fc.integer({ min: 0, max: MAX_SECONDS });
  // SUPPLY_STATES lists the best state first.
  const rank = (supply: SupplyState) => SUPPLY_STATES.length - SUPPLY_STATES.indexOf(supply);

  it('when any generated policy is validated then it passes unchanged (the generators below are valid policies)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        expect(validateMeterPolicy(policy)).toEqual({ policy, errors: [] });
      }),
    );
  });

  it('when it is asked twice with the same wallet and time then it answers the same (deterministic)', () => {
    fc.assert(
      fc.property(walletArb, balanceArb, timeArb, (w, balance, at) => {
        const first = supplyFor({ ...w, balanceMinor: balance }, at);
        expect(supplyFor(structuredClone({ ...w, balanceMinor: balance }), at)).toEqual(first);
      }),
    );
  });

  it('when the balance is higher then the supply is never worse (off < power-saving < on), for any policy and time', () => {
    fc.assert(
      fc.property(walletArb, balanceArb, balanceArb, timeArb, (w, a, b, at) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const lowSupply = supplyFor({ ...w, balanceMinor: low }, at).supply;
        const highSupply = supplyFor({ ...w, balanceMinor: high }, at).supply;
        expect(rank(highSupply)).toBeGreaterThanOrEqual(rank(lowSupply));
      }),
    );
  });

  it('when the supply is off then it is not friendly time and the balance is below the switch-off threshold', () => {
    fc.assert(
      fc.property(walletArb, balanceArb, timeArb, (w, balance, at) => {
        const { supply, reason } = supplyFor({ ...w, balanceMinor: balance }, at);
        expect(supply === 'off').toBe(reason === 'switch-off-threshold');
        if (supply === 'off') {
          expect(isFriendlyTime(w.policy.friendlyHours, at)).toBe(false);
          expect(balance).toBeLessThan(w.policy.switchOffBelowMinor);
        }
      }),
    );
  });
});

describe('emergency credit', () => {
  it('when the balance is below the warning threshold and no credit is taken then it may be taken', () => {
    expect(emergencyCreditRefusal(wallet(499))).toBeUndefined();
    expect(emergencyCreditRefusal(wallet(-1))).toBeUndefined();
  });

  it('when the balance is not below the warning threshold then it is refused, with both numbers', () => {
    expect(emergencyCreditRefusal(wallet(500))).toBe(
      'emergency credit is for a low balance: the balance (500) is not below the warning threshold (500)',
    );
  });

  it('when the credit is already taken then it is refused until a top-up repays it', () => {
    expect(emergencyCreditRefusal(wallet(-300, { emergencyCreditTakenAt: TAKEN }))).toBe(
      `emergency credit was already taken at ${TAKEN}; a top-up that brings the balance to 0 or more makes it available again`,
    );
  });

  it.each([
    [TAKEN, -1, TAKEN],
    [TAKEN, 0, undefined],
    [TAKEN, 2_000, undefined],
    [undefined, -1, undefined],
    [undefined, 100, undefined],
  ])(
    'when credit taken at %p is topped up to %p then emergencyCreditTakenAt becomes %p',
    (takenAt, balance, after) => {
      expect(emergencyCreditAfterTopUp(takenAt, balance)).toBe(after);
    },
  );

  it('when a low-balance episode goes by then the credit is taken once, kept through a partial top-up, and available again after repayment', () => {
    let w = wallet(100);
    expect(emergencyCreditRefusal(w)).toBeUndefined();
    w = { ...w, emergencyCreditTakenAt: TAKEN, balanceMinor: -800 };
    expect(emergencyCreditRefusal(w)).toContain('already taken');
    w = {
      ...w,
      balanceMinor: -300,
      emergencyCreditTakenAt: emergencyCreditAfterTopUp(w.emergencyCreditTakenAt, -300),
    };
    expect(emergencyCreditRefusal(w)).toContain('already taken');
    w = {
      ...w,
      balanceMinor: 50,
      emergencyCreditTakenAt: emergencyCreditAfterTopUp(w.emergencyCreditTakenAt, 50),
    };
    expect(w.emergencyCreditTakenAt).toBeUndefined();
    expect(emergencyCreditRefusal(w)).toBeUndefined();
  });
});

describe('amountError', () => {
  it.each([1, 42, PrepaidLimits.maxTopUpMinor])('when the amount is %p then it is accepted', (value) => {
    expect(amountError('amountMinor', value, PrepaidLimits.maxTopUpMinor)).toBeUndefined();
  });

  it.each([0, -1, 1.5, PrepaidLimits.maxTopUpMinor + 1, Number.NaN, Infinity, '100', null, undefined])(
    'when the amount is %p then it is refused by name',
    (value) => {
      expect(amountError('amountMinor', value, PrepaidLimits.maxTopUpMinor)).toBe(
        'amountMinor: must be a whole number of minor units from 1 to 1000000',
      );
    },
  );
});

describe('settlementRangeError', () => {
  const settledUntil = '2026-01-02T00:00:00Z';
  const now = epoch('2026-01-03T00:00:00Z');

  it.each(['2026-01-02T00:30:00Z', '2026-01-03T00:00:00Z'])(
    'when the range ends at %s (after settledUntil, not after now) then it may be settled',
    (to) => {
      expect(settlementRangeError(settledUntil, to, now)).toBeUndefined();
    },
  );

  it.each([
    ['at settledUntil', settledUntil, `to: must be after settledUntil (${settledUntil})`],
    ['before settledUntil', '2026-01-01T23:30:00Z', `to: must be after settledUntil (${settledUntil})`],
    ['in the future', '2026-01-03T00:00:01Z', 'to: must not be in the future (now is 2026-01-03T00:00:00Z)'],
    ['on 30 February', '2026-02-30T00:00:00Z', 'to: must be an ISO 8601 UTC time with seconds'],
    ['not a time', 'yesterday', 'to: must be an ISO 8601 UTC time with seconds'],
    ['with milliseconds', '2026-01-02T12:00:00.000Z', 'to: must be an ISO 8601 UTC time with seconds'],
  ])('when the range ends %s then it is refused', (_label, to, error) => {
    expect(settlementRangeError(settledUntil, to, now)).toContain(error);
  });

  it('when settledUntil is not a time then it is named', () => {
    expect(settlementRangeError('never', '2026-01-02T00:30:00Z', now)).toBe(
      'settledUntil: not an ISO 8601 UTC time (never)',
    );
  });
});
