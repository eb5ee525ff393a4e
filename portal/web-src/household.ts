/**
 * The household's pages: its subscriptions, its consumption (decrypted by the server with the household's own
 * key), the tariff in force, its bills and their check against the ledger, requests for its personal data,
 * ending a subscription, and a prepaid wallet when it has one.
 *
 * The pages work on one subscription at a time, chosen on the overview or with the picker; the choice is kept
 * in memory only, like everything else in the page.
 */
import type {
  AccessRequestRecord,
  BillRecord,
  BillVerificationView,
  Bucket,
  ConsumptionView,
  LedgerEvent,
  SubscriptionRecord,
  TariffRecord,
  TariffView,
  WalletView,
} from '../src/api';
import { seriesChart } from './charts.js';
import { dataTable, facts, h, idFor, routeLink, tableRow, type Child } from './dom.js';
import { actionForm, dayRangeOf, errorAlert, InputError } from './forms.js';
import {
  bucketLabel,
  chartUnit,
  dateOf,
  endOfDay,
  formatBasisPoints,
  formatEnergy,
  formatInteger,
  formatMinuteOfDay,
  formatMoney,
  formatPerDay,
  formatPeriod,
  formatPricePerKwh,
  formatQuantity,
  formatTime,
  formatUtcOffset,
  isoSeconds,
  lastDayBefore,
  parseMajorAmount,
  startOfDay,
} from './format.js';
import { ApiFailure, getJson, isFailureWithCode, postJson, segment, settle, type Query } from './http.js';
import {
  billFigures,
  billHistory,
  billLineItems,
  billPath,
  billReportLink,
  OPEN_SUBSCRIPTION_STATUSES,
  priceSignalChart,
  privacyModeOf,
  regionOf,
  subscriptionFacts,
  subscriptionPath,
  walletFacts,
} from './ledgerViews.js';
import { afterChange, note, page, section, statusBadge, type PartyPages, type ViewContext } from './views.js';

// ---------------------------------------------------------------------------------------------------------------
// The subscription the pages show

interface Selection {
  subscriptions: SubscriptionRecord[];
  current: SubscriptionRecord | undefined;
}

let selectedId: string | undefined;
/** The subscription whose wallet was looked for last, and whether it has one (the Wallet link shows then). */
let walletCheckedFor: string | undefined;
let walletAvailable = false;

async function loadSelection(ctx: ViewContext): Promise<Selection> {
  const subscriptions = await getJson<SubscriptionRecord[]>('/api/subscriptions');
  const current =
    subscriptions.find((subscription) => subscription.subscriptionId === selectedId) ??
    subscriptions.find((subscription) => subscription.status === 'ACTIVE') ??
    subscriptions.at(0);
  selectedId = current?.subscriptionId;
  await checkWallet(ctx, selectedId);
  return { subscriptions, current };
}

function choose(ctx: ViewContext, subscriptionId: string): void {
  selectedId = subscriptionId;
  ctx.announce(`Showing subscription ${subscriptionId}`);
  ctx.refresh();
}

async function checkWallet(ctx: ViewContext, subscriptionId: string | undefined): Promise<void> {
  if (subscriptionId === walletCheckedFor) return;
  walletCheckedFor = subscriptionId;
  setWalletAvailable(ctx, subscriptionId !== undefined && (await hasWallet(subscriptionId)));
}

function setWalletAvailable(ctx: ViewContext, available: boolean): void {
  if (available === walletAvailable) return;
  walletAvailable = available;
  ctx.updateNav();
}

async function hasWallet(subscriptionId: string): Promise<boolean> {
  try {
    await getJson<WalletView>(walletPath(subscriptionId));
    return true;
  } catch (error) {
    // Only a lost session stops the page; any other answer means there is no wallet to show.
    if (error instanceof ApiFailure && error.status === 401) throw error;
    return false;
  }
}

function walletPath(subscriptionId: string): string {
  return `${subscriptionPath(subscriptionId)}/wallet`;
}

