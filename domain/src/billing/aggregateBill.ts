import { periodSecrets } from '@smartmeter/crypto';
import type { GridShareRecord } from '../aggregation';
import {
  BILL_REPORT_KIND,
  type BillReportDay,
  type BillReportDocument,
  type BillReportPeriod,
} from '../billReport';
import { periodsStartingIn, type PeriodSchedule } from '../periods';
import type {
  BillComputation,
  BillLineItem,
  InvalidReading,
  PriceSignalRecord,
  TariffRecord,
} from '../tariffs';
import { isoSeconds } from '../time';
import {
  computeBill,
  pricedPeriods,
  runningTotalsSince,
  type BillInput,
  type BilledReading,
  type PricedPeriod,
} from './computeBill';

/**
 * Dynamic billing of an `aggregate` subscription (Oksuz 2024, "dynamic billing phase"): from the session key,
 * the household's PRIDs of every period; from the ledger, the two shares stored under them; minus the masks,
 * the period's consumption. Then the same computeBill as for `disclosed` subscriptions, with each period priced
 * at its dynamic price. The distributor runs this off-chain (the session key never reaches the authority's
 * peer) and the household runs it again to check the bill.
 */

/** The two ledger keys (within a round) of one household's shares of a period. */
export interface ShareLookup {
  periodStart: string;
  prids: [string, string];
}

/** The largest plausible reading: 2^31 Wh in one period (far above any household). */
const MAX_PERIOD_WH = 2 ** 31;

/** The share lookups of a household for every period starting in [from, to) of its schedule. */
export function shareLookupsFor(
  sessionKey: Uint8Array,
  schedule: PeriodSchedule,
  fromSeconds: number,
  toSeconds: number,
): ShareLookup[] {
  const lookups: ShareLookup[] = [];
  for (const period of periodsStartingIn(schedule, fromSeconds, toSeconds)) {
    const secrets = periodSecrets(sessionKey, period.startSeconds);
    lookups.push({ periodStart: secrets.periodStart, prids: [secrets.first.prid, secrets.second.prid] });
  }
  return lookups;
}

/**
 * The household's readings recovered from its shares. A period with both shares gives c = (rc' − H3(z)) +
 * (rc'' − H3(z')); with one or none it is missing (never estimated); a pair that unmasks to no plausible reading
 * (negative or absurd: a meter fault or a forged share) is listed as INVALID_READING like an undecryptable
 * disclosed reading. The `ciphertext` of each reading is its share pair (`prid:value|prid':value'`), so the
 * bill's readingsDigest is the digest of the shares used.
 */
export function readingsFromShares(
  sessionKey: Uint8Array,
  lookups: readonly ShareLookup[],
  shares: readonly GridShareRecord[],
): { readings: BilledReading[]; invalid: InvalidReading[] } {
  const byKey = new Map(shares.map((share) => [`${share.periodStart}|${share.prid}`, share]));
  const readings: BilledReading[] = [];
  const invalid: InvalidReading[] = [];
  for (const lookup of lookups) {
    const first = byKey.get(`${lookup.periodStart}|${lookup.prids[0]}`);
    const second = byKey.get(`${lookup.periodStart}|${lookup.prids[1]}`);
    if (!first || !second) continue;
    const secrets = periodSecrets(sessionKey, Date.parse(lookup.periodStart) / 1000);
    const energy = BigInt(first.value) - secrets.firstMask + (BigInt(second.value) - secrets.secondMask);
    if (energy < 0n || energy > BigInt(MAX_PERIOD_WH)) {
      invalid.push({
        periodStart: lookup.periodStart,
        code: 'INVALID_READING',
        // Never the unmasked value: the ledger's bill, which the authority reads, carries this reason.
        reason: 'its shares do not unmask to a plausible reading',
      });
      continue;
    }
    readings.push({
      periodStart: lookup.periodStart,
      energyWh: Number(energy),
      quality: 'measured',
      ciphertext: `${first.prid}:${first.value}|${second.prid}:${second.value}`,
    });
  }
  return { readings, invalid };
}

/** Everything an aggregate bill is computed from, as read from the ledger. */
export interface AggregateBillEvidence {
  periodFrom: string;
  periodTo: string;
  schedule: PeriodSchedule;
  subscriptionEnd?: string;
  /** The shares found under the household's PRIDs from runningTotalsSince(periodFrom) to periodTo. */
  shares: readonly GridShareRecord[];
  tariffVersions: TariffRecord[];
  /** The region's price signals from runningTotalsSince(periodFrom) to periodTo. */
  signals: readonly PriceSignalRecord[];
}

