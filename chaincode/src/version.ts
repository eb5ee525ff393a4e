// Kept in step with chaincode/package.json by test/version.test.ts.
export const CHAINCODE_NAME = 'smartmeter';
export const CHAINCODE_VERSION = '0.1.0';
