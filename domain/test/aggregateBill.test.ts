import fc from 'fast-check';
import { newSessionKey, periodSecrets, splitReading, type PeriodSecrets } from '@smartmeter/crypto';
import {
  aggregateBillLookups,
  aggregateClaimErrors,
  aggregateFactsErrors,
  averagePowerW,
  buildBillReportDocument,
  computeAggregateBill,
  computeBill,
  gridShareRecordOf,
  isoSeconds,
  pricedPeriods,
  readingsFromShares,
  redactForLedger,
  runningTotalsSince,
  shareLookupsFor,
  MAX_BILL_REPORT_BYTES,
  type AggregateBill,
  type AggregateBillEvidence,
  type BillComputation,
  type BillInput,
  type BilledReading,
  type BillReportMeta,
  type GridShareRecord,
  type PeriodSchedule,
  type PriceSignalRecord,
  type TariffRecord,
} from '@smartmeter/domain';

/**
 * Dynamic billing of an `aggregate` subscription (domain/src/billing/aggregateBill.ts), with real session keys
 * and real shares: splitReading over the household's periodSecrets, stored as the ledger stores them.
 */
const REGION = 'north/d3';
const QUARTER = 900;
const MONTH_START = '2026-03-01T00:00:00Z';
const T0 = Date.parse(MONTH_START) / 1000;
const epoch = (iso: string): number => Date.parse(iso) / 1000;

const sessionKey = newSessionKey();
const otherKey = newSessionKey();

/** Period starts k periods of `seconds` after the 1st of March, 00:00 UTC. */
const at = (k: number, seconds = QUARTER): string => isoSeconds(T0 + k * seconds);

const secretsCache = new Map<string, PeriodSecrets>();
function secretsOf(key: Uint8Array, periodStart: string): PeriodSecrets {
  const id = `${Buffer.from(key).toString('hex')}|${periodStart}`;
  const found = secretsCache.get(id) ?? periodSecrets(key, epoch(periodStart));
  secretsCache.set(id, found);
  return found;
}

/** The two ledger records of a meter's reading of a period (c' random, or given). */
function sharesOf(periodStart: string, wattHours: number, key = sessionKey, randomPart?: bigint) {
  const sentAt = isoSeconds(epoch(periodStart) + 3600);
  return splitReading({
    wattHours,
    secrets: secretsOf(key, periodStart),
    region: REGION,
    sentAt: [sentAt, sentAt],
    randomPart,
  }).map(gridShareRecordOf) as [GridShareRecord, GridShareRecord];
}

const withValue = (share: GridShareRecord, delta: bigint): GridShareRecord => ({
  ...share,
  value: String(BigInt(share.value) + delta),
});

function tariff(overrides: Partial<TariffRecord> = {}): TariffRecord {
  return {
    docType: 'tariff',
    distributorMspId: 'Distributor1MSP',
    tariffId: 'dyn',
    version: 1,
    effectiveFrom: '2026-01-01T00:00:00Z',
    publishedAt: '2026-01-01T00:00:00Z',
    currency: 'GBP',
    utcOffsetMinutes: 0,
    standingChargeMicroPerDay: 50_000_000,
    taxBasisPoints: 500,
    pricing: { kind: 'dynamic', basePriceMicroPerKwh: 20_000_000 },
    ...overrides,
  };
}

function signal(
  periodStart: string,
  priceMicroPerKwh: number,
  source?: PriceSignalRecord['source'],
  loadWh?: string,
): PriceSignalRecord {
  return {
    docType: 'priceSignal',
    regionCode: REGION,
    periodStart,
    priceMicroPerKwh,
    publishedAt: '2026-03-01T00:00:00Z',
    ...(source ? { source } : {}),
    ...(loadWh
      ? {
          policy: {
            policyRegionCode: 'north',
            policyVersion: 1,
            loadWh,
            periodSeconds: QUARTER,
            averagePowerW: averagePowerW(BigInt(loadWh), QUARTER),
            priceMicroPerKwh: 31_000_000,
          },
        }
      : {}),
  };
}

const scheduleFrom = (startDate: string, intervalSeconds = QUARTER): PeriodSchedule => ({
  startDate,
  intervalSeconds,
});

function evidenceOf(overrides: Partial<AggregateBillEvidence>): AggregateBillEvidence {
  return {
    periodFrom: MONTH_START,
    periodTo: at(8),
    schedule: scheduleFrom(MONTH_START),
    shares: [],
    tariffVersions: [tariff()],
    signals: [],
    ...overrides,
  };
}

/** What Billing:RecordAggregateBill compares a claim with: the same bill without any reading or signal. */
function baselineOf(input: BillInput): BillComputation {
  return computeBill({
    periodFrom: input.periodFrom,
    periodTo: input.periodTo,
    intervalSeconds: input.intervalSeconds,
    intervalChanges: input.intervalChanges,
    subscriptionStart: input.subscriptionStart,
    subscriptionEnd: input.subscriptionEnd,
    readings: [],
    priorReadings: [],
    tariffVersions: input.tariffVersions,
    signals: {},
  });
}

/** numerator / denominator rounded half up, as the bill rounds (amounts are never negative). */
const roundHalfUp = (numerator: bigint, denominator: bigint): number =>
  Number((numerator * 2n + denominator) / (denominator * 2n));

