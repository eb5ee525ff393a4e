import { CryptoInputError, publicKeyFingerprint } from '@smartmeter/crypto';
import { UsageError } from '../errors';
import type { OrgKeyRecord } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** The OrgKey contract: organizations' published encryption keys. */
export class OrgKeyClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'OrgKey');
  }

  /** Refuses, before anything is sent, whatever is not a P-256 public key PEM (a private key above all). */
  async publish(publicKeyPem: string): Promise<OrgKeyRecord> {
    try {
      publicKeyFingerprint(publicKeyPem);
    } catch (err) {
      if (err instanceof CryptoInputError)
        throw new UsageError(`refusing to publish this key: ${err.message}`);
      throw err;
    }
    return submitJson(this.contract, 'PublishOrgKey', publicKeyPem);
  }

  current(mspId: string): Promise<OrgKeyRecord> {
    return evaluateJson(this.contract, 'GetOrgKey', mspId);
  }

  history(mspId: string): Promise<OrgKeyRecord[]> {
    return evaluateJson(this.contract, 'GetOrgKeyHistory', mspId);
  }
}
