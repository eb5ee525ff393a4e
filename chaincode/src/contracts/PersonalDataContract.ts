import { createHash } from 'node:crypto';
import {
  CryptoInputError,
  PERSONAL_DATA_PADDED_BYTES,
  publicKeyFingerprint,
  sealedSize,
  validateSealed,
} from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  EventName,
  personalDataCollection,
  type AccessRequestRecord,
  type AccessRequestStatus,
  type Page,
  type PersonalDataDelivery,
  type Role,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isAuditor,
  isAuthority,
  isOperatorOf,
  isOwner,
  mayReadSubscriptionData,
  requireSubscriber,
  type Caller,
} from '../access';
import { SmartMeterContract } from '../baseContract';
import { conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson, marshal, unmarshal } from '../ledger/marshal';
import {
  idsByPartialKey,
  pageByPartialKey,
  pageThroughIndex,
  readRequired,
  saveAndEmit,
  writeIndex,
} from '../ledger/store';
import { txTimeIso } from '../ledger/txTime';
import { loadSubscription, requireSubscriptionId } from '../subscriptions';
import { parseBookmark, parsePageSize, requireDerivedId, requireText } from '../validate';

/** Name of the transient field that carries the household's sealed personal data on a grant. */
export const PERSONAL_DATA_TRANSIENT_KEY = 'personalData';
const MAX_REASON_LENGTH = 500;
const MAX_PEM_LENGTH = 1024;

/**
 * Personal-data access requests. Personal data never rests on the ledger: a distributor or the authority
 * files a request with a reason and a public key made for that request alone; the household grants or denies
 * it, and on a grant the data, sealed for that request key, goes to a private data collection only the
 * requesting organization keeps, which purges it after its block-to-live. Every endorser sees the sealed copy
 * (transient store) but only the requester can open it, and once the requester destroys the request key no
 * copy left on any disk opens. The ledger keeps the request, the reason, the decision and a hash.
 */
@Info({ title: 'PersonalData', description: 'Logged, consented access to households personal data' })
export class PersonalDataContract extends SmartMeterContract {
  constructor() {
    super('PersonalData');
  }

  @Transaction()
  @Returns('string')
  async RequestPersonalData(
    ctx: Context,
    subscriptionId: string,
    reason: string,
    requestPublicKeyPem: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const validReason = requireText('reason', reason, MAX_REASON_LENGTH);
    const requestKey = requireRequestKey(requestPublicKeyPem);
    const subscription = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    const requesterRole = requesterRoleOf(caller, subscription);
    const record: AccessRequestRecord = {
      docType: 'accessRequest',
      requestId: `par_${ctx.stub.getTxID().slice(0, 24)}`,
      subscriptionId: id,
      requesterMspId: caller.mspId,
      requesterRole,
      reason: validReason,
      requestPublicKeyPem: requestKey,
      status: 'PENDING',
      requestedAt: txTimeIso(ctx),
    };
    const { requestId } = record;
    await writeIndex(ctx, Keys.accessRequestBySubscription.key(ctx, { subscriptionId: id, requestId }));
    await writeIndex(
      ctx,
      Keys.accessRequestByRequester.key(ctx, { requesterMspId: caller.mspId, requestId }),
    );
    return save(ctx, record, EventName.PersonalDataRequested);
  }