describe('shareLookupsFor and readingsFromShares', () => {
  it('when lookups are made then each period of the schedule has its two PRIDs, from the start date on', () => {
    const schedule = scheduleFrom(at(2));
    const lookups = shareLookupsFor(sessionKey, schedule, T0, epoch(at(5)));
    expect(lookups.map((l) => l.periodStart)).toEqual([at(2), at(3), at(4)]);
    for (const lookup of lookups) {
      const secrets = periodSecrets(sessionKey, epoch(lookup.periodStart));
      expect(lookup.prids).toEqual([secrets.first.prid, secrets.second.prid]);
      const [first, second] = sharesOf(lookup.periodStart, 1);
      expect([first.prid, second.prid]).toEqual(lookup.prids);
    }
    // A bill's lookups start where its running totals start: the 1st of the month (or the start date).
    expect(aggregateBillLookups(sessionKey, scheduleFrom(MONTH_START), at(4), at(6))).toHaveLength(6);
  });

  it('when both shares of each period are there then each period’s Wh is recovered exactly, among other meters’ shares', () => {
    const energies = [0, 1, 420, 9_999, 2 ** 31];
    const mine = energies.flatMap((wh, k) => sharesOf(at(k), wh));
    const others = energies.flatMap((_, k) => sharesOf(at(k), 777, otherKey));
    const lookups = shareLookupsFor(sessionKey, scheduleFrom(MONTH_START), T0, epoch(at(energies.length)));
    const { readings, invalid } = readingsFromShares(sessionKey, lookups, [...others, ...mine].reverse());
    expect(invalid).toEqual([]);
    expect(readings).toEqual(
      energies.map((energyWh, k) => {
        const [first, second] = mine.slice(2 * k, 2 * k + 2);
        return {
          periodStart: at(k),
          energyWh,
          quality: 'measured',
          ciphertext: `${first.prid}:${first.value}|${second.prid}:${second.value}`,
        };
      }),
    );
  });

  it('when a period has one share or none then it is missing, not estimated, and the bill lists it as missing', () => {
    const [lone] = sharesOf(at(1), 500);
    const [, secondOnly] = sharesOf(at(3), 600);
    const shares = [...sharesOf(at(0), 100), lone, ...sharesOf(at(2), 300), secondOnly];
    const lookups = shareLookupsFor(sessionKey, scheduleFrom(MONTH_START), T0, epoch(at(5)));
    const { readings, invalid } = readingsFromShares(sessionKey, lookups, shares);
    expect(readings.map((r) => [r.periodStart, r.energyWh])).toEqual([
      [at(0), 100],
      [at(2), 300],
    ]);
    expect(invalid).toEqual([]);

    const { computation } = computeAggregateBill(sessionKey, evidenceOf({ periodTo: at(5), shares }));
    expect(computation).toMatchObject({
      readingCount: 2,
      energyWh: 400,
      expectedReadings: 5,
      missingPeriods: [at(1), at(3), at(4)],
      estimatedReadings: 0,
      estimatedEnergyWh: 0,
      estimatedPeriods: [],
      invalidReadings: [],
    });
  });

  it('when one share’s value is forged by +1 then the reading is 1 Wh more and the digest changes', () => {
    const genuine = [...sharesOf(at(0), 250), ...sharesOf(at(1), 260)];
    const forged = [genuine[0], genuine[1], withValue(genuine[2], 1n), genuine[3]];
    const honest = computeAggregateBill(sessionKey, evidenceOf({ periodTo: at(2), shares: genuine }));
    const altered = computeAggregateBill(sessionKey, evidenceOf({ periodTo: at(2), shares: forged }));
    expect(honest.input.readings.map((r) => r.energyWh)).toEqual([250, 260]);
    expect(altered.input.readings.map((r) => r.energyWh)).toEqual([250, 261]);
    expect(altered.computation.readingsDigest).not.toBe(honest.computation.readingsDigest);
    expect(altered.computation.readingsDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when a pair unmasks to a negative or absurd value then it is INVALID_READING, neither billed nor missing', () => {
    const [first, second] = sharesOf(at(1), 0);
    const negative = [first, withValue(second, -1n)];
    const absurd = sharesOf(at(2), 2 ** 31 + 1);
    const shares = [...sharesOf(at(0), 100), ...negative, ...absurd];
    const lookups = shareLookupsFor(sessionKey, scheduleFrom(MONTH_START), T0, epoch(at(3)));
    const { readings, invalid } = readingsFromShares(sessionKey, lookups, shares);
    expect(readings.map((r) => r.periodStart)).toEqual([at(0)]);
    expect(invalid).toEqual([
      // A fixed reason: the ledger's bill (which the authority reads) never carries the unmasked value.
      {
        periodStart: at(1),
        code: 'INVALID_READING',
        reason: 'its shares do not unmask to a plausible reading',
      },
      {
        periodStart: at(2),
        code: 'INVALID_READING',
        reason: 'its shares do not unmask to a plausible reading',
      },
    ]);
    const { computation } = computeAggregateBill(sessionKey, evidenceOf({ periodTo: at(3), shares }));
    expect(computation.invalidReadings.map((r) => r.periodStart)).toEqual([at(1), at(2)]);
    expect(computation.missingPeriods).toEqual([]);
    expect(computation.readingCount).toBe(1);
  });

  it('when the shares are of another household’s key then nothing is recovered', () => {
    const shares = sharesOf(at(0), 100, otherKey);
    const lookups = shareLookupsFor(sessionKey, scheduleFrom(MONTH_START), T0, epoch(at(1)));
    expect(readingsFromShares(sessionKey, lookups, shares)).toEqual({ readings: [], invalid: [] });
  });
});

/** Random bills of one day's first 6 hours (24 quarter-hours) from 00:00 UTC on the 1st of March. */
const PERIODS = 24;
const periodArb = fc.record({
  // undefined: no share (missing); 'lone': only the first share; a number: the reading, both shares.
  reading: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant('lone' as const) },
  ),
  // undefined: no signal (base price); otherwise a price drawn from a few values, so some lines share a price.
  price: fc.option(
    fc.oneof(fc.constantFrom(10_000_000, 25_000_000), fc.integer({ min: 0, max: 90_000_000 })),
    {
      nil: undefined,
    },
  ),
  randomPart: fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n }),
});
const tariffArb = fc
  .record({
    base: fc.integer({ min: 0, max: 60_000_000 }),
    standing: fc.integer({ min: 0, max: 100_000_000 }),
    tax: fc.integer({ min: 0, max: 3_000 }),
  })
  .map(({ base, standing, tax }) =>
    tariff({
      pricing: { kind: 'dynamic', basePriceMicroPerKwh: base },
      standingChargeMicroPerDay: standing,
      taxBasisPoints: tax,
    }),
  );

