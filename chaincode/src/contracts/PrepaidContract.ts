import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  DEFAULT_METER_POLICY,
  EventName,
  PrepaidLimits,
  amountError,
  emergencyCreditAfterTopUp,
  emergencyCreditRefusal,
  isPeriodBoundary,
  runningTotalsSince,
  settlementRangeError,
  supplyFor,
  validateMeterPolicy,
  type BillComputation,
  type SettlementRecord,
  type SubscriptionRecord,
  type SupplierAccountRecord,
  type TopUpRecord,
  type WalletEntryKind,
  type WalletEntryRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isAuditor,
  isItsMeter,
  isOperatorOf,
  isOwner,
  requireOperatorOf,
} from '../access';
import { SmartMeterContract } from '../baseContract';
import { baselineBill, claimedComputationErrors, requireRoundsClosed } from '../aggregateClaims';
import { billedUntil, computeDisclosedBill, transientSessionKey } from '../billing';
import { alreadyExists, conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { fixedWidth, Keys } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { readOptional, valuesByPartialKey, write } from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds, txTimeIso } from '../ledger/txTime';
import { currentTariff, tariffVersions } from '../pricing';
import { approvalOf, loadSubscription, requireStatus, requireSubscriptionId } from '../subscriptions';
import { parseJsonObject, requireIdentifier, requireOnlyFields } from '../validate';

/** A settlement claim is a redacted computation like an aggregate bill's, and as large at most. */
const MAX_SETTLEMENT_CLAIM_JSON = 400 * 1024;

/**
 * Prepaid metering (domain/src/prepaid.ts, after the Wattcoin design): a wallet per subscription in the tariff's
 * minor units. The distributor's operator tops it up (idempotent per payment reference) and settles it
 * (exhaustion: the cost of the usage since the last settlement, by the same bill function as the bills — computed
 * by the endorsers from the readings with the session key as transient data for `disclosed` subscriptions, claimed
 * by the distributor from the shares and checked without the key for `aggregate` ones); the household sets its meter policy, takes emergency credit and transfers
 * tokens to a neighbour's wallet. Every change recomputes the supply state (on, power-saving, off) at the
 * transaction's time and records it, with its reason, in the wallet and its history.
 *
 * Supply: Σ top-ups = Σ balances + Σ exhausted, per distributor (TotalSupply checks it).
 */
@Info({ title: 'Prepaid', description: 'Prepaid wallets, exhaustion by usage, meter policies, transfers' })
export class PrepaidContract extends SmartMeterContract {
  constructor() {
    super('Prepaid');
  }

