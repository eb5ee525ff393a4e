import type { Network } from '@hyperledger/fabric-gateway';
import type { OrgKeyRecord } from '@smartmeter/chaincode/dist/api/records';
import { contractOf, evaluateJson, submitJson } from './invoke';

/** The OrgKey contract: organizations' published encryption keys. */
export class OrgKeyClient {
  private readonly contract;

  constructor(network: Network) {
    this.contract = contractOf(network, 'OrgKey');
  }

  publish(publicKeyPem: string): Promise<OrgKeyRecord> {
    return submitJson(this.contract, 'PublishOrgKey', publicKeyPem);
  }

  current(mspId: string): Promise<OrgKeyRecord> {
    return evaluateJson(this.contract, 'GetOrgKey', mspId);
  }

  history(mspId: string): Promise<OrgKeyRecord[]> {
    return evaluateJson(this.contract, 'GetOrgKeyHistory', mspId);
  }
}