interface Scenario {
  shares: GridShareRecord[];
  signals: PriceSignalRecord[];
  /** The readings that both shares give, by period start. */
  readings: Map<string, number>;
}

function scenarioOf(periods: { reading: number | 'lone' | undefined; price?: number; randomPart: bigint }[]) {
  const scenario: Scenario = { shares: [], signals: [], readings: new Map() };
  periods.forEach((p, k) => {
    if (p.price !== undefined) scenario.signals.push(signal(at(k), p.price, 'policy'));
    if (p.reading === undefined) return;
    const [first, second] = sharesOf(at(k), p.reading === 'lone' ? 1 : p.reading, sessionKey, p.randomPart);
    scenario.shares.push(first);
    if (p.reading === 'lone') return;
    scenario.shares.push(second);
    scenario.readings.set(at(k), p.reading);
  });
  return scenario;
}

describe('computeAggregateBill with a dynamic tariff', () => {
  it('when every period has its own price then each line is the rounded Σ c_k × p_k of its periods, and the bill adds up', () => {
    fc.assert(
      fc.property(
        fc.array(periodArb, { minLength: PERIODS, maxLength: PERIODS }),
        tariffArb,
        (periods, version) => {
          const { shares, signals, readings } = scenarioOf(periods);
          const bill = computeAggregateBill(
            sessionKey,
            evidenceOf({ periodTo: at(PERIODS), shares, signals, tariffVersions: [version] }),
          );
          const { computation } = bill;
          // The exact assertion. A dynamic tariff's version has at most two lines: "base" (the periods without a
          // signal, at the base price) and "signal" (every signal-priced period, whatever its price, in one running
          // total). The bill starts at 00:00 UTC on the 1st and stays in its month, so every running total starts
          // at 0 at the bill's start, and a line's amount is its exact accrued value rounded once:
          //   amountMinor = roundHalfUp(Σ_{k on the line} c_k × p_k, 10^9)
          // with c_k and p_k (the period's signal, else the base price) taken from the generated data, not from the
          // bill. The signal line shows the energy-weighted average price roundHalfUp(Σ c_k × p_k, Σ c_k).
          const base = version.pricing.kind === 'dynamic' ? version.pricing.basePriceMicroPerKwh : NaN;
          const expected = new Map<string, { energyWh: number; exact: bigint }>();
          periods.forEach((p, k) => {
            const energy = readings.get(at(k));
            if (energy === undefined) return;
            const label = p.price === undefined ? 'base' : 'signal';
            const line = expected.get(label) ?? { energyWh: 0, exact: 0n };
            line.energyWh += energy;
            line.exact += BigInt(energy) * BigInt(p.price ?? base);
            expected.set(label, line);
          });
          const lines = new Map(
            computation.lineItems.map((l) => [
              l.label,
              { energyWh: l.energyWh, amountMinor: l.amountMinor, priceMicroPerKwh: l.priceMicroPerKwh },
            ]),
          );
          expect(lines).toEqual(
            new Map(
              [...expected].map(([label, line]) => [
                label,
                {
                  energyWh: line.energyWh,
                  amountMinor: roundHalfUp(line.exact, 1_000_000_000n),
                  priceMicroPerKwh:
                    label === 'base'
                      ? base
                      : line.energyWh === 0
                        ? 0
                        : roundHalfUp(line.exact, BigInt(line.energyWh)),
                },
              ]),
            ),
          );
          // The per-period amounts of the report are the exact c_k × p_k.
          expect(pricedPeriods(bill.input).map((p) => [p.periodStart, p.amountNanoMinor])).toEqual(
            [...readings].map(([start, energy]) => {
              const price = periods[(epoch(start) - T0) / QUARTER].price ?? base;
              return [start, BigInt(energy) * BigInt(price)];
            }),
          );
          const linesMinor = computation.lineItems.reduce((s, l) => s + l.amountMinor, 0);
          expect(computation.subtotalMinor).toBe(linesMinor + computation.standingCharge.amountMinor);
          expect(computation.totalMinor).toBe(computation.subtotalMinor + computation.taxMinor);
          // One version, from the 1st: the running tax is the rounded rate over the rounded amounts.
          expect(computation.taxMinor).toBe(
            roundHalfUp(BigInt(computation.subtotalMinor) * BigInt(version.taxBasisPoints), 10_000n),
          );
          expect(computation.energyWh).toBe([...readings.values()].reduce((a, b) => a + b, 0));
          expect(computation.readingCount + computation.missingPeriods.length).toBe(PERIODS);
          // And the redacted claim of this bill passes the chaincode's checks.
          expect(aggregateClaimErrors(bill.ledger, baselineOf(bill.input))).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('when a bill starts after the 1st then the month’s earlier shares are its prior readings, not billed', () => {
    const shares = [0, 1, 2, 3, 4, 5].flatMap((k) => sharesOf(at(k), 100 * (k + 1)));
    const { computation, input } = computeAggregateBill(
      sessionKey,
      evidenceOf({ periodFrom: at(4), periodTo: at(6), shares }),
    );
    expect(input.priorReadings.map((r) => r.periodStart)).toEqual([at(0), at(1), at(2), at(3)]);
    expect(input.readings.map((r) => r.energyWh)).toEqual([500, 600]);
    expect(computation.runningTotals).toMatchObject({ since: MONTH_START, priorReadingCount: 4 });
    expect(computation.energyWh).toBe(1100);
  });

  it('when a period is split into two or three adjacent aggregate bills then their amounts add up to the whole bill’s', () => {
    // 48 quarter-hours from 2026-03-31T18:00Z, across the 1st of April, where running totals restart.
    const START = epoch('2026-03-31T18:00:00Z');
    const SLOTS = 48;
    const slot = (n: number) => isoSeconds(START + n * QUARTER);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            reading: fc.option(fc.integer({ min: 0, max: 4_000 }), { nil: undefined }),
            price: fc.option(fc.integer({ min: 0, max: 90_000_000 }), { nil: undefined }),
          }),
          { minLength: SLOTS, maxLength: SLOTS },
        ),
        tariffArb,
        fc.uniqueArray(fc.integer({ min: 1, max: SLOTS - 1 }), { minLength: 1, maxLength: 2 }),
        (periods, version, cuts) => {
          const shares: GridShareRecord[] = [];
          const signals: PriceSignalRecord[] = [];
          periods.forEach((p, n) => {
            if (p.price !== undefined) signals.push(signal(slot(n), p.price, 'policy'));
            if (p.reading !== undefined) shares.push(...sharesOf(slot(n), p.reading));
          });
          const bill = (from: string, to: string) =>
            computeAggregateBill(sessionKey, {
              periodFrom: from,
              periodTo: to,
              schedule: scheduleFrom(slot(0)),
              shares,
              tariffVersions: [version],
              signals: signals.filter((s) => s.periodStart >= runningTotalsSince(from) && s.periodStart < to),
            });
          const points = [0, ...[...cuts].sort((a, b) => a - b), SLOTS].map(slot);
          const whole = bill(points[0], points[points.length - 1]);
          const parts = points.slice(1).map((to, i) => bill(points[i], to));
          const total = (f: (c: BillComputation) => number) =>
            parts.reduce((s, p) => s + f(p.computation), 0);
          const lines = (c: BillComputation) => c.lineItems.reduce((s, l) => s + l.amountMinor, 0);
          expect(total((c) => c.totalMinor)).toBe(whole.computation.totalMinor);
          expect(total((c) => c.taxMinor)).toBe(whole.computation.taxMinor);
          expect(total((c) => c.standingCharge.amountMinor)).toBe(
            whole.computation.standingCharge.amountMinor,
          );
          expect(total(lines)).toBe(lines(whole.computation));
          expect(total((c) => c.energyWh)).toBe(whole.computation.energyWh);
          for (const part of parts)
            expect(aggregateClaimErrors(part.ledger, baselineOf(part.input))).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('computeBill with per-period dynamic prices', () => {
  // 2026-03-30 .. 2026-04-03 in half hours, across the 1st; a signal for (nearly) every period, all different.
  const FROM = epoch('2026-03-30T00:00:00Z');
  const SLOTS = 4 * 48;
  const slot = (n: number) => isoSeconds(FROM + n * 1800);
  const reading = (periodStart: string, energyWh: number): BilledReading => ({
    periodStart,
    energyWh,
    quality: 'measured',
    ciphertext: `c-${periodStart}`,
  });

  it('when a period is split into two adjacent bills then totals, taxes, standing charges and every line add up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 4_000 }), { nil: undefined, freq: 6 }), {
          minLength: SLOTS,
          maxLength: SLOTS,
        }),
        fc.array(fc.option(fc.integer({ min: 0, max: 90_000_000 }), { nil: undefined, freq: 20 }), {
          minLength: SLOTS,
          maxLength: SLOTS,
        }),
        fc.tuple(tariffArb, tariffArb, fc.integer({ min: -48, max: SLOTS })),
        fc.integer({ min: 1, max: SLOTS - 1 }),
        (energies, prices, [v1, v2terms, v2At], cut) => {
          const versions = [v1, { ...v2terms, version: 2, effectiveFrom: slot(v2At) }];
          const readings = energies.flatMap((e, n) => (e === undefined ? [] : [reading(slot(n), e)]));
          const signals = Object.fromEntries(
            prices.flatMap((p, n) => (p === undefined ? [] : [[slot(n), p] as const])),
          );
          const billOf = (from: string, to: string) => {
            const since = runningTotalsSince(from);
            return computeBill({
              periodFrom: from,
              periodTo: to,
              intervalSeconds: 1800,
              subscriptionStart: '2026-03-01T00:00:00Z',
              readings: readings.filter((r) => r.periodStart >= from && r.periodStart < to),
              priorReadings: readings.filter((r) => r.periodStart >= since && r.periodStart < from),
              tariffVersions: versions,
              signals,
            });
          };
          const whole = billOf(slot(0), slot(SLOTS));
          const parts = [billOf(slot(0), slot(cut)), billOf(slot(cut), slot(SLOTS))];
          const sum = (f: (c: BillComputation) => number) => f(parts[0]) + f(parts[1]);
          expect(sum((c) => c.totalMinor)).toBe(whole.totalMinor);
          expect(sum((c) => c.taxMinor)).toBe(whole.taxMinor);
          expect(sum((c) => c.standingCharge.amountMinor)).toBe(whole.standingCharge.amountMinor);
          expect(sum((c) => c.energyWh)).toBe(whole.energyWh);
          const byLine = (bills: BillComputation[]) => {
            const map = new Map<string, [number, number]>();
            for (const l of bills.flatMap((b) => b.lineItems)) {
              // A signal line's price is the average of its own periods: it differs between the parts.
              const key = `${l.tariffVersion}/${l.label}/${l.label === 'signal' ? '' : l.priceMicroPerKwh}`;
              const [wh, minor] = map.get(key) ?? [0, 0];
              map.set(key, [wh + l.energyWh, minor + l.amountMinor]);
            }
            return new Map([...map].sort(([a], [b]) => (a < b ? -1 : 1)));
          };
          expect(byLine(parts)).toEqual(byLine([whole]));
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** A bill over 8 quarter-hours with several prices, one missing and one invalid period. */
function sampleBill(
  tariffVersions: TariffRecord[] = [tariff()],
): AggregateBill & { evidence: AggregateBillEvidence } {
  const [negativeFirst, negativeSecond] = sharesOf(at(6), 0);
  const shares = [
    ...sharesOf(at(0), 400),
    ...sharesOf(at(1), 350),
    ...sharesOf(at(2), 0),
    ...sharesOf(at(3), 1200),
    ...sharesOf(at(4), 810),
    // at(5): missing
    negativeFirst,
    withValue(negativeSecond, -5n),
    ...sharesOf(at(7), 95),
  ];
  const signals = [
    signal(at(0), 15_000_000, 'policy', '40000'),
    signal(at(1), 15_000_000, 'policy', '41000'),
    signal(at(2), 31_000_000, 'override', '90000'),
    signal(at(3), 22_222_222, 'manual'),
    // at(4): no signal, base price
    signal(at(5), 19_000_000, 'policy', '50000'),
    signal(at(7), 8_000_000),
  ];
  const evidence = evidenceOf({ periodTo: at(8), shares, signals, tariffVersions });
  return { ...computeAggregateBill(sessionKey, evidence), evidence };
}

describe('redactForLedger', () => {
  it('when a bill has a line per price then the ledger gets one "dynamic (average)" line per version with their sums', () => {
    const { computation, ledger } = sampleBill();
    expect(computation.lineItems.map((l) => l.label)).toEqual(['base', 'signal']);
    const energy = computation.lineItems.reduce((s, l) => s + l.energyWh, 0);
    const amount = computation.lineItems.reduce((s, l) => s + l.amountMinor, 0);
    expect(ledger.lineItems).toEqual([
      {
        label: 'dynamic (average)',
        tariffId: 'dyn',
        tariffVersion: 1,
        energyWh: energy,
        amountMinor: amount,
        priceMicroPerKwh: Math.floor((amount * 1e9) / energy),
      },
    ]);
    // Everything but the lines is the computation's.
    expect({ ...ledger, lineItems: [] }).toEqual({ ...computation, lineItems: [] });
    expect(ledger).toMatchObject({
      energyWh: computation.energyWh,
      subtotalMinor: computation.subtotalMinor,
      taxMinor: computation.taxMinor,
      totalMinor: computation.totalMinor,
      standingCharge: computation.standingCharge,
    });
    expect(redactForLedger(computation)).toEqual(ledger);
    // Redaction does not change the computation it was given.
    expect(computation.lineItems.map((l) => l.label)).toEqual(['base', 'signal']);
  });

  it('when two tariff versions price the bill then each version gets its own redacted line', () => {
    const versions = [
      tariff(),
      tariff({
        version: 2,
        effectiveFrom: at(4),
        pricing: { kind: 'dynamic', basePriceMicroPerKwh: 30_000_000 },
      }),
    ];
    const { computation, ledger } = sampleBill(versions);
    const sums = (version: number) =>
      computation.lineItems
        .filter((l) => l.tariffVersion === version)
        .reduce((s, l) => [s[0] + l.energyWh, s[1] + l.amountMinor], [0, 0]);
    expect(ledger.lineItems.map((l) => [l.label, l.tariffVersion, l.energyWh, l.amountMinor])).toEqual([
      ['dynamic (average)', 1, ...sums(1)],
      ['dynamic (average)', 2, ...sums(2)],
    ]);
    expect(ledger.totalMinor).toBe(computation.totalMinor);
    expect(aggregateClaimErrors(ledger, baselineOf(sampleBill(versions).input))).toEqual([]);
  });

  it('when a version’s energy is 0 then its average price is 0; without lines there is none', () => {
    const zero = computeAggregateBill(
      sessionKey,
      evidenceOf({ periodTo: at(1), shares: sharesOf(at(0), 0) }),
    );
    expect(zero.ledger.lineItems).toEqual([
      expect.objectContaining({
        label: 'dynamic (average)',
        energyWh: 0,
        amountMinor: 0,
        priceMicroPerKwh: 0,
      }),
    ]);
    const none = computeAggregateBill(sessionKey, evidenceOf({ periodTo: at(1), shares: [] }));
    expect(none.ledger.lineItems).toEqual([]);
    expect(none.ledger.missingPeriods).toEqual([at(0)]);
  });
});

describe('aggregateClaimErrors', () => {
  const { ledger, computation, input } = sampleBill();
  const baseline = baselineOf(input);
  type Claim = Record<string, unknown> & BillComputation;
  const tampered = (change: (claim: Claim) => void): Claim => {
    const claim = structuredClone(ledger) as Claim;
    change(claim);
    return claim;
  };

  it('when the claim is the genuine redacted bill then there is no error', () => {
    expect(ledger.missingPeriods).toEqual([at(5)]);
    expect(ledger.invalidReadings.map((r) => r.periodStart)).toEqual([at(6)]);
    expect(aggregateClaimErrors(ledger, baseline)).toEqual([]);
    // Through JSON, as the chaincode receives it.
    expect(aggregateClaimErrors(JSON.parse(JSON.stringify(ledger)), baseline)).toEqual([]);
  });

  it.each<[string, (claim: Claim) => void, RegExp]>([
    [
      'a changed standing charge',
      (c) => (c.standingCharge.amountMinor += 1),
      /^computation\.standingCharge: /,
    ],
    ['a changed standing time', (c) => (c.standingCharge.seconds -= 900), /^computation\.standingCharge: /],
    ['a total that is not subtotal + tax', (c) => (c.totalMinor += 1), /^computation\.totalMinor: /],
    ['an energy that is not the lines’', (c) => (c.energyWh += 1), /^computation\.energyWh: /],
    ['one more reading than the periods allow', (c) => (c.readingCount += 1), /^computation\.readingCount: /],
    ['an estimated reading', (c) => (c.estimatedReadings = 1), /^computation: shares are measured/],
    ['estimated energy', (c) => (c.estimatedEnergyWh = 10), /^computation: shares are measured/],
    ['an estimated period', (c) => (c.estimatedPeriods = [at(0)]), /^computation: shares are measured/],
    ['another currency', (c) => (c.currency = 'EUR'), /^computation\.currency: /],
    ['another tax rate', (c) => (c.taxBasisPoints = 0), /^computation\.taxBasisPoints: /],
    ['a digest that is no SHA-256', (c) => (c.readingsDigest = 'abc'), /^computation\.readingsDigest: /],
    [
      'running totals from another day',
      (c) => (c.runningTotals.since = '2026-02-01T00:00:00Z'),
      /^computation\.runningTotals: /,
    ],
    ['an extra field', (c) => (c.note = 'hello'), /^computation: must have exactly the fields/],
    [
      'a missing field',
      (c) => {
        delete (c as Partial<Claim>).taxBases;
      },
      /^computation: must have exactly the fields/,
    ],
    [
      'lines that are no array',
      (c) => (c.lineItems = {} as never),
      /^computation\.lineItems: must be an array/,
    ],
  ])('when the claim has %s then it is refused, naming the field', (_label, change, message) => {
    expect(aggregateClaimErrors(tampered(change), baseline)).toEqual([expect.stringMatching(message)]);
  });

  it.each<[string, (claim: Claim) => void, RegExp]>([
    [
      'the unredacted lines (label "signal")',
      (c) => (c.lineItems = structuredClone(computation.lineItems)),
      /^computation\.lineItems\[1\]: must be a redacted line/,
    ],
    [
      'a second line for the same version',
      (c) => c.lineItems.push({ ...c.lineItems[0], energyWh: 0, amountMinor: 0 }),
      /^computation\.lineItems\[1\]: a second line for dyn\|1/,
    ],
    [
      'a negative line amount',
      (c) => (c.lineItems[0].amountMinor = -1),
      /^computation\.lineItems\[0\]\.amountMinor: must be a whole number/,
    ],
    [
      'a missing period outside the bill',
      (c) => {
        c.missingPeriods.push(at(8));
        c.readingCount -= 1;
      },
      /^computation\.missingPeriods: must list expected periods/,
    ],
    [
      'a missing period that is not on the schedule',
      (c) => {
        c.missingPeriods.push(isoSeconds(T0 + 60));
        c.readingCount -= 1;
      },
      /^computation\.missingPeriods: must list expected periods/,
    ],
    [
      'counts that do not add up (a missing period dropped)',
      (c) => (c.missingPeriods = []),
      /^computation\.readingCount: 6 billed \+ 0 missing \+ 1 invalid is not the 8 expected periods/,
    ],
    [
      'a period both missing and invalid',
      (c) => {
        c.missingPeriods.push(at(6));
        c.readingCount -= 1;
      },
      /^computation: a period is listed twice/,
    ],
    [
      'an invalid reading with another code',
      (c) => (c.invalidReadings[0] = { ...c.invalidReadings[0], code: 'OTHER' as never }),
      /^computation\.invalidReadings: /,
    ],
    [
      'a subtotal that is not the lines and the standing charge',
      (c) => {
        c.subtotalMinor += 1;
        c.totalMinor += 1;
      },
      /^computation\.subtotalMinor: /,
    ],
    [
      'tax bases that do not add up to the subtotal',
      (c) => (c.taxBases[0].taxableMinor += 1),
      /^computation\.taxBases: must add up to the subtotal/,
    ],
    ['more expected periods', (c) => (c.expectedReadings += 1), /^computation\.expectedReadings: /],
  ])('when the claim has %s then an error names it', (_label, change, message) => {
    const errors = aggregateClaimErrors(tampered(change), baseline);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it.each([null, [], 'bill'])('when the claim is %p then it must be an object', (value) => {
    expect(aggregateClaimErrors(value, baseline)).toEqual(['computation: must be an object']);
  });
});

describe('aggregateFactsErrors', () => {
  const digest = 'ab'.repeat(32);
  const cid = `bafk${'abcdefghijklmnopqrstuvwxyz234567'.repeat(2).slice(0, 55)}`;
  const facts = { sharesDigest: digest, report: { cid, sha256: 'cd'.repeat(32), bytes: 2048 } };
  const report = (changes: Record<string, unknown>) => ({
    ...facts,
    report: { ...facts.report, ...changes },
  });

  it('when the facts are well formed then there is no error, up to a 16 MiB report', () => {
    expect(cid).toMatch(/^bafk[a-z2-7]{55}$/);
    expect(aggregateFactsErrors(facts, digest)).toEqual([]);
    expect(aggregateFactsErrors(report({ bytes: MAX_BILL_REPORT_BYTES }), digest)).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a CIDv0',
      report({ cid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG' }),
      /^aggregate\.report\.cid: /,
    ],
    ['an upper-case CID', report({ cid: cid.toUpperCase() }), /^aggregate\.report\.cid: /],
    ['a short CID', report({ cid: 'bafk234' }), /^aggregate\.report\.cid: /],
    ['a CID with a digit 1', report({ cid: `${cid.slice(0, -1)}1` }), /^aggregate\.report\.cid: /],
    ['an upper-case sha256', report({ sha256: 'CD'.repeat(32) }), /^aggregate\.report\.sha256: /],
    ['a 63-character sha256', report({ sha256: 'c'.repeat(63) }), /^aggregate\.report\.sha256: /],
    ['0 bytes', report({ bytes: 0 }), /^aggregate\.report\.bytes: /],
    ['a fraction of a byte', report({ bytes: 1.5 }), /^aggregate\.report\.bytes: /],
    ['bytes as text', report({ bytes: '2048' }), /^aggregate\.report\.bytes: /],
    ['a report above 16 MiB', report({ bytes: MAX_BILL_REPORT_BYTES + 1 }), /^aggregate\.report\.bytes: /],
    [
      'a shares digest that is not the readings digest',
      { ...facts, sharesDigest: 'ef'.repeat(32) },
      /^aggregate\.sharesDigest: must equal the computation readingsDigest/,
    ],
    ['an extra field', { ...facts, html: '<p>' }, /^aggregate: must be \{ sharesDigest, report/],
    ['no report', { sharesDigest: digest }, /^aggregate: must be \{ sharesDigest, report/],
    [
      'an extra report field',
      report({ url: 'http://x' }),
      /^aggregate\.report: must be \{ cid, sha256, bytes \}/,
    ],
    ['nothing', null, /^aggregate: must be/],
  ])('when the facts have %s then the error names it', (_label, value, message) => {
    expect(aggregateFactsErrors(value, digest)).toEqual([expect.stringMatching(message)]);
  });
});

describe('buildBillReportDocument', () => {
  const context: BillReportMeta = {
    channel: 'northgrid',
    subscriptionId: 'sub_0123456789abcdef',
    meterId: 'MTR-001',
    regionCode: REGION,
    distributorMspId: 'Distributor1MSP',
    roundLoads: { [at(3)]: '77777', [at(4)]: '88888' },
    generatedAt: '2026-03-02T08:00:00Z',
  };
  const documentOf = (sample: ReturnType<typeof sampleBill>) =>
    buildBillReportDocument(sample, sample.evidence, context);

  it('when a report is built then it has every expected period, missing ones with no energy and amount "0"', () => {
    const sample = sampleBill();
    const doc = documentOf(sample);
    expect(doc).toMatchObject({
      v: 1,
      kind: 'smartmeter/bill-report',
      channel: 'northgrid',
      subscriptionId: context.subscriptionId,
      periodFrom: MONTH_START,
      periodTo: at(8),
      periodSeconds: QUARTER,
      bill: sample.computation,
      generatedAt: context.generatedAt,
    });
    expect(doc.periods.map((p) => p.periodStart)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => at(k)));
    const energies = [400, 350, 0, 1200, 810, null, null, 95];
    const prices = [
      15_000_000,
      15_000_000,
      31_000_000,
      22_222_222,
      20_000_000,
      undefined,
      undefined,
      8_000_000,
    ];
    doc.periods.forEach((p, k) => {
      expect(p.energyWh).toBe(energies[k]);
      const energy = energies[k];
      const price = prices[k];
      expect(p.amountNanoMinor).toBe(
        energy === null || price === undefined ? '0' : String(BigInt(energy) * BigInt(price)),
      );
      if (price !== undefined) expect(p.priceMicroPerKwh).toBe(price);
    });
    expect(doc.periods.map((p) => p.priceSource).filter((_, k) => energies[k] !== null)).toEqual([
      'policy',
      'policy',
      'override',
      'manual',
      'base',
      'manual', // a signal from before policies, without a source
    ]);
    // The load comes from the signal's policy derivation, else from the closed round.
    expect(doc.periods.map((p) => p.regionalLoadWh)).toEqual([
      '40000',
      '41000',
      '90000',
      '77777',
      '88888',
      '50000',
      undefined,
      undefined,
    ]);
  });

  it('when a period with a policy price has no reading then the report still names the price’s source', () => {
    // at(5) has no shares, but its price (the one the report shows) came from the policy.
    const doc = documentOf(sampleBill());
    expect(doc.periods[5]).toMatchObject({ energyWh: null, amountNanoMinor: '0' });
    expect([doc.periods[5].priceMicroPerKwh, doc.periods[5].priceSource]).toEqual([19_000_000, 'policy']);
  });

  it('when a period without a reading has no signal then the report shows the base price it would have had', () => {
    // at(6) unmasks to no reading and has no signal: the tariff's base price (20 p/kWh), source base.
    const doc = documentOf(sampleBill());
    expect(doc.periods[6]).toMatchObject({
      energyWh: null,
      amountNanoMinor: '0',
      priceSource: 'base',
      priceMicroPerKwh: 20_000_000,
    });
  });

  it('when a report spans two days then its days add up to the bill’s energy and amounts, with their missing periods', () => {
    // Hourly periods over 2026-03-01 and 2026-03-02; a few hours missing.
    const HOUR = 3600;
    const energies = Array.from({ length: 48 }, (_, h) => (h % 11 === 5 ? undefined : 300 + 7 * h));
    const shares = energies.flatMap((wh, h) => (wh === undefined ? [] : sharesOf(at(h, HOUR), wh)));
    const signals = energies.map((_, h) => signal(at(h, HOUR), 10_000_000 + 123_457 * h, 'policy'));
    const evidence = evidenceOf({
      periodTo: at(48, HOUR),
      schedule: scheduleFrom(MONTH_START, HOUR),
      shares,
      signals,
      tariffVersions: [tariff({ feedbackThresholdWhPerDay: 12_000 })],
    });
    const bill = computeAggregateBill(sessionKey, evidence);
    const doc = buildBillReportDocument(bill, evidence, context);
    expect(doc.periods).toHaveLength(48);
    expect(doc.days.map((d) => d.day)).toEqual(['2026-03-01', '2026-03-02']);
    expect(doc.days.reduce((s, d) => s + d.energyWh, 0)).toBe(bill.computation.energyWh);
    expect(doc.days.map((d) => d.missingPeriods)).toEqual([2, 2]); // hours 5, 16 | 27, 38
    const dayAmount = (day: string) =>
      doc.periods
        .filter((p) => p.periodStart.startsWith(day))
        .reduce((s, p) => s + BigInt(p.amountNanoMinor), 0n)
        .toString();
    expect(doc.days.map((d) => d.amountNanoMinor)).toEqual([
      dayAmount('2026-03-01'),
      dayAmount('2026-03-02'),
    ]);
    // Every period has a signal, so the bill has one energy line, "signal". It starts on the 1st at 00:00 UTC, so
    // its amount is the exact sum of the report's period amounts rounded half up once, and its price the
    // energy-weighted average.
    const exact = doc.days.reduce((s, d) => s + BigInt(d.amountNanoMinor), 0n);
    expect(bill.computation.lineItems).toEqual([
      expect.objectContaining({
        label: 'signal',
        energyWh: bill.computation.energyWh,
        amountMinor: roundHalfUp(exact, 1_000_000_000n),
        priceMicroPerKwh: roundHalfUp(exact, BigInt(bill.computation.energyWh)),
      }),
    ]);
    // 2 days: the average is the energy / 2, rounded down.
    const average = Math.floor(bill.computation.energyWh / 2);
    expect(doc.feedback).toEqual({
      thresholdWhPerDay: 12_000,
      averageWhPerDay: average,
      verdict: average <= 12_000 ? 'below-threshold' : 'above-threshold',
    });
    expect(average).toBeLessThan(12_000);
  });

  it('when the daily use is above or below the tariff’s threshold then the feedback says so', () => {
    // 8 quarter-hours in the sample: its energy (2855 Wh) over 1 day (a shorter bill counts as one).
    const below = documentOf(sampleBill([tariff({ feedbackThresholdWhPerDay: 3_000 })]));
    expect(below.feedback).toEqual({
      thresholdWhPerDay: 3_000,
      averageWhPerDay: 2_855,
      verdict: 'below-threshold',
    });
    const above = documentOf(sampleBill([tariff({ feedbackThresholdWhPerDay: 2_000 })]));
    expect(above.feedback).toEqual({
      thresholdWhPerDay: 2_000,
      averageWhPerDay: 2_855,
      verdict: 'above-threshold',
    });
    expect(documentOf(sampleBill()).feedback).toBeUndefined();
  });

  it('when versions change then the threshold is the one in force at the bill’s start', () => {
    const versions = [
      tariff({ feedbackThresholdWhPerDay: 3_000 }),
      tariff({ version: 2, effectiveFrom: at(4), feedbackThresholdWhPerDay: 1_000 }),
    ];
    expect(documentOf(sampleBill(versions)).feedback?.thresholdWhPerDay).toBe(3_000);
  });
});