  /** The household consents; its encrypted personal data arrives as transient data, never in the ledger. */
  @Transaction()
  @Returns('string')
  async GrantPersonalData(ctx: Context, requestId: string): Promise<string> {
    const request = await loadRequest(ctx, requireRequestId(requestId));
    const personalData = ctx.stub.getTransient().get(PERSONAL_DATA_TRANSIENT_KEY);
    if (!personalData) {
      throw invalidArgument(
        `the sealed personal data must come as transient field "${PERSONAL_DATA_TRANSIENT_KEY}" (${sealedSize(PERSONAL_DATA_PADDED_BYTES)} bytes)`,
      );
    }
    try {
      validateSealed(personalData, PERSONAL_DATA_PADDED_BYTES);
    } catch (err) {
      if (err instanceof CryptoInputError) throw invalidArgument(`personal data: ${err.message}`);
      throw err;
    }
    await requireHousehold(ctx, request, 'grant');
    requirePending(request);
    const now = txTimeIso(ctx);
    const collection = personalDataCollection(request.requesterMspId);
    const delivery: PersonalDataDelivery = {
      docType: 'personalDataDelivery',
      requestId: request.requestId,
      subscriptionId: request.subscriptionId,
      sealedPersonalData: Buffer.from(personalData).toString('base64'),
      deliveredAt: now,
    };
    await ctx.stub.putPrivateData(collection, request.requestId, marshal(delivery));
    const granted: AccessRequestRecord = {
      ...request,
      status: 'GRANTED',
      decidedAt: now,
      collection,
      deliveredHash: sha256Hex(personalData),
    };
    return save(ctx, granted, EventName.PersonalDataGranted);
  }

  @Transaction()
  @Returns('string')
  async DenyPersonalData(ctx: Context, requestId: string, reason: string): Promise<string> {
    const request = await loadRequest(ctx, requireRequestId(requestId));
    const denialReason = requireText('reason', reason, MAX_REASON_LENGTH);
    await requireHousehold(ctx, request, 'deny');
    requirePending(request);
    const denied: AccessRequestRecord = {
      ...request,
      status: 'DENIED',
      decidedAt: txTimeIso(ctx),
      denialReason,
    };
    return save(ctx, denied, EventName.PersonalDataDenied);
  }

  /** The requesting organization reads what was delivered, until the collection purges it. */
  @Transaction(false)
  @Returns('string')
  async FetchPersonalData(ctx: Context, requestId: string): Promise<string> {
    const request = await loadRequest(ctx, requireRequestId(requestId));
    const caller = callerOf(ctx);
    if (!isRequesterOrg(caller, request)) {
      throw forbidden(
        `only the requesting organization ${request.requesterMspId} may fetch what it was given`,
      );
    }
    if (request.status !== 'GRANTED' || !request.collection) {
      throw conflict(`request ${request.requestId} is ${request.status}, not GRANTED`);
    }
    const bytes = await ctx.stub.getPrivateData(request.collection, request.requestId);
    if (bytes.length === 0) {
      throw notFound(
        `the personal data of ${request.requestId} is no longer held (purged after its block-to-live)`,
      );
    }
    const delivery = unmarshal<PersonalDataDelivery>(bytes);
    if (sha256Hex(Buffer.from(delivery.sealedPersonalData, 'base64')) !== request.deliveredHash) {
      throw conflict(`the delivered data does not match the hash recorded for ${request.requestId}`);
    }
    return canonicalJson(delivery);
  }

  @Transaction(false)
  @Returns('string')
  async GetAccessRequest(ctx: Context, requestId: string): Promise<string> {
    const request = await loadRequest(ctx, requireRequestId(requestId));
    const caller = callerOf(ctx);
    if (isAuditor(caller) || isRequesterOrg(caller, request)) return canonicalJson(request);
    const subscription = await loadSubscription(ctx, request.subscriptionId);
    if (mayReadSubscriptionData(caller, subscription)) return canonicalJson(request);
    throw forbidden(`${describe(caller)} may not read access request ${request.requestId}`);
  }

  /** Auditors page through every request on the channel; operators through their organization's own. */
  @Transaction(false)
  @Returns('string')
  async ListAccessRequests(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const size = parsePageSize(pageSize);
    const from = parseBookmark(bookmark);
    const caller = callerOf(ctx);
    let page: Page<AccessRequestRecord>;
    if (isAuditor(caller)) {
      page = await pageByPartialKey(ctx, Keys.accessRequest, {}, size, from);
    } else if (isOperatorOf(caller)) {
      page = await pageThroughIndex(
        ctx,
        Keys.accessRequestByRequester,
        { requesterMspId: caller.mspId },
        size,
        from,
        (requestId) => Keys.accessRequest.key(ctx, { requestId }),
      );
    } else {
      throw forbidden(`ListAccessRequests is for auditors and operators; caller is ${describe(caller)}`);
    }
    return canonicalJson(page);
  }

