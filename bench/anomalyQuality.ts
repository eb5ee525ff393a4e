/**
 * Benchmark (not a test) of the anomaly detector's quality (issue 19): precision and recall on labelled faults
 * that meter-sim injects into synthetic households (50 per utility, one month of half hours) and into LCL
 * replays (the test fixture and meter-sim/data/lcl-sample.csv), and the false alarms on the same months without
 * faults. `npm run bench:anomalies`; BENCH_ANOMALY_HOUSEHOLDS (default 50), BENCH_ANOMALY_MONTH (default 2026-01,
 * heating season), BENCH_ANOMALY_COUNT (faults per household, default 3).
 */
import type { Utility } from '@smartmeter/crypto';
import {
  DEFAULT_ANOMALY_THRESHOLDS,
  detectAnomalies,
  isoSeconds,
  type AnomalyFinding,
} from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AnomalyInjectingSource,
  INJECTABLE_ANOMALY_KINDS,
  planAnomalies,
  type InjectedAnomaly,
} from '../meter-sim/src/sources/anomalies';
import { HouseholdSource } from '../meter-sim/src/sources/household';
import { LclReplaySource, parseLcl } from '../meter-sim/src/sources/lcl';
import type { ReadingSource } from '../meter-sim/src/sources/source';

const HOUSEHOLDS = Number(process.env.BENCH_ANOMALY_HOUSEHOLDS ?? 50);
const MONTH = process.env.BENCH_ANOMALY_MONTH ?? '2026-01';
const COUNT = Number(process.env.BENCH_ANOMALY_COUNT ?? 3);
const INTERVAL = 1800;
const DAYS = 30;
const FROM = Date.parse(`${MONTH}-01T00:00:00Z`) / 1000;
const TO = FROM + DAYS * 86_400;
const UTILITIES: readonly Utility[] = ['electricity', 'gas', 'water'];

/** One household-month: what was injected and what the detector found. */
interface Case {
  group: string;
  subscriptionId: string;
  labels: InjectedAnomaly[];
  findings: AnomalyFinding[];
}

/** Counts for one row of the table; a finding and a label match when their kinds agree and periods overlap. */
interface Tally {
  findings: number;
  matchedFindings: number;
  labels: number;
  matchedLabels: number;
}

const emptyTally = (): Tally => ({ findings: 0, matchedFindings: 0, labels: 0, matchedLabels: 0 });

function seriesOf(source: ReadingSource, subscriptionId: string): AnomalyFinding[] {
  const points = [];
  for (let t = FROM; t < TO; t += INTERVAL)
    points.push({ periodStart: isoSeconds(t), quantity: source.measure(t, INTERVAL).quantity });
  return detectAnomalies({ subscriptionId, utility: source.utility, intervalSeconds: INTERVAL, points });
}

function overlaps(finding: AnomalyFinding, label: InjectedAnomaly): boolean {
  const from = Date.parse(finding.periodStart) / 1000;
  const to = Date.parse(finding.periodEnd) / 1000 + INTERVAL;
  return (
    finding.kind === label.kind &&
    from < label.startSeconds + label.periods * INTERVAL &&
    to > label.startSeconds
  );
}

function injected(group: string, source: ReadingSource, seed: string, kinds: readonly string[]): Case {
  const labels = planAnomalies(seed, {
    utility: source.utility,
    fromSeconds: FROM,
    toSeconds: TO,
    intervalSeconds: INTERVAL,
    kinds,
    count: COUNT,
  });
  const findings = seriesOf(new AnomalyInjectingSource(source, labels, INTERVAL), seed);
  return { group, subscriptionId: seed, labels, findings };
}

function household(utility: Utility, i: number): HouseholdSource {
  return new HouseholdSource({ seed: `bench-${utility}-${i}`, utility, utcOffsetMinutes: 0 });
}

function kindsFor(utility: Utility): string[] {
  return INJECTABLE_ANOMALY_KINDS.filter((kind) => kind !== 'leak' || utility !== 'electricity');
}

/**
 * LCL replays: the test fixture (one made-up household, three days of a ramp) and the 7-day sample of two real
 * households in meter-sim/data. Each bench household replays one of the file's households, looping its days
 * from another start, with its own faults (no leaks: LCL is electricity).
 */
const LCL_FIXTURE = ['meter-sim', 'test', 'fixtures', 'lcl-acorn.csv'];
const LCL_SAMPLE = ['meter-sim', 'data', 'lcl-sample.csv'];

function lclReplay(path: readonly string[], i: number): LclReplaySource {
  const households = [...parseLcl(readFileSync(join(__dirname, '..', '..', ...path), 'utf8')).values()];
  const source = new LclReplaySource(households[i % households.length]);
  source.alignTo(FROM + (i % 7) * 86_400);
  return source;
}

function lclCases(group: string, path: readonly string[]): Case[] {
  return Array.from({ length: HOUSEHOLDS }, (_, i) =>
    injected(group, lclReplay(path, i), `bench-${group}-${i}`, ['spike', 'stuck', 'drop']),
  );
}

function tallyInto(tallies: Map<string, Tally>, key: string, c: Case): void {
  const tally = tallies.get(key) ?? emptyTally();
  tally.findings += c.findings.length;
  tally.matchedFindings += c.findings.filter((f) => c.labels.some((l) => overlaps(f, l))).length;
  tally.labels += c.labels.length;
  tally.matchedLabels += c.labels.filter((l) => c.findings.some((f) => overlaps(f, l))).length;
  tallies.set(key, tally);
}