  /** The distributor's operator makes a subscription prepaid: a wallet at 0 with the default meter policy. */
  @Transaction()
  @Returns('string')
  async OpenWallet(ctx: Context, subscriptionId: string, emergencyCreditMinor: string): Promise<string> {
    const subscription = await loadSubscription(ctx, requireSubscriptionId(subscriptionId));
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'OpenWallet');
    requireStatus(subscription, ['APPROVED', 'ACTIVE'], 'open a wallet for');
    const credit = parseMinor(
      'emergencyCreditMinor',
      emergencyCreditMinor,
      PrepaidLimits.maxEmergencyCreditMinor,
      0,
    );
    const key = walletKey(ctx, subscription);
    if (await readOptional(ctx, key))
      throw alreadyExists(`${subscription.subscriptionId} has a wallet already`);
    const approval = approvalOf(subscription);
    const tariff = await currentTariff(ctx, subscription.distributorMspId, approval.tariffId);
    if (!tariff) throw conflict(`${subscription.distributorMspId} has no tariff ${approval.tariffId}`);
    const now = txTimeIso(ctx);
    const wallet: WalletRecord = {
      docType: 'wallet',
      subscriptionId: subscription.subscriptionId,
      channel: ctx.stub.getChannelID(),
      distributorMspId: subscription.distributorMspId,
      currency: tariff.currency,
      balanceMinor: 0,
      emergencyCreditMinor: credit,
      // Periods a bill already covers are paid: exhaustion starts after them.
      settledUntil: laterOf(approval.startDate, await billedUntil(ctx, subscription.subscriptionId)),
      policy: DEFAULT_METER_POLICY,
      supply: 'on',
      supplyReason: 'balance-ok',
      supplyChangedAt: now,
      updatedAt: now,
      entries: 0,
    };
    await account(ctx, subscription.distributorMspId, tariff.currency);
    return saveWallet(ctx, wallet, 'open', 0);
  }

  /** A purchase: the operator credits the wallet. The same reference again with the same amount changes nothing. */
  @Transaction()
  @Returns('string')
  async TopUp(ctx: Context, subscriptionId: string, amountMinor: string, reference: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'TopUp');
    const amount = parseMinor('amountMinor', amountMinor, PrepaidLimits.maxTopUpMinor);
    const ref = requireIdentifier('reference', reference);
    const topUpKey = Keys.topUp.key(ctx, { distributorMspId: subscription.distributorMspId, reference: ref });
    const earlier = await readOptional<TopUpRecord>(ctx, topUpKey);
    if (earlier) {
      if (earlier.subscriptionId === wallet.subscriptionId && earlier.amountMinor === amount)
        return canonicalJson(wallet);
      throw conflict(
        `top-up reference ${ref} was used for ${earlier.amountMinor} on ${earlier.subscriptionId}; a reference is used once`,
      );
    }
    const balance = wallet.balanceMinor + amount;
    if (balance > PrepaidLimits.maxBalanceMinor)
      throw invalidArgument(`a wallet holds at most ${PrepaidLimits.maxBalanceMinor} minor units`);
    const record: TopUpRecord = {
      docType: 'topUp',
      distributorMspId: subscription.distributorMspId,
      reference: ref,
      subscriptionId: wallet.subscriptionId,
      amountMinor: amount,
      at: txTimeIso(ctx),
      txId: ctx.stub.getTxID(),
    };
    await write(ctx, topUpKey, record);
    const supplier = await account(ctx, subscription.distributorMspId, wallet.currency);
    await saveAccount(ctx, { ...supplier, toppedUpMinor: supplier.toppedUpMinor + amount });
    const next = credited(wallet, amount);
    emitTransfer(ctx, '', wallet.subscriptionId, amount);
    return saveWallet(ctx, next, 'top-up', amount, { reference: ref });
  }

  /**
   * Exhaustion of a `disclosed` subscription: the cost of the readings of [settledUntil, periodTo) (or from the end
   * of the latest bill, whose periods are paid), computed by both endorsers from the encrypted readings (session
   * key as transient data), is debited and credited to the supplier. periodTo is a period boundary in the past; a
   * range already settled is CONFLICT (the balance is never debited twice).
   */
  @Transaction()
  @Returns('string')
  async Settle(ctx: Context, subscriptionId: string, periodTo: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'Settle');
    if (subscription.privacyMode === 'aggregate')
      throw conflict(
        `${subscription.subscriptionId} is an aggregate subscription: it is settled from its shares with SettleAggregate, and its session key is never sent to the peers`,
      );
    const window = await settlementWindow(ctx, subscription, wallet, periodTo);
    const sessionKey = transientSessionKey(ctx, subscription);
    const cost = await computeDisclosedBill(ctx, subscription, sessionKey, window.costFrom, window.periodTo);
    return recordSettlement(ctx, subscription, wallet, window, cost, 'readings');
  }

  /**
   * Exhaustion of an `aggregate` subscription, after RecordAggregateBill: the distributor computed the cost of
   * [costFrom, periodTo) off-chain from the household's shares (the session key stays with it, so this takes no
   * transient data and refuses any). The endorsers check what needs no key: the same range rules as Settle,
   * that the claim's cost starts where theirs would (costFrom), that the rounds it rests on are final, and the
   * computation's shape, standing charge, periods and sums against a key-less baseline. The household recomputes
   * the claim from the same shares with its own key (meterctl wallet verify).
   */
  @Transaction()
  @Returns('string')
  async SettleAggregate(
    ctx: Context,
    subscriptionId: string,
    periodTo: string,
    claimJson: string,
  ): Promise<string> {
    if (ctx.stub.getTransient().size > 0)
      throw invalidArgument(
        'SettleAggregate takes no transient data: the session key of an aggregate subscription never leaves the distributor',
      );
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireOperatorOf(callerOf(ctx), subscription.distributorMspId, 'SettleAggregate');
    if (subscription.privacyMode !== 'aggregate')
      throw conflict(
        `${subscription.subscriptionId} is a disclosed subscription: the endorsers settle it themselves with Settle`,
      );
    const raw = parseJsonObject('claim', claimJson, MAX_SETTLEMENT_CLAIM_JSON);
    requireOnlyFields('claim', raw, ['costFrom', 'computation']);
    const window = await settlementWindow(ctx, subscription, wallet, periodTo);
    if (raw.costFrom !== window.costFrom)
      throw invalidArgument(
        `claim.costFrom must be ${window.costFrom} (the month's first settled period, or the end of the last bill), not ${String(raw.costFrom)}`,
      );
    const approval = approvalOf(subscription);
    await requireRoundsClosed(
      ctx,
      approval,
      subscription.end?.effectiveAt,
      parseIsoSeconds('since', runningTotalsSince(window.costFrom)),
      parseIsoSeconds('periodTo', window.periodTo),
      'this settlement',
    );
    const tariffs = await tariffVersions(ctx, subscription.distributorMspId, approval.tariffId);
    const baseline = baselineBill(subscription, window.costFrom, window.periodTo, tariffs);
    const errors = claimedComputationErrors(raw.computation, baseline, tariffs);
    if (errors.length > 0) throw invalidArgument(`the settlement claim is refused: ${errors.join('; ')}`);
    return recordSettlement(ctx, subscription, wallet, window, raw.computation as BillComputation, 'shares');
  }

  /** The household takes its emergency credit: once per low-balance episode (a top-up to ≥ 0 repays it). */
  @Transaction()
  @Returns('string')
  async TakeEmergencyCredit(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireHousehold(ctx, subscription, 'TakeEmergencyCredit');
    const refusal = emergencyCreditRefusal(wallet);
    if (refusal) throw conflict(`no emergency credit for ${wallet.subscriptionId}: ${refusal}`);
    return saveWallet(ctx, { ...wallet, emergencyCreditTakenAt: txTimeIso(ctx) }, 'emergency-credit', 0);
  }

  /** The household sets its meter policy: thresholds and friendly hours, validated field by field. */
  @Transaction()
  @Returns('string')
  async SetMeterPolicy(ctx: Context, subscriptionId: string, policyJson: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireHousehold(ctx, subscription, 'SetMeterPolicy');
    const { policy, errors } = validateMeterPolicy(parseJsonObject('policy', policyJson, 32 * 1024));
    if (!policy) throw invalidArgument(`the meter policy is invalid: ${errors.join('; ')}`);
    return saveWallet(ctx, { ...wallet, policy }, 'policy', 0);
  }

  /**
   * A household gives or sells tokens to another wallet of the same distributor on this channel (the
   * community sale of the Wattcoin design), from its own bound key; never below zero, never to itself.
   */
  @Transaction()
  @Returns('string')
  async Transfer(
    ctx: Context,
    fromSubscriptionId: string,
    toSubscriptionId: string,
    amountMinor: string,
  ): Promise<string> {
    const from = await walletOf(ctx, fromSubscriptionId);
    requireHousehold(ctx, from.subscription, 'Transfer');
    const amount = parseMinor('amountMinor', amountMinor, PrepaidLimits.maxTransferMinor);
    const toId = requireSubscriptionId(toSubscriptionId);
    if (toId === from.wallet.subscriptionId) throw invalidArgument('a wallet cannot transfer to itself');
    // Every refusal on the recipient's side reads the same: a sender learns nothing about another wallet.
    const refusal = `cannot transfer to ${toId}: no wallet on ${ctx.stub.getChannelID()} can take this transfer`;
    const to = await walletOf(ctx, toId, refusal);
    if (
      to.wallet.currency !== from.wallet.currency ||
      to.wallet.balanceMinor + amount > PrepaidLimits.maxBalanceMinor
    )
      throw notFound(refusal);
    if (from.wallet.balanceMinor - amount < 0)
      throw conflict(
        `the balance of ${from.wallet.subscriptionId} is ${from.wallet.balanceMinor}: a transfer may not take it below zero`,
      );
    emitTransfer(ctx, from.wallet.subscriptionId, toId, amount);
    await saveWallet(ctx, credited(to.wallet, amount), 'transfer-in', amount, {
      reference: from.wallet.subscriptionId,
    });
    // The sender gets its own wallet back, never the recipient's.
    return saveWallet(
      ctx,
      { ...from.wallet, balanceMinor: from.wallet.balanceMinor - amount },
      'transfer-out',
      -amount,
      { reference: toId },
    );
  }

  /**
   * The supply state at this transaction's time (friendly hours begin and end without any wallet change): the
   * meter, its household or the operator records it; nothing but the state and its reason changes.
   */
  @Transaction()
  @Returns('string')
  async RefreshSupply(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireReader(ctx, subscription, 'RefreshSupply');
    return saveWallet(ctx, wallet, 'supply', 0);
  }

  /** The wallet: for its household, its meter, its distributor's operators and the authority's auditors. */
  @Transaction(false)
  @Returns('string')
  async GetWallet(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireReader(ctx, subscription, 'GetWallet');
    return canonicalJson(wallet);
  }

  /** token-erc-20's BalanceOf: the wallet's balance in minor units. */
  @Transaction(false)
  @Returns('string')
  async BalanceOf(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireReader(ctx, subscription, 'BalanceOf');
    return canonicalJson({
      subscriptionId: wallet.subscriptionId,
      balanceMinor: wallet.balanceMinor,
      currency: wallet.currency,
    });
  }

  /** Every change of the wallet, oldest first. */
  @Transaction(false)
  @Returns('string')
  async GetWalletHistory(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireReader(ctx, subscription, 'GetWalletHistory');
    return canonicalJson(
      await valuesByPartialKey<WalletEntryRecord, 'subscriptionId' | 'sequence'>(ctx, Keys.walletEntry, {
        subscriptionId: wallet.subscriptionId,
      }),
    );
  }

  /** The settlements of a wallet, oldest first: what a prepaid bill shows as already paid. */
  @Transaction(false)
  @Returns('string')
  async ListSettlements(ctx: Context, subscriptionId: string): Promise<string> {
    const { subscription, wallet } = await walletOf(ctx, subscriptionId);
    requireReader(ctx, subscription, 'ListSettlements');
    return canonicalJson(await settlementsOf(ctx, wallet.subscriptionId));
  }

  /** The wallets of a distributor on this channel, by subscription: for its operators (settle --all) and auditors. */
  @Transaction(false)
  @Returns('string')
  async ListWallets(ctx: Context, distributorMspId: string): Promise<string> {
    const distributor = requireIdentifier('distributorMspId', distributorMspId);
    requireSupplyReader(ctx, distributor, 'ListWallets');
    return canonicalJson(await walletsOf(ctx, distributor));
  }

  /**
   * token-erc-20's TotalSupply, for one distributor: tokens topped up, exhausted and outstanding, and whether the
   * balances of its wallets add up to the outstanding tokens (they always should).
   */
  @Transaction(false)
  @Returns('string')
  async TotalSupply(ctx: Context, distributorMspId: string): Promise<string> {
    const distributor = requireIdentifier('distributorMspId', distributorMspId);
    requireSupplyReader(ctx, distributor, 'TotalSupply');
    const supplier = await readOptional<SupplierAccountRecord>(ctx, supplierKey(ctx, distributor));
    const wallets = await walletsOf(ctx, distributor);
    const balances = wallets.reduce((sum, w) => sum + w.balanceMinor, 0);
    const toppedUp = supplier?.toppedUpMinor ?? 0;
    const exhausted = supplier?.exhaustedMinor ?? 0;
    return canonicalJson({
      distributorMspId: distributor,
      currency: supplier?.currency ?? null,
      wallets: wallets.length,
      toppedUpMinor: toppedUp,
      exhaustedMinor: exhausted,
      outstandingMinor: toppedUp - exhausted,
      balancesMinor: balances,
      reconciled: toppedUp === balances + exhausted,
    });
  }
}

