import {
  contractOf,
  evaluateJson,
  type ChaincodeChannel,
  type ContractTarget,
} from '@smartmeter/client/dist/contracts/invoke';
import { refusalOf } from '@smartmeter/client/dist/errors';
import {
  ErrorCode,
  type DeviceHealthReport,
  type SubscriptionRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import {
  MeasurementClient,
  type BatchResult,
  type ReadingSubmission,
} from '@smartmeter/client/dist/contracts/MeasurementClient';
import { SubscriptionClient } from '@smartmeter/client/dist/contracts/SubscriptionClient';
import { DeviceHealthClient } from '@smartmeter/client/dist/contracts/DeviceHealthClient';
import { DeviceConfigClient } from '@smartmeter/client/dist/contracts/DeviceConfigClient';
import type { DeviceConfigAck, DeviceConfigLedger } from './configFollower';
import type { MeterLedger } from './meter';

/** The ledger as one meter sees it through the Fabric gateway: its subscription, its readings and its wallet. */
export class NetworkLedger implements MeterLedger {
  private readonly subscriptions: SubscriptionClient;
  private readonly measurements: MeasurementClient;
  private readonly prepaid: ContractTarget;
  private readonly health: DeviceHealthClient;
  readonly deviceConfig: DeviceConfigLedger;

  constructor(
    chaincode: ChaincodeChannel,
    private readonly subscriptionId: string,
    meterId: string,
  ) {
    this.subscriptions = new SubscriptionClient(chaincode);
    this.measurements = new MeasurementClient(chaincode);
    this.prepaid = contractOf(chaincode, 'Prepaid');
    this.health = new DeviceHealthClient(chaincode);
    this.deviceConfig = meterConfigLedger(new DeviceConfigClient(chaincode), subscriptionId, meterId, () =>
      this.getSubscription(),
    );
  }

  async reportHealth(health: DeviceHealthReport): Promise<void> {
    await this.health.report(this.subscriptionId, health);
  }

  getSubscription(): Promise<SubscriptionRecord> {
    return this.subscriptions.get(this.subscriptionId);
  }

  confirmPairing(proof: string): Promise<SubscriptionRecord> {
    return this.subscriptions.confirmPairing(this.subscriptionId, proof);
  }

  /** SubmitReadings, also for a single reading: all or nothing, and idempotent for readings already stored. */
  async submitReadings(readings: ReadingSubmission[]): Promise<BatchResult> {
    return this.measurements.submitBatch(readings);
  }

  /** Prepaid:GetWallet, evaluated (the meter may read its own subscription's wallet); NOT_FOUND: not prepaid. */
  async walletOf(subscriptionId: string): Promise<WalletRecord | undefined> {
    try {
      return await evaluateJson<WalletRecord>(this.prepaid, 'GetWallet', subscriptionId);
    } catch (err) {
      if (refusalOf(err)?.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
  }
}

/** The DeviceConfig contract for one meter: its key, its latest version (undefined: none yet), its answers. */
function meterConfigLedger(
  configs: DeviceConfigClient,
  subscriptionId: string,
  meterId: string,
  subscription: () => Promise<SubscriptionRecord>,
): DeviceConfigLedger {
  return {
    async registerDeviceKey(publicKeyPem: string): Promise<void> {
      await configs.registerKey(subscriptionId, publicKeyPem);
    },
    async latestDeviceConfig() {
      try {
        return await configs.latest(meterId);
      } catch (err) {
        if (refusalOf(err)?.code === ErrorCode.NotFound) return undefined;
        throw err;
      }
    },
    async acknowledgeDeviceConfig(ack: DeviceConfigAck): Promise<void> {
      // The organizations holding the session key are the ones the endorsement policy names (disclosed mode).
      const endorsingOrganizations = ack.config
        ? (await subscription()).keyGrants.map((grant) => grant.mspId)
        : undefined;
      await configs.acknowledge(meterId, ack.version, ack.status, {
        configHash: ack.configHash,
        reason: ack.reason,
        config: ack.config,
        endorsingOrganizations,
        effectiveFrom: ack.effectiveFrom,
      });
    },
  };
}
