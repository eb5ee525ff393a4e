import {
  certificateAttributes,
  certificateKeyFingerprint,
  CryptoInputError,
  isKeyId,
  pairingProofMatches,
  publicKeyFingerprint,
  UTILITIES,
  validateWrappedKey,
  type Utility,
} from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  EventName,
  PRIVACY_MODES,
  type PrivacyMode,
  type KeyGrant,
  type KeyRebind,
  type Page,
  type SessionKeyRecord,
  type SubscriptionRecord,
  type SubscriptionRequest,
  type SubscriptionStatus,
  utilityOf,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isAuditor,
  isAuthority,
  isItsMeter,
  isOperatorOf,
  isOwner,
  mayReadSubscription,
  requireMeter,
  requireOperatorOf,
  requireSubscriber,
  type Caller,
} from '../access';
import { SmartMeterContract } from '../baseContract';
import { alreadyExists, conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson, marshal } from '../ledger/marshal';
import {
  exists,
  idsByPartialKey,
  pageByPartialKey,
  pageThroughIndex,
  saveAndEmit,
  write,
  writeIndex,
} from '../ledger/store';
import { isoSeconds, parseIsoSeconds, txEpochSeconds, txTimeIso } from '../ledger/txTime';
import { ALLOWED_INTERVALS, requireAllowedInterval, withIntervalChange } from '../intervalChange';
import { currentOrgKey } from '../orgKeys';
import { requireRegion, tariffVersions } from '../pricing';
import {
  BACKLOG_LIMIT_SECONDS,
  lastPeriodEnd,
  loadSubscription,
  OPEN_STATUSES,
  readingCursor,
  requireStatus,
  requireSubscriptionId,
  retireKey,
  saveWithStatus,
  SUBSCRIPTION_STATUSES,
  subscriptionIdFor,
  subscriptionKey,
} from '../subscriptions';
import { topology } from '../topology';
import {
  parseBookmark,
  parseJsonObject,
  parsePageSize,
  requireHex,
  requireIdentifier,
  requireInteger,
  requireOnlyFields,
  requireText,
} from '../validate';

export { ALLOWED_INTERVALS };
const MAX_END_AHEAD_SECONDS = 90 * 24 * 3600;
const MAX_REASON_LENGTH = 500;

/** Subscription lifecycle: request → approve (or reject) → meter pairing → active → end. */
@Info({ title: 'Subscription', description: 'Household subscriptions under pseudonymous ids' })
export class SubscriptionContract extends SmartMeterContract {
  constructor() {
    super('Subscription');
  }