/** 00:00 UTC on the 1st of the month after the one of `iso`. */
function nextMonthStart(iso: string): string {
  const date = new Date(Date.parse(iso));
  return isoSeconds(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000);
}

/** The later of two ISO times (the second may be absent). */
function laterOf(a: string, b: string | undefined): string {
  return b !== undefined && b > a ? b : a;
}

/** A settlement's range, checked: [periodFrom, periodTo), and where its cost basis starts. */
interface SettlementWindow {
  periodFrom: string;
  periodTo: string;
  /**
   * The month's first settled period (or the end of the last bill): the cost is of [costFrom, periodTo) as the
   * ledger has it now, minus what the month's earlier settlements debited, so a reading, share or price that
   * arrived after an earlier settlement is debited (or credited back) here, never lost.
   */
  costFrom: string;
  earlierMinor: number;
}

async function settlementWindow(
  ctx: Context,
  subscription: SubscriptionRecord,
  wallet: WalletRecord,
  periodTo: string,
): Promise<SettlementWindow> {
  const to = parseIsoSeconds('periodTo', periodTo);
  // A bill issued since the last settlement paid its periods: the settlement starts after them.
  const billed = await billedUntil(ctx, wallet.subscriptionId);
  const from = laterOf(wallet.settledUntil, billed);
  const rangeError = settlementRangeError(from, isoSeconds(to), txEpochSeconds(ctx));
  if (rangeError) {
    throw to <= parseIsoSeconds('settledUntil', from)
      ? conflict(`${wallet.subscriptionId} is settled or billed until ${from}: ${rangeError}`)
      : invalidArgument(rangeError);
  }
  // A settlement never crosses the 1st of a month, so that a monthly bill never cuts one.
  const monthEnd = parseIsoSeconds('monthEnd', nextMonthStart(from));
  if (to > monthEnd)
    throw invalidArgument(
      `a settlement ends at the latest at the 1st of the next month (${isoSeconds(monthEnd)})`,
    );
  const approval = approvalOf(subscription);
  if (!isPeriodBoundary(approval, to))
    throw invalidArgument('periodTo must be a period boundary of the subscription');
  const costFrom = laterOf(laterOf(runningTotalsSince(from), billed), approval.startDate);
  const earlier = (await settlementsOf(ctx, wallet.subscriptionId)).filter(
    (e) => e.periodFrom >= costFrom && e.periodTo <= from,
  );
  return {
    periodFrom: from,
    periodTo: isoSeconds(to),
    costFrom,
    earlierMinor: earlier.reduce((sum, e) => sum + e.amountMinor, 0),
  };
}

