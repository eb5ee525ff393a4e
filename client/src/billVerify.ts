import { contractAdapters } from './contracts/adapters';
import type { BillingClient } from './contracts/BillingClient';
import type { ChaincodeChannel } from './contracts/invoke';
import type { MeasurementClient } from './contracts/MeasurementClient';
import type { PricingClient } from './contracts/PricingClient';
import type { SubscriptionClient } from './contracts/SubscriptionClient';
import {
  type ReadingRecord,
  type SubscriptionRecord,
  type BillComputation,
  type BillRecord,
  type PriceSignalRecord,
  type TariffRecord,
  computeBill,
  openReadings,
  runningTotalsSince,
  utilityOf,
} from '@smartmeter/domain';

/**
 * A household checks its bill by itself: fetch the bill and everything it was computed from, decrypt the
 * readings with its own session key, run the same pure bill function as the chaincode, compare.
 */
export interface BillEvidence {
  channel: string;
  bill: BillRecord;
  subscription: SubscriptionRecord;
  /** The readings and price signals of the bill's period. */
  readings: ReadingRecord[];
  tariffVersions: TariffRecord[];
  signals: PriceSignalRecord[];
  /**
   * The readings and signals of the bill's month before it (from runningTotalsSince(periodFrom)), which the
   * running totals include: fetchBillEvidence always fills them; absent means none.
   */
  priorReadings?: ReadingRecord[];
  priorSignals?: PriceSignalRecord[];
}

export interface BillVerification {
  ok: boolean;
  /** One line per field that differs: "lineItems[0].amountMinor: bill 18, recomputed 17". */
  differences: string[];
  recomputed: BillComputation;
}

/** The adapters a bill's evidence is read through. */
export interface EvidenceSources {
  billing: Pick<BillingClient, 'get'>;
  subscriptions: Pick<SubscriptionClient, 'get'>;
  measurements: Pick<MeasurementClient, 'all'>;
  pricing: Pick<PricingClient, 'tariffHistory' | 'signals'>;
}

/** The bill and everything it was computed from. */
export async function fetchBillEvidence(
  sources: EvidenceSources,
  channel: string,
  billId: string,
): Promise<BillEvidence> {
  const bill = await sources.billing.get(billId);
  const subscription = await sources.subscriptions.get(bill.subscriptionId);
  return { ...(await fetchCostEvidence(sources, channel, subscription, bill)), bill };
}

/**
 * What the cost of any period [periodFrom, periodTo) of a subscription is computed from, as a bill of that
 * period would be: its readings and signals, those of its month before it, and the tariff's versions. The
 * household's "cost so far" is recomputeBill of it.
 */
export async function fetchCostEvidence(
  sources: Omit<EvidenceSources, 'billing' | 'subscriptions'>,
  channel: string,
  subscription: SubscriptionRecord,
  period: Pick<BillRecord, 'periodFrom' | 'periodTo'>,
): Promise<CostEvidence> {
  const approval = subscription.approval;
  if (!approval) throw new Error(`subscription ${subscription.subscriptionId} has no approval`);
  const { subscriptionId } = subscription;
  const since = runningTotalsSince(period.periodFrom);
  const hasPrior = since < period.periodFrom;
  return {
    channel,
    bill: { periodFrom: period.periodFrom, periodTo: period.periodTo },
    subscription,
    readings: await sources.measurements.all(subscriptionId, period.periodFrom, period.periodTo),
    tariffVersions: await sources.pricing.tariffHistory(subscription.distributorMspId, approval.tariffId),
    signals: await sources.pricing.signals(approval.regionCode, period.periodFrom, period.periodTo),
    priorReadings: hasPrior ? await sources.measurements.all(subscriptionId, since, period.periodFrom) : [],
    priorSignals: hasPrior
      ? await sources.pricing.signals(approval.regionCode, since, period.periodFrom)
      : [],
  };
}

/** What recomputeBill needs: a bill's evidence, of which only the period of the bill (or of a settlement's cost). */
export type CostEvidence = Omit<BillEvidence, 'bill'> & { bill: Pick<BillRecord, 'periodFrom' | 'periodTo'> };

/** Recomputes the bill from the evidence, setting aside readings that do not decrypt as the chaincode does. */
export function recomputeBill(evidence: CostEvidence, sessionKey: Uint8Array): BillComputation {
  const { bill, subscription } = evidence;
  const approval = subscription.approval as NonNullable<SubscriptionRecord['approval']>;
  const { billed, invalid } = openReadings(
    evidence.readings,
    sessionKey,
    evidence.channel,
    subscription.keyId,
    utilityOf(subscription),
  );
  const prior = openReadings(
    evidence.priorReadings ?? [],
    sessionKey,
    evidence.channel,
    subscription.keyId,
    utilityOf(subscription),
  ).billed;
  const signals = [...(evidence.priorSignals ?? []), ...evidence.signals];
  return computeBill({
    periodFrom: bill.periodFrom,
    periodTo: bill.periodTo,
    intervalSeconds: approval.intervalSeconds,
    intervalChanges: approval.intervalChanges,
    subscriptionStart: approval.startDate,
    subscriptionEnd: subscription.end?.effectiveAt,
    utility: utilityOf(subscription),
    readings: billed,
    priorReadings: prior,
    invalidReadings: invalid,
    tariffVersions: evidence.tariffVersions,
    signals: Object.fromEntries(signals.map((s) => [s.periodStart, s.priceMicroPerKwh])),
  });
}

/** Every field of the computation where the bill and the recomputation differ. */
export function billDifferences(bill: BillComputation, recomputed: BillComputation): string[] {
  const differences: string[] = [];
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const key of [...keys].sort()) {
        const child = Array.isArray(a) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
        walk(child, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
      }
    } else if (a !== b) {
      differences.push(`${path}: bill ${JSON.stringify(a)}, recomputed ${JSON.stringify(b)}`);
    }
  };
  for (const field of Object.keys(recomputed) as (keyof BillComputation)[])
    walk(field, bill[field], recomputed[field]);
  return differences;
}

export function verifyEvidence(evidence: BillEvidence, sessionKey: Uint8Array): BillVerification {
  const recomputed = recomputeBill(evidence, sessionKey);
  const differences = billDifferences(evidence.bill, recomputed);
  return { ok: differences.length === 0, differences, recomputed };
}

export async function verifyBill(
  chaincode: ChaincodeChannel,
  billId: string,
  sessionKey: Uint8Array,
): Promise<BillVerification> {
  const sources: EvidenceSources = contractAdapters(chaincode);
  return verifyEvidence(await fetchBillEvidence(sources, chaincode.network.getName(), billId), sessionKey);
}
