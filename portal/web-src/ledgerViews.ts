/**
 * Ledger records as more than one party sees them: a subscription's facts, a bill's figures and history, a
 * wallet, a chart of price signals.
 */
import type { BillRecord, PriceSignalRecord, SubscriptionRecord, WalletRecord } from '../src/api';
import { seriesChart } from './charts.js';
import { dataTable, facts, h, tableRow, type Child } from './dom.js';
import {
  formatBasisPoints,
  formatEnergy,
  formatInteger,
  formatMoney,
  formatPeriod,
  formatPricePerKwh,
  formatTime,
  minorPerKwh,
  secondsBucketLabel,
} from './format.js';
import { segment } from './http.js';
import { note, statusBadge } from './views.js';

/** Statuses in which a subscription may still be ended (the chaincode's OPEN_STATUSES). */
export const OPEN_SUBSCRIPTION_STATUSES: readonly SubscriptionRecord['status'][] = [
  'REQUESTED',
  'APPROVED',
  'ACTIVE',
];

export function privacyModeOf(subscription: SubscriptionRecord): string {
  return subscription.privacyMode ?? 'disclosed';
}

export function regionOf(subscription: SubscriptionRecord): string {
  return subscription.approval?.regionCode ?? '—';
}

export function subscriptionFacts(subscription: SubscriptionRecord): HTMLElement {
  const approval = subscription.approval;
  const pairs: [string, Child][] = [
    ['Subscription', subscription.subscriptionId],
    ['Status', statusBadge(subscription.status, 'subscription-status')],
    ['Distributor', subscription.distributorMspId],
    ['Meter', subscription.meterId],
    ['Requested plan', subscription.requestedPlan],
    ['Privacy mode', privacyModeOf(subscription)],
    ['Channel', subscription.channel],
    ['Requested', formatTime(subscription.requestedAt)],
  ];
  if (approval)
    pairs.push(
      ['Tariff', approval.tariffId],
      ['Region', approval.regionCode],
      ['Reading interval', `${formatInteger(approval.intervalSeconds)} s`],
      ['First period', formatTime(approval.startDate)],
      ['Approved', formatTime(approval.approvedAt)],
    );
  if (subscription.pairedAt !== undefined) pairs.push(['Meter paired', formatTime(subscription.pairedAt)]);
  if (subscription.rejection)
    pairs.push([
      'Rejected',
      `${formatTime(subscription.rejection.rejectedAt)}: ${subscription.rejection.reason}`,
    ]);
  if (subscription.end) pairs.push(...endFacts(subscription.end));
  return facts(pairs);
}

function endFacts(end: NonNullable<SubscriptionRecord['end']>): [string, Child][] {
  return [
    ['Ended', `${formatTime(end.endedAt)} by the ${end.endedByRole}`],
    ['Readings refused from', formatTime(end.effectiveAt)],
    ['Why it ended', end.reason],
  ];
}

export function subscriptionPath(subscriptionId: string): string {
  return `/api/subscriptions/${segment(subscriptionId)}`;
}

export function billPath(billId: string): string {
  return `/api/bills/${segment(billId)}`;
}

/** The bill report, an HTML page of the server: it opens in a new tab. */
export function billReportLink(bill: BillRecord, text = 'Open the bill report (new tab)'): HTMLAnchorElement {
  return h(
    'a',
    {
      href: `${billPath(bill.billId)}/report`,
      target: '_blank',
      rel: 'noopener',
      'data-testid': 'bill-report-link',
    },
    text,
  );
}

export function billFigures(bill: BillRecord): HTMLElement {
  const money = (minor: number) => formatMoney(minor, bill.currency);
  const pairs: [string, Child, Record<string, string>?][] = [
    ['Period', formatPeriod(bill.periodFrom, bill.periodTo)],
    ['Energy', formatEnergy(bill.energyWh), { 'data-testid': 'bill-energy' }],
    ['Standing charge', `${money(bill.standingCharge.amountMinor)} (${bill.standingCharge.days} days)`],
    ['Subtotal', money(bill.subtotalMinor)],
    ['Tax', `${money(bill.taxMinor)} (${formatBasisPoints(bill.taxBasisPoints)})`],
    ['Total', money(bill.totalMinor), { 'data-testid': 'bill-total' }],
    [
      'Readings',
      `${formatInteger(bill.readingCount)} received of ${formatInteger(bill.expectedReadings)} expected`,
      { 'data-testid': 'bill-readings' },
    ],
    ['Missing periods', formatInteger(bill.missingPeriods.length), { 'data-testid': 'bill-missing-periods' }],
  ];
  if (bill.invalidReadings.length > 0)
    pairs.push(['Readings that do not decrypt', formatInteger(bill.invalidReadings.length)]);
  if (bill.estimatedReadings > 0)
    pairs.push([
      'Estimated readings',
      `${formatInteger(bill.estimatedReadings)} (${formatEnergy(bill.estimatedEnergyWh)})`,
    ]);
  if (bill.prepaid)
    pairs.push(
      ['Paid by prepaid settlements', money(bill.prepaid.settledMinor)],
      ['Still due', money(bill.prepaid.dueMinor)],
    );
  pairs.push(['Issued', formatTime(bill.issuedAt)], ['Issued by', bill.distributorMspId]);
  return facts(pairs);
}