  /**
   * A subscriber asks its distributor for a subscription. The request carries only pseudonymous ids, the
   * session key's id, the key wrapped for the distributor and the authority, and the pairing commitment.
   */
  @Transaction()
  @Returns('string')
  async RequestSubscription(ctx: Context, requestJson: string): Promise<string> {
    const request = parseSubscriptionRequest(requestJson);
    const caller = callerOf(ctx);
    const subscriberId = requireSubscriber(caller, 'RequestSubscription');
    if (request.distributorMspId !== caller.distributorMspId) {
      throw forbidden(
        `a household of ${caller.mspId} can only subscribe to ${caller.distributorMspId ?? '(no distributor)'}, not ${request.distributorMspId}`,
      );
    }
    if (isAuthority(request.distributorMspId)) throw invalidArgument('the authority is not a distributor');
    // In aggregate mode the authority gets no key: it learns regional sums only (docs/aggregation.md).
    await requireCurrentKeyGrants(
      ctx,
      request.keyGrants,
      request.privacyMode === 'aggregate'
        ? [request.distributorMspId]
        : [request.distributorMspId, topology().authorityMspId],
    );
    await requireFreshSessionKey(ctx, request.keyId);
    await requireMeterFree(ctx, request.distributorMspId, request.meterId);

    const now = txTimeIso(ctx);
    const record: SubscriptionRecord = {
      docType: 'subscription',
      subscriptionId: subscriptionIdFor(ctx.stub.getTxID()),
      channel: ctx.stub.getChannelID(),
      distributorMspId: request.distributorMspId,
      subscriberId,
      meterId: request.meterId,
      requestedPlan: request.requestedPlan,
      keyId: request.keyId,
      keyGrants: request.keyGrants,
      pairingCommitment: request.pairingCommitment,
      privacyMode: request.privacyMode ?? 'disclosed',
      ...(request.utility ? { utility: request.utility } : {}),
      ...(request.householdPublicKeyPem
        ? {
            householdPublicKeyPem: request.householdPublicKeyPem,
            householdKeyFingerprint: publicKeyFingerprint(request.householdPublicKeyPem),
          }
        : {}),
      subscriberKeyFingerprint: caller.keyFingerprint,
      status: 'REQUESTED',
      requestedAt: now,
      updatedAt: now,
    };
    const { distributorMspId, subscriptionId } = record;
    await writeIndex(
      ctx,
      Keys.subscriptionBySubscriber.key(ctx, { distributorMspId, subscriberId, subscriptionId }),
    );
    await writeIndex(
      ctx,
      Keys.subscriptionByMeter.key(ctx, { distributorMspId, meterId: record.meterId, subscriptionId }),
    );
    await writeIndex(ctx, Keys.subscriptionByStatus.key(ctx, { status: record.status, subscriptionId }));
    const sessionKey: SessionKeyRecord = { docType: 'sessionKey', keyId: record.keyId, subscriptionId };
    await write(ctx, Keys.sessionKey.key(ctx, { keyId: record.keyId }), sessionKey);
    return saveAndEmit(
      ctx,
      subscriptionKey(ctx, subscriptionId),
      record,
      EventName.SubscriptionRequested,
      eventOf(record),
    );
  }

  /** The distributor's operator approves: reading interval, tariff, grid region and start date. */
  @Transaction()
  @Returns('string')
  async ApproveSubscription(ctx: Context, subscriptionId: string, approvalJson: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const approval = parseApproval(approvalJson, txEpochSeconds(ctx));
    const record = await loadSubscription(ctx, id);
    requireOperatorOf(callerOf(ctx), record.distributorMspId, 'ApproveSubscription');
    requireStatus(record, ['REQUESTED'], 'approve');
    await requireTariffFor(ctx, record, approval.tariffId);
    const now = txTimeIso(ctx);
    const updated: SubscriptionRecord = {
      ...record,
      approval: { ...approval, approvedAt: now },
      updatedAt: now,
    };
    // An aggregate meter never transacts (a certificate would link its shares), so it does not pair on the
    // ledger: the subscription is active from approval, and a meter without the key fails BF1 and is found.
    const status = record.privacyMode === 'aggregate' ? 'ACTIVE' : 'APPROVED';
    return emitSaved(ctx, await saveWithStatus(ctx, updated, status), EventName.SubscriptionApproved);
  }

  @Transaction()
  @Returns('string')
  async RejectSubscription(ctx: Context, subscriptionId: string, reason: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const validReason = requireText('reason', reason, MAX_REASON_LENGTH);
    const record = await loadSubscription(ctx, id);
    requireOperatorOf(callerOf(ctx), record.distributorMspId, 'RejectSubscription');
    requireStatus(record, ['REQUESTED'], 'reject');
    const now = txTimeIso(ctx);
    const updated: SubscriptionRecord = {
      ...record,
      rejection: { reason: validReason, rejectedAt: now },
      updatedAt: now,
    };
    const saved = await saveWithStatus(ctx, updated, 'REJECTED');
    await retireKey(ctx, saved, now);
    return emitSaved(ctx, saved, EventName.SubscriptionRejected);
  }

