/**
 * @smartmeter/domain: what the chaincode, the client and the meter share — the ledger records and their
 * statuses, event names and error codes (so that a client matches codes, never message text), limits, the reading
 * schedule of a subscription, and the pure tariff validation and bill computation the chaincode runs and a
 * household re-runs to check its bill. No Fabric dependency: only @smartmeter/crypto.
 */
export * from './records';
export * from './errors';
export * from './limits';
export * from './tariffs';
export * from './ledgerRecord';
export * from './periods';
export * from './time';
export * from './billing';
export * from './aggregation';
export * from './gridFilters';
export * from './billReport';
export * from './pricePolicy';
export * from './prepaid';
export * from './utilityUnits';
export * from './anomalies';
export * from './deviceConfig';
export * from './deviceHealth';