  /** The requests about one subscription: for its household (to decide on them), operator and auditors. */
  @Transaction(false)
  @Returns('string')
  async ListSubscriptionAccessRequests(ctx: Context, subscriptionId: string): Promise<string> {
    const subscription = await loadSubscription(ctx, requireSubscriptionId(subscriptionId));
    const caller = callerOf(ctx);
    if (!mayReadSubscriptionData(caller, subscription)) {
      throw forbidden(
        `${describe(caller)} may not list the access requests of ${subscription.subscriptionId}`,
      );
    }
    const requests: AccessRequestRecord[] = [];
    const ids = await idsByPartialKey(ctx, Keys.accessRequestBySubscription, {
      subscriptionId: subscription.subscriptionId,
    });
    for (const requestId of ids) requests.push(await loadRequest(ctx, requestId));
    return canonicalJson(requests);
  }
}

function requireRequestId(value: unknown): string {
  return requireDerivedId('requestId', 'par', value);
}

async function loadRequest(ctx: Context, requestId: string): Promise<AccessRequestRecord> {
  return readRequired<AccessRequestRecord>(
    ctx,
    Keys.accessRequest.key(ctx, { requestId }),
    `access request ${requestId}`,
  );
}

function requesterRoleOf(caller: Caller, subscription: SubscriptionRecord): Role {
  if (isOperatorOf(caller, subscription.distributorMspId)) return 'operator';
  if (isAuditor(caller)) return 'auditor';
  throw forbidden(
    `personal data of ${subscription.subscriptionId} may be requested by an operator of ` +
      `${subscription.distributorMspId} or an auditor; caller is ${describe(caller)}`,
  );
}

function isRequesterOrg(caller: Caller, request: AccessRequestRecord): boolean {
  if (caller.mspId !== request.requesterMspId) return false;
  return isAuthority(caller.mspId) ? isAuditor(caller) : isOperatorOf(caller, caller.mspId);
}

async function requireHousehold(ctx: Context, request: AccessRequestRecord, action: string): Promise<void> {
  const caller = callerOf(ctx);
  requireSubscriber(caller, `to ${action} an access request`);
  const subscription = await loadSubscription(ctx, request.subscriptionId);
  if (!isOwner(caller, subscription)) {
    throw forbidden(
      `only the household of ${request.subscriptionId}, with its bound key, may ${action} request ${request.requestId}; caller is ${describe(caller)}`,
    );
  }
}

/** A P-256 SubjectPublicKeyInfo PEM made for this request; a private key or another curve is refused. */
function requireRequestKey(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PEM_LENGTH) {
    throw invalidArgument(
      `requestPublicKeyPem must be a PEM public key of at most ${MAX_PEM_LENGTH} characters`,
    );
  }
  try {
    publicKeyFingerprint(value);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`requestPublicKeyPem: ${err.message}`);
    throw err;
  }
  return value;
}

function requirePending(request: AccessRequestRecord): void {
  const status: AccessRequestStatus = request.status;
  if (status !== 'PENDING') {
    throw conflict(`request ${request.requestId} was already decided: ${status}`);
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Access-request events carry ids only. */
function save(ctx: Context, record: AccessRequestRecord, event: EventName): Promise<string> {
  return saveAndEmit(ctx, Keys.accessRequest.key(ctx, { requestId: record.requestId }), record, event, {
    requestId: record.requestId,
    subscriptionId: record.subscriptionId,
    requesterMspId: record.requesterMspId,
  });
}
