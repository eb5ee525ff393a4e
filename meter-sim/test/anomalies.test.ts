import type { Utility } from '@smartmeter/crypto';
import { detectAnomalies, isoSeconds, type AnomalyFinding } from '@smartmeter/domain';
import {
  AnomalyInjectingSource,
  AnomalyPlanError,
  parseAnomalyKinds,
  planAnomalies,
  type AnomalyPlanOptions,
  type InjectedAnomaly,
} from '../src/sources/anomalies';
import { HouseholdSource } from '../src/sources/household';

const HOUR = 3600;
const DAY = 86_400;
const INTERVAL = 1800;
const FROM = Date.parse('2026-01-01T00:00:00Z') / 1000;
const TO = FROM + 30 * DAY;
const ALL_KINDS = ['spike', 'leak', 'stuck', 'drop'];
const KINDS_OF: Record<Utility, string[]> = {
  electricity: ['spike', 'stuck', 'drop'],
  gas: ALL_KINDS,
  water: ALL_KINDS,
};

const month = (utility: Utility, overrides: Partial<AnomalyPlanOptions> = {}): AnomalyPlanOptions => ({
  utility,
  fromSeconds: FROM,
  toSeconds: TO,
  intervalSeconds: INTERVAL,
  kinds: KINDS_OF[utility],
  ...overrides,
});
const household = (seed: string, utility: Utility) =>
  new HouseholdSource({ seed, utility, utcOffsetMinutes: 0 });
const endOf = (anomaly: InjectedAnomaly) => anomaly.startSeconds + anomaly.periods * INTERVAL;
const hourOf = (seconds: number) => (seconds % DAY) / HOUR;
const periodStarts = (): number[] =>
  Array.from({ length: (TO - FROM) / INTERVAL }, (_, i) => FROM + i * INTERVAL);

function errorOf(run: () => unknown): { code?: string; message: string } {
  try {
    run();
  } catch (err) {
    return err as AnomalyPlanError;
  }
  throw new Error('expected an error');
}

