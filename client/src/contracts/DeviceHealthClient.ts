import type { DeviceHealthRecord, DeviceHealthReport } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** The DeviceHealth contract: meters' latest health reports. */
export class DeviceHealthClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'DeviceHealth');
  }

  /** By the subscription's paired meter. */
  report(subscriptionId: string, health: DeviceHealthReport): Promise<DeviceHealthRecord> {
    return submitJson(this.contract, 'ReportDeviceHealth', subscriptionId, JSON.stringify(health));
  }

  get(distributorMspId: string, meterId: string): Promise<DeviceHealthRecord> {
    return evaluateJson(this.contract, 'GetDeviceHealth', distributorMspId, meterId);
  }

  all(distributorMspId: string): Promise<DeviceHealthRecord[]> {
    return evaluateJson(this.contract, 'ListDeviceHealth', distributorMspId);
  }
}
