/** Device configuration as it lies on the ledger: device keys, published versions and the meters' answers. */

export const CONFIG_PRIORITIES = ['routine', 'urgent', 'security'] as const;
export type ConfigPriority = (typeof CONFIG_PRIORITIES)[number];

export const CONFIG_ACK_STATUSES = ['delivered', 'applied', 'refused'] as const;
export type ConfigAckStatus = (typeof CONFIG_ACK_STATUSES)[number];

/** Where one published version stands on one meter. */
export type DeviceConfigState = 'PUBLISHED' | 'DELIVERED' | 'APPLIED' | 'FAILED';

/**
 * Most targets one PublishDeviceConfig may carry (one record each, in one transaction). Each target costs about
 * 10 KB of transaction (its sealed config in the arguments and again in the write set, base64); the orderers
 * refuse requests over 512,000 bytes (SmartBFT's request max bytes, measured by bench:device-config at 100
 * targets = 1,028,424 bytes). 40 stays under half of it; meterctl publishes a larger group in several.
 */
export const MAX_CONFIG_TARGETS = 40;
/** The size every sealed configuration is padded to, so its length says nothing about its content. */
export const DEVICE_CONFIG_PADDED_BYTES = 2048;
export const MAX_CONFIG_REFUSAL_REASON = 200;

/** The public encryption key a paired meter registered; configurations are sealed for it. */
export interface DeviceKeyRecord {
  docType: 'deviceKey';
  distributorMspId: string;
  meterId: string;
  subscriptionId: string;
  publicKeyPem: string;
  /** SHA-256 of the key's public point (publicKeyFingerprint of @smartmeter/crypto). */
  fingerprint: string;
  registeredAt: string;
}

/** One version of a meter's configuration; written once, never changed. */
export interface DeviceConfigRecord {
  docType: 'deviceConfig';
  distributorMspId: string;
  meterId: string;
  /** Per meter: 1, 2, 3, ... */
  version: number;
  priority: ConfigPriority;
  schemaVersion: number;
  configHash: string;
  /** Base64 of the canonical config sealed for the device key, context deviceConfigContext(...). */
  sealed: string;
  deviceKeyFingerprint: string;
  publishedAt: string;
  /** Key fingerprint of the configuration administrator's certificate. */
  publishedBy: string;
  txId: string;
}

/** Where the latest version of a meter's configuration is. */
export interface DeviceConfigPointer {
  docType: 'deviceConfigPointer';
  distributorMspId: string;
  meterId: string;
  version: number;
}

export interface DeviceConfigAckRecord {
  docType: 'deviceConfigAck';
  distributorMspId: string;
  meterId: string;
  version: number;
  status: ConfigAckStatus;
  /** The hash the meter applied (status applied). */
  configHash?: string;
  /** Why the meter refused it (status refused). */
  reason?: string;
  acknowledgedAt: string;
}

/** A version with what its meter said about it: what DeviceConfigHistory lists and status tables show. */
export interface DeviceConfigVersionStatus {
  meterId: string;
  version: number;
  priority: ConfigPriority;
  configHash: string;
  state: DeviceConfigState;
  publishedAt: string;
  deliveredAt?: string;
  appliedAt?: string;
  failedAt?: string;
  reason?: string;
}

/** One version in a meter's history: its state, the record's provenance and every acknowledgement. */
export interface DeviceConfigHistoryEntry extends DeviceConfigVersionStatus {
  deviceKeyFingerprint: string;
  publishedBy: string;
  txId: string;
  acks: DeviceConfigAckRecord[];
}

/** The AES-GCM context of a sealed configuration: it opens for this channel, meter and version only. */
export function deviceConfigContext(channel: string, meterId: string, version: number): string {
  return `${channel}|${meterId}|${version}`;
}

/** A version's state from its acknowledgements: an outcome (applied or refused) wins over delivery. */
export function deviceConfigStatusOf(
  record: DeviceConfigRecord,
  acks: readonly DeviceConfigAckRecord[],
): DeviceConfigVersionStatus {
  const at = (status: ConfigAckStatus) => acks.find((ack) => ack.status === status);
  const [delivered, applied, refused] = [at('delivered'), at('applied'), at('refused')];
  const state: DeviceConfigState = applied
    ? 'APPLIED'
    : refused
      ? 'FAILED'
      : delivered
        ? 'DELIVERED'
        : 'PUBLISHED';
  return {
    meterId: record.meterId,
    version: record.version,
    priority: record.priority,
    configHash: record.configHash,
    state,
    publishedAt: record.publishedAt,
    ...(delivered ? { deliveredAt: delivered.acknowledgedAt } : {}),
    ...(applied ? { appliedAt: applied.acknowledgedAt } : {}),
    ...(refused ? { failedAt: refused.acknowledgedAt, reason: refused.reason } : {}),
  };
}
