/**
 * The distributor's pages: subscription requests to approve or reject (after checking that the household
 * wrapped the session key for the distributor), the completeness of a meter's readings, bills to issue, resolve
 * and record payments of, meters that missed aggregation rounds, and prepaid top-ups.
 */
import type { FaultyMeterRecord } from '@smartmeter/domain';
import type {
  BillRecord,
  CompletenessView,
  GrantCheckView,
  SubscriptionRecord,
  WalletView,
} from '../src/api';
import { dataTable, facts, h, idFor, tableRow, type Child } from './dom.js';
import {
  actionForm,
  dayRangeOf,
  errorAlert,
  paymentReferenceField,
  InputError,
  REGION_CODE_INPUT_PATTERN,
  type FormValues,
} from './forms.js';
import {
  dateOf,
  endOfDay,
  formatInteger,
  formatMoney,
  formatPeriod,
  formatTime,
  lastDayBefore,
  majorAmountText,
  parseMajorAmount,
  startOfDay,
} from './format.js';
import { ApiFailure, getJson, isFailureWithCode, postJson, settle, type Settled } from './http.js';
import {
  amountDueMinor,
  billPath,
  billReportLink,
  billsInWorkOrder,
  isPayable,
  privacyModeOf,
  subscriptionPath,
} from './ledgerViews.js';
import { afterChange, note, page, section, statusBadge, type PartyPages, type ViewContext } from './views.js';