/** A page about the chosen subscription, with the picker when there is more than one. */
async function subscriptionPage(
  ctx: ViewContext,
  title: string,
  body: (subscription: SubscriptionRecord) => Promise<Child[]>,
): Promise<Node> {
  const selection = await loadSelection(ctx);
  if (!selection.current)
    return page(title, note('You have no subscription yet: request one with meterctl subscription request.'));
  return page(
    title,
    subscriptionPicker(ctx, selection, selection.current),
    ...(await body(selection.current)),
  );
}

function subscriptionPicker(
  ctx: ViewContext,
  selection: Selection,
  current: SubscriptionRecord,
): HTMLElement {
  if (selection.subscriptions.length < 2)
    return h(
      'p',
      { class: 'current-subscription' },
      `Subscription ${current.subscriptionId} (${current.status})`,
    );
  return actionForm({
    id: 'subscription-picker',
    className: 'picker',
    fields: [
      {
        name: 'subscription',
        label: 'Subscription',
        kind: 'select',
        required: true,
        value: current.subscriptionId,
        options: selection.subscriptions.map((s) => [s.subscriptionId, `${s.subscriptionId} (${s.status})`]),
      },
    ],
    submitLabel: 'Show',
    onSubmit: (values) => Promise.resolve(values.text('subscription')),
    onSuccess: (subscriptionId) => {
      choose(ctx, subscriptionId);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/ overview

async function renderOverview(ctx: ViewContext): Promise<Node> {
  const selection = await loadSelection(ctx);
  if (selection.subscriptions.length === 0)
    return page(
      'Your subscriptions',
      note('You have no subscription yet: request one with meterctl subscription request.'),
    );
  const rows = selection.subscriptions.map((subscription) =>
    overviewRow(ctx, subscription, selection.current),
  );
  return page(
    'Your subscriptions',
    dataTable({
      caption: 'Your subscriptions',
      headers: [
        'Subscription',
        'Status',
        'Distributor',
        'Meter',
        'Region',
        'Privacy mode',
        'Requested',
        'Shown',
      ],
      rows,
      testId: 'subscriptions',
    }),
  );
}

function overviewRow(
  ctx: ViewContext,
  subscription: SubscriptionRecord,
  current: SubscriptionRecord | undefined,
): HTMLTableRowElement {
  const id = subscription.subscriptionId;
  const isCurrent = current?.subscriptionId === id;
  return tableRow(
    [
      id,
      statusBadge(subscription.status),
      subscription.distributorMspId,
      subscription.meterId,
      regionOf(subscription),
      privacyModeOf(subscription),
      formatTime(subscription.requestedAt),
      isCurrent ? h('span', { class: 'current' }, 'Shown on every page') : chooseButton(ctx, id),
    ],
    {
      'data-testid': 'subscription-row',
      'data-subscription-id': id,
      'aria-current': isCurrent ? 'true' : undefined,
    },
  );
}

function chooseButton(ctx: ViewContext, subscriptionId: string): HTMLButtonElement {
  const button = h(
    'button',
    { type: 'button', 'aria-label': `Show subscription ${subscriptionId}` },
    'Show this one',
  );
  button.addEventListener('click', () => {
    choose(ctx, subscriptionId);
  });
  return button;
}

// ---------------------------------------------------------------------------------------------------------------
// #/consumption

/** The range and bucket chosen on the page; dates as the date inputs hold them (YYYY-MM-DD, UTC days). */
const consumptionFilter: { bucket: Bucket; from?: string; to?: string } = { bucket: 'day' };

function renderConsumption(ctx: ViewContext): Promise<Node> {
  return subscriptionPage(ctx, 'Consumption', async (subscription) => {
    const view = await getJson<ConsumptionView>(
      `${subscriptionPath(subscription.subscriptionId)}/consumption`,
      consumptionQuery(),
    );
    return [consumptionForm(ctx, view), consumptionFigures(view), consumptionChart(view)];
  });
}

/** Without a chosen range the server's default applies (this UTC month so far). */
function consumptionQuery(): Query {
  const { bucket, from, to } = consumptionFilter;
  return {
    bucket,
    from: from === undefined ? undefined : startOfDay(from),
    to: to === undefined ? undefined : endOfDay(to),
  };
}

function consumptionForm(ctx: ViewContext, view: ConsumptionView): HTMLFormElement {
  return actionForm({
    id: 'consumption-filter',
    className: 'filter',
    fields: [
      {
        name: 'bucket',
        label: 'Per',
        kind: 'select',
        value: view.bucket,
        required: true,
        options: [
          ['hour', 'hour'],
          ['day', 'day'],
          ['month', 'month'],
        ],
      },
      { name: 'from', label: 'From (UTC day)', kind: 'date', value: dateOf(view.from), required: true },
      {
        name: 'to',
        label: 'To (UTC day, included)',
        kind: 'date',
        value: lastDayBefore(view.to),
        required: true,
      },
    ],
    submitLabel: 'Show',
    onSubmit: (values) => {
      const range = dayRangeOf(values);
      consumptionFilter.bucket = bucketOf(values.text('bucket'));
      consumptionFilter.from = range.from;
      consumptionFilter.to = range.to;
      return Promise.resolve(`Consumption from ${range.from} to ${range.to}`);
    },
    onSuccess: afterChange(ctx),
  });
}

function bucketOf(value: string): Bucket {
  if (value === 'hour' || value === 'day' || value === 'month') return value;
  throw new InputError(`choose hour, day or month (not ${value})`);
}

function consumptionFigures(view: ConsumptionView): HTMLElement {
  const total = h(
    'span',
    { 'data-testid': 'consumption-total', 'data-wh': Math.round(view.total.quantity) },
    formatQuantity(view.total.quantity, view.unit),
  );
  const pairs: [string, Child][] = [
    ['Period', formatPeriod(view.from, view.to)],
    ['Total', total],
    ['Readings', h('span', { 'data-testid': 'consumption-readings' }, String(view.total.readings))],
    ['Cost so far', h('span', { 'data-testid': 'cost-so-far' }, costText(view))],
  ];
  if (view.undecryptable > 0)
    pairs.push(['Readings that do not decrypt (not counted)', formatInteger(view.undecryptable)]);
  return facts(pairs);
}

function costText(view: ConsumptionView): string {
  if (!view.cost) return `Not available${view.costNote === undefined ? '' : `: ${view.costNote}`}`;
  const { currency, totalMinor, energyWh, costTo } = view.cost;
  return `${formatMoney(totalMinor, currency)} for ${formatEnergy(energyWh)}, up to ${formatTime(costTo)}`;
}

function consumptionChart(view: ConsumptionView): HTMLElement {
  const quantities = view.buckets.map((bucket) => bucket.quantity);
  const sum = quantities.reduce((total, quantity) => total + quantity, 0);
  const unit = chartUnit(view.unit);
  return seriesChart({
    testId: 'consumption-chart',
    kind: 'bar',
    label: `Consumption per ${view.bucket} in ${unit}, ${formatPeriod(view.from, view.to)}`,
    summary: consumptionSummary(view),
    categories: view.buckets.map((bucket) => bucketLabel(bucket.start, view.bucket)),
    values: quantities.map((quantity) => Math.round(quantity) / 1000),
    seriesName: `Consumption (${unit})`,
    yAxisName: unit,
    drawnAttributes: {
      'data-points': String(view.buckets.length),
      'data-sum-wh': String(Math.round(sum * 1000) / 1000),
    },
  });
}

function consumptionSummary(view: ConsumptionView): string {
  const highest = view.buckets.reduce<ConsumptionView['buckets'][number] | undefined>(
    (best, bucket) => (best === undefined || bucket.quantity > best.quantity ? bucket : best),
    undefined,
  );
  if (!highest) return 'No readings in this period.';
  return `${view.buckets.length} ${view.bucket}s, ${formatQuantity(view.total.quantity, view.unit)} in all; the highest was ${bucketLabel(highest.start, view.bucket)} with ${formatQuantity(highest.quantity, view.unit)}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// #/tariff

const SIGNAL_DAYS = 7;

function renderTariff(ctx: ViewContext): Promise<Node> {
  return subscriptionPage(ctx, 'Tariff', async (subscription) => {
    const to = new Date();
    const from = new Date(to.getTime() - SIGNAL_DAYS * 86_400_000);
    const view = await getJson<TariffView>(`${subscriptionPath(subscription.subscriptionId)}/tariff`, {
      from: isoSeconds(from),
      to: isoSeconds(to),
    });
    return [
      tariffFacts(view.tariff),
      section('Prices', pricing(view.tariff)),
      section(
        `Price signals of the last ${SIGNAL_DAYS} days`,
        priceSignalChart(
          view.signals,
          `Price signals of your region, ${formatPeriod(isoSeconds(from), isoSeconds(to))}`,
        ),
      ),
    ];
  });
}

function tariffFacts(tariff: TariffRecord): HTMLElement {
  const pairs: [string, Child, Record<string, string>?][] = [
    ['Tariff', tariff.tariffId, { 'data-testid': 'tariff-id' }],
    ['Version', String(tariff.version), { 'data-testid': 'tariff-version' }],
    ['In force from', formatTime(tariff.effectiveFrom)],
    ['Published', `${formatTime(tariff.publishedAt)} by ${tariff.distributorMspId}`],
    ['Currency', tariff.currency, { 'data-testid': 'tariff-currency' }],
    [
      'Standing charge',
      formatPerDay(tariff.standingChargeMicroPerDay, tariff.currency),
      { 'data-testid': 'standing-charge' },
    ],
    ['Tax', formatBasisPoints(tariff.taxBasisPoints)],
    ['Times are in', formatUtcOffset(tariff.utcOffsetMinutes)],
  ];
  if (tariff.feedbackThresholdWhPerDay !== undefined)
    pairs.push(['Compared with a daily use of', formatEnergy(tariff.feedbackThresholdWhPerDay)]);
  return facts(pairs);
}

function pricing(tariff: TariffRecord): HTMLElement {
  const price = (micro: number) => formatPricePerKwh(micro, tariff.currency);
  const rule = tariff.pricing;
  switch (rule.kind) {
    case 'flat':
      return h('p', {}, `One price at all times: ${price(rule.priceMicroPerKwh)}.`);
    case 'dynamic':
      return h(
        'p',
        {},
        `The price follows the authority's price signals for your region; ${price(rule.basePriceMicroPerKwh)} when there is none.`,
      );
    case 'timeOfUse':
      return dataTable({
        caption: 'Time-of-use bands',
        headers: ['Band', 'Days', 'From', 'Until', 'Price'],
        rows: rule.bands.map((band) =>
          tableRow([
            band.name,
            band.days.join(', '),
            formatMinuteOfDay(band.startMinute),
            formatMinuteOfDay(band.endMinute),
            price(band.priceMicroPerKwh),
          ]),
        ),
      });
    case 'tiered':
      return dataTable({
        caption: 'Tiers of the month’s energy (from the 1st, 00:00 UTC)',
        headers: ['Tier', 'Up to', 'Price'],
        rows: rule.tiers.map((tier, index) =>
          tableRow([
            `tier ${index + 1}`,
            tier.upToWh === null ? 'the rest' : formatEnergy(tier.upToWh),
            price(tier.priceMicroPerKwh),
          ]),
        ),
      });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// #/bills and #/bills/<id>

function renderBills(ctx: ViewContext): Promise<Node> {
  if (ctx.param !== undefined) return renderBill(ctx, ctx.param);
  return subscriptionPage(ctx, 'Bills', async (subscription) => {
    const bills = await getJson<BillRecord[]>('/api/bills', { subscription: subscription.subscriptionId });
    if (bills.length === 0) return [note('No bills yet.')];
    const newestFirst = [...bills].sort((a, b) => b.periodFrom.localeCompare(a.periodFrom));
    return [
      dataTable({
        caption: `Bills of ${subscription.subscriptionId}`,
        headers: ['Period', 'Total', 'Status', 'Issued'],
        rows: newestFirst.map(billListRow),
        testId: 'bills',
      }),
    ];
  });
}

function billListRow(bill: BillRecord): HTMLTableRowElement {
  return tableRow(
    [
      routeLink(`/bills/${encodeURIComponent(bill.billId)}`, formatPeriod(bill.periodFrom, bill.periodTo)),
      formatMoney(bill.totalMinor, bill.currency),
      h('td', { 'data-testid': 'bill-row-status' }, bill.status),
      formatTime(bill.issuedAt),
    ],
    { 'data-testid': 'bill-row', 'data-bill-id': bill.billId },
  );
}

async function renderBill(ctx: ViewContext, billId: string): Promise<Node> {
  const [bill, verification] = await Promise.all([
    getJson<BillRecord>(billPath(billId)),
    settle(getJson<BillVerificationView>(`${billPath(billId)}/verification`)),
  ]);
  return page(
    `Bill of ${formatPeriod(bill.periodFrom, bill.periodTo)}`,
    h('p', {}, routeLink('/bills', 'All bills')),
    h('p', { class: 'bill-status-line' }, 'Status: ', statusBadge(bill.status, 'bill-status')),
    verification.ok ? verificationBadge(verification.value) : verificationFailed(verification.error),
    billFigures(bill),
    billLineItems(bill),
    billHistory(bill),
    h('p', {}, billReportLink(bill)),
    bill.status === 'ISSUED' ? disputeForm(ctx, bill) : null,
  );
}

function verificationBadge(verification: BillVerificationView): HTMLElement {
  const notes =
    verification.notes.length === 0
      ? null
      : h('ul', { class: 'notes' }, ...verification.notes.map((text) => h('li', {}, text)));
  if (verification.ok)
    return h(
      'div',
      { class: 'verification' },
      h('p', { class: 'verified', 'data-testid': 'bill-verified' }, 'Verified against the ledger'),
      notes,
    );
  return h(
    'div',
    { class: 'verification mismatch', 'data-testid': 'bill-mismatch' },
    h('p', {}, 'This bill does not match what the ledger gives:'),
    h('ul', {}, ...verification.differences.map((difference) => h('li', {}, difference))),
    notes,
  );
}

function verificationFailed(error: unknown): HTMLElement {
  return h(
    'div',
    { class: 'verification' },
    h('p', {}, 'The bill could not be checked against the ledger:'),
    errorAlert(error),
  );
}

function disputeForm(ctx: ViewContext, bill: BillRecord): HTMLFormElement {
  return actionForm({
    id: idFor('dispute', bill.billId),
    title: 'Dispute this bill',
    fields: [
      {
        name: 'reason',
        label: 'Why do you dispute this bill?',
        kind: 'textarea',
        required: true,
        testId: 'dispute-reason',
      },
    ],
    submitLabel: 'Dispute the bill',
    submitTestId: 'dispute-submit',
    onSubmit: async (values) => {
      const updated = await postJson<BillRecord>(`${billPath(bill.billId)}/dispute`, {
        reason: values.text('reason'),
      });
      return `The bill is now ${updated.status}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/personal-data

function renderPersonalData(ctx: ViewContext): Promise<Node> {
  return subscriptionPage(ctx, 'Requests for your personal data', async (subscription) => {
    const requests = await getJson<AccessRequestRecord[]>('/api/personal-data', {
      subscription: subscription.subscriptionId,
    });
    if (requests.length === 0) return [note('Nobody has asked for your personal data.')];
    const pendingFirst = (request: AccessRequestRecord) => (request.status === 'PENDING' ? 0 : 1);
    const ordered = [...requests].sort(
      (a, b) => pendingFirst(a) - pendingFirst(b) || b.requestedAt.localeCompare(a.requestedAt),
    );
    return [
      h('ul', { class: 'cards' }, ...ordered.map((request) => h('li', {}, accessRequestCard(ctx, request)))),
    ];
  });
}

function accessRequestCard(ctx: ViewContext, request: AccessRequestRecord): HTMLElement {
  const pairs: [string, Child][] = [
    ['Who asks', `${request.requesterMspId} (${request.requesterRole})`],
    ['Why', request.reason],
    ['Status', statusBadge(request.status, 'access-request-status')],
    ['Asked', formatTime(request.requestedAt)],
  ];
  if (request.decidedAt !== undefined) pairs.push(['Decided', formatTime(request.decidedAt)]);
  if (request.denialReason !== undefined) pairs.push(['Why you refused', request.denialReason]);
  if (request.deliveredHash !== undefined)
    pairs.push(['Delivered (SHA-256 of the sealed data)', request.deliveredHash]);
  return h(
    'article',
    { class: 'card', 'data-testid': 'access-request', 'data-request-id': request.requestId },
    h('h2', {}, `Request ${request.requestId}`),
    facts(pairs),
    request.status === 'PENDING' ? grantForm(ctx, request) : null,
    request.status === 'PENDING' ? denyForm(ctx, request) : null,
  );
}

function personalDataPath(request: AccessRequestRecord): string {
  return `/api/personal-data/${segment(request.requestId)}`;
}

function grantForm(ctx: ViewContext, request: AccessRequestRecord): HTMLFormElement {
  return actionForm({
    id: idFor('grant', request.requestId),
    title: 'Share the data',
    intro: h(
      'p',
      { class: 'hint' },
      `Only ${request.requesterMspId} can open it: it is sealed for the key of this request.`,
    ),
    fields: [
      { name: 'data', label: 'Data to share', kind: 'textarea', required: true, testId: 'grant-data' },
    ],
    submitLabel: 'Grant the request',
    submitTestId: 'grant-submit',
    onSubmit: async (values) => {
      await postJson(`${personalDataPath(request)}/grant`, { data: values.raw('data') });
      return `Request ${request.requestId} granted.`;
    },
    onSuccess: afterChange(ctx),
  });
}

function denyForm(ctx: ViewContext, request: AccessRequestRecord): HTMLFormElement {
  return actionForm({
    id: idFor('deny', request.requestId),
    title: 'Refuse the request',
    fields: [
      {
        name: 'reason',
        label: 'Why do you refuse?',
        kind: 'textarea',
        required: true,
        testId: 'deny-reason',
      },
    ],
    submitLabel: 'Deny the request',
    submitTestId: 'deny-submit',
    onSubmit: async (values) => {
      await postJson(`${personalDataPath(request)}/deny`, { reason: values.text('reason') });
      return `Request ${request.requestId} denied.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/subscription

function renderSubscription(ctx: ViewContext): Promise<Node> {
  return subscriptionPage(ctx, 'Subscription', (subscription) =>
    Promise.resolve([
      subscriptionFacts(subscription),
      OPEN_SUBSCRIPTION_STATUSES.includes(subscription.status) ? endForm(ctx, subscription) : null,
    ]),
  );
}

function endForm(ctx: ViewContext, subscription: SubscriptionRecord): HTMLFormElement {
  const id = subscription.subscriptionId;
  return actionForm({
    id: idFor('end', id),
    title: 'End the subscription',
    fields: [
      { name: 'reason', label: 'Why does it end?', kind: 'textarea', required: true, testId: 'end-reason' },
      {
        name: 'effective',
        label: 'Ends on (UTC day)',
        kind: 'date',
        testId: 'end-effective',
        hint: 'Readings of periods from 00:00 UTC of this day on are refused. Leave it empty to end it now.',
      },
    ],
    submitLabel: 'End the subscription',
    submitTestId: 'end-submit',
    confirm: (values) => {
      const day = values.optional('effective');
      return `End subscription ${id} ${day === undefined ? 'now' : `on ${day}`}? It cannot be started again.`;
    },
    onSubmit: async (values) => {
      const day = values.optional('effective');
      const body = {
        reason: values.text('reason'),
        ...(day === undefined ? {} : { effectiveAt: startOfDay(day) }),
      };
      const updated = await postJson<SubscriptionRecord>(`${subscriptionPath(id)}/end`, body);
      return `Subscription ${id} is ${updated.status}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// #/wallet

function renderWallet(ctx: ViewContext): Promise<Node> {
  return subscriptionPage(ctx, 'Prepaid wallet', async (subscription) => {
    const id = subscription.subscriptionId;
    let view: WalletView;
    try {
      view = await getJson<WalletView>(walletPath(id));
    } catch (error) {
      if (!isFailureWithCode(error, 'NOT_FOUND')) throw error;
      setWalletAvailable(ctx, false);
      return [note(`Subscription ${id} is not prepaid.`)];
    }
    setWalletAvailable(ctx, true);
    return [walletFacts(view.wallet), transferForm(ctx, view), emergencyCreditForm(ctx, view)];
  });
}

function transferForm(ctx: ViewContext, view: WalletView): HTMLFormElement {
  const { subscriptionId, currency } = view.wallet;
  return actionForm({
    id: 'wallet-transfer',
    title: 'Move credit to another of your subscriptions',
    fields: [
      {
        name: 'to',
        label: 'To subscription',
        required: true,
        testId: 'transfer-to',
        attributes: { autocomplete: 'off' },
      },
      {
        name: 'amount',
        label: `Amount (${currency})`,
        required: true,
        testId: 'transfer-amount',
        attributes: { inputmode: 'decimal', autocomplete: 'off' },
      },
    ],
    submitLabel: 'Transfer',
    submitTestId: 'transfer-submit',
    onSubmit: async (values) => {
      const amountMinor = positiveAmount(values.text('amount'), currency);
      await postJson(`${walletPath(subscriptionId)}/transfer`, { to: values.text('to'), amountMinor });
      return `Moved ${formatMoney(amountMinor, currency)} to ${values.text('to')}.`;
    },
    onSuccess: afterChange(ctx),
  });
}

function positiveAmount(text: string, currency: string): number {
  const amountMinor = parseMajorAmount(text, currency);
  if (amountMinor === undefined || amountMinor === 0)
    throw new InputError(`Give an amount in ${currency} above zero, like 12.50.`);
  return amountMinor;
}

function emergencyCreditForm(ctx: ViewContext, view: WalletView): HTMLFormElement {
  const { subscriptionId, currency, emergencyCreditMinor } = view.wallet;
  return actionForm({
    id: 'wallet-emergency-credit',
    title: 'Emergency credit',
    intro: h(
      'p',
      { class: 'hint' },
      `When the balance is low you may take emergency credit once: the balance may then go down to ${formatMoney(-emergencyCreditMinor, currency)}. A top-up repays it.`,
    ),
    fields: [],
    submitLabel: 'Take emergency credit',
    submitTestId: 'emergency-credit-submit',
    onSubmit: async () => {
      await postJson(`${walletPath(subscriptionId)}/emergency-credit`, {});
      return 'Emergency credit taken.';
    },
    onSuccess: afterChange(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------------

export const householdPages: PartyPages = {
  landing: '/consumption',
  routes: [
    { path: '/', label: 'Overview', render: renderOverview },
    { path: '/consumption', label: 'Consumption', render: renderConsumption },
    { path: '/tariff', label: 'Tariff', render: renderTariff },
    { path: '/bills', label: 'Bills', takesParam: true, render: renderBills },
    { path: '/personal-data', label: 'Personal data', render: renderPersonalData },
    { path: '/subscription', label: 'Subscription', render: renderSubscription },
    { path: '/wallet', label: 'Wallet', visible: () => walletAvailable, render: renderWallet },
  ],
  onLedgerEvent: (event: LedgerEvent) => {
    // A wallet may have been opened since the last look.
    if (event.name === 'WalletChanged' || event.name === 'Transfer') walletCheckedFor = undefined;
  },
};
