import type { Network } from '@hyperledger/fabric-gateway';
import type { Page, ReadingRecord, SubscriptionRecord } from '@smartmeter/chaincode/dist/api/records';
import type {
  BillComputation,
  BillRecord,
  PriceSignalRecord,
  TariffRecord,
} from '@smartmeter/chaincode/dist/api/tariffs';
import { computeBill, openReadings } from '@smartmeter/chaincode/dist/billing';

/**
 * A household checks its bill by itself: fetch the bill and everything it was computed from, decrypt the
 * readings with its own session key, run the same pure bill function as the chaincode, compare.
 */
export interface BillEvidence {
  channel: string;
  bill: BillRecord;
  subscription: SubscriptionRecord;
  readings: ReadingRecord[];
  tariffVersions: TariffRecord[];
  signals: PriceSignalRecord[];
}

export interface BillVerification {
  ok: boolean;
  /** One line per field that differs: "lineItems[0].amountMinor: bill 18, recomputed 17". */
  differences: string[];
  recomputed: BillComputation;
}

const CHAINCODE = 'smartmeter';
const utf8 = new TextDecoder();

export async function fetchBillEvidence(network: Network, billId: string): Promise<BillEvidence> {
  const evaluate = async <T>(contract: string, fn: string, ...args: string[]): Promise<T> =>
    JSON.parse(
      utf8.decode(await network.getContract(CHAINCODE, contract).evaluateTransaction(fn, ...args)),
    ) as T;
  const bill = await evaluate<BillRecord>('Billing', 'GetBill', billId);
  const subscription = await evaluate<SubscriptionRecord>(
    'Subscription',
    'GetSubscription',
    bill.subscriptionId,
  );
  const readings: ReadingRecord[] = [];
  let bookmark = '';
  do {
    const page = await evaluate<Page<ReadingRecord>>(
      'Measurement',
      'GetReadings',
      bill.subscriptionId,
      bill.periodFrom,
      bill.periodTo,
      '100',
      bookmark,
    );
    readings.push(...page.records);
    bookmark = page.bookmark;
  } while (bookmark !== '');
  const approval = subscription.approval;
  if (!approval) throw new Error(`subscription ${subscription.subscriptionId} has no approval`);
  const tariffVersions = await evaluate<TariffRecord[]>(
    'Pricing',
    'GetTariffHistory',
    subscription.distributorMspId,
    approval.tariffId,
  );
  const signals = await evaluate<PriceSignalRecord[]>(
    'Pricing',
    'GetPriceSignals',
    approval.regionCode,
    bill.periodFrom,
    bill.periodTo,
  );
  return { channel: network.getName(), bill, subscription, readings, tariffVersions, signals };
}

/** Recomputes the bill from the evidence, setting aside readings that do not decrypt as the chaincode does. */
export function recomputeBill(evidence: BillEvidence, sessionKey: Uint8Array): BillComputation {
  const { bill, subscription } = evidence;
  const approval = subscription.approval as NonNullable<SubscriptionRecord['approval']>;
  const { billed, invalid } = openReadings(
    evidence.readings,
    sessionKey,
    evidence.channel,
    subscription.keyId,
  );
  return computeBill({
    periodFrom: bill.periodFrom,
    periodTo: bill.periodTo,
    intervalSeconds: approval.intervalSeconds,
    intervalChanges: approval.intervalChanges,
    subscriptionStart: approval.startDate,
    subscriptionEnd: subscription.end?.effectiveAt,
    readings: billed,
    invalidReadings: invalid,
    tariffVersions: evidence.tariffVersions,
    signals: Object.fromEntries(evidence.signals.map((s) => [s.periodStart, s.priceMicroPerKwh])),
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
  network: Network,
  billId: string,
  sessionKey: Uint8Array,
): Promise<BillVerification> {
  return verifyEvidence(await fetchBillEvidence(network, billId), sessionKey);
}