/** Debits the wallet by the window's cost less the month's earlier settlements, credits the supplier. */
async function recordSettlement(
  ctx: Context,
  subscription: SubscriptionRecord,
  wallet: WalletRecord,
  window: SettlementWindow,
  cost: Pick<BillComputation, 'totalMinor' | 'readingCount' | 'readingsDigest'>,
  source: SettlementRecord['source'],
): Promise<string> {
  const amount = cost.totalMinor - window.earlierMinor;
  const settlement: SettlementRecord = {
    docType: 'settlement',
    subscriptionId: wallet.subscriptionId,
    periodFrom: window.periodFrom,
    periodTo: window.periodTo,
    amountMinor: amount,
    readingCount: cost.readingCount,
    readingsDigest: cost.readingsDigest,
    costFrom: window.costFrom,
    costMinor: cost.totalMinor,
    source,
    at: txTimeIso(ctx),
    txId: ctx.stub.getTxID(),
  };
  await write(
    ctx,
    Keys.settlement.key(ctx, { subscriptionId: wallet.subscriptionId, periodFrom: settlement.periodFrom }),
    settlement,
  );
  const supplier = await account(ctx, subscription.distributorMspId, wallet.currency);
  await saveAccount(ctx, { ...supplier, exhaustedMinor: supplier.exhaustedMinor + amount });
  emitTransfer(ctx, wallet.subscriptionId, '', amount);
  return saveWallet(
    ctx,
    { ...wallet, balanceMinor: wallet.balanceMinor - amount, settledUntil: settlement.periodTo },
    'exhaustion',
    -amount,
    { periodFrom: settlement.periodFrom, periodTo: settlement.periodTo },
  );
}