export function billLineItems(bill: BillRecord): HTMLElement {
  if (bill.lineItems.length === 0)
    return note(
      bill.aggregate
        ? 'This bill was computed from your meter’s aggregate shares: its lines are in the sealed bill report.'
        : 'This bill has no energy lines.',
    );
  const rows = bill.lineItems.map((item) =>
    tableRow([
      item.label,
      `${item.tariffId} v${item.tariffVersion}`,
      formatEnergy(item.energyWh),
      formatPricePerKwh(item.priceMicroPerKwh, bill.currency),
      formatMoney(item.amountMinor, bill.currency),
    ]),
  );
  return dataTable({
    caption: 'Energy lines',
    headers: ['Line', 'Tariff', 'Energy', 'Price', 'Amount'],
    rows,
  });
}

/** The dispute, its resolution and the payment, as far as the bill has got. */
export function billHistory(bill: BillRecord): HTMLElement | null {
  const pairs: [string, Child][] = [];
  if (bill.dispute)
    pairs.push(['Disputed', `${formatTime(bill.dispute.disputedAt)}: ${bill.dispute.reason}`]);
  if (bill.resolution)
    pairs.push([
      'Dispute resolved',
      `${bill.resolution.outcome} at ${formatTime(bill.resolution.resolvedAt)}: ${bill.resolution.note}`,
    ]);
  if (bill.payment)
    pairs.push([
      'Paid',
      `${formatMoney(bill.payment.amountMinor, bill.currency)} at ${formatTime(bill.payment.paidAt)} (reference ${bill.payment.reference})`,
    ]);
  return pairs.length === 0 ? null : facts(pairs);
}

/** What is still to pay on a bill: what its prepaid settlements left, else its total; never below zero. */
export function amountDueMinor(bill: BillRecord): number {
  return Math.max(0, bill.prepaid?.dueMinor ?? bill.totalMinor);
}

/** Whether a payment may be recorded: issued, or a dispute rejected (an upheld dispute voids the bill). */
export function isPayable(bill: BillRecord): boolean {
  return bill.status === 'ISSUED' || (bill.status === 'RESOLVED' && bill.resolution?.outcome === 'REJECTED');
}

/** Disputed bills first (they wait for the distributor), then the newest. */
export function billsInWorkOrder(bills: BillRecord[]): BillRecord[] {
  const disputedFirst = (bill: BillRecord) => (bill.status === 'DISPUTED' ? 0 : 1);
  return [...bills].sort(
    (a, b) => disputedFirst(a) - disputedFirst(b) || b.issuedAt.localeCompare(a.issuedAt),
  );
}

export function walletFacts(wallet: WalletRecord): HTMLElement {
  const money = (minor: number) => formatMoney(minor, wallet.currency);
  return facts([
    ['Balance', money(wallet.balanceMinor), { 'data-testid': 'wallet-balance' }],
    [
      'Supply',
      `${wallet.supply} (${wallet.supplyReason}) since ${formatTime(wallet.supplyChangedAt)}`,
      { 'data-testid': 'wallet-supply' },
    ],
    [
      'Emergency credit',
      wallet.emergencyCreditTakenAt === undefined
        ? `${money(wallet.emergencyCreditMinor)} available when the balance is low`
        : `taken at ${formatTime(wallet.emergencyCreditTakenAt)}: the balance may go down to ${money(-wallet.emergencyCreditMinor)}`,
      { 'data-testid': 'wallet-emergency-credit' },
    ],
    ['Settled until', formatTime(wallet.settledUntil), { 'data-testid': 'wallet-settled-until' }],
    ['Warning below', money(wallet.policy.warningBelowMinor)],
    [
      'Power saving below',
      `${money(wallet.policy.powerSavingBelowMinor)} (load limited to ${formatInteger(wallet.policy.powerSavingLimitW)} W)`,
    ],
    ['Switched off below', `${money(wallet.policy.switchOffBelowMinor)}, outside friendly hours`],
  ]);
}

/** A stepped line of price signals (a price holds until the next), with its summary in words. */
export function priceSignalChart(signals: PriceSignalRecord[], label: string): HTMLElement {
  const sorted = [...signals].sort((a, b) => a.periodStart.localeCompare(b.periodStart));
  const prices = sorted.map((signal) => minorPerKwh(signal.priceMicroPerKwh));
  return seriesChart({
    testId: 'price-signals-chart',
    kind: 'line',
    stepped: true,
    label,
    summary: priceSummary(prices),
    categories: sorted.map((signal) => secondsBucketLabel(signal.periodStart, 0)),
    values: prices,
    seriesName: 'Price',
    yAxisName: 'minor units/kWh',
    drawnAttributes: { 'data-points': String(sorted.length) },
  });
}

function priceSummary(prices: number[]): string {
  if (prices.length === 0) return 'No price signals in this period.';
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  return `${prices.length} price signals, from ${low} to ${high} minor units (pence, cents) per kWh.`;
}
