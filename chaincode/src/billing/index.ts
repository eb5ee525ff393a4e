// The pure billing functions, for the client: `import { computeBill } from '@smartmeter/chaincode/dist/billing'`.
export * from './computeBill';
export * from './tariffValidation';
export * from './openReadings';