function requireSupplyReader(ctx: Context, distributorMspId: string, action: string): void {
  const caller = callerOf(ctx);
  if (!isOperatorOf(caller, distributorMspId) && !isAuditor(caller))
    throw forbidden(
      `${action} needs an operator of ${distributorMspId} or an auditor; caller is ${describe(caller)}`,
    );
}

async function walletsOf(ctx: Context, distributorMspId: string): Promise<WalletRecord[]> {
  return valuesByPartialKey<WalletRecord, 'distributorMspId' | 'subscriptionId'>(ctx, Keys.wallet, {
    distributorMspId,
  });
}

interface WalletContext {
  subscription: SubscriptionRecord;
  wallet: WalletRecord;
}

function walletKey(ctx: Context, of: Pick<WalletRecord, 'distributorMspId' | 'subscriptionId'>): string {
  return Keys.wallet.key(ctx, { distributorMspId: of.distributorMspId, subscriptionId: of.subscriptionId });
}

async function walletOf(ctx: Context, subscriptionId: string, missing?: string): Promise<WalletContext> {
  const id = requireSubscriptionId(subscriptionId);
  const subscription = await loadSubscription(ctx, id).catch((err: unknown) => {
    if (missing) throw notFound(missing);
    throw err;
  });
  const wallet = await readOptional<WalletRecord>(ctx, walletKey(ctx, subscription));
  if (!wallet) throw notFound(missing ?? `${id} is not prepaid (no wallet)`);
  return { subscription, wallet };
}