  /** The meter proves it holds the session key by revealing the proof behind the pairing commitment. */
  @Transaction()
  @Returns('string')
  async ConfirmPairing(ctx: Context, subscriptionId: string, pairingProof: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const proof = requireHex('pairingProof', pairingProof, 32, 'an HMAC-SHA-256');
    const record = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    const meterId = requireMeter(caller, 'ConfirmPairing');
    if (!isItsMeter(caller, record)) {
      throw forbidden(`meter ${meterId} of ${caller.mspId} is not the meter of subscription ${id}`);
    }
    if (record.privacyMode === 'aggregate') {
      throw conflict(`subscription ${id} is in aggregate mode: its meter does not pair on the ledger`);
    }
    requireStatus(record, ['APPROVED'], 'pair');
    if (!pairingProofMatches(proof, record.pairingCommitment)) {
      throw forbidden(
        'the pairing proof does not match the commitment: the meter does not hold the session key',
      );
    }
    const now = txTimeIso(ctx);
    // From here on only this meter key may report for the subscription: a second certificate with the same
    // meter id (a clone the households CA could issue) is refused.
    const updated: SubscriptionRecord = {
      ...record,
      pairedAt: now,
      meterKeyFingerprint: caller.keyFingerprint,
      updatedAt: now,
    };
    return emitSaved(ctx, await saveWithStatus(ctx, updated, 'ACTIVE'), EventName.MeterPaired);
  }

  /**
   * The household moves its own binding (party "subscriber") or its meter's ("meter") to the key of a new
   * certificate, e.g. after re-enrolling or replacing the meter. Only the household's currently bound key can
   * sign this: its distributor cannot rebind a household to a certificate it issued itself.
   */
  @Transaction()
  @Returns('string')
  async RebindKey(
    ctx: Context,
    subscriptionId: string,
    party: string,
    certificatePem: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    if (party !== 'subscriber' && party !== 'meter')
      throw invalidArgument('party must be subscriber or meter');
    const { fingerprint, attributes } = parseCertificate(certificatePem);
    const record = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    if (!isOwner(caller, record)) {
      throw forbidden(
        `only the household of ${id}, with its bound key, may rebind it; caller is ${describe(caller)}`,
      );
    }
    requireStatus(record, OPEN_STATUSES, 'rebind a key of');
    const [role, idAttribute, expected] =
      party === 'subscriber'
        ? ['subscriber', 'subscriberId', record.subscriberId]
        : ['meter', 'meterId', record.meterId];
    if (attributes.role !== role || attributes[idAttribute] !== expected) {
      throw invalidArgument(`the certificate must be of role ${role} with ${idAttribute} ${expected}`);
    }
    const previous =
      party === 'subscriber' ? record.subscriberKeyFingerprint : (record.meterKeyFingerprint ?? null);
    if (previous === fingerprint) throw conflict(`the ${party} is already bound to this key`);
    const now = txTimeIso(ctx);
    const rebind: KeyRebind = { party, previousFingerprint: previous, fingerprint, reboundAt: now };
    const updated: SubscriptionRecord = {
      ...record,
      ...(party === 'subscriber'
        ? { subscriberKeyFingerprint: fingerprint }
        : { meterKeyFingerprint: fingerprint }),
      keyRebinds: [...(record.keyRebinds ?? []), rebind],
      updatedAt: now,
    };
    return saveAndEmit(
      ctx,
      subscriptionKey(ctx, id),
      updated,
      EventName.SubscriptionKeyRebound,
      eventOf(updated),
    );
  }