describe('anomaly plan', () => {
  it('when the same seed plans twice then the plans are identical; another seed plans otherwise', () => {
    expect(planAnomalies('hh-1', month('gas', { count: 4 }))).toEqual(
      planAnomalies('hh-1', month('gas', { count: 4 })),
    );
    expect(planAnomalies('hh-2', month('gas', { count: 4 }))).not.toEqual(
      planAnomalies('hh-1', month('gas', { count: 4 })),
    );
  });

  it('when a month is planned then faults are whole periods, in order, apart, and of realistic sizes', () => {
    for (let i = 0; i < 40; i += 1) {
      for (const utility of ['electricity', 'gas', 'water'] as const) {
        const plan = planAnomalies(`hh-${i}`, month(utility, { count: 4 }));
        expect(plan).toHaveLength(4);
        plan.forEach((anomaly, n) => {
          expect(anomaly.startSeconds % INTERVAL).toBe(0);
          expect(anomaly.startSeconds).toBeGreaterThanOrEqual(FROM);
          expect(endOf(anomaly)).toBeLessThanOrEqual(TO);
          // 12 hours at least between the end of one fault and the start of the next.
          if (n > 0) expect(anomaly.startSeconds - endOf(plan[n - 1])).toBeGreaterThanOrEqual(12 * HOUR);
        });
        for (const spike of plan.filter((a) => a.kind === 'spike')) {
          expect(spike.periods).toBe(1);
          const [min, max] = { electricity: [3000, 6000], gas: [600, 1500], water: [100, 300] }[utility];
          expect(spike.magnitude).toBeGreaterThanOrEqual(min);
          expect(spike.magnitude).toBeLessThanOrEqual(max);
        }
        for (const leak of plan.filter((a) => a.kind === 'leak')) {
          expect(leak.periods).toBeGreaterThanOrEqual(96); // 48 h
          expect(leak.periods).toBeLessThanOrEqual(192); // 96 h
          expect(hourOf(leak.startSeconds)).toBeGreaterThanOrEqual(6);
          expect(hourOf(leak.startSeconds)).toBeLessThan(22);
        }
        for (const stuck of plan.filter((a) => a.kind === 'stuck')) {
          expect(stuck.periods).toBeGreaterThanOrEqual(16); // 8 h
          expect(stuck.periods).toBeLessThanOrEqual(48); // 24 h
        }
        const dropHours = { electricity: 12, gas: 48, water: 24 }[utility];
        for (const drop of plan.filter((a) => a.kind === 'drop')) {
          expect(drop.periods * 0.5).toBeGreaterThanOrEqual(1.5 * dropHours);
          expect(drop.periods * 0.5).toBeLessThanOrEqual(3 * dropHours + 0.5);
        }
      }
    }
  });

  it('when as many faults as kinds are planned then each kind appears once', () => {
    const kinds = planAnomalies('hh-3', month('water'))
      .map((a) => a.kind)
      .sort();
    expect(kinds).toEqual(['drop', 'leak', 'spike', 'stuck']);
  });

  it('when the input is wrong then the plan is refused with INVALID_ARGUMENT and says why', () => {
    const cases: [Partial<AnomalyPlanOptions>, RegExp][] = [
      [{ kinds: ['spike', 'surge'] }, /unknown anomaly kind "surge": choose from spike, leak, stuck, drop/],
      [{ kinds: ['leak'] }, /electricity cannot leak/],
      [{ kinds: [] }, /no anomaly kind given/],
      [{ toSeconds: FROM }, /from 1767225600 is not before to 1767225600/],
      [{ intervalSeconds: 900.5 }, /intervalSeconds must be a positive whole number, got 900.5/],
      [{ count: 0 }, /count must be a positive integer, got 0/],
      [{ toSeconds: FROM + DAY, kinds: ['drop'] }, /the span is too short: fault 1 \(drop/],
    ];
    for (const [overrides, message] of cases) {
      const error = errorOf(() => planAnomalies('hh', month('electricity', overrides)));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
    }
  });

  it('when kinds come from a command line then they are split at commas', () => {
    expect(parseAnomalyKinds(' spike, leak,,drop ')).toEqual(['spike', 'leak', 'drop']);
  });
});

describe('anomaly injection', () => {
  function differences(utility: Utility, plan: InjectedAnomaly[]): Map<number, [number, number]> {
    const inner = household('inject-1', utility);
    const injected = new AnomalyInjectingSource(inner, plan, INTERVAL);
    const changed = new Map<number, [number, number]>();
    for (const t of periodStarts()) {
      const before = inner.measure(t, INTERVAL);
      const after = injected.measure(t, INTERVAL);
      expect(after.quality).toBe('measured');
      if (after.quantity !== before.quantity) changed.set(t, [before.quantity, after.quantity]);
    }
    return changed;
  }
  const at = (iso: string) => Date.parse(iso) / 1000;

  it('when a spike is injected then only its period changes, by its magnitude', () => {
    const spike: InjectedAnomaly = {
      kind: 'spike',
      startSeconds: at('2026-01-14T07:00:00Z'),
      periods: 1,
      magnitude: 4200,
    };
    const changed = differences('electricity', [spike]);
    expect([...changed.keys()]).toEqual([spike.startSeconds]);
    const [before, after] = changed.get(spike.startSeconds) as [number, number];
    expect(after - before).toBe(4200);
  });

  it('when a leak is injected then each of its periods gains rate × half an hour, and nothing else changes', () => {
    const leak: InjectedAnomaly = {
      kind: 'leak',
      startSeconds: at('2026-01-10T12:00:00Z'),
      periods: 100,
      magnitude: 120,
    };
    const changed = differences('gas', [leak]);
    expect(changed.size).toBe(100);
    for (const [t, [before, after]] of changed) {
      expect(t).toBeGreaterThanOrEqual(leak.startSeconds);
      expect(t).toBeLessThan(endOf(leak));
      expect(after - before).toBe(60);
    }
  });

  it('when a register is stuck then its periods repeat the first one, and drops read zero', () => {
    const stuck: InjectedAnomaly = {
      kind: 'stuck',
      startSeconds: at('2026-01-12T18:00:00Z'),
      periods: 20,
      magnitude: 0,
    };
    const drop: InjectedAnomaly = {
      kind: 'drop',
      startSeconds: at('2026-01-20T03:00:00Z'),
      periods: 48,
      magnitude: 0,
    };
    const inner = household('inject-1', 'water');
    const injected = new AnomalyInjectingSource(inner, [stuck, drop], INTERVAL);
    const frozen = inner.measure(stuck.startSeconds, INTERVAL).quantity;
    expect(frozen).toBeGreaterThanOrEqual(5); // the water stuck floor: 10 L/h
    for (const t of periodStarts()) {
      const expected =
        t >= stuck.startSeconds && t < endOf(stuck)
          ? frozen
          : t >= drop.startSeconds && t < endOf(drop)
            ? 0
            : inner.measure(t, INTERVAL).quantity;
      expect(injected.measure(t, INTERVAL).quantity).toBe(expected);
    }
  });
});

describe('anomaly detector on injected faults', () => {
  function findingsOf(utility: Utility, seed: string, plan: InjectedAnomaly[]): AnomalyFinding[] {
    const source = new AnomalyInjectingSource(household(seed, utility), plan, INTERVAL);
    const points = periodStarts().map((t) => ({
      periodStart: isoSeconds(t),
      quantity: source.measure(t, INTERVAL).quantity,
    }));
    return detectAnomalies({ subscriptionId: seed, utility, intervalSeconds: INTERVAL, points });
  }
  const seconds = (iso: string) => Date.parse(iso) / 1000;

  it.each(['electricity', 'gas', 'water'] as const)(
    'when the %s month has one fault of each kind then each is found with its kind and period, and nothing else',
    (utility) => {
      const seed = `detect-${utility}`;
      const plan = planAnomalies(seed, month(utility));
      const findings = findingsOf(utility, seed, plan);
      expect(findings.map((f) => f.kind).sort()).toEqual([...KINDS_OF[utility]].sort());
      for (const label of plan) {
        const found = findings.find((f) => f.kind === label.kind) as AnomalyFinding;
        const from = seconds(found.periodStart);
        const to = seconds(found.periodEnd) + INTERVAL;
        if (label.kind === 'spike' || label.kind === 'stuck') {
          expect(found.periodStart).toBe(isoSeconds(label.startSeconds));
          expect(found.periods).toBe(label.kind === 'spike' ? 1 : label.periods);
        } else if (label.kind === 'drop') {
          // Natural zeros next to the drop (water at night) may lengthen it, never shorten it.
          expect(from).toBeLessThanOrEqual(label.startSeconds);
          expect(to).toBeGreaterThanOrEqual(endOf(label));
        } else {
          // A leak is reported over the night windows (01:00 to 05:00 UTC) that it fills.
          expect(from).toBeGreaterThanOrEqual(label.startSeconds);
          expect(to).toBeLessThanOrEqual(endOf(label));
          expect(found.periods).toBeGreaterThanOrEqual(16); // two nights of 8 half hours
        }
      }
    },
  );

  it.each(['electricity', 'gas', 'water'] as const)(
    'when the clean %s month is scanned then nothing is found',
    (utility) => {
      expect(findingsOf(utility, `detect-${utility}`, [])).toEqual([]);
    },
  );
});
