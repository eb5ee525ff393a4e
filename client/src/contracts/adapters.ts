import { AggregationClient } from './AggregationClient';
import { AnomalyClient } from './AnomalyClient';
import { BillingClient } from './BillingClient';
import { DeviceConfigClient } from './DeviceConfigClient';
import { DeviceHealthClient } from './DeviceHealthClient';
import type { ChaincodeChannel } from './invoke';
import { MeasurementClient } from './MeasurementClient';
import { OrgKeyClient } from './OrgKeyClient';
import { PersonalDataClient } from './PersonalDataClient';
import { PrepaidClient } from './PrepaidClient';
import { PricingClient } from './PricingClient';
import { SubscriptionClient } from './SubscriptionClient';
import { SystemClient } from './SystemClient';

/**
 * Every contract adapter of the chaincode, for one channel. A new contract's adapter is added here and nowhere
 * else: meterctl's commands and their fakes take their types from this function.
 */
export function contractAdapters(channel: ChaincodeChannel) {
  return {
    orgKeys: new OrgKeyClient(channel),
    subscriptions: new SubscriptionClient(channel),
    measurements: new MeasurementClient(channel),
    personalData: new PersonalDataClient(channel),
    pricing: new PricingClient(channel),
    billing: new BillingClient(channel),
    aggregation: new AggregationClient(channel),
    prepaid: new PrepaidClient(channel),
    system: new SystemClient(channel),
    deviceConfig: new DeviceConfigClient(channel),
    deviceHealth: new DeviceHealthClient(channel),
    anomalies: new AnomalyClient(channel),
  };
}

export type ContractAdapters = ReturnType<typeof contractAdapters>;
