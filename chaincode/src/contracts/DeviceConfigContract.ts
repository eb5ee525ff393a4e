import { CryptoInputError, publicKeyFingerprint, validateSealed } from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  CONFIG_ACK_STATUSES,
  CONFIG_PRIORITIES,
  configHash,
  DEVICE_CONFIG_PADDED_BYTES,
  DEVICE_CONFIG_SCHEMA_VERSION,
  deviceConfigStatusOf,
  EventName,
  MAX_CONFIG_REFUSAL_REASON,
  MAX_CONFIG_TARGETS,
  validateDeviceConfig,
  type ConfigAckStatus,
  type ConfigPriority,
  type DeviceConfig,
  type DeviceConfigAckRecord,
  type DeviceConfigHistoryEntry,
  type DeviceConfigPointer,
  type DeviceConfigRecord,
  type DeviceKeyRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import {
  callerOf,
  describe,
  isAuditor,
  isConfigAdminOf,
  isItsMeter,
  isOperatorOf,
  requireMeter,
  type Caller,
} from '../access';
import { SmartMeterContract } from '../baseContract';
import { alreadyExists, conflict, forbidden, invalidArgument, notFound } from '../contractError';
import { withIntervalChange } from '../intervalChange';
import { fixedWidth, Keys } from '../ledger/keys';
import { canonicalJson, marshal } from '../ledger/marshal';
import { exists, readOptional, saveAndEmit, valuesByPartialKey, write } from '../ledger/store';
import { txTimeIso } from '../ledger/txTime';
import { loadSubscription, requireStatus, requireSubscriptionId, subscriptionKey } from '../subscriptions';
import {
  parseIntegerArgument,
  parseJsonObject,
  requireHex,
  requireIdentifier,
  requireObject,
  requireInteger,
  requireOnlyFields,
  requireText,
  requireCanonicalBase64,
} from '../validate';

const MAX_PUBLIC_KEY_PEM = 1024;
const MAX_VERSION = 1_000_000_000;
/** Base64 of one sealed configuration, with room for the JSON around it. */
const MAX_REQUEST_CHARS = MAX_CONFIG_TARGETS * 3200;

interface PublishTarget {
  meterId: string;
  version: number;
  sealed: string;
}

interface PublishRequest {
  targets: PublishTarget[];
  priority: ConfigPriority;
  schemaVersion: number;
  configHash: string;
}

/**
 * Device configuration (issue 19): the distributor's configuration administrator publishes versions sealed for
 * each meter's device key; the meter opens, checks and applies them and acknowledges on the ledger.
 */
@Info({ title: 'DeviceConfig', description: 'Meter configurations, sealed per device, versioned' })
export class DeviceConfigContract extends SmartMeterContract {
  constructor() {
    super('DeviceConfig');
  }

  /**
   * The paired meter of a subscription registers the public key its configurations are sealed for. The same key
   * again changes nothing (a meter may register on every start); another key replaces it from now on.
   */
  @Transaction()
  @Returns('string')
  async RegisterDeviceKey(ctx: Context, subscriptionId: string, publicKeyPem: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const fingerprint = devicePublicKeyFingerprint(publicKeyPem);
    const subscription = await loadSubscription(ctx, id);
    requireBoundMeter(callerOf(ctx), subscription, 'RegisterDeviceKey');
    requireStatus(subscription, ['APPROVED', 'ACTIVE'], 'register a device key for');
    const { distributorMspId, meterId } = subscription;
    const key = Keys.deviceKey.key(ctx, { distributorMspId, meterId });
    const current = await readOptional<DeviceKeyRecord>(ctx, key);
    if (current?.fingerprint === fingerprint && current.subscriptionId === id) return canonicalJson(current);
    const record: DeviceKeyRecord = {
      docType: 'deviceKey',
      distributorMspId,
      meterId,
      subscriptionId: id,
      publicKeyPem,
      fingerprint,
      registeredAt: txTimeIso(ctx),
    };
    const registration = {
      distributorMspId,
      meterId,
      registeredAt: record.registeredAt,
      txId: ctx.stub.getTxID(),
    };
    await write(ctx, Keys.deviceKeyRegistration.key(ctx, registration), record);
    return saveAndEmit(ctx, key, record, EventName.DeviceKeyRegistered, {
      distributorMspId,
      meterId,
      subscriptionId: id,
      fingerprint,
    });
  }

