import { AggregationContract } from './contracts/AggregationContract';
import { AnomalyContract } from './contracts/AnomalyContract';
import { BillingContract } from './contracts/BillingContract';
import { DeviceHealthContract } from './contracts/DeviceHealthContract';
import { DeviceConfigContract } from './contracts/DeviceConfigContract';
import { MeasurementContract } from './contracts/MeasurementContract';
import { OrgKeyContract } from './contracts/OrgKeyContract';
import { PersonalDataContract } from './contracts/PersonalDataContract';
import { PrepaidContract } from './contracts/PrepaidContract';
import { PricingContract } from './contracts/PricingContract';
import { SubscriptionContract } from './contracts/SubscriptionContract';
import { SystemContract } from './contracts/SystemContract';

export {
  AggregationContract,
  AnomalyContract,
  BillingContract,
  DeviceHealthContract,
  DeviceConfigContract,
  MeasurementContract,
  OrgKeyContract,
  PersonalDataContract,
  PrepaidContract,
  PricingContract,
  SubscriptionContract,
  SystemContract,
};
export const contracts = [
  SystemContract,
  OrgKeyContract,
  SubscriptionContract,
  MeasurementContract,
  PersonalDataContract,
  PricingContract,
  BillingContract,
  AggregationContract,
  PrepaidContract,
  DeviceConfigContract,
  DeviceHealthContract,
  AnomalyContract,
];