  /**
   * The distributor's operator changes how often the meter reports, from `effectiveFrom` on: a boundary of both
   * the current and the new interval, not before the end of the last accepted reading (empty: the first such
   * boundary from now). Earlier periods keep their interval; the meter picks the change up from the ledger.
   */
  @Transaction()
  @Returns('string')
  async ChangeReadingInterval(
    ctx: Context,
    subscriptionId: string,
    intervalSeconds: string,
    effectiveFrom: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const interval = requireAllowedInterval(Number(intervalSeconds), intervalSeconds);
    const record = await loadSubscription(ctx, id);
    requireOperatorOf(callerOf(ctx), record.distributorMspId, 'ChangeReadingInterval');
    requireStatus(record, ['APPROVED', 'ACTIVE'], 'change the interval of');
    const updated = await withIntervalChange(ctx, record, interval, effectiveFrom);
    return saveAndEmit(
      ctx,
      subscriptionKey(ctx, id),
      updated,
      EventName.ReadingIntervalChanged,
      eventOf(updated),
    );
  }

  /**
   * The subscriber or the distributor's operator ends the subscription. Readings for periods from
   * effectiveAt on are refused and the session key is retired; readings before it stay readable.
   */
  @Transaction()
  @Returns('string')
  async EndSubscription(
    ctx: Context,
    subscriptionId: string,
    reason: string,
    effectiveAt: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const validReason = requireText('reason', reason, MAX_REASON_LENGTH);
    const nowSeconds = txEpochSeconds(ctx);
    const effectiveSeconds = effectiveAt === '' ? nowSeconds : parseIsoSeconds('effectiveAt', effectiveAt);
    if (effectiveSeconds > nowSeconds + MAX_END_AHEAD_SECONDS) {
      throw invalidArgument('effectiveAt may be at most 90 days ahead');
    }
    const record = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    const endedByRole = enderRole(caller, record);
    requireStatus(record, OPEN_STATUSES, 'end');
    const cursor = await readingCursor(ctx, id);
    if (cursor && record.approval) {
      const lastEnd = lastPeriodEnd(record.approval, cursor);
      if (effectiveSeconds < lastEnd) {
        throw invalidArgument(
          `effectiveAt must not be before ${isoSeconds(lastEnd)}, the end of the last accepted reading`,
        );
      }
    }
    const now = isoSeconds(nowSeconds);
    const updated: SubscriptionRecord = {
      ...record,
      end: { reason: validReason, effectiveAt: isoSeconds(effectiveSeconds), endedAt: now, endedByRole },
      updatedAt: now,
    };
    const saved = await saveWithStatus(ctx, updated, 'ENDED');
    await retireKey(ctx, saved, now);
    return emitSaved(ctx, saved, EventName.SubscriptionEnded);
  }

  @Transaction(false)
  @Returns('string')
  async GetSubscription(ctx: Context, subscriptionId: string): Promise<string> {
    const record = await loadSubscription(ctx, requireSubscriptionId(subscriptionId));
    requireReader(callerOf(ctx), record);
    return canonicalJson(record);
  }

  /**
   * The caller's own subscriptions: a household's, or the subscriptions a meter belongs to; only those bound to
   * the caller's key (a certificate cloned with the same id sees none).
   */
  @Transaction(false)
  @Returns('string')
  async ListMySubscriptions(ctx: Context): Promise<string> {
    const caller = callerOf(ctx);
    const distributorMspId = caller.distributorMspId ?? undefined;
    let ids: string[];
    if (caller.role === 'subscriber' && caller.subscriberId && distributorMspId) {
      ids = await idsByPartialKey(ctx, Keys.subscriptionBySubscriber, {
        distributorMspId,
        subscriberId: caller.subscriberId,
      });
    } else if (caller.role === 'meter' && caller.meterId && distributorMspId) {
      ids = await idsByPartialKey(ctx, Keys.subscriptionByMeter, {
        distributorMspId,
        meterId: caller.meterId,
      });
    } else {
      throw forbidden(`ListMySubscriptions is for households and meters; caller is ${describe(caller)}`);
    }
    const records: SubscriptionRecord[] = [];
    for (const id of ids) {
      const record = await loadSubscription(ctx, id);
      if (isOwner(caller, record) || isItsMeter(caller, record)) records.push(record);
    }
    return canonicalJson(records);
  }