/** The lookups of a bill's evidence: the month's periods before the bill (running totals) and the bill's own. */
export function aggregateBillLookups(
  sessionKey: Uint8Array,
  schedule: PeriodSchedule,
  periodFrom: string,
  periodTo: string,
): ShareLookup[] {
  return shareLookupsFor(
    sessionKey,
    schedule,
    Date.parse(runningTotalsSince(periodFrom)) / 1000,
    Date.parse(periodTo) / 1000,
  );
}

export interface AggregateBill {
  /** The full computation: what the bill report shows and the household recomputes. */
  computation: BillComputation;
  /** What the ledger's bill holds: the same without the per-price line items (see redactForLedger). */
  ledger: BillComputation;
  input: BillInput;
}

export function computeAggregateBill(sessionKey: Uint8Array, evidence: AggregateBillEvidence): AggregateBill {
  const since = runningTotalsSince(evidence.periodFrom);
  const lookups = aggregateBillLookups(sessionKey, evidence.schedule, evidence.periodFrom, evidence.periodTo);
  const all = readingsFromShares(sessionKey, lookups, evidence.shares);
  const inBill = (r: { periodStart: string }) => r.periodStart >= evidence.periodFrom;
  const input: BillInput = {
    periodFrom: evidence.periodFrom,
    periodTo: evidence.periodTo,
    intervalSeconds: evidence.schedule.intervalSeconds,
    intervalChanges: evidence.schedule.intervalChanges,
    subscriptionStart: evidence.schedule.startDate,
    subscriptionEnd: evidence.subscriptionEnd,
    readings: all.readings.filter(inBill),
    priorReadings: since < evidence.periodFrom ? all.readings.filter((r) => !inBill(r)) : [],
    invalidReadings: all.invalid.filter(inBill),
    tariffVersions: evidence.tariffVersions,
    signals: Object.fromEntries(evidence.signals.map((s) => [s.periodStart, s.priceMicroPerKwh])),
  };
  const computation = computeBill(input);
  return { computation, ledger: redactForLedger(computation), input };
}

/**
 * The bill as the ledger holds it in `aggregate` mode. With prices that change every period, the line items of
 * the computation (energy per distinct price) would give the household's consumption period by period to every
 * reader of the bill, the authority included. So the ledger gets one line per tariff version: its energy and
 * amount (the sums of the version's lines, hence still the same totals and taxes) at the average price
 * ⌊amount × 10^9 / energy⌋, labelled "dynamic (average)". The per-period detail is in the sealed report only.
 */
export function redactForLedger(computation: BillComputation): BillComputation {
  const byVersion = new Map<string, BillLineItem>();
  for (const line of computation.lineItems) {
    const key = `${line.tariffId}\u0000${String(line.tariffVersion).padStart(10, '0')}`;
    const found = byVersion.get(key) ?? {
      label: 'dynamic (average)',
      tariffId: line.tariffId,
      tariffVersion: line.tariffVersion,
      energyWh: 0,
      priceMicroPerKwh: 0,
      amountMinor: 0,
    };
    found.energyWh += line.energyWh;
    found.amountMinor += line.amountMinor;
    byVersion.set(key, found);
  }
  const lineItems = [...byVersion.keys()].sort().map((key) => {
    const line = byVersion.get(key) as BillLineItem;
    const price =
      line.energyWh === 0 ? 0n : (BigInt(line.amountMinor) * 1_000_000_000n) / BigInt(line.energyWh);
    return { ...line, priceMicroPerKwh: Number(price) };
  });
  return { ...computation, lineItems };
}

function reportPeriod(
  periodStart: string,
  billed: PricedPeriod | undefined,
  terms: PricedPeriod['parts'][number] | undefined,
  signal: PriceSignalRecord | undefined,
  roundLoad: string | undefined,
): BillReportPeriod {
  const load = signal?.policy?.loadWh ?? roundLoad;
  return {
    periodStart,
    energyWh: billed ? billed.parts.reduce((sum, p) => sum + p.energyWh, 0) : null,
    priceMicroPerKwh: terms?.priceMicroPerKwh ?? 0,
    priceSource: terms?.label === 'signal' ? (signal?.source ?? 'manual') : 'base',
    ...(load !== undefined ? { regionalLoadWh: load } : {}),
    amountNanoMinor: (billed?.amountNanoMinor ?? 0n).toString(),
  };
}

