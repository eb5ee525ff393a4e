import type { ChaincodeVersion, PingRecord } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** The System contract: smoke tests (a Ping writes a record and so makes a block) and the chaincode version. */
export class SystemClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'System');
  }

  ping(message: string): Promise<PingRecord> {
    return submitJson(this.contract, 'Ping', message);
  }

  version(): Promise<ChaincodeVersion> {
    return evaluateJson(this.contract, 'Version');
  }
}