/** Per group and kind: findings of that kind and labels of that kind. */
function tallyByKind(cases: Case[]): Map<string, Tally> {
  const tallies = new Map<string, Tally>();
  for (const c of cases) {
    tallyInto(tallies, `${c.group} (all)`, c);
    const kinds = new Set([...c.labels.map((l) => l.kind), ...c.findings.map((f) => f.kind)]);
    for (const kind of kinds) {
      tallyInto(tallies, `${c.group} ${kind}`, {
        ...c,
        labels: c.labels.filter((l) => l.kind === kind),
        findings: c.findings.filter((f) => f.kind === kind),
      });
    }
  }
  return tallies;
}

const ratio = (a: number, b: number): string => (b === 0 ? '   -  ' : (a / b).toFixed(3).padStart(6));

function printTable(tallies: Map<string, Tally>): void {
  console.log('group / kind          labels  found  TP(f)  FP  FN  precision  recall');
  for (const [key, t] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(
      `${key.padEnd(20)} ${String(t.labels).padStart(7)} ${String(t.findings).padStart(6)} ` +
        `${String(t.matchedFindings).padStart(6)} ${String(t.findings - t.matchedFindings).padStart(3)} ` +
        `${String(t.labels - t.matchedLabels).padStart(3)}     ${ratio(t.matchedFindings, t.findings)}  ${ratio(t.matchedLabels, t.labels)}`,
    );
  }
}

/** A few unmatched findings and labels, so that a poor row can be explained. */
function printExamples(cases: Case[], limit = 6): void {
  const lines: string[] = [];
  for (const c of cases) {
    for (const f of c.findings.filter((f) => !c.labels.some((l) => overlaps(f, l))))
      lines.push(`  FP ${c.subscriptionId}: ${f.kind} ${f.periodStart}..${f.periodEnd} — ${f.reason}`);
    for (const l of c.labels.filter((l) => !c.findings.some((f) => overlaps(f, l)))) {
      const near = c.findings.map((f) => `${f.kind}@${f.periodStart}`).join(', ') || 'nothing';
      lines.push(
        `  FN ${c.subscriptionId}: ${l.kind} from ${isoSeconds(l.startSeconds)} for ${l.periods} periods, ` +
          `magnitude ${l.magnitude}; found ${near}`,
      );
    }
  }
  console.log(lines.length === 0 ? '  (none)' : lines.slice(0, limit).join('\n'));
  if (lines.length > limit) console.log(`  ... and ${lines.length - limit} more`);
}

function cleanFalseAlarms(): void {
  console.log(`\nClean months (no injection), ${HOUSEHOLDS} households each:`);
  const clean: [string, (i: number) => ReadingSource][] = [
    ...UTILITIES.map((utility): [string, (i: number) => ReadingSource] => [
      utility,
      (i) => household(utility, i),
    ]),
    ['lcl-sample', (i) => lclReplay(LCL_SAMPLE, i)],
  ];
  for (const [utility, sourceOf] of clean) {
    const findings = Array.from({ length: HOUSEHOLDS }, (_, i) =>
      seriesOf(sourceOf(i), `clean-${utility}-${i}`),
    );
    const total = findings.reduce((sum, list) => sum + list.length, 0);
    const flagged = findings.filter((list) => list.length > 0).length;
    const kinds = [...new Set(findings.flat().map((f) => f.kind))].join(', ') || 'none';
    console.log(
      `  ${utility.padEnd(12)} ${total} findings (${(total / HOUSEHOLDS).toFixed(2)} per household-month), ` +
        `${flagged}/${HOUSEHOLDS} households flagged; kinds: ${kinds}`,
    );
  }
}

function printThresholds(): void {
  const t = DEFAULT_ANOMALY_THRESHOLDS;
  console.log(
    `Thresholds (DEFAULT_ANOMALY_THRESHOLDS): spikeZ ${t.spikeZ}, spikeMaxHours ${t.spikeMaxHours}, ` +
      `stuckHours ${t.stuckHours}, leakNights ${t.leakNights}, leak window ${t.leakWindowUtc.join('-')} UTC, ` +
      `madFloorFraction ${t.madFloorFraction}, minSlotSamples ${t.minSlotSamples}`,
  );
  for (const utility of UTILITIES) console.log(`  ${utility}: ${JSON.stringify(t.perUtility[utility])}`);
}

function main(): void {
  console.log(
    `Anomaly detector quality: ${DAYS} days from ${MONTH}-01, ${INTERVAL} s periods, ${HOUSEHOLDS} households per ` +
      `utility, ${COUNT} injected faults each\n`,
  );
  printThresholds();
  const cases = UTILITIES.flatMap((utility) =>
    Array.from({ length: HOUSEHOLDS }, (_, i) =>
      injected(utility, household(utility, i), `bench-${utility}-${i}`, kindsFor(utility)),
    ),
  );
  cases.push(...lclCases('lcl-fixture', LCL_FIXTURE), ...lclCases('lcl-sample', LCL_SAMPLE));
  console.log('');
  printTable(tallyByKind(cases));
  console.log('\nExamples of misses and false alarms:');
  printExamples(cases, 12);
  cleanFalseAlarms();
}

main();