  /**
   * The configuration administrator publishes one configuration for its meters: the plaintext comes as the
   * transient field `config` (never written), the request names each target's next version and the
   * configuration sealed for its device key. Everything is checked before anything is written.
   */
  @Transaction()
  @Returns('string')
  async PublishDeviceConfig(ctx: Context, requestJson: string): Promise<string> {
    const request = parsePublishRequest(requestJson);
    const caller = callerOf(ctx);
    if (!isConfigAdminOf(caller, caller.mspId)) {
      throw forbidden(
        `PublishDeviceConfig needs a distributor's configuration administrator (role=config-admin); caller is ${describe(caller)}`,
      );
    }
    requireTransientConfigHash(ctx, request.configHash);
    const distributorMspId = caller.mspId;
    const records: DeviceConfigRecord[] = [];
    for (const [index, target] of request.targets.entries()) {
      const deviceKey = await requirePublishableMeter(ctx, distributorMspId, target, index);
      records.push({
        docType: 'deviceConfig',
        distributorMspId,
        meterId: target.meterId,
        version: target.version,
        priority: request.priority,
        schemaVersion: request.schemaVersion,
        configHash: request.configHash,
        sealed: target.sealed,
        deviceKeyFingerprint: deviceKey.fingerprint,
        publishedAt: txTimeIso(ctx),
        publishedBy: caller.keyFingerprint,
        txId: ctx.stub.getTxID(),
      });
    }
    for (const record of records) await writeVersion(ctx, record);
    ctx.stub.setEvent(
      EventName.DeviceConfigPublished,
      marshal({
        distributorMspId,
        txId: ctx.stub.getTxID(),
        targets: records.map(({ meterId, version }) => ({ meterId, version })),
      }),
    );
    return canonicalJson(records);
  }

  /**
   * The meter answers for one version: delivered (optional), then applied (with the hash it applied) or refused
   * (with its reason), once. An applied configuration that changes the reading interval comes with its
   * plaintext as transient `config`, and the subscription's interval changes from `effectiveFrom`: the first
   * period the meter measures at the new interval, a boundary of both intervals not before the end of its last
   * accepted reading (so no reading on the ledger changes meaning); empty: the next such boundary from now.
   */
  @Transaction()
  @Returns('string')
  async AcknowledgeDeviceConfig(
    ctx: Context,
    meterId: string,
    version: string,
    status: string,
    appliedHash: string,
    reason: string,
    effectiveFrom: string,
  ): Promise<string> {
    const ack = parseAck(meterId, version, status, appliedHash, reason);
    const caller = callerOf(ctx);
    const callerMeter = requireMeter(caller, 'AcknowledgeDeviceConfig');
    if (callerMeter !== ack.meterId) {
      throw forbidden(`meter ${callerMeter} cannot acknowledge for meter ${ack.meterId}`);
    }
    const distributorMspId = caller.distributorMspId ?? '';
    const subscription = await subscriptionOfDevice(ctx, distributorMspId, ack.meterId);
    requireBoundMeter(caller, subscription, 'AcknowledgeDeviceConfig');
    const record = await requireVersion(ctx, distributorMspId, ack.meterId, ack.version);
    await requireAckAllowed(ctx, record, ack.status);
    if (ack.status === 'applied' && ack.configHash !== record.configHash) {
      throw invalidArgument(
        `configHash ${ack.configHash ?? ''} is not the hash of version ${record.version} (${record.configHash})`,
      );
    }
    const intervalChanged =
      ack.status === 'applied' && (await applyIntervalOfConfig(ctx, subscription, record, effectiveFrom));
    const stored: DeviceConfigAckRecord = {
      docType: 'deviceConfigAck',
      distributorMspId,
      ...ack,
      acknowledgedAt: txTimeIso(ctx),
    };
    return saveAndEmit(ctx, ackKey(ctx, record, ack.status), stored, EventName.DeviceConfigAcknowledged, {
      distributorMspId,
      meterId: ack.meterId,
      version: ack.version,
      status: ack.status,
      intervalChanged,
    });
  }