function subscriptionOptions(subscriptions: SubscriptionRecord[]): [string, string][] {
  return subscriptions.map((s) => [
    s.subscriptionId,
    `${s.subscriptionId} (${s.status}, meter ${s.meterId})`,
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// #/requests

async function renderRequests(ctx: ViewContext): Promise<Node> {
  const requested = await getJson<SubscriptionRecord[]>('/api/subscriptions', { status: 'REQUESTED' });
  if (requested.length === 0)
    return page('Subscription requests', note('No subscription request is waiting.'));
  const oldestFirst = [...requested].sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  return page(
    'Subscription requests',
    h(
      'ul',
      { class: 'cards' },
      ...oldestFirst.map((subscription) => h('li', {}, requestCard(ctx, subscription))),
    ),
  );
}

function requestCard(ctx: ViewContext, subscription: SubscriptionRecord): HTMLElement {
  return h(
    'article',
    { class: 'card', 'data-testid': 'request-card', 'data-subscription-id': subscription.subscriptionId },
    h('h2', {}, `Request ${subscription.subscriptionId}`),
    facts([
      ['Meter', subscription.meterId],
      ['Household (pseudonym)', subscription.subscriberId],
      ['Requested plan', subscription.requestedPlan],
      ['Privacy mode', privacyModeOf(subscription)],
      ['Requested', formatTime(subscription.requestedAt)],
      ['Session key', subscription.keyId],
    ]),
    grantCheck(ctx, subscription),
    h('div', { class: 'form-pair' }, approveForm(ctx, subscription), rejectForm(ctx, subscription)),
  );
}

/** Whether the household wrapped the session key for this organization: without it no reading can be read. */
function grantCheck(ctx: ViewContext, subscription: SubscriptionRecord): HTMLElement {
  const result = h('p', {
    id: idFor('grant-check-result', subscription.subscriptionId),
    class: 'result',
    'data-testid': 'grant-check-result',
    'data-keep': true,
  });
  const form = actionForm({
    id: idFor('grant-check', subscription.subscriptionId),
    className: 'inline',
    fields: [],
    submitLabel: 'Check key grant',
    submitTestId: 'grant-check-submit',
    onSubmit: async () => {
      result.textContent = '';
      const check = await getJson<GrantCheckView>(
        `${subscriptionPath(subscription.subscriptionId)}/grant-check`,
      );
      result.textContent = `Key grant OK: session key ${check.keyId} is wrapped for ${check.mspId} (key version ${check.orgKeyVersion}).`;
      return 'Key grant checked.';
    },
    onSuccess: (notice) => {
      ctx.announce(notice);
    },
  });
  return h('div', { class: 'grant-check' }, form, result);
}

function approveForm(ctx: ViewContext, subscription: SubscriptionRecord): HTMLFormElement {
  const id = subscription.subscriptionId;
  return actionForm({
    id: idFor('approve', id),
    title: 'Approve',
    fields: [
      {
        name: 'tariffId',
        label: 'Tariff',
        required: true,
        value: subscription.requestedPlan,
        testId: 'approve-tariff',
      },
      {
        name: 'regionCode',
        label: 'Region code',
        required: true,
        testId: 'approve-region',
        hint: 'Grid area path, e.g. north/d3/c12',
        attributes: { pattern: REGION_CODE_INPUT_PATTERN, autocomplete: 'off' },
      },
      {
        name: 'intervalSeconds',
        label: 'Reading interval (seconds)',
        kind: 'number',
        required: true,
        value: '1800',
        testId: 'approve-interval',
        attributes: { min: 1, step: 1 },
      },
      { name: 'startDate', label: 'First reading day (UTC)', kind: 'date', testId: 'approve-start' },
    ],
    submitLabel: 'Approve',
    submitTestId: 'approve-submit',
    onSubmit: async (values) => {
      const updated = await postJson<SubscriptionRecord>(
        `${subscriptionPath(id)}/approve`,
        approvalBody(values),
      );
      return `Subscription ${id} is ${updated.status}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

function approvalBody(values: FormValues): Record<string, string | number> {
  const intervalSeconds = Number(values.text('intervalSeconds'));
  if (!Number.isSafeInteger(intervalSeconds) || intervalSeconds < 1)
    throw new InputError('The reading interval is a whole number of seconds, like 1800.');
  const startDay = values.optional('startDate');
  return {
    tariffId: values.text('tariffId'),
    regionCode: values.text('regionCode'),
    intervalSeconds,
    ...(startDay === undefined ? {} : { startDate: startOfDay(startDay) }),
  };
}

function rejectForm(ctx: ViewContext, subscription: SubscriptionRecord): HTMLFormElement {
  const id = subscription.subscriptionId;
  return actionForm({
    id: idFor('reject', id),
    title: 'Reject',
    fields: [
      {
        name: 'reason',
        label: 'Why is it rejected?',
        kind: 'textarea',
        required: true,
        testId: 'reject-reason',
      },
    ],
    submitLabel: 'Reject',
    submitTestId: 'reject-submit',
    onSubmit: async (values) => {
      const updated = await postJson<SubscriptionRecord>(`${subscriptionPath(id)}/reject`, {
        reason: values.text('reason'),
      });
      return `Subscription ${id} is ${updated.status}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/completeness

const completenessFilter: { subscriptionId?: string; from?: string; to?: string } = {};
const MISSING_PERIODS_SHOWN = 20;

async function renderCompleteness(ctx: ViewContext): Promise<Node> {
  const all = await getJson<SubscriptionRecord[]>('/api/subscriptions');
  const candidates = all.filter((s) => s.status === 'APPROVED' || s.status === 'ACTIVE');
  const current =
    candidates.find((s) => s.subscriptionId === completenessFilter.subscriptionId) ?? candidates.at(0);
  if (!current) return page('Completeness of readings', note('No approved or active subscription.'));
  const { from, to } = completenessFilter;
  const view = await getJson<CompletenessView>(`${subscriptionPath(current.subscriptionId)}/completeness`, {
    from: from === undefined ? undefined : startOfDay(from),
    to: to === undefined ? undefined : endOfDay(to),
  });
  return page('Completeness of readings', completenessForm(ctx, candidates, view), completenessFigures(view));
}

function completenessForm(
  ctx: ViewContext,
  candidates: SubscriptionRecord[],
  view: CompletenessView,
): HTMLFormElement {
  return actionForm({
    id: 'completeness-filter',
    className: 'filter',
    fields: [
      {
        name: 'subscription',
        label: 'Subscription',
        kind: 'select',
        required: true,
        value: view.subscriptionId,
        options: subscriptionOptions(candidates),
      },
      { name: 'from', label: 'From (UTC day)', kind: 'date', required: true, value: dateOf(view.from) },
      {
        name: 'to',
        label: 'To (UTC day, included)',
        kind: 'date',
        required: true,
        value: lastDayBefore(view.to),
      },
    ],
    submitLabel: 'Check',
    onSubmit: (values) => {
      const range = dayRangeOf(values);
      completenessFilter.subscriptionId = values.text('subscription');
      completenessFilter.from = range.from;
      completenessFilter.to = range.to;
      return Promise.resolve(`Completeness of ${completenessFilter.subscriptionId}`);
    },
    onSuccess: afterChange(ctx),
  });
}

function completenessFigures(view: CompletenessView): HTMLElement {
  const shown = view.missing.slice(0, MISSING_PERIODS_SHOWN);
  const more = view.missing.length - shown.length;
  return section(
    `Readings of ${view.subscriptionId}, ${formatPeriod(view.from, view.to)}`,
    facts([
      ['Expected', formatInteger(view.expected), { 'data-testid': 'completeness-expected' }],
      ['Present', formatInteger(view.present), { 'data-testid': 'completeness-present' }],
      ['Missing', formatInteger(view.missing.length), { 'data-testid': 'completeness-missing' }],
      ['Invalid (do not decrypt)', formatInteger(view.invalid), { 'data-testid': 'completeness-invalid' }],
    ]),
    shown.length === 0
      ? note('No period is missing.')
      : h(
          'div',
          {},
          h('h3', {}, 'First missing periods'),
          h(
            'ul',
            { class: 'periods', 'data-testid': 'missing-periods' },
            ...shown.map((start) => h('li', {}, formatTime(start))),
          ),
          more > 0 ? note(`and ${formatInteger(more)} more`) : null,
        ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// #/bills

async function renderBills(ctx: ViewContext): Promise<Node> {
  const [bills, subscriptions] = await Promise.all([
    getJson<BillRecord[]>('/api/bills'),
    getJson<SubscriptionRecord[]>('/api/subscriptions'),
  ]);
  const billable = subscriptions.filter(
    (s) => s.status === 'APPROVED' || s.status === 'ACTIVE' || s.status === 'ENDED',
  );
  return page(
    'Bills',
    billable.length === 0 ? note('No subscription to bill yet.') : issueForm(ctx, billable),
    bills.length === 0
      ? note('No bills yet.')
      : dataTable({
          caption: 'Bills, disputed ones first',
          headers: ['Bill', 'Subscription', 'Period', 'Total', 'Status', 'Action'],
          rows: billsInWorkOrder(bills).map((bill) => billRow(ctx, bill)),
          testId: 'bills',
        }),
  );
}

function issueForm(ctx: ViewContext, billable: SubscriptionRecord[]): HTMLFormElement {
  return actionForm({
    id: 'issue-bill',
    title: 'Issue a bill',
    fields: [
      {
        name: 'subscription',
        label: 'Subscription',
        kind: 'select',
        required: true,
        options: subscriptionOptions(billable),
        testId: 'issue-subscription',
      },
      { name: 'from', label: 'First day (UTC)', kind: 'date', required: true, testId: 'issue-from' },
      { name: 'to', label: 'Last day (UTC, included)', kind: 'date', required: true, testId: 'issue-to' },
    ],
    submitLabel: 'Issue the bill',
    submitTestId: 'issue-submit',
    onSubmit: async (values) => {
      const range = dayRangeOf(values);
      const bill = await postJson<BillRecord>('/api/bills', {
        subscriptionId: values.text('subscription'),
        from: startOfDay(range.from),
        to: endOfDay(range.to),
      });
      return `Bill ${bill.billId} issued: ${formatMoney(bill.totalMinor, bill.currency)}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

function billRow(ctx: ViewContext, bill: BillRecord): HTMLTableRowElement {
  return tableRow(
    [
      h('td', {}, h('span', { class: 'id' }, bill.billId), ' ', billReportLink(bill, 'report')),
      bill.subscriptionId,
      formatPeriod(bill.periodFrom, bill.periodTo),
      formatMoney(bill.totalMinor, bill.currency),
      h('td', { 'data-testid': 'bill-row-status' }, statusBadge(bill.status)),
      h('td', { class: 'actions' }, billAction(ctx, bill)),
    ],
    { 'data-testid': 'bill-row', 'data-bill-id': bill.billId },
  );
}

function billAction(ctx: ViewContext, bill: BillRecord): Child {
  if (bill.status === 'DISPUTED') return resolveForm(ctx, bill);
  if (isPayable(bill)) return paymentForm(ctx, bill);
  return '—';
}

function resolveForm(ctx: ViewContext, bill: BillRecord): HTMLFormElement {
  return actionForm({
    id: idFor('resolve', bill.billId),
    title: 'Resolve the dispute',
    intro: bill.dispute
      ? h('p', { class: 'dispute-reason' }, `The household says: ${bill.dispute.reason}`)
      : null,
    fields: [
      {
        name: 'outcome',
        label: 'Outcome',
        kind: 'select',
        required: true,
        testId: 'resolve-outcome',
        options: [
          ['UPHELD', 'UPHELD: the household is right, the bill is void'],
          ['REJECTED', 'REJECTED: the bill stands'],
        ],
      },
      {
        name: 'note',
        label: 'Note to the household',
        kind: 'textarea',
        required: true,
        testId: 'resolve-note',
      },
    ],
    submitLabel: 'Resolve',
    submitTestId: 'resolve-submit',
    onSubmit: async (values) => {
      const updated = await postJson<BillRecord>(`${billPath(bill.billId)}/resolve`, {
        outcome: values.text('outcome'),
        note: values.text('note'),
      });
      return `Bill ${bill.billId} is ${updated.status} (${updated.resolution?.outcome ?? values.text('outcome')}).`;
    },
    onSuccess: afterChange(ctx),
  });
}

function paymentForm(ctx: ViewContext, bill: BillRecord): HTMLFormElement {
  const due = amountDueMinor(bill);
  return actionForm({
    id: idFor('payment', bill.billId),
    title: 'Record a payment',
    fields: [
      {
        name: 'amount',
        label: `Amount (${bill.currency})`,
        required: true,
        value: majorAmountText(due, bill.currency),
        testId: 'payment-amount',
        hint: `Due: ${formatMoney(due, bill.currency)}`,
        attributes: { inputmode: 'decimal', autocomplete: 'off' },
      },
      paymentReferenceField('payment-reference'),
    ],
    submitLabel: 'Record payment',
    submitTestId: 'payment-submit',
    onSubmit: async (values) => {
      const amountMinor = parseMajorAmount(values.text('amount'), bill.currency);
      if (amountMinor === undefined) throw new InputError(`Give the amount in ${bill.currency}, like 12.50.`);
      const updated = await postJson<BillRecord>(`${billPath(bill.billId)}/payments`, {
        amountMinor,
        reference: values.text('reference'),
      });
      return `Bill ${bill.billId} is ${updated.status}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/faulty

async function renderFaultyMeters(): Promise<Node> {
  const faulty = await getJson<FaultyMeterRecord[]>('/api/faulty-meters');
  if (faulty.length === 0) return page('Faulty meters', note('No meter has missed an aggregation round.'));
  const newestFirst = [...faulty].sort((a, b) => b.periodStart.localeCompare(a.periodStart));
  return page(
    'Faulty meters',
    dataTable({
      caption: 'Meters that did not report an aggregation round',
      headers: ['Meter', 'Region', 'Period', 'Recorded'],
      rows: newestFirst.map((meter) =>
        tableRow(
          [meter.meterId, meter.regionCode, formatTime(meter.periodStart), formatTime(meter.recordedAt)],
          {
            'data-testid': 'faulty-meter-row',
          },
        ),
      ),
      testId: 'faulty-meters',
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// #/wallets

async function renderWallets(ctx: ViewContext): Promise<Node> {
  const subscriptions = await getJson<SubscriptionRecord[]>('/api/subscriptions');
  const candidates = subscriptions.filter((s) => s.status !== 'REQUESTED' && s.status !== 'REJECTED');
  const answers = await Promise.all(candidates.map((s) => walletAnswer(s.subscriptionId)));
  const wallets: WalletView['wallet'][] = [];
  const problems: HTMLElement[] = [];
  for (const { subscriptionId, answer } of answers) {
    if (answer.ok) wallets.push(answer.value.wallet);
    else if (!isFailureWithCode(answer.error, 'NOT_FOUND'))
      problems.push(walletProblem(subscriptionId, answer.error));
  }
  if (wallets.length === 0) return page('Prepaid wallets', note('No subscription is prepaid.'), ...problems);
  return page('Prepaid wallets', topUpForm(ctx, wallets), walletTable(wallets), ...problems);
}

/** A subscription's wallet, or why there is none (NOT_FOUND: it is not prepaid). */
async function walletAnswer(
  subscriptionId: string,
): Promise<{ subscriptionId: string; answer: Settled<WalletView> }> {
  return {
    subscriptionId,
    answer: await settle(getJson<WalletView>(`${subscriptionPath(subscriptionId)}/wallet`)),
  };
}

function walletProblem(subscriptionId: string, error: unknown): HTMLElement {
  if (error instanceof ApiFailure && error.status === 401) throw error;
  return h('div', {}, h('p', {}, `The wallet of ${subscriptionId} could not be read:`), errorAlert(error));
}

function walletTable(wallets: WalletView['wallet'][]): HTMLElement {
  return dataTable({
    caption: 'Wallets',
    headers: ['Subscription', 'Balance', 'Supply', 'Settled until', 'Emergency credit'],
    rows: wallets.map((wallet) =>
      tableRow(
        [
          wallet.subscriptionId,
          formatMoney(wallet.balanceMinor, wallet.currency),
          `${wallet.supply} (${wallet.supplyReason})`,
          formatTime(wallet.settledUntil),
          wallet.emergencyCreditTakenAt === undefined
            ? 'not taken'
            : `taken ${formatTime(wallet.emergencyCreditTakenAt)}`,
        ],
        { 'data-testid': 'wallet-row', 'data-subscription-id': wallet.subscriptionId },
      ),
    ),
    testId: 'wallets',
  });
}

function topUpForm(ctx: ViewContext, wallets: WalletView['wallet'][]): HTMLFormElement {
  return actionForm({
    id: 'top-up',
    title: 'Top up a wallet',
    fields: [
      {
        name: 'subscription',
        label: 'Subscription',
        kind: 'select',
        required: true,
        testId: 'topup-subscription',
        options: wallets.map((w) => [
          w.subscriptionId,
          `${w.subscriptionId} (${formatMoney(w.balanceMinor, w.currency)})`,
        ]),
      },
      {
        name: 'amount',
        label: 'Amount',
        required: true,
        testId: 'topup-amount',
        hint: 'In the wallet’s currency, e.g. 10.00',
        attributes: { inputmode: 'decimal', autocomplete: 'off' },
      },
      paymentReferenceField('topup-reference'),
    ],
    submitLabel: 'Top up',
    submitTestId: 'topup-submit',
    onSubmit: async (values) => {
      const wallet = wallets.find((w) => w.subscriptionId === values.text('subscription'));
      if (!wallet) throw new InputError('Choose a prepaid subscription.');
      const amountMinor = parseMajorAmount(values.text('amount'), wallet.currency);
      if (amountMinor === undefined || amountMinor === 0)
        throw new InputError(`Give an amount in ${wallet.currency} above zero, like 10.00.`);
      await postJson(`${subscriptionPath(wallet.subscriptionId)}/wallet/top-up`, {
        amountMinor,
        reference: values.text('reference'),
      });
      return `Topped up ${wallet.subscriptionId} with ${formatMoney(amountMinor, wallet.currency)}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------

export const distributorPages: PartyPages = {
  landing: '/requests',
  routes: [
    { path: '/requests', label: 'Requests', render: renderRequests },
    { path: '/completeness', label: 'Completeness', render: renderCompleteness },
    { path: '/bills', label: 'Bills', render: renderBills },
    { path: '/faulty', label: 'Faulty meters', render: renderFaultyMeters },
    { path: '/wallets', label: 'Wallets', render: renderWallets },
  ],
};