  /** Operators and auditors page through the channel's subscriptions, optionally of one status. */
  @Transaction(false)
  @Returns('string')
  async ListSubscriptions(ctx: Context, status: string, pageSize: string, bookmark: string): Promise<string> {
    const statusFilter = parseStatusFilter(status);
    const size = parsePageSize(pageSize);
    const from = parseBookmark(bookmark);
    const caller = callerOf(ctx);
    // The configuration administrator lists its own distributor's subscriptions to resolve a group of meters.
    if (!isOperatorOf(caller) && !isAuditor(caller) && caller.role !== 'config-admin') {
      throw forbidden(
        `ListSubscriptions is for operators, configuration administrators and auditors; caller is ${describe(caller)}`,
      );
    }
    const page: Page<SubscriptionRecord> = statusFilter
      ? await pageThroughIndex(ctx, Keys.subscriptionByStatus, { status: statusFilter }, size, from, (id) =>
          subscriptionKey(ctx, id),
        )
      : await pageByPartialKey(ctx, Keys.subscription, {}, size, from);
    const visible = page.records.filter(
      (record) => isAuditor(caller) || record.distributorMspId === caller.mspId,
    );
    return canonicalJson({ records: visible, bookmark: page.bookmark });
  }

  /** Every committed version of a subscription record, oldest first. */
  @Transaction(false)
  @Returns('string')
  async GetSubscriptionHistory(ctx: Context, subscriptionId: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    requireReader(callerOf(ctx), await loadSubscription(ctx, id));
    const iterator = await ctx.stub.getHistoryForKey(subscriptionKey(ctx, id));
    const history: {
      txId: string;
      timestamp: string;
      isDelete: boolean;
      record: SubscriptionRecord | null;
    }[] = [];
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        const entry = next.value;
        history.push({
          txId: entry.txId,
          timestamp: isoSeconds(Number(entry.timestamp.seconds)),
          isDelete: entry.isDelete,
          record: entry.isDelete
            ? null
            : (JSON.parse(Buffer.from(entry.value).toString('utf8')) as SubscriptionRecord),
        });
      }
    } finally {
      await iterator.close();
    }
    // Fabric returns a key's history newest first, in commit order; timestamps (seconds, and the clients'
    // clocks) cannot order versions written within one second.
    history.reverse();
    return canonicalJson(history);
  }
}

/** The household that owns it, its distributor's operators, the authority's auditors, and its meter. */
function requireReader(caller: Caller, record: SubscriptionRecord): void {
  if (!mayReadSubscription(caller, record)) {
    throw forbidden(`${describe(caller)} may not read subscription ${record.subscriptionId}`);
  }
}

// --- helpers ---------------------------------------------------------------------------------------------

const REQUEST_FIELDS: (keyof SubscriptionRequest)[] = [
  'distributorMspId',
  'meterId',
  'requestedPlan',
  'keyId',
  'pairingCommitment',
  'keyGrants',
  'privacyMode',
  'householdPublicKeyPem',
  'utility',
];

function parseSubscriptionRequest(json: string): SubscriptionRequest {
  const raw = parseJsonObject('request', json);
  requireOnlyFields('request', raw, REQUEST_FIELDS);
  if (!isKeyId(raw.keyId)) throw invalidArgument('keyId must be 32 lowercase hex characters');
  const privacyMode = parsePrivacyMode(raw.privacyMode);
  const grantCount = privacyMode === 'aggregate' ? 1 : 2;
  if (!Array.isArray(raw.keyGrants) || raw.keyGrants.length !== grantCount) {
    throw invalidArgument(
      privacyMode === 'aggregate'
        ? 'keyGrants must list the session key wrapped for the distributor only (aggregate mode)'
        : 'keyGrants must list the session key wrapped for the distributor and for the authority',
    );
  }
  return {
    distributorMspId: requireIdentifier('distributorMspId', raw.distributorMspId),
    meterId: requireIdentifier('meterId', raw.meterId),
    requestedPlan: requireIdentifier('requestedPlan', raw.requestedPlan),
    keyId: raw.keyId,
    pairingCommitment: requireHex('pairingCommitment', raw.pairingCommitment, 32, 'a SHA-256'),
    keyGrants: raw.keyGrants.map(parseKeyGrant),
    privacyMode,
    ...parseHouseholdKey(raw.householdPublicKeyPem, privacyMode),
    ...parseUtility(raw.utility),
  };
}