function requireHousehold(ctx: Context, subscription: SubscriptionRecord, action: string): void {
  const caller = callerOf(ctx);
  if (!isOwner(caller, subscription))
    throw forbidden(
      `only the household of ${subscription.subscriptionId} may ${action}; caller is ${describe(caller)}`,
    );
}

function requireReader(ctx: Context, subscription: SubscriptionRecord, action: string): void {
  const caller = callerOf(ctx);
  if (
    isOwner(caller, subscription) ||
    isItsMeter(caller, subscription) ||
    isOperatorOf(caller, subscription.distributorMspId) ||
    isAuditor(caller)
  )
    return;
  throw forbidden(`${describe(caller)} may not ${action} of ${subscription.subscriptionId}`);
}

/** A whole number of minor units, as a transaction argument (a string). */
function parseMinor(name: string, value: string, max: number, min = 1): number {
  if (typeof value !== 'string' || !/^-?\d{1,16}$/.test(value))
    throw invalidArgument(`${name} must be a whole number of minor units from ${min} to ${max}`);
  const amount = Number(value);
  const error = min === 0 && amount === 0 ? undefined : amountError(name, amount, max);
  if (error) throw invalidArgument(error);
  return amount;
}

/** A credit (top-up or incoming transfer): a balance back at ≥ 0 repays the emergency credit. */
function credited(wallet: WalletRecord, amount: number): WalletRecord {
  const balanceMinor = wallet.balanceMinor + amount;
  const takenAt = emergencyCreditAfterTopUp(wallet.emergencyCreditTakenAt, balanceMinor);
  const next: WalletRecord = { ...wallet, balanceMinor };
  if (takenAt) next.emergencyCreditTakenAt = takenAt;
  else delete next.emergencyCreditTakenAt;
  return next;
}

