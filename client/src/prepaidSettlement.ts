import {
  computeAggregateBill,
  isoSeconds,
  periodsStartingIn,
  runningTotalsSince,
  supplyFor,
  type BillComputation,
  type BillRecord,
  type PeriodSchedule,
  type SettlementRecord,
  type SubscriptionRecord,
  type SupplyReason,
  type SupplyState,
  type WalletRecord,
} from '@smartmeter/domain';
import {
  fetchAggregateEvidence,
  openPeriods,
  requireRoundsFinal,
  type AggregateSources,
} from './aggregateBilling';
import { recomputeBill, type CostEvidence } from './billVerify';
import type { BillingClient } from './contracts/BillingClient';
import type { MeasurementClient } from './contracts/MeasurementClient';
import type { PrepaidClient } from './contracts/PrepaidClient';
import type { SubscriptionClient } from './contracts/SubscriptionClient';
import { ClientRefusal, describeFailure, refusalOf, UsageError } from './errors';

/**
 * Prepaid settlements (exhaustion) as the distributor runs them and the household checks them. `disclosed`
 * wallets are priced by the endorsers from the encrypted readings (Prepaid:Settle, the session key as transient
 * data); `aggregate` wallets are priced here from the household's shares and claimed with Prepaid:SettleAggregate
 * (no transient data: the key stays with the distributor). Either way a settlement records the cost of
 * [costFrom, periodTo) and debits that cost less the month's earlier settlements, which is what
 * verifySettlements recomputes with the household's own key.
 */

type Approval = NonNullable<SubscriptionRecord['approval']>;

function approvalOf(subscription: SubscriptionRecord): Approval {
  if (!subscription.approval)
    throw new UsageError(
      `subscription ${subscription.subscriptionId} is not approved: it has no wallet to settle`,
    );
  return subscription.approval;
}

function laterOf(a: string, b: string | undefined): string {
  return b !== undefined && b > a ? b : a;
}

// ---------------------------------------------------------------------------------------------------------------
// Where a settlement starts, and its cost basis: the chaincode's rules (PrepaidContract settlementWindow)

/**
 * Where the subscription's bills end: the latest periodTo of its bills, those voided by an upheld dispute aside
 * (the chaincode's billedUntil). Undefined without a bill.
 */
export function billedUntilOf(
  bills: readonly Pick<BillRecord, 'periodTo' | 'status' | 'resolution'>[],
): string | undefined {
  let latest: string | undefined;
  for (const bill of bills) {
    if (bill.status === 'RESOLVED' && bill.resolution?.outcome === 'UPHELD') continue;
    latest = laterOf(bill.periodTo, latest);
  }
  return latest;
}

/** Where the next settlement starts: after the last settlement, or after the last bill (its periods are paid). */
export function settlementStart(
  wallet: Pick<WalletRecord, 'settledUntil'>,
  bills: readonly Pick<BillRecord, 'periodTo' | 'status' | 'resolution'>[],
): string {
  return laterOf(wallet.settledUntil, billedUntilOf(bills));
}

/**
 * Where the cost basis of a settlement starting at `periodFrom` starts: the 1st of its month (running totals),
 * unless the last bill ends later in the month or the subscription started later. The cost of [costFrom,
 * periodTo) less what the month's earlier settlements debited is what the settlement debits, so a reading or
 * price that arrived late is charged in the next settlement instead of being lost.
 */
export function costFromOf(
  periodFrom: string,
  billedUntil: string | undefined,
  subscriptionStart: string,
): string {
  return laterOf(laterOf(runningTotalsSince(periodFrom), billedUntil), subscriptionStart);
}

export interface SettlementAnchor {
  /** Where the settlement's range starts. */
  periodFrom: string;
  /** Where its cost basis starts (costFromOf). */
  costFrom: string;
}