/** Absent means electricity (as before utilities existed); anything else must be a known utility. */
function parseUtility(value: unknown): { utility?: Utility } {
  if (value === undefined) return {};
  const utility = UTILITIES.find((known) => known === value);
  if (!utility) throw invalidArgument(`utility must be one of ${UTILITIES.join(', ')}`);
  return { utility };
}

/**
 * A subscription's tariff must price what its meter measures: a gas meter's litres billed at an electricity
 * price per kWh would be wrong by a factor of ten. Checked against every published version of the tariff.
 */
async function requireTariffFor(ctx: Context, record: SubscriptionRecord, tariffId: string): Promise<void> {
  const utility = utilityOf(record);
  for (const version of await tariffVersions(ctx, record.distributorMspId, tariffId)) {
    const priced = version.utility ?? 'electricity';
    if (priced !== utility)
      throw invalidArgument(
        `tariff ${tariffId} prices ${priced}; ${record.subscriptionId} meters ${utility}: choose a ${utility} tariff`,
      );
  }
}

/** The household's report key: an SPKI P-256 public key, required in aggregate mode. */
function parseHouseholdKey(value: unknown, mode: PrivacyMode): { householdPublicKeyPem?: string } {
  if (value === undefined) {
    if (mode === 'aggregate')
      throw invalidArgument(
        'householdPublicKeyPem is required in aggregate mode: the bill reports are sealed for it',
      );
    return {};
  }
  if (typeof value !== 'string' || value.length > 1024) {
    throw invalidArgument('householdPublicKeyPem must be a PEM public key of at most 1024 characters');
  }
  try {
    publicKeyFingerprint(value);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`householdPublicKeyPem: ${err.message}`);
    throw err;
  }
  return { householdPublicKeyPem: value };
}

function parsePrivacyMode(value: unknown): PrivacyMode {
  if (value === undefined) return 'disclosed';
  const mode = PRIVACY_MODES.find((known) => known === value);
  if (!mode) throw invalidArgument(`privacyMode must be one of ${PRIVACY_MODES.join(', ')}`);
  return mode;
}

