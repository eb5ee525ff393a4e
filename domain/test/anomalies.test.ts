import {
  anomalyId,
  AnomalyInputError,
  detectAnomalies,
  ErrorCode,
  isoSeconds,
  type AnomalyFinding,
  type AnomalySeries,
  type AnomalyUtility,
} from '../src';

const START = Date.UTC(2026, 10, 2) / 1000; // Monday 2 November 2026, 00:00 UTC
const HALF_HOUR = 1800;
const PER_DAY = 48;

/** A fortnight of half hours: `day` by day (07:00–23:00), `night` otherwise, with a small wiggle. */
function fortnight(day: number, night: number, wiggle: number): number[] {
  return Array.from({ length: 14 * PER_DAY }, (_, n) => {
    const slot = n % PER_DAY;
    return (slot >= 14 && slot < 46 ? day : night) + ((n * 7) % 5) * wiggle;
  });
}

function series(utility: AnomalyUtility, quantities: number[]): AnomalySeries {
  return {
    subscriptionId: 'sub_000000000000000000000001',
    utility,
    intervalSeconds: HALF_HOUR,
    points: quantities.map((quantity, n) => ({ periodStart: isoSeconds(START + n * HALF_HOUR), quantity })),
  };
}

const at = (day: number, hour: number, minute = 0): number => day * PER_DAY + hour * 2 + minute / 30;
const startOf = (index: number): string => isoSeconds(START + index * HALF_HOUR);