export function settlementAnchor(
  wallet: Pick<WalletRecord, 'settledUntil'>,
  bills: readonly Pick<BillRecord, 'periodTo' | 'status' | 'resolution'>[],
  approval: Pick<Approval, 'startDate'>,
): SettlementAnchor {
  const periodFrom = settlementStart(wallet, bills);
  return { periodFrom, costFrom: costFromOf(periodFrom, billedUntilOf(bills), approval.startDate) };
}

/**
 * What a settlement without --to settles up to: the last period boundary at least `graceSeconds` before now (so
 * that the meter's reading of the last period, sent up to a minute after it ends, is in), never past the 1st of
 * the next month (a settlement never crosses a month) nor past the subscription's end. `settledUntil` itself
 * when no period has ended since.
 */
export function lastBoundary(
  schedule: PeriodSchedule,
  settledUntil: string,
  nowSeconds: number,
  graceSeconds = 300,
  subscriptionEnd?: string,
): string {
  const from = Date.parse(settledUntil) / 1000;
  const month = new Date(from * 1000);
  const limit = Math.min(
    nowSeconds - graceSeconds,
    Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1) / 1000,
    subscriptionEnd === undefined ? Infinity : Date.parse(subscriptionEnd) / 1000,
  );
  let last = from;
  for (const period of periodsStartingIn(schedule, from, limit)) {
    const end = period.startSeconds + period.intervalSeconds;
    if (end > limit) break;
    last = end;
  }
  return isoSeconds(last);
}

// ---------------------------------------------------------------------------------------------------------------
// Settling one wallet

export interface AggregateSettlementOptions {
  sources: AggregateSources;
  prepaid: Pick<PrepaidClient, 'settleAggregate'>;
  billing: Pick<BillingClient, 'forSubscription'>;
  subscription: SubscriptionRecord;
  wallet: WalletRecord;
  /** The household's session key, unwrapped by the distributor: it is used here and sent nowhere. */
  sessionKey: Uint8Array;
  periodTo: string;
  /** The subscription's bills, when the caller has them already. */
  bills?: readonly BillRecord[];
}

/**
 * An `aggregate` wallet's settlement: the cost of [costFrom, periodTo) from the household's shares, by the same
 * computeAggregateBill as its bills, claimed with SettleAggregate. The rounds it rests on are checked first, as
 * the chaincode checks them: nothing is submitted while one is open or FAULT (ROUNDS_NOT_CLOSED).
 */
export async function settleAggregateWallet(options: AggregateSettlementOptions): Promise<WalletRecord> {
  const { subscription, periodTo } = options;
  if (subscription.privacyMode !== 'aggregate')
    throw new UsageError(
      `${subscription.subscriptionId} is a disclosed subscription: the endorsers price its readings (Prepaid:Settle)`,
    );
  const bills = options.bills ?? (await options.billing.forSubscription(subscription.subscriptionId));
  const { periodFrom, costFrom } = settlementAnchor(options.wallet, bills, approvalOf(subscription));
  if (periodTo <= periodFrom)
    throw new ClientRefusal(
      'CONFLICT',
      `${subscription.subscriptionId} is settled or billed until ${periodFrom}: there is nothing to settle up to ${periodTo}`,
    );
  await requireRoundsFinal(options.sources, subscription, costFrom, periodTo);
  const evidence = await fetchAggregateEvidence(
    options.sources,
    subscription,
    options.sessionKey,
    costFrom,
    periodTo,
  );
  const { ledger } = computeAggregateBill(options.sessionKey, evidence);
  return options.prepaid.settleAggregate(subscription.subscriptionId, periodTo, {
    costFrom,
    computation: ledger,
  });
}

/** The contract clients settlements go through (meterctl's ContractClients are these and more). */
export interface SettlementClients extends AggregateSources {
  prepaid: Pick<PrepaidClient, 'settle' | 'settleAggregate' | 'settlements' | 'wallets' | 'refreshSupply'>;
  billing: Pick<BillingClient, 'forSubscription'>;
  subscriptions: Pick<SubscriptionClient, 'get'>;
}

