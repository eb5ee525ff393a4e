import { createHash } from 'node:crypto';
import {
  billReportSha256,
  DecryptionError,
  openBillReport,
  packBillReport,
  sealBillReport,
  unpackBillReport,
  type BillReportContext as SealContext,
} from '@smartmeter/crypto';
import {
  aggregateBillLookups,
  buildBillReportDocument,
  computeAggregateBill,
  isoSeconds,
  periodsStartingIn,
  runningTotalsSince,
  type AggregateBill,
  type AggregateBillEvidence,
  type BillComputation,
  type BillRecord,
  type BillReportDocument,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { aggregateBillReportJson, renderAggregateBillReport } from './aggregateBillReport';
import { billDifferences } from './billVerify';
import type { AggregationClient } from './contracts/AggregationClient';
import type { AggregateBillClaim, BillingClient } from './contracts/BillingClient';
import type { PricingClient } from './contracts/PricingClient';
import { ClientRefusal, UsageError } from './errors';

/**
 * Dynamic bills of `aggregate` subscriptions, off-chain (domain/src/billing/aggregateBill.ts): the distributor
 * issues them, the household fetches its sealed report from IPFS and checks both the ledger's bill and the report
 * against its own recomputation from the shares.
 */

/** The IPFS operations billing needs (client/src/ipfs.ts implements them over Kubo's RPC API). */
export interface ReportStorage {
  add(bytes: Uint8Array): Promise<{ cid: string; bytes: number }>;
  cat(cid: string, maxBytes: number): Promise<Buffer>;
  cidOf(bytes: Uint8Array): Promise<string>;
}

export interface AggregateSources {
  aggregation: Pick<AggregationClient, 'sharesOf' | 'rounds'>;
  pricing: Pick<PricingClient, 'tariffHistory' | 'signals'>;
}

/** A refusal of a report: its hash or CID does not match the ledger, or it does not open for this household. */
export class BillReportError extends Error {
  constructor(
    readonly code: 'REPORT_HASH_MISMATCH' | 'REPORT_CID_MISMATCH' | 'REPORT_UNREADABLE' | 'NOT_AGGREGATE',
    message: string,
  ) {
    super(message);
    this.name = 'BillReportError';
  }
}

const MAX_REPORT_BYTES = 16 * 1024 * 1024;

function approvalOf(subscription: SubscriptionRecord): NonNullable<SubscriptionRecord['approval']> {
  if (!subscription.approval)
    throw new UsageError(`subscription ${subscription.subscriptionId} is not approved`);
  return subscription.approval;
}

/** The shares, tariff versions and price signals of a bill's period (and its month before, for running totals). */
export async function fetchAggregateEvidence(
  sources: AggregateSources,
  subscription: SubscriptionRecord,
  sessionKey: Uint8Array,
  periodFrom: string,
  periodTo: string,
): Promise<AggregateBillEvidence> {
  const approval = approvalOf(subscription);
  const lookups = aggregateBillLookups(sessionKey, approval, periodFrom, periodTo);
  return {
    periodFrom,
    periodTo,
    schedule: approval,
    subscriptionEnd: subscription.end?.effectiveAt,
    shares: await sources.aggregation.sharesOf(approval.regionCode, lookups),
    tariffVersions: await sources.pricing.tariffHistory(subscription.distributorMspId, approval.tariffId),
    signals: await sources.pricing.signals(approval.regionCode, runningTotalsSince(periodFrom), periodTo),
  };
}

export function sealContextOf(
  channel: string,
  subscriptionId: string,
  periodFrom: string,
  periodTo: string,
): SealContext {
  return { channel, subscriptionId, periodFrom, periodTo };
}

export interface IssuedAggregateBill {
  bill: BillRecord;
  document: BillReportDocument;
  sealedBytes: number;
}

/**
 * The distributor's dynamic bill: computed from the shares, the report sealed for the household's key and
 * pinned on IPFS, then the redacted bill with the report's CID and hash recorded (no transient data). IPFS comes
 * first: if it is down, nothing is recorded.
 */
export async function issueAggregateBill(options: {
  sources: AggregateSources;
  billing: Pick<BillingClient, 'recordAggregate'>;
  storage: ReportStorage;
  channel: string;
  subscription: SubscriptionRecord;
  sessionKey: Uint8Array;
  periodFrom: string;
  periodTo: string;
  now: Date;
}): Promise<IssuedAggregateBill> {
  const { subscription } = options;
  if (subscription.privacyMode !== 'aggregate') {
    throw new UsageError(
      `${subscription.subscriptionId} is a disclosed subscription: the chaincode bills it (bill issue)`,
    );
  }
  if (!subscription.householdPublicKeyPem) {
    throw new UsageError(
      `${subscription.subscriptionId} has no household encryption key: its report cannot be sealed`,
    );
  }
  await requireRoundsFinal(options.sources, subscription, options.periodFrom, options.periodTo);
  const evidence = await fetchAggregateEvidence(
    options.sources,
    subscription,
    options.sessionKey,
    options.periodFrom,
    options.periodTo,
  );
  const bill = computeAggregateBill(options.sessionKey, evidence);
  const document = reportDocumentOf(bill, evidence, subscription, options.channel, options.now);
  const sealed = sealBillReport(
    packBillReport({ document, html: renderAggregateBillReport(document) }),
    subscription.householdPublicKeyPem,
    sealContextOf(options.channel, subscription.subscriptionId, options.periodFrom, options.periodTo),
  );
  const stored = await options.storage.add(sealed);
  const claim: AggregateBillClaim = {
    subscriptionId: subscription.subscriptionId,
    periodFrom: options.periodFrom,
    periodTo: options.periodTo,
    computation: bill.ledger,
    aggregate: {
      sharesDigest: bill.ledger.readingsDigest,
      report: { cid: stored.cid, sha256: billReportSha256(sealed), bytes: sealed.length },
    },
  };
  return { bill: await options.billing.recordAggregate(claim), document, sealedBytes: sealed.length };
}

const WEEK_SECONDS = 7 * 86_400;

/**
 * The periods from the 1st of periodFrom's month to periodTo whose rounds are not final (open or FAULT), in
 * order: the chaincode refuses a bill or settlement that rests on any of them, because the running totals include
 * the month's earlier shares.
 */
export async function openPeriods(
  sources: AggregateSources,
  subscription: SubscriptionRecord,
  periodFrom: string,
  periodTo: string,
): Promise<string[]> {
  const approval = approvalOf(subscription);
  const from = Date.parse(runningTotalsSince(periodFrom)) / 1000;
  const to = Date.parse(periodTo) / 1000;
  const final = new Set<string>();
  for (let start = from; start < to; start += WEEK_SECONDS) {
    const rounds = await sources.aggregation.rounds(
      approval.regionCode,
      isoSeconds(start),
      isoSeconds(Math.min(to, start + WEEK_SECONDS)),
    );
    for (const round of rounds) if (round.status !== 'FAULT') final.add(round.periodStart);
  }
  const end = subscription.end ? Math.min(to, Date.parse(subscription.end.effectiveAt) / 1000) : to;
  return [...periodsStartingIn(approval, from, end)]
    .map((p) => isoSeconds(p.startSeconds))
    .filter((start) => !final.has(start));
}

/**
 * The chaincode refuses a bill whose rounds are not all closed with a load; checking first means no report is
 * pinned on IPFS for a bill that cannot be recorded.
 */
export async function requireRoundsFinal(
  sources: AggregateSources,
  subscription: SubscriptionRecord,
  periodFrom: string,
  periodTo: string,
): Promise<void> {
  const open = await openPeriods(sources, subscription, periodFrom, periodTo);
  if (open.length > 0)
    throw new ClientRefusal(
      'ROUNDS_NOT_CLOSED',
      `the rounds of ${approvalOf(subscription).regionCode} are not all final for ${periodFrom} - ${periodTo} (from the 1st of its month): ${open.length} are open or FAULT (first ${open[0]}); close them (the aggregator) and resolve faults (meterctl grid faults) first. Nothing was stored or recorded`,
    );
}

function reportDocumentOf(
  bill: AggregateBill,
  evidence: AggregateBillEvidence,
  subscription: SubscriptionRecord,
  channel: string,
  now: Date,
): BillReportDocument {
  const approval = approvalOf(subscription);
  return buildBillReportDocument(bill, evidence, {
    channel,
    subscriptionId: subscription.subscriptionId,
    meterId: subscription.meterId,
    regionCode: approval.regionCode,
    distributorMspId: subscription.distributorMspId,
    generatedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
}

export interface FetchedReport {
  document: BillReportDocument;
  html: string;
  json: string;
  sealedBytes: number;
}

/**
 * The household's side: the sealed report named by the bill, fetched from IPFS, checked against the ledger's
 * SHA-256 and CID, opened with the household's private key. Every mismatch is a BillReportError with its code.
 */
export async function fetchBillReport(options: {
  bill: BillRecord;
  storage: ReportStorage;
  channel: string;
  householdPrivateKeyPem: string;
}): Promise<FetchedReport> {
  const { bill } = options;
  const facts = bill.aggregate;
  if (!facts) {
    throw new BillReportError(
      'NOT_AGGREGATE',
      `bill ${bill.billId} is a disclosed bill: it has no sealed report (meterctl bill report writes its page)`,
    );
  }
  const sealed = await options.storage.cat(facts.report.cid, MAX_REPORT_BYTES);
  const sha256 = createHash('sha256').update(sealed).digest('hex');
  if (sha256 !== facts.report.sha256) {
    throw new BillReportError(
      'REPORT_HASH_MISMATCH',
      `the report IPFS returned for ${facts.report.cid} has SHA-256 ${sha256}, but bill ${bill.billId} records ${facts.report.sha256}`,
    );
  }
  const cid = await options.storage.cidOf(sealed);
  if (cid !== facts.report.cid) {
    throw new BillReportError(
      'REPORT_CID_MISMATCH',
      `the report's bytes have CID ${cid}, but bill ${bill.billId} records ${facts.report.cid}`,
    );
  }
  let opened;
  try {
    opened = unpackBillReport(
      openBillReport(
        sealed,
        options.householdPrivateKeyPem,
        sealContextOf(options.channel, bill.subscriptionId, bill.periodFrom, bill.periodTo),
      ),
    );
  } catch (err) {
    if (err instanceof DecryptionError)
      throw new BillReportError(
        'REPORT_UNREADABLE',
        `the report of bill ${bill.billId} does not open with this household's key (${err.message})`,
      );
    throw err;
  }
  const document = opened.document as BillReportDocument;
  return { document, html: opened.html, json: aggregateBillReportJson(document), sealedBytes: sealed.length };
}

export interface AggregateVerification {
  ok: boolean;
  /** "ledger.totalMinor: bill 1200, recomputed 1201", "report.periods[3].energyWh: ...", "report: ...". */
  differences: string[];
  recomputed: BillComputation;
}

/**
 * The household recomputes its bill from the shares with its own session key and compares it with the ledger's
 * (redacted) bill and, when given, with the report's full computation and its periods.
 */
export function verifyAggregateBill(
  bill: BillRecord,
  evidence: AggregateBillEvidence,
  sessionKey: Uint8Array,
  report?: BillReportDocument,
): AggregateVerification {
  const recomputed = computeAggregateBill(sessionKey, evidence);
  const differences = billDifferences(bill, recomputed.ledger).map((d) => `ledger.${d}`);
  if (bill.aggregate && bill.aggregate.sharesDigest !== recomputed.ledger.readingsDigest)
    differences.push(
      `ledger.aggregate.sharesDigest: bill ${bill.aggregate.sharesDigest}, recomputed ${recomputed.ledger.readingsDigest}`,
    );
  if (report) {
    differences.push(...billDifferences(report.bill, recomputed.computation).map((d) => `report.bill.${d}`));
    const expected = buildBillReportDocument(recomputed, evidence, {
      channel: report.channel,
      subscriptionId: report.subscriptionId,
      meterId: report.meterId,
      regionCode: report.regionCode,
      distributorMspId: report.distributorMspId,
      generatedAt: report.generatedAt,
    });
    for (const field of ['periods', 'days', 'feedback'] as const) {
      differences.push(...jsonDifferences(`report.${field}`, report[field], expected[field]));
    }
    if (
      report.subscriptionId !== bill.subscriptionId ||
      report.periodFrom !== bill.periodFrom ||
      report.periodTo !== bill.periodTo
    )
      differences.push(
        `report: it is the report of ${report.subscriptionId} ${report.periodFrom} - ${report.periodTo}, not of this bill`,
      );
  }
  return { ok: differences.length === 0, differences, recomputed: recomputed.computation };
}

/** Differences of two JSON values, at most 20 (a tampered report may differ in thousands of periods). */
function jsonDifferences(path: string, a: unknown, b: unknown): string[] {
  const found: string[] = [];
  const walk = (where: string, x: unknown, y: unknown): void => {
    if (found.length >= 20) return;
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const key of keys) {
        const child = Array.isArray(x) ? `${where}[${key}]` : `${where}.${key}`;
        walk(child, (x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]);
      }
    } else if (x !== y) {
      found.push(`${where}: report ${JSON.stringify(x)}, recomputed ${JSON.stringify(y)}`);
    }
  };
  walk(path, a, b);
  return found;
}
