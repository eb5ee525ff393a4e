import { MeasurementContract } from './contracts/MeasurementContract';
import { OrgKeyContract } from './contracts/OrgKeyContract';
import { PersonalDataContract } from './contracts/PersonalDataContract';
import { SubscriptionContract } from './contracts/SubscriptionContract';
import { SystemContract } from './contracts/SystemContract';

export { MeasurementContract, OrgKeyContract, PersonalDataContract, SubscriptionContract, SystemContract };
export const contracts = [
  SystemContract,
  OrgKeyContract,
  SubscriptionContract,
  MeasurementContract,
  PersonalDataContract,
];