  /** A meter's current device key: what configurations are sealed for. Same readers as GetDeviceConfig. */
  @Transaction(false)
  @Returns('string')
  async GetDeviceKey(ctx: Context, meterId: string): Promise<string> {
    const id = requireIdentifier('meterId', meterId);
    const distributorMspId = await requireDeviceReader(ctx, callerOf(ctx), '', id, false);
    const deviceKey = await currentDeviceKey(ctx, distributorMspId, id);
    if (!deviceKey) throw notFound(`meter ${id} has registered no device key with ${distributorMspId}`);
    return canonicalJson(deviceKey);
  }

  /** One version, sealed: for the meter itself, its distributor's configuration administrators and operators. */
  @Transaction(false)
  @Returns('string')
  async GetDeviceConfig(ctx: Context, meterId: string, version: string): Promise<string> {
    const id = requireIdentifier('meterId', meterId);
    const number = parseIntegerArgument('version', version, 1, MAX_VERSION);
    const caller = callerOf(ctx);
    const distributorMspId = await requireDeviceReader(ctx, caller, '', id, false);
    return canonicalJson(await requireVersion(ctx, distributorMspId, id, number));
  }

  /** The latest version of a meter's configuration: what a meter polls for. */
  @Transaction(false)
  @Returns('string')
  async LatestDeviceConfig(ctx: Context, meterId: string): Promise<string> {
    const id = requireIdentifier('meterId', meterId);
    const distributorMspId = await requireDeviceReader(ctx, callerOf(ctx), '', id, false);
    const pointer = await latestPointer(ctx, distributorMspId, id);
    if (!pointer) throw notFound(`no configuration has been published for meter ${id}`);
    return canonicalJson(await requireVersion(ctx, distributorMspId, id, pointer.version));
  }

  /**
   * Where the latest version stands on a meter. distributorMspId may be empty for the caller's own distributor;
   * the authority's auditors name it.
   */
  @Transaction(false)
  @Returns('string')
  async DeviceConfigStatus(ctx: Context, meterId: string, distributorMspId: string): Promise<string> {
    const id = requireIdentifier('meterId', meterId);
    const distributor = await requireDeviceReader(ctx, callerOf(ctx), distributorMspId, id, true);
    const pointer = await latestPointer(ctx, distributor, id);
    if (!pointer) throw notFound(`no configuration has been published for meter ${id}`);
    const record = await requireVersion(ctx, distributor, id, pointer.version);
    return canonicalJson(deviceConfigStatusOf(record, await acksOf(ctx, record)));
  }

  /** Every version of a meter's configuration, oldest first, with its acknowledgements and state. */
  @Transaction(false)
  @Returns('string')
  async DeviceConfigHistory(ctx: Context, meterId: string, distributorMspId: string): Promise<string> {
    const id = requireIdentifier('meterId', meterId);
    const distributor = await requireDeviceReader(ctx, callerOf(ctx), distributorMspId, id, true);
    const records = await valuesByPartialKey<DeviceConfigRecord, 'distributorMspId' | 'meterId' | 'version'>(
      ctx,
      Keys.deviceConfig,
      { distributorMspId: distributor, meterId: id },
    );
    const history: DeviceConfigHistoryEntry[] = [];
    for (const record of records) history.push(historyEntry(record, await acksOf(ctx, record)));
    return canonicalJson(history);
  }

  /** The latest version's state on every meter of a distributor that has a configuration. */
  @Transaction(false)
  @Returns('string')
  async ListDeviceConfigStatus(ctx: Context, distributorMspId: string): Promise<string> {
    const caller = callerOf(ctx);
    const distributor = requireFleetReader(caller, distributorMspId);
    const pointers = await valuesByPartialKey<DeviceConfigPointer, 'distributorMspId' | 'meterId'>(
      ctx,
      Keys.deviceConfigLatest,
      { distributorMspId: distributor },
    );
    const statuses = [];
    for (const pointer of pointers) {
      const record = await requireVersion(ctx, distributor, pointer.meterId, pointer.version);
      statuses.push(deviceConfigStatusOf(record, await acksOf(ctx, record)));
    }
    return canonicalJson(statuses);
  }
}

// --- arguments -------------------------------------------------------------------------------------------

function devicePublicKeyFingerprint(publicKeyPem: unknown): string {
  if (typeof publicKeyPem !== 'string' || publicKeyPem.length > MAX_PUBLIC_KEY_PEM) {
    throw invalidArgument(
      `publicKeyPem must be a PEM public key of at most ${MAX_PUBLIC_KEY_PEM} characters`,
    );
  }
  try {
    return publicKeyFingerprint(publicKeyPem);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`publicKeyPem: ${err.message}`);
    throw err;
  }
}