function supplierKey(ctx: Context, distributorMspId: string): string {
  return Keys.supplierAccount.key(ctx, { distributorMspId });
}

async function account(
  ctx: Context,
  distributorMspId: string,
  currency: string,
): Promise<SupplierAccountRecord> {
  const found = await readOptional<SupplierAccountRecord>(ctx, supplierKey(ctx, distributorMspId));
  if (found && found.currency !== currency)
    throw conflict(`${distributorMspId}'s prepaid tokens are in ${found.currency}, not ${currency}`);
  return (
    found ?? { docType: 'supplierAccount', distributorMspId, currency, toppedUpMinor: 0, exhaustedMinor: 0 }
  );
}

async function saveAccount(ctx: Context, record: SupplierAccountRecord): Promise<void> {
  await write(ctx, supplierKey(ctx, record.distributorMspId), record);
}

async function settlementsOf(ctx: Context, subscriptionId: string): Promise<SettlementRecord[]> {
  return valuesByPartialKey<SettlementRecord, 'subscriptionId' | 'periodFrom'>(ctx, Keys.settlement, {
    subscriptionId,
  });
}

/** token-erc-20's Transfer event; one event per transaction (Fabric keeps the last), so it names both sides. */
function emitTransfer(ctx: Context, from: string, to: string, value: number): void {
  ctx.stub.setEvent(EventName.Transfer, Buffer.from(canonicalJson({ from, to, value })));
}

/**
 * Writes the wallet with its supply state recomputed at the transaction's time, and one history entry (a second
 * entry when the supply state changed, with its reason).
 */
async function saveWallet(
  ctx: Context,
  wallet: WalletRecord,
  kind: WalletEntryKind,
  amountMinor: number,
  extra: Partial<Pick<WalletEntryRecord, 'reference' | 'periodFrom' | 'periodTo'>> = {},
): Promise<string> {
  const now = txTimeIso(ctx);
  const { supply, reason } = supplyFor(wallet, txEpochSeconds(ctx));
  const changed = supply !== wallet.supply || reason !== wallet.supplyReason;
  const entries = [kind, ...(changed && kind !== 'supply' ? (['supply'] as const) : [])];
  const next: WalletRecord = {
    ...wallet,
    supply,
    supplyReason: reason,
    supplyChangedAt: changed ? now : wallet.supplyChangedAt,
    updatedAt: now,
    entries: wallet.entries + entries.length,
  };
  await write(ctx, walletKey(ctx, next), next);
  for (const [i, entryKind] of entries.entries())
    await entry(
      ctx,
      next,
      wallet.entries + i + 1,
      entryKind,
      entryKind === kind ? amountMinor : 0,
      entryKind === kind ? extra : {},
    );
  if (kind === 'supply' && !changed) return canonicalJson(next);
  if (kind !== 'top-up' && kind !== 'exhaustion' && kind !== 'transfer-in' && kind !== 'transfer-out')
    ctx.stub.setEvent(
      EventName.WalletChanged,
      Buffer.from(canonicalJson({ subscriptionId: next.subscriptionId, kind, supply, reason })),
    );
  return canonicalJson(next);
}

async function entry(
  ctx: Context,
  wallet: WalletRecord,
  sequence: number,
  kind: WalletEntryKind,
  amountMinor: number,
  extra: Partial<Pick<WalletEntryRecord, 'reference' | 'periodFrom' | 'periodTo'>>,
): Promise<void> {
  const record: WalletEntryRecord = {
    docType: 'walletEntry',
    subscriptionId: wallet.subscriptionId,
    sequence,
    kind,
    amountMinor,
    balanceAfterMinor: wallet.balanceMinor,
    ...extra,
    ...(kind === 'supply' || kind === 'open'
      ? { supply: wallet.supply, supplyReason: wallet.supplyReason }
      : {}),
    at: txTimeIso(ctx),
    txId: ctx.stub.getTxID(),
  };
  await write(
    ctx,
    Keys.walletEntry.key(ctx, { subscriptionId: wallet.subscriptionId, sequence: fixedWidth(sequence) }),
    record,
  );
}
