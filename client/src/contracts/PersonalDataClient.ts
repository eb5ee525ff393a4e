import type { AccessRequestRecord, Page, PersonalDataDelivery } from '@smartmeter/domain';
import { allPages, contractOf, evaluateJson, submitJson, submitWith, type ChaincodeChannel } from './invoke';

/** The PersonalData contract: logged, consented access to a household's personal data. */
export class PersonalDataClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'PersonalData');
  }

  /** requestPublicKeyPem: the public half of a key pair made for this request only (see the keystore). */
  request(subscriptionId: string, reason: string, requestPublicKeyPem: string): Promise<AccessRequestRecord> {
    return submitJson(this.contract, 'RequestPersonalData', subscriptionId, reason, requestPublicKeyPem);
  }

  /**
   * The household hands over its sealed personal data as transient data. With transient data the gateway
   * only endorses on the organizations named, so name both channel members the policy needs.
   */
  grant(
    requestId: string,
    sealed: Uint8Array,
    endorsingOrganizations: string[],
  ): Promise<AccessRequestRecord> {
    return submitWith(this.contract, 'GrantPersonalData', {
      arguments: [requestId],
      transientData: { personalData: sealed },
      endorsingOrganizations,
    });
  }

  deny(requestId: string, reason: string): Promise<AccessRequestRecord> {
    return submitJson(this.contract, 'DenyPersonalData', requestId, reason);
  }

  fetch(requestId: string): Promise<PersonalDataDelivery> {
    return evaluateJson(this.contract, 'FetchPersonalData', requestId);
  }

  get(requestId: string): Promise<AccessRequestRecord> {
    return evaluateJson(this.contract, 'GetAccessRequest', requestId);
  }

  forSubscription(subscriptionId: string): Promise<AccessRequestRecord[]> {
    return evaluateJson(this.contract, 'ListSubscriptionAccessRequests', subscriptionId);
  }

  all(): Promise<AccessRequestRecord[]> {
    return allPages((bookmark) =>
      evaluateJson<Page<AccessRequestRecord>>(this.contract, 'ListAccessRequests', '100', bookmark),
    );
  }
}