export interface WalletSettlementOptions {
  clients: Pick<SettlementClients, 'prepaid' | 'billing' | 'aggregation' | 'pricing'>;
  subscription: SubscriptionRecord;
  wallet: WalletRecord;
  periodTo: string;
  sessionKey: Uint8Array;
  /** Disclosed: the organizations that endorse the session key as transient data (transientEndorsers). */
  endorsingOrganizations: string[];
  bills?: readonly BillRecord[];
}

/**
 * A settlement by the subscription's privacy mode: `disclosed` by the endorsers (the session key as transient
 * data to the endorsing organizations only), `aggregate` from the shares (settleAggregateWallet; the key goes
 * nowhere).
 */
export function settleWallet(options: WalletSettlementOptions): Promise<WalletRecord> {
  const { clients, subscription } = options;
  if (subscription.privacyMode === 'aggregate')
    return settleAggregateWallet({
      ...options,
      sources: clients,
      prepaid: clients.prepaid,
      billing: clients.billing,
    });
  return clients.prepaid.settle(
    subscription.subscriptionId,
    options.periodTo,
    options.sessionKey,
    options.endorsingOrganizations,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The operator's periodic settlement of every wallet

export type SettleOutcome = 'settled' | 'up-to-date' | 'refreshed' | 'skipped' | 'failed';

/** What happened to one wallet in a pass of settleAll. */
export interface SettleRow {
  subscriptionId: string;
  outcome: SettleOutcome;
  /** The range settled (settled), or that was to be settled (skipped). */
  periodFrom?: string;
  periodTo?: string;
  /** What the settlement debited (negative: credited back). */
  amountMinor?: number;
  /** The balance after this pass. */
  balanceMinor?: number;
  currency?: string;
  supply?: SupplyState;
  supplyReason?: SupplyReason;
  /** skipped: the refusal's code (ROUNDS_NOT_CLOSED, CONFLICT, ...). */
  code?: string;
  message?: string;
}

export interface SettleAllOptions {
  clients: SettlementClients;
  distributorMspId: string;
  now: Date;
  /** How long after a period ends it is settled (lastBoundary). */
  graceSeconds: number;
  /** Settle every wallet up to this boundary instead of its last one (e.g. the 1st, before a bill run). */
  to?: string;
  /** The subscription's session key as the distributor unwraps it (sessionKeyFor). */
  sessionKeyOf(subscription: SubscriptionRecord): Uint8Array;
  /** Who endorses a disclosed settlement (transientEndorsers). */
  endorsersOf(subscription: SubscriptionRecord): string[];
  /** Called after each wallet, e.g. to print progress on stderr. */
  onProgress?(row: SettleRow, done: number, total: number): void;
  /** Once aborted, the wallets not yet started are left for the next pass (a settlement under way finishes). */
  signal?: AbortSignal;
}

/**
 * One pass over the distributor's wallets: each is settled up to its last period boundary (lastBoundary), or
 * found up to date; a wallet left unsettled whose supply state is stale (friendly hours began or ended) is
 * refreshed. A refusal of one wallet (ClientRefusal, a chaincode error with its code) skips it; anything else
 * fails it; neither stops the others.
 */
export async function settleAll(options: SettleAllOptions): Promise<SettleRow[]> {
  const wallets = await options.clients.prepaid.wallets(options.distributorMspId);
  const rows: SettleRow[] = [];
  for (const wallet of wallets) {
    if (options.signal?.aborted) break;
    const row = await settleOrClassify(options, wallet);
    rows.push(row);
    options.onProgress?.(row, rows.length, wallets.length);
  }
  return rows;
}

async function settleOrClassify(options: SettleAllOptions, wallet: WalletRecord): Promise<SettleRow> {
  try {
    return await settleOrRefresh(options, wallet);
  } catch (err) {
    const refusal = refusalIn(err);
    return {
      subscriptionId: wallet.subscriptionId,
      currency: wallet.currency,
      ...(refusal
        ? { outcome: 'skipped', code: refusal.code, message: refusal.message }
        : { outcome: 'failed', message: describeFailure(err).message }),
    };
  }
}

/** A refusal with a stable code, from meterctl itself or from the chaincode; undefined for anything else. */
function refusalIn(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof ClientRefusal) return { code: err.code, message: err.message };
  const refusal = refusalOf(err);
  return refusal ? { code: refusal.code, message: refusal.text } : undefined;
}

async function settleOrRefresh(options: SettleAllOptions, wallet: WalletRecord): Promise<SettleRow> {
  const { clients } = options;
  const subscription = await clients.subscriptions.get(wallet.subscriptionId);
  const approval = approvalOf(subscription);
  const bills = await clients.billing.forSubscription(wallet.subscriptionId);
  const { periodFrom } = settlementAnchor(wallet, bills, approval);
  const periodTo =
    options.to ??
    (await finalBoundary(
      clients,
      subscription,
      periodFrom,
      lastBoundary(
        approval,
        periodFrom,
        Math.floor(options.now.getTime() / 1000),
        options.graceSeconds,
        subscription.end?.effectiveAt,
      ),
    ));
  const base = { subscriptionId: wallet.subscriptionId, currency: wallet.currency };
  if (periodTo <= periodFrom)
    return refreshIfStale(options, wallet, {
      ...base,
      outcome: 'up-to-date',
      message: `settled until ${periodFrom}; no period has ended since (grace ${options.graceSeconds} s)`,
    });
  let after: WalletRecord;
  try {
    after = await settleWallet({
      clients,
      subscription,
      wallet,
      periodTo,
      bills,
      sessionKey: options.sessionKeyOf(subscription),
      endorsingOrganizations: options.endorsersOf(subscription),
    });
  } catch (err) {
    const refusal = refusalIn(err);
    if (!refusal) throw err;
    // Still record a supply state that friendly hours changed: the meter follows the ledger, not this pass.
    return refreshIfStale(options, wallet, {
      ...base,
      outcome: 'skipped',
      periodFrom,
      periodTo,
      code: refusal.code,
      message: refusal.message,
    });
  }
  // The debit is read from the settlement, not from the balance: a transfer may have raced it.
  const settlement = (await clients.prepaid.settlements(wallet.subscriptionId)).find(
    (s) => s.periodTo === after.settledUntil,
  );
  return {
    ...base,
    outcome: 'settled',
    periodFrom: settlement?.periodFrom ?? periodFrom,
    periodTo: after.settledUntil,
    amountMinor: settlement?.amountMinor,
    balanceMinor: after.balanceMinor,
    supply: after.supply,
    supplyReason: after.supplyReason,
  };
}

/**
 * An aggregate wallet is settled up to its first round that is not final yet (the aggregator closes a round a
 * little after its period, a FAULT round waits for `grid faults`), so that an hourly pass settles what it can
 * instead of skipping the whole hour. When not even the first period is final, `to` stays: the settlement then
 * refuses with ROUNDS_NOT_CLOSED, which says why. Disclosed wallets settle up to `to`.
 */
async function finalBoundary(
  sources: AggregateSources,
  subscription: SubscriptionRecord,
  periodFrom: string,
  to: string,
): Promise<string> {
  if (subscription.privacyMode !== 'aggregate' || to <= periodFrom) return to;
  const open = await openPeriods(sources, subscription, periodFrom, to);
  return open.length > 0 && open[0] > periodFrom ? open[0] : to;
}

/**
 * RefreshSupply when the state the wallet records is not the one its balance gives now: friendly hours begin and
 * end without any wallet change, and nothing else would record it.
 */
async function refreshIfStale(
  options: SettleAllOptions,
  wallet: WalletRecord,
  row: SettleRow,
): Promise<SettleRow> {
  const due = supplyFor(wallet, Math.floor(options.now.getTime() / 1000));
  if (due.supply === wallet.supply && due.reason === wallet.supplyReason)
    return {
      ...row,
      balanceMinor: wallet.balanceMinor,
      supply: wallet.supply,
      supplyReason: wallet.supplyReason,
    };
  const after = await options.clients.prepaid.refreshSupply(wallet.subscriptionId);
  const change = `supply ${wallet.supply} (${wallet.supplyReason}) -> ${after.supply} (${after.supplyReason})`;
  return {
    ...row,
    outcome: row.outcome === 'up-to-date' ? 'refreshed' : row.outcome,
    balanceMinor: after.balanceMinor,
    supply: after.supply,
    supplyReason: after.supplyReason,
    message: row.outcome === 'up-to-date' ? change : `${row.message ?? ''}; ${change}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The household checks its settlements

export interface SettlementVerification {
  periodFrom: string;
  periodTo: string;
  amountMinor: number;
  ok: boolean;
  /** "costMinor: settled 1300, recomputed 1200", "amountMinor: ...". */
  differences: string[];
}

export interface VerifySettlementsOptions {
  sources: AggregateSources & { measurements: Pick<MeasurementClient, 'all'> };
  prepaid: Pick<PrepaidClient, 'settlements'>;
  subscription: SubscriptionRecord;
  /** The household's own session key. */
  sessionKey: Uint8Array;
  /** The channel the readings were encrypted for (their additional authenticated data). */
  channel: string;
}

/** What a settlement says its cost basis cost, recomputed. */
type CostFigures = Pick<BillComputation, 'totalMinor' | 'readingCount' | 'readingsDigest'>;

/**
 * Every settlement of the household's wallet, recomputed with its own session key: the cost of [costFrom,
 * periodTo) from its readings (`readings`, the endorsers' computeBill) or its shares (`shares`, the distributor's
 * claim, computeAggregateBill), as the ledger had them when the settlement was made (readings and price signals
 * recorded after it are left out: the next settlement charges them) — and the chain: what it debited is its cost
 * less the month's earlier settlements of the same cost basis.
 */
export async function verifySettlements(
  options: VerifySettlementsOptions,
): Promise<SettlementVerification[]> {
  const settlements = await options.prepaid.settlements(options.subscription.subscriptionId);
  const costs = new Map<SettlementRecord, CostFigures>();
  for (const month of byMonthAndSource(settlements)) {
    const recompute =
      month[0].source === 'shares' ? await sharesCosts(options, month) : await readingsCosts(options, month);
    for (const settlement of month) costs.set(settlement, recompute(settlement));
  }
  return settlements.map((settlement) =>
    verificationOf(settlement, costs.get(settlement) as CostFigures, settlements),
  );
}

/** Settlements that share a month's running totals and a source: one fetch of the ledger serves them all. */
function byMonthAndSource(settlements: readonly SettlementRecord[]): SettlementRecord[][] {
  const groups = new Map<string, SettlementRecord[]>();
  for (const settlement of settlements) {
    const key = `${runningTotalsSince(settlement.costFrom)}|${settlement.source}`;
    groups.set(key, [...(groups.get(key) ?? []), settlement]);
  }
  return [...groups.values()];
}

/** The month's range the group's cost bases cover: from its earliest costFrom to its latest periodTo. */
function spanOf(month: readonly SettlementRecord[]): { from: string; to: string } {
  return {
    from: month.map((s) => s.costFrom).reduce((a, b) => (b < a ? b : a)),
    to: month.map((s) => s.periodTo).reduce((a, b) => (b > a ? b : a)),
  };
}

/** Recorded no later than the settlement: what its endorsers could read (same-second records included). */
function recordedBy(settlement: SettlementRecord): (at: string) => boolean {
  return (at) => at <= settlement.at;
}

async function sharesCosts(
  options: VerifySettlementsOptions,
  month: readonly SettlementRecord[],
): Promise<(settlement: SettlementRecord) => CostFigures> {
  const span = spanOf(month);
  const evidence = await fetchAggregateEvidence(
    options.sources,
    options.subscription,
    options.sessionKey,
    span.from,
    span.to,
  );
  // computeAggregateBill looks up the shares of its own range only; the month's other shares are ignored.
  return (settlement) => {
    const recorded = recordedBy(settlement);
    return computeAggregateBill(options.sessionKey, {
      ...evidence,
      periodFrom: settlement.costFrom,
      periodTo: settlement.periodTo,
      signals: evidence.signals.filter((s) => recorded(s.publishedAt)),
    }).ledger;
  };
}

async function readingsCosts(
  options: VerifySettlementsOptions,
  month: readonly SettlementRecord[],
): Promise<(settlement: SettlementRecord) => CostFigures> {
  const { subscription, sources } = options;
  const approval = approvalOf(subscription);
  const span = spanOf(month);
  const since = runningTotalsSince(span.from);
  const readings = await sources.measurements.all(subscription.subscriptionId, since, span.to);
  const signals = await sources.pricing.signals(approval.regionCode, since, span.to);
  const tariffVersions = await sources.pricing.tariffHistory(
    subscription.distributorMspId,
    approval.tariffId,
  );
  return (settlement) => {
    const recorded = recordedBy(settlement);
    const known = readings.filter((r) => recorded(r.submittedAt) && r.periodStart < settlement.periodTo);
    const evidence: CostEvidence = {
      channel: options.channel,
      bill: { periodFrom: settlement.costFrom, periodTo: settlement.periodTo },
      subscription,
      readings: known.filter((r) => r.periodStart >= settlement.costFrom),
      priorReadings: known.filter((r) => r.periodStart < settlement.costFrom),
      tariffVersions,
      signals: signals.filter((s) => recorded(s.publishedAt)),
      priorSignals: [],
    };
    return recomputeBill(evidence, options.sessionKey);
  };
}

function verificationOf(
  settlement: SettlementRecord,
  recomputed: CostFigures,
  all: readonly SettlementRecord[],
): SettlementVerification {
  const differences: string[] = [];
  const compare = (field: string, settled: number | string, found: number | string): void => {
    if (settled !== found) differences.push(`${field}: settled ${settled}, recomputed ${found}`);
  };
  compare('costMinor', settlement.costMinor, recomputed.totalMinor);
  compare('readingCount', settlement.readingCount, recomputed.readingCount);
  compare('readingsDigest', settlement.readingsDigest, recomputed.readingsDigest);
  const chainError = chainErrorOf(settlement, all);
  if (chainError) differences.push(chainError);
  return {
    periodFrom: settlement.periodFrom,
    periodTo: settlement.periodTo,
    amountMinor: settlement.amountMinor,
    ok: differences.length === 0,
    differences,
  };
}

/**
 * A settlement debits its cost less what the earlier settlements of its cost basis debited (those from costFrom
 * up to its own start): anything else charged the household twice, or not at all.
 */
export function chainErrorOf(
  settlement: SettlementRecord,
  all: readonly SettlementRecord[],
): string | undefined {
  const earlier = all.filter(
    (e) => e !== settlement && e.periodFrom >= settlement.costFrom && e.periodTo <= settlement.periodFrom,
  );
  const earlierMinor = earlier.reduce((sum, e) => sum + e.amountMinor, 0);
  const expected = settlement.costMinor - earlierMinor;
  if (settlement.amountMinor === expected) return undefined;
  return `amountMinor: settled ${settlement.amountMinor}, but its cost ${settlement.costMinor} less ${earlierMinor} debited by ${earlier.length} earlier settlements since ${settlement.costFrom} is ${expected}`;
}