describe('anomaly rules on crafted series', () => {
  it('finds nothing in a fortnight of usual electricity, gas or water', () => {
    expect(detectAnomalies(series('electricity', fortnight(200, 80, 6)))).toEqual([]);
    expect(detectAnomalies(series('gas', fortnight(120, 5, 3)))).toEqual([]);
    expect(detectAnomalies(series('water', fortnight(20, 0, 1)))).toEqual([]);
  });

  it('spike: 5 kWh in the half hour from 07:00, with the usual level and the robust z as evidence', () => {
    const q = fortnight(200, 80, 6);
    q[at(9, 7)] = 5_000;

    const findings = detectAnomalies(series('electricity', q));

    expect(findings).toHaveLength(1);
    const [spike] = findings;
    expect(spike).toMatchObject({ kind: 'spike', periodStart: startOf(at(9, 7)), periods: 1, value: 5_000 });
    // The 07:00 weekday slot holds 200, 200, 206, 206, 212, 218, 218, 224, 224 and the spike: median 215.
    // Its MAD (9) is floored at 10 % of the median (21.5); the high end is 215 + 2 kWh/h × 0.5 h, which is
    // above 215 + 6 × 1.4826 × 21.5.
    expect(spike.expected.median).toBe(215);
    expect(spike.expected.high).toBe(1_215);
    expect(spike.score).toBeCloseTo((5_000 - 215) / (1.4826 * 21.5), 1);
    expect(spike.reason).toMatch(/^5000 Wh at 2026-11-11T07:00:00Z, usually 215 \(expected at most 1215\)/);
  });

  it('spike: a kettle-sized rise (1.8 kW for half an hour) is not a spike', () => {
    const q = fortnight(200, 80, 6);
    q[at(4, 19)] += 900;
    expect(detectAnomalies(series('electricity', q))).toEqual([]);
  });

  it('spike: three hours far above the usual level are sustained use, not a spike', () => {
    const q = fortnight(200, 80, 6);
    for (let i = 0; i < 6; i += 1) q[at(3, 12) + i] = 4_000;
    expect(detectAnomalies(series('electricity', q)).filter((f) => f.kind === 'spike')).toEqual([]);
  });

  it('spike: two adjacent periods are one finding of two periods, valued at the larger', () => {
    const q = fortnight(120, 5, 3);
    q[at(5, 7)] = 900;
    q[at(5, 7, 30)] = 1_300;
    expect(detectAnomalies(series('gas', q))).toEqual([
      expect.objectContaining({
        kind: 'spike',
        periodStart: startOf(at(5, 7)),
        periodEnd: startOf(at(5, 7, 30)),
        periods: 2,
        value: 1_300,
      }),
    ]);
  });

  it('leak: water flowing all night long on three consecutive nights is one leak with its smallest flow', () => {
    const q = fortnight(20, 0, 1);
    for (let n = at(6, 0); n < at(9, 0); n += 1) q[n] += 6; // 12 L/h all day and night from day 6
    const findings = detectAnomalies(series('water', q));
    expect(findings).toEqual([
      expect.objectContaining({
        kind: 'leak',
        utility: 'water',
        periodStart: startOf(at(6, 1)),
        periodEnd: startOf(at(8, 4, 30)),
        periods: 24,
        value: 6,
      }),
    ]);
    // A leak is 6 L/h: 3 L a half hour. Usual nights read 0–4 L (median 2); the leak nights raise it to 3.
    expect(findings[0].expected).toEqual({ low: 0, high: 3, median: 3 });
    expect(findings[0].reason).toMatch(/every period from 1:00 to 5:00 UTC on 3 consecutive nights/);
  });

  it('leak: one night of flow (a bath at 3 am, a heating night) is not a leak, nor is a night with a gap', () => {
    const q = fortnight(120, 5, 3);
    for (let n = at(2, 1); n < at(2, 5); n += 1) q[n] = 90;
    for (let n = at(3, 1); n < at(3, 5); n += 1) q[n] = 90;
    const s = series('gas', q);
    s.points.splice(at(3, 2), 1); // night 3 is missing a reading: it cannot show flow in every period
    expect(detectAnomalies(s)).toEqual([]);
  });

  it('leak: electricity has no leak rule, however high its night use', () => {
    const q = fortnight(200, 80, 6);
    for (let n = at(2, 1); n < at(5, 5); n += 1) q[n] += 200;
    expect(detectAnomalies(series('electricity', q)).filter((f) => f.kind === 'leak')).toEqual([]);
  });

  it('stuck: the same 214 Wh for eight hours is a flat line; a shorter one is not', () => {
    const q = fortnight(200, 80, 6);
    for (let i = 0; i < 16; i += 1) q[at(10, 8) + i] = 214;
    for (let i = 0; i < 10; i += 1) q[at(12, 8) + i] = 214; // five hours
    expect(detectAnomalies(series('electricity', q))).toEqual([
      expect.objectContaining({
        kind: 'stuck',
        periodStart: startOf(at(10, 8)),
        periods: 16,
        value: 214,
        score: 8,
      }),
    ]);
  });

  it('stuck: small quantities that repeat after rounding (5 L of gas all night) are not a flat line', () => {
    const q = fortnight(120, 5, 3).map((v, n) => (n % PER_DAY < 14 || n % PER_DAY >= 46 ? 5 : v));
    expect(detectAnomalies(series('gas', q))).toEqual([]);
  });

  it('drop: zero for fourteen hours from a household that always uses electricity', () => {
    const q = fortnight(200, 80, 6);
    for (let i = 0; i < 28; i += 1) q[at(7, 6) + i] = 0;
    expect(detectAnomalies(series('electricity', q))).toEqual([
      expect.objectContaining({
        kind: 'drop',
        periodStart: startOf(at(7, 6)),
        periods: 28,
        value: 0,
        score: 14,
      }),
    ]);
  });

  it('drop: a gas household at zero for a day is away (48 h needed); a near-empty home is never a drop', () => {
    const gas = fortnight(120, 5, 3);
    for (let i = 0; i < 48; i += 1) gas[at(4, 0) + i] = 0;
    expect(detectAnomalies(series('gas', gas))).toEqual([]);

    const empty = fortnight(2, 0, 0);
    for (let i = 0; i < 200; i += 1) empty[at(2, 0) + i] = 0;
    expect(detectAnomalies(series('water', empty))).toEqual([]);
  });

  it('impossible: negative, fractional and above what a meter can pass, each with its reason', () => {
    const q = fortnight(200, 80, 6);
    q[at(1, 3)] = -5;
    q[at(2, 3)] = 12.5;
    q[at(3, 3)] = 11_501; // a 100 A supply passes at most 11.5 kWh in half an hour
    const findings = detectAnomalies(series('electricity', q));
    expect(findings.map((f) => [f.kind, f.periodStart, f.value])).toEqual([
      ['impossible', startOf(at(1, 3)), -5],
      ['impossible', startOf(at(2, 3)), 12.5],
      ['impossible', startOf(at(3, 3)), 11_501],
    ]);
    expect(findings.map((f) => f.reason)).toEqual([
      '-5 Wh in 0.5 h is negative',
      '12.5 Wh in 0.5 h is not a whole number',
      '11501 Wh in 0.5 h is above the 11500 a meter can pass',
    ]);
  });

  it('sorts findings by period whatever the order of the readings, and gives them stable ids', () => {
    const q = fortnight(200, 80, 6);
    q[at(9, 7)] = 5_000;
    q[at(2, 3)] = -1;
    const s = series('electricity', q);
    s.points.reverse();
    const findings = detectAnomalies(s);
    expect(findings.map((f) => f.kind)).toEqual(['impossible', 'spike']);
    expect(anomalyId(findings[1])).toMatch(/^[0-9a-f]{32}$/);
    const sameKindAndPeriod: AnomalyFinding = { ...findings[1], value: 1, reason: 'another' };
    expect(anomalyId(findings[1])).toBe(anomalyId(sameKindAndPeriod));
    expect(anomalyId(findings[1])).not.toBe(anomalyId(findings[0]));
  });

  it('refuses an interval that does not divide a day, and a period start that is not a time', () => {
    const bad = { ...series('electricity', [1]), intervalSeconds: 7 * 60 };
    expect(() => detectAnomalies(bad)).toThrow(AnomalyInputError);
    expect(() => detectAnomalies(bad)).toThrow(/intervalSeconds must be .* divides a day, got 420/);
    const garbled = { ...series('electricity', [1]), points: [{ periodStart: 'yesterday', quantity: 1 }] };
    try {
      detectAnomalies(garbled);
      throw new Error('accepted');
    } catch (error) {
      expect((error as AnomalyInputError).code).toBe(ErrorCode.InvalidArgument);
      expect((error as Error).message).toBe('periodStart is not a time: "yesterday"');
    }
  });
});