function parsePublishRequest(json: string): PublishRequest {
  const raw = parseJsonObject('request', json, MAX_REQUEST_CHARS);
  requireOnlyFields('request', raw, ['targets', 'priority', 'schemaVersion', 'configHash']);
  const priority = CONFIG_PRIORITIES.find((known) => known === raw.priority);
  if (!priority) throw invalidArgument(`priority must be one of ${CONFIG_PRIORITIES.join(', ')}`);
  if (raw.schemaVersion !== DEVICE_CONFIG_SCHEMA_VERSION) {
    throw invalidArgument(`schemaVersion must be ${DEVICE_CONFIG_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(raw.targets) || raw.targets.length === 0 || raw.targets.length > MAX_CONFIG_TARGETS) {
    throw invalidArgument(`targets must list 1 to ${MAX_CONFIG_TARGETS} meters`);
  }
  const targets = raw.targets.map(parseTarget);
  const meterIds = targets.map((target) => target.meterId);
  const repeated = meterIds.find((meterId, index) => meterIds.indexOf(meterId) !== index);
  if (repeated) throw invalidArgument(`targets name meter ${repeated} twice`);
  return {
    targets,
    priority,
    schemaVersion: DEVICE_CONFIG_SCHEMA_VERSION,
    configHash: requireHex('configHash', raw.configHash, 32, 'a SHA-256'),
  };
}

function parseTarget(value: unknown, index: number): PublishTarget {
  const where = `targets[${index}]`;
  const raw = requireObject(where, value);
  requireOnlyFields(where, raw, ['meterId', 'version', 'sealed']);
  return {
    meterId: requireIdentifier(`${where}.meterId`, raw.meterId),
    version: requireInteger(`${where}.version`, raw.version, 1, MAX_VERSION),
    sealed: requireSealed(`${where}.sealed`, raw.sealed),
  };
}

/** Well-formed for a device: base64 of exactly the padded sealed size, version and point in place. */
function requireSealed(name: string, value: unknown): string {
  const bytes = requireCanonicalBase64(name, value);
  try {
    validateSealed(bytes, DEVICE_CONFIG_PADDED_BYTES);
  } catch (err) {
    if (err instanceof CryptoInputError) throw invalidArgument(`${name}: ${err.message}`);
    throw err;
  }
  return value as string;
}

/** The endorsers check the plaintext they are shown (transient, never stored) against the published hash. */
function requireTransientConfigHash(ctx: Context, expectedHash: string): DeviceConfig {
  const config = transientConfig(ctx);
  if (!config) {
    throw invalidArgument('the configuration must come as transient field config (JSON): it is never stored');
  }
  const hash = configHash(config);
  if (hash !== expectedHash) {
    throw invalidArgument(`configHash ${expectedHash} is not the hash of the configuration (${hash})`);
  }
  return config;
}

/** The transient `config`, validated (every error by field); undefined when the proposal has none. */
function transientConfig(ctx: Context): DeviceConfig | undefined {
  const bytes = ctx.stub.getTransient().get('config');
  if (bytes === undefined || bytes.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalidArgument('transient config is not valid JSON');
  }
  const { config, errors } = validateDeviceConfig(parsed);
  if (!config) throw invalidArgument(`the configuration is invalid: ${errors.join('; ')}`);
  return config;
}

interface ParsedAck {
  meterId: string;
  version: number;
  status: ConfigAckStatus;
  configHash?: string;
  reason?: string;
}

function parseAck(meterId: string, version: string, status: string, hash: string, reason: string): ParsedAck {
  const known = CONFIG_ACK_STATUSES.find((candidate) => candidate === status);
  if (!known) throw invalidArgument(`status must be one of ${CONFIG_ACK_STATUSES.join(', ')}`);
  if (known !== 'applied' && hash !== '') throw invalidArgument('configHash is only for status applied');
  if (known !== 'refused' && reason !== '') throw invalidArgument('reason is only for status refused');
  return {
    meterId: requireIdentifier('meterId', meterId),
    version: parseIntegerArgument('version', version, 1, MAX_VERSION),
    status: known,
    ...(known === 'applied' ? { configHash: requireHex('configHash', hash, 32, 'a SHA-256') } : {}),
    ...(known === 'refused' ? { reason: requireText('reason', reason, MAX_CONFIG_REFUSAL_REASON) } : {}),
  };
}

// --- rules -----------------------------------------------------------------------------------------------

/** The subscription's meter, with the key it paired with: a clone with the same meter id is not it. */
function requireBoundMeter(caller: Caller, subscription: SubscriptionRecord, action: string): void {
  const meterId = requireMeter(caller, action);
  if (!subscription.meterKeyFingerprint || !isItsMeter(caller, subscription)) {
    throw forbidden(
      `${action}: meter ${meterId} of ${caller.mspId} is not the paired meter of ${subscription.subscriptionId}`,
    );
  }
}

async function currentDeviceKey(
  ctx: Context,
  distributorMspId: string,
  meterId: string,
): Promise<DeviceKeyRecord | undefined> {
  return readOptional<DeviceKeyRecord>(ctx, Keys.deviceKey.key(ctx, { distributorMspId, meterId }));
}

/** The subscription a meter registered its device key under (NOT_FOUND before it registered one). */
async function subscriptionOfDevice(
  ctx: Context,
  distributorMspId: string,
  meterId: string,
): Promise<SubscriptionRecord> {
  const deviceKey = await currentDeviceKey(ctx, distributorMspId, meterId);
  if (!deviceKey) throw notFound(`meter ${meterId} has registered no device key with ${distributorMspId}`);
  return loadSubscription(ctx, deviceKey.subscriptionId);
}

/**
 * A target must be a meter of this distributor with a device key and an open subscription, and its version the
 * next one. A meter of another distributor is NOT_FOUND like an unknown one: a refusal tells nothing about it.
 */
async function requirePublishableMeter(
  ctx: Context,
  distributorMspId: string,
  target: PublishTarget,
  index: number,
): Promise<DeviceKeyRecord> {
  const deviceKey = await currentDeviceKey(ctx, distributorMspId, target.meterId);
  if (!deviceKey) {
    throw notFound(
      `targets[${index}]: meter ${target.meterId} has registered no device key with ${distributorMspId}`,
    );
  }
  requireStatus(
    await loadSubscription(ctx, deviceKey.subscriptionId),
    ['APPROVED', 'ACTIVE'],
    'configure the meter of',
  );
  const latest = (await latestPointer(ctx, distributorMspId, target.meterId))?.version ?? 0;
  if (target.version !== latest + 1) {
    throw conflict(
      `targets[${index}]: meter ${target.meterId} is at version ${latest}, so the next is ${latest + 1}, not ${target.version} (a replay, or read the latest version again)`,
    );
  }
  if (await exists(ctx, versionKey(ctx, distributorMspId, target.meterId, target.version))) {
    throw alreadyExists(`version ${target.version} of meter ${target.meterId} already exists`);
  }
  return deviceKey;
}

async function writeVersion(ctx: Context, record: DeviceConfigRecord): Promise<void> {
  const { distributorMspId, meterId, version } = record;
  await write(ctx, versionKey(ctx, distributorMspId, meterId, version), record);
  const pointer: DeviceConfigPointer = { docType: 'deviceConfigPointer', distributorMspId, meterId, version };
  await write(ctx, Keys.deviceConfigLatest.key(ctx, { distributorMspId, meterId }), pointer);
}

/** delivered at most once and before the outcome; one outcome (applied or refused) per version. */
async function requireAckAllowed(
  ctx: Context,
  record: DeviceConfigRecord,
  status: ConfigAckStatus,
): Promise<void> {
  const acks = await acksOf(ctx, record);
  const outcome = acks.find((ack) => ack.status !== 'delivered');
  if (outcome) {
    throw conflict(`meter ${record.meterId} already ${outcome.status} version ${record.version}`);
  }
  if (status === 'delivered' && acks.length > 0) {
    throw conflict(`meter ${record.meterId} already acknowledged delivery of version ${record.version}`);
  }
}

/**
 * A configuration that sets another reading interval changes the subscription like ChangeReadingInterval does,
 * from the next boundary of both intervals. Only the plaintext says the interval, so the meter passes it as
 * transient `config`; without it the subscription is left as it is.
 */
async function applyIntervalOfConfig(
  ctx: Context,
  subscription: SubscriptionRecord,
  record: DeviceConfigRecord,
  effectiveFrom: string,
): Promise<boolean> {
  const config = transientConfig(ctx);
  if (!config) return false;
  if (configHash(config) !== record.configHash) {
    throw invalidArgument(`transient config is not version ${record.version} of meter ${record.meterId}`);
  }
  const interval = config.readingIntervalSeconds;
  if (interval === undefined || interval === subscription.approval?.intervalSeconds) return false;
  requireStatus(subscription, ['APPROVED', 'ACTIVE'], 'change the interval of');
  const updated = await withIntervalChange(ctx, subscription, interval, effectiveFrom);
  await write(ctx, subscriptionKey(ctx, subscription.subscriptionId), updated);
  return true;
}

// --- reading ---------------------------------------------------------------------------------------------

/**
 * The distributor whose meter is read, once the caller may read it: the meter itself (paired key), the
 * distributor's configuration administrators and operators, and (withAuditor) the authority's auditors, who
 * name the distributor. Households and other meters are refused.
 */
async function requireDeviceReader(
  ctx: Context,
  caller: Caller,
  distributorMspId: string,
  meterId: string,
  withAuditor: boolean,
): Promise<string> {
  if (caller.role === 'meter') {
    const own = caller.distributorMspId ?? '';
    if (caller.meterId !== meterId || (distributorMspId !== '' && distributorMspId !== own)) {
      throw forbidden(`${describe(caller)} may read only its own configuration`);
    }
    requireBoundMeter(caller, await subscriptionOfDevice(ctx, own, meterId), 'reading a configuration');
    return own;
  }
  if (withAuditor && isAuditor(caller)) return requireIdentifier('distributorMspId', distributorMspId);
  const own = caller.mspId;
  if ((isConfigAdminOf(caller, own) || isOperatorOf(caller, own)) && [own, ''].includes(distributorMspId)) {
    return own;
  }
  throw forbidden(`${describe(caller)} may not read the configuration of meter ${meterId}`);
}

/** Whole fleets: a distributor's configuration administrators and operators, and the authority's auditors. */
function requireFleetReader(caller: Caller, distributorMspId: string): string {
  if (isAuditor(caller)) return requireIdentifier('distributorMspId', distributorMspId);
  const own = caller.mspId;
  if ((isConfigAdminOf(caller, own) || isOperatorOf(caller, own)) && [own, ''].includes(distributorMspId)) {
    return own;
  }
  throw forbidden(
    `${describe(caller)} may not list configuration status of ${distributorMspId || 'a distributor'}`,
  );
}

function versionKey(ctx: Context, distributorMspId: string, meterId: string, version: number): string {
  return Keys.deviceConfig.key(ctx, { distributorMspId, meterId, version: fixedWidth(version) });
}

function ackKey(ctx: Context, record: DeviceConfigRecord, status: ConfigAckStatus): string {
  const { distributorMspId, meterId, version } = record;
  return Keys.deviceConfigAck.key(ctx, { distributorMspId, meterId, version: fixedWidth(version), status });
}

async function latestPointer(
  ctx: Context,
  distributorMspId: string,
  meterId: string,
): Promise<DeviceConfigPointer | undefined> {
  return readOptional<DeviceConfigPointer>(
    ctx,
    Keys.deviceConfigLatest.key(ctx, { distributorMspId, meterId }),
  );
}

async function requireVersion(
  ctx: Context,
  distributorMspId: string,
  meterId: string,
  version: number,
): Promise<DeviceConfigRecord> {
  const record = await readOptional<DeviceConfigRecord>(
    ctx,
    versionKey(ctx, distributorMspId, meterId, version),
  );
  if (!record) throw notFound(`version ${version} of meter ${meterId}'s configuration was never published`);
  return record;
}

async function acksOf(ctx: Context, record: DeviceConfigRecord): Promise<DeviceConfigAckRecord[]> {
  const { distributorMspId, meterId, version } = record;
  return valuesByPartialKey<DeviceConfigAckRecord, 'distributorMspId' | 'meterId' | 'version' | 'status'>(
    ctx,
    Keys.deviceConfigAck,
    { distributorMspId, meterId, version: fixedWidth(version) },
  );
}

function historyEntry(record: DeviceConfigRecord, acks: DeviceConfigAckRecord[]): DeviceConfigHistoryEntry {
  return {
    ...deviceConfigStatusOf(record, acks),
    deviceKeyFingerprint: record.deviceKeyFingerprint,
    publishedBy: record.publishedBy,
    txId: record.txId,
    acks,
  };
}