/** What the report needs besides the bill's evidence. */
export interface BillReportMeta {
  channel: string;
  subscriptionId: string;
  meterId: string;
  regionCode: string;
  distributorMspId: string;
  /** The region's closed rounds of the bill's period, for the loads the policy prices came from. */
  roundLoads?: Readonly<Record<string, string>>;
  generatedAt: string;
}

/** The bill report's document (BillReportDocument) from the bill's computation and its input. */
export function buildBillReportDocument(
  bill: AggregateBill,
  evidence: AggregateBillEvidence,
  context: BillReportMeta,
): BillReportDocument {
  const { computation, input } = bill;
  const priced = new Map(pricedPeriods(input).map((p) => [p.periodStart, p]));
  // What a missing period would have cost per kWh: priced as a 0 Wh reading (which moves no tier).
  const unbilled = [...computation.missingPeriods, ...computation.invalidReadings.map((r) => r.periodStart)];
  const wouldBe = new Map(
    pricedPeriods({
      ...input,
      readings: [
        ...input.readings,
        ...unbilled.map((periodStart) => ({
          periodStart,
          energyWh: 0,
          quality: 'measured' as const,
          ciphertext: '',
        })),
      ],
    }).map((p) => [p.periodStart, p]),
  );
  const signals = new Map(evidence.signals.map((s) => [s.periodStart, s]));
  const expected: string[] = [];
  for (const period of periodsStartingIn(
    evidence.schedule,
    Date.parse(evidence.periodFrom) / 1000,
    Date.parse(evidence.periodTo) / 1000,
  ))
    expected.push(isoSeconds(period.startSeconds));
  const missing = new Set([
    ...computation.missingPeriods,
    ...computation.invalidReadings.map((r) => r.periodStart),
  ]);
  const periods: BillReportPeriod[] = expected.map((periodStart) => {
    const found = priced.get(periodStart);
    return reportPeriod(
      periodStart,
      found && !missing.has(periodStart) ? found : undefined,
      // A missing period shows the price it would have had (its signal's, else the tariff's).
      (found ?? wouldBe.get(periodStart))?.parts[0],
      signals.get(periodStart),
      context.roundLoads?.[periodStart],
    );
  });
  const days = new Map<string, { energyWh: number; amount: bigint; missing: number }>();
  for (const period of periods) {
    const day = period.periodStart.slice(0, 10);
    const entry = days.get(day) ?? { energyWh: 0, amount: 0n, missing: 0 };
    entry.energyWh += period.energyWh ?? 0;
    entry.amount += BigInt(period.amountNanoMinor);
    if (period.energyWh === null) entry.missing += 1;
    days.set(day, entry);
  }
  const dayList: BillReportDay[] = [...days.entries()].map(([day, entry]) => ({
    day,
    energyWh: entry.energyWh,
    amountNanoMinor: entry.amount.toString(),
    missingPeriods: entry.missing,
  }));
  const threshold = [...evidence.tariffVersions]
    .sort((a, b) => a.version - b.version)
    .filter((v) => v.effectiveFrom <= evidence.periodFrom)
    .at(-1)?.feedbackThresholdWhPerDay;
  const billDays = Math.max(
    1,
    Math.round((Date.parse(evidence.periodTo) - Date.parse(evidence.periodFrom)) / 86_400_000),
  );
  const average = Math.floor(computation.energyWh / billDays);
  return {
    v: 1,
    kind: BILL_REPORT_KIND,
    channel: context.channel,
    subscriptionId: context.subscriptionId,
    meterId: context.meterId,
    regionCode: context.regionCode,
    distributorMspId: context.distributorMspId,
    periodFrom: evidence.periodFrom,
    periodTo: evidence.periodTo,
    periodSeconds: evidence.schedule.intervalSeconds,
    bill: computation,
    periods,
    days: dayList,
    ...(threshold !== undefined
      ? {
          feedback: {
            thresholdWhPerDay: threshold,
            averageWhPerDay: average,
            verdict: average <= threshold ? ('below-threshold' as const) : ('above-threshold' as const),
          },
        }
      : {}),
    generatedAt: context.generatedAt,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
/** CIDv1 in base32 (what Kubo's add gives with cid-version=1): "b" and at least 58 lowercase base32 characters. */
export const CID_V1_PATTERN = /^b[a-z2-7]{58,120}$/;
export const MAX_BILL_REPORT_BYTES = 16 * 1024 * 1024;

/**
 * What the chaincode can check of an `aggregate` bill without the session key (so without the consumption):
 * that it is a bill computation of the right shape; that everything that does not depend on consumption (the
 * currency, the standing charge, the expected periods, where running totals start) equals `baseline`, which is
 * computeBill over the same period with no readings; that missing periods are expected periods; that the counts
 * add up; that the lines are the redacted ones and add up to the subtotal, the taxable bases and the total. The
 * energy and its amount are the distributor's claim, which the household's `bill verify` checks.
 */
export function aggregateClaimErrors(value: unknown, baseline: BillComputation): string[] {
  const claim = asRecord(value);
  if (!claim) return ['computation: must be an object'];
  const expectedKeys = Object.keys(baseline).sort().join(',');
  if (Object.keys(claim).sort().join(',') !== expectedKeys)
    return [`computation: must have exactly the fields ${expectedKeys}`];
  const check = new ClaimCheck(claim as unknown as BillComputation, baseline);
  for (const field of ['currency', 'standingCharge', 'taxBasisPoints', 'expectedReadings'] as const)
    check.same(field);
  if (!Array.isArray(check.claim.lineItems))
    return [...check.errors, 'computation.lineItems: must be an array'];
  check.sums(check.lines());
  check.periods();
  check.digests();
  return check.errors;
}

/** The checks of aggregateClaimErrors, one concern per method; every error names its field. */
class ClaimCheck {
  readonly errors: string[] = [];

  constructor(
    readonly claim: BillComputation,
    private readonly baseline: BillComputation,
  ) {}

  same(field: keyof BillComputation): void {
    // By value, whatever order the claim's serializer put the keys in.
    const [a, b] = [sortedJson(this.claim[field]), sortedJson(this.baseline[field])];
    if (a !== b) this.errors.push(`computation.${field}: ${a}, but the tariff and period give ${b}`);
  }

  count(field: string, v: unknown): number {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    this.errors.push(`computation.${field}: must be a whole number ≥ 0`);
    return 0;
  }

  /** The redacted lines, one per tariff version: their energy and amount. */
  lines(): { energy: number; amount: number } {
    let energy = 0;
    let amount = 0;
    const versions = new Set<string>();
    this.claim.lineItems.forEach((line: unknown, i) => {
      const l = asRecord(line);
      if (!l || l.label !== 'dynamic (average)' || typeof l.tariffId !== 'string') {
        this.errors.push(`computation.lineItems[${i}]: must be a redacted line (label "dynamic (average)")`);
        return;
      }
      const key = `${l.tariffId}|${String(l.tariffVersion)}`;
      if (versions.has(key)) this.errors.push(`computation.lineItems[${i}]: a second line for ${key}`);
      versions.add(key);
      this.count(`lineItems[${i}].tariffVersion`, l.tariffVersion);
      this.count(`lineItems[${i}].priceMicroPerKwh`, l.priceMicroPerKwh);
      energy += this.count(`lineItems[${i}].energyWh`, l.energyWh);
      amount += this.count(`lineItems[${i}].amountMinor`, l.amountMinor);
    });
    return { energy, amount };
  }

  sums(lines: { energy: number; amount: number }): void {
    const c = this.claim;
    const energy = this.count('energyWh', c.energyWh);
    const subtotal = this.count('subtotalMinor', c.subtotalMinor);
    const tax = this.count('taxMinor', c.taxMinor);
    const total = this.count('totalMinor', c.totalMinor);
    const standing = this.baseline.standingCharge.amountMinor;
    if (energy !== lines.energy)
      this.errors.push(`computation.energyWh: ${energy}, but the lines add up to ${lines.energy}`);
    if (subtotal !== lines.amount + standing)
      this.errors.push(
        `computation.subtotalMinor: ${subtotal}, but the lines and the standing charge add up to ${lines.amount + standing}`,
      );
    if (total !== subtotal + tax)
      this.errors.push(`computation.totalMinor: ${total}, not subtotal + tax (${subtotal + tax})`);
    const bases = Array.isArray(c.taxBases) ? c.taxBases : [];
    const taxable = bases.reduce((sum, b) => sum + Number(asRecord(b)?.taxableMinor ?? NaN), 0);
    if (!Array.isArray(c.taxBases) || taxable !== subtotal)
      this.errors.push('computation.taxBases: must add up to the subtotal');
    if (!Array.isArray(c.tariffVersions)) this.errors.push('computation.tariffVersions: must be an array');
  }

  /** Billed + missing + invalid = the expected periods; missing and invalid ones are expected ones, once each. */
  periods(): void {
    const c = this.claim;
    const readings = this.count('readingCount', c.readingCount);
    const estimated = Array.isArray(c.estimatedPeriods) ? c.estimatedPeriods.length : 1;
    if (c.estimatedReadings !== 0 || c.estimatedEnergyWh !== 0 || estimated > 0)
      this.errors.push('computation: shares are measured readings, so there are no estimated readings');
    const expected = new Set(this.baseline.missingPeriods);
    const missing = Array.isArray(c.missingPeriods) ? c.missingPeriods : [];
    if (!Array.isArray(c.missingPeriods) || missing.some((p) => typeof p !== 'string' || !expected.has(p)))
      this.errors.push('computation.missingPeriods: must list expected periods of the bill');
    const invalid = Array.isArray(c.invalidReadings) ? c.invalidReadings : [];
    if (!Array.isArray(c.invalidReadings) || invalid.some((r) => !isInvalidReadingOf(r, expected)))
      this.errors.push('computation.invalidReadings: must list expected periods with code INVALID_READING');
    if (new Set([...missing, ...invalid.map((r) => r.periodStart)]).size !== missing.length + invalid.length)
      this.errors.push('computation: a period is listed twice among missing and invalid periods');
    if (readings + missing.length + invalid.length !== this.baseline.expectedReadings)
      this.errors.push(
        `computation.readingCount: ${readings} billed + ${missing.length} missing + ${invalid.length} invalid is not the ${this.baseline.expectedReadings} expected periods`,
      );
  }

  digests(): void {
    if (typeof this.claim.readingsDigest !== 'string' || !HEX64.test(this.claim.readingsDigest))
      this.errors.push('computation.readingsDigest: must be a SHA-256 (64 lowercase hex)');
    const running = asRecord(this.claim.runningTotals);
    const since = this.baseline.runningTotals.since;
    const ok =
      running !== undefined &&
      running.since === since &&
      typeof running.priorReadingsDigest === 'string' &&
      HEX64.test(running.priorReadingsDigest) &&
      Object.keys(running).length === 3;
    if (!ok) this.errors.push(`computation.runningTotals: must start at ${since} with a count and a digest`);
    else this.count('runningTotals.priorReadingCount', running.priorReadingCount);
  }
}

function isInvalidReadingOf(value: unknown, expected: Set<string>): boolean {
  const x = asRecord(value);
  return (
    x !== undefined &&
    x.code === 'INVALID_READING' &&
    typeof x.reason === 'string' &&
    x.reason.length <= 200 &&
    expected.has(x.periodStart as string)
  );
}

/** Checks the facts of the sealed report as recorded on the bill. */
export function aggregateFactsErrors(value: unknown, readingsDigest: unknown): string[] {
  const facts = asRecord(value);
  if (!facts || Object.keys(facts).sort().join(',') !== 'report,sharesDigest')
    return ['aggregate: must be { sharesDigest, report: { cid, sha256, bytes } }'];
  const errors: string[] = [];
  if (facts.sharesDigest !== readingsDigest)
    errors.push('aggregate.sharesDigest: must equal the computation readingsDigest');
  const report = asRecord(facts.report);
  if (!report || Object.keys(report).sort().join(',') !== 'bytes,cid,sha256')
    return [...errors, 'aggregate.report: must be { cid, sha256, bytes }'];
  if (typeof report.cid !== 'string' || !CID_V1_PATTERN.test(report.cid))
    errors.push('aggregate.report.cid: must be a CIDv1 in base32 (b...)');
  if (typeof report.sha256 !== 'string' || !HEX64.test(report.sha256))
    errors.push('aggregate.report.sha256: must be 64 lowercase hex characters');
  if (
    typeof report.bytes !== 'number' ||
    !Number.isSafeInteger(report.bytes) ||
    report.bytes <= 0 ||
    report.bytes > MAX_BILL_REPORT_BYTES
  )
    errors.push(`aggregate.report.bytes: must be a size from 1 to ${MAX_BILL_REPORT_BYTES}`);
  return errors;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** JSON with object keys sorted at every depth: equal values give equal text. */
function sortedJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    const source = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(source)
        .sort()
        .map((key) => [key, sorted(source[key])]),
    );
  };
  // A missing field reads "undefined" (JSON.stringify would give undefined itself, whatever its type says).
  return value === undefined ? 'undefined' : JSON.stringify(sorted(value));
}
