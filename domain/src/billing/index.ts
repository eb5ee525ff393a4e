// The pure billing functions: tariff validation, bill computation and the opening of readings for a bill.
export * from './computeBill';
export * from './tariffValidation';
export * from './openReadings';
export * from './aggregateBill';