function parseKeyGrant(value: unknown, index: number): KeyGrant {
  const where = `keyGrants[${index}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`${where} must be an object`);
  }
  const grant = value as Record<string, unknown>;
  requireOnlyFields(where, grant, ['mspId', 'orgKeyVersion', 'wrappedKey']);
  try {
    return {
      mspId: requireIdentifier(`${where}.mspId`, grant.mspId),
      orgKeyVersion: requireInteger(`${where}.orgKeyVersion`, grant.orgKeyVersion, 1, 1_000_000),
      wrappedKey: validateWrappedKey(grant.wrappedKey),
    };
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`${where}.wrappedKey: ${err.message}`);
    throw err;
  }
}

/** The key must be wrapped for exactly these organizations, each with its current published key. */
async function requireCurrentKeyGrants(ctx: Context, grants: KeyGrant[], mspIds: string[]): Promise<void> {
  const granted = grants.map((grant) => grant.mspId).sort();
  if (canonicalJson(granted) !== canonicalJson([...mspIds].sort())) {
    throw invalidArgument(`keyGrants must be for ${mspIds.join(' and ')} (got ${granted.join(', ')})`);
  }
  for (const grant of grants) {
    const current = await currentOrgKey(ctx, grant.mspId);
    if (!current) throw notFound(`${grant.mspId} has not published an encryption key on this channel`);
    if (current.version !== grant.orgKeyVersion) {
      throw conflict(
        `the key for ${grant.mspId} is wrapped for key version ${grant.orgKeyVersion}, but the current one is ${current.version}`,
      );
    }
  }
}

async function requireFreshSessionKey(ctx: Context, keyId: string): Promise<void> {
  if (await exists(ctx, Keys.retiredKey.key(ctx, { keyId }))) {
    throw conflict(`session key ${keyId} is retired: create a new session key`);
  }
  if (await exists(ctx, Keys.sessionKey.key(ctx, { keyId }))) {
    throw alreadyExists(`session key ${keyId} already belongs to a subscription`);
  }
}

async function requireMeterFree(ctx: Context, distributorMspId: string, meterId: string): Promise<void> {
  for (const id of await idsByPartialKey(ctx, Keys.subscriptionByMeter, { distributorMspId, meterId })) {
    const other = await loadSubscription(ctx, id);
    if (OPEN_STATUSES.includes(other.status)) {
      throw conflict(
        `meter ${meterId} already serves subscription ${other.subscriptionId} (${other.status})`,
      );
    }
  }
}

function parseCertificate(pem: unknown): {
  fingerprint: string;
  attributes: Partial<Record<string, string>>;
} {
  if (typeof pem !== 'string' || pem.length > 8192 || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalidArgument('certificatePem must be a PEM certificate of at most 8192 characters');
  }
  try {
    return { fingerprint: certificateKeyFingerprint(pem), attributes: certificateAttributes(pem) };
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`certificatePem: ${err.message}`);
    throw err;
  }
}

function parseApproval(
  json: string,
  nowSeconds: number,
): Omit<SubscriptionRecord['approval'] & object, 'approvedAt'> {
  const raw = parseJsonObject('approval', json);
  requireOnlyFields('approval', raw, ['intervalSeconds', 'tariffId', 'regionCode', 'startDate']);
  const intervalSeconds = requireAllowedInterval(raw.intervalSeconds, raw.intervalSeconds);
  const regionCode = requireRegion(raw.regionCode);
  const startSeconds = parseIsoSeconds('startDate', raw.startDate);
  if (startSeconds % intervalSeconds !== 0) {
    throw invalidArgument(`startDate must be aligned to the ${intervalSeconds}-second interval`);
  }
  if (startSeconds < nowSeconds - BACKLOG_LIMIT_SECONDS)
    throw invalidArgument('startDate lies too far in the past');
  return {
    intervalSeconds,
    tariffId: requireIdentifier('tariffId', raw.tariffId),
    regionCode,
    startDate: isoSeconds(startSeconds),
  };
}

function parseStatusFilter(value: unknown): SubscriptionStatus | null {
  if (value === '') return null;
  const status = SUBSCRIPTION_STATUSES.find((known) => known === value);
  if (!status) throw invalidArgument(`status must be empty or one of ${SUBSCRIPTION_STATUSES.join(', ')}`);
  return status;
}

function enderRole(caller: Caller, record: SubscriptionRecord): 'subscriber' | 'operator' {
  if (isOwner(caller, record)) return 'subscriber';
  if (isOperatorOf(caller, record.distributorMspId)) return 'operator';
  throw forbidden(
    `only the subscriber or an operator of ${record.distributorMspId} may end ${record.subscriptionId}`,
  );
}

/** Events carry ids only, never ciphertext or anything about the household. */
function eventOf(record: SubscriptionRecord): Record<string, string> {
  return { subscriptionId: record.subscriptionId, distributorMspId: record.distributorMspId };
}

/** The ending of a transaction whose record saveWithStatus already stored. */
function emitSaved(ctx: Context, record: SubscriptionRecord, event: EventName): string {
  ctx.stub.setEvent(event, marshal(eventOf(record)));
  return canonicalJson(record);
}
