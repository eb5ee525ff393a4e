import type {
  ConfigAckStatus,
  ConfigPriority,
  DeviceConfigHistoryEntry,
  DeviceConfigRecord,
  DeviceConfigVersionStatus,
  DeviceKeyRecord,
} from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, submitWith, type ChaincodeChannel } from './invoke';

/** One meter's part of a publication: its next version and the configuration sealed for its device key. */
export interface DeviceConfigTarget {
  meterId: string;
  version: number;
  /** Base64. */
  sealed: string;
}

/** The argument of DeviceConfig:PublishDeviceConfig (the plaintext goes as transient `config`). */
export interface DeviceConfigPublication {
  targets: DeviceConfigTarget[];
  priority: ConfigPriority;
  schemaVersion: number;
  configHash: string;
}

/** The DeviceConfig contract: device keys, sealed configuration versions and the meters' acknowledgements. */
export class DeviceConfigClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'DeviceConfig');
  }

  registerKey(subscriptionId: string, publicKeyPem: string): Promise<DeviceKeyRecord> {
    return submitJson(this.contract, 'RegisterDeviceKey', subscriptionId, publicKeyPem);
  }

  /**
   * The plaintext travels as transient data: the endorsers validate it, the ledger never holds it. With transient
   * data the gateway endorses only on the organizations named, so the caller names the endorsement policy's.
   */
  publish(
    publication: DeviceConfigPublication,
    canonicalConfig: Uint8Array,
    endorsingOrganizations: string[],
  ): Promise<DeviceConfigRecord[]> {
    return submitWith(this.contract, 'PublishDeviceConfig', {
      arguments: [JSON.stringify(publication)],
      transientData: { config: canonicalConfig },
      endorsingOrganizations,
    });
  }

  /**
   * configHash for applied, reason for refused, empty otherwise; `config` (transient, with the organizations that
   * endorse it) when an applied configuration changes the reading interval.
   */
  acknowledge(
    meterId: string,
    version: number,
    status: ConfigAckStatus,
    details: {
      configHash?: string;
      reason?: string;
      config?: Uint8Array;
      endorsingOrganizations?: string[];
      /** Where the meter starts a new reading interval; empty: the next common boundary from now. */
      effectiveFrom?: string;
    } = {},
  ): Promise<unknown> {
    return submitWith(this.contract, 'AcknowledgeDeviceConfig', {
      arguments: [
        meterId,
        String(version),
        status,
        details.configHash ?? '',
        details.reason ?? '',
        details.effectiveFrom ?? '',
      ],
      ...(details.config
        ? {
            transientData: { config: details.config },
            endorsingOrganizations: details.endorsingOrganizations,
          }
        : {}),
    });
  }

  deviceKey(meterId: string): Promise<DeviceKeyRecord> {
    return evaluateJson(this.contract, 'GetDeviceKey', meterId);
  }

  get(meterId: string, version: number): Promise<DeviceConfigRecord> {
    return evaluateJson(this.contract, 'GetDeviceConfig', meterId, String(version));
  }

  latest(meterId: string): Promise<DeviceConfigRecord> {
    return evaluateJson(this.contract, 'LatestDeviceConfig', meterId);
  }

  /** distributorMspId empty: the caller's own distributor (auditors name one). */
  status(meterId: string, distributorMspId = ''): Promise<DeviceConfigVersionStatus> {
    return evaluateJson(this.contract, 'DeviceConfigStatus', meterId, distributorMspId);
  }

  history(meterId: string, distributorMspId = ''): Promise<DeviceConfigHistoryEntry[]> {
    return evaluateJson(this.contract, 'DeviceConfigHistory', meterId, distributorMspId);
  }

  fleetStatus(distributorMspId = ''): Promise<DeviceConfigVersionStatus[]> {
    return evaluateJson(this.contract, 'ListDeviceConfigStatus', distributorMspId);
  }
}
