// Projects: unit tests need nothing running; integration and teardown tests need the network
// that ./test-network.sh starts (teardown runs last because it stops that network); multihost tests need the
// multi-host network that network/scripts/multihost-tests.sh starts.
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }];
// Tests use the workspace packages' sources, so they need no build first.
const moduleNameMapper = {
  '^@smartmeter/crypto$': '<rootDir>/crypto/src',
  '^@smartmeter/domain$': '<rootDir>/domain/src',
  '^@smartmeter/client/dist/(.*)$': '<rootDir>/client/src/$1',
  '^@smartmeter/portal$': '<rootDir>/portal/src',
};

/** @type {import('jest').Config} */
module.exports = {
  // Integration tests wait for BFT ordering and node restarts; unit tests finish far below this.
  testTimeout: 180000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: [
        '<rootDir>/crypto/test/**/*.test.ts',
        '<rootDir>/domain/test/**/*.test.ts',
        '<rootDir>/chaincode/test/**/*.test.ts',
        '<rootDir>/client/test/**/*.test.ts',
        '<rootDir>/meter-sim/test/**/*.test.ts',
        '<rootDir>/aggregator/test/**/*.test.ts',
        '<rootDir>/portal/test/**/*.test.ts',
        '<rootDir>/network/test/**/*.test.ts',
      ],
      setupFiles: [
        '<rootDir>/chaincode/test/support/quietLogs.ts',
        '<rootDir>/chaincode/test/support/topology.ts',
      ],
      transform: { '^.+\\.ts$': tsJest },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      // Each organization on a host of its own (network namespaces): run by network/scripts/multihost-tests.sh
      // against a network started on the topology `./test-network.sh hosts conf` derives.
      displayName: 'multihost',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/multihost/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      // The fault campaign (issue 21): kills nodes under load; after integration, before teardown.
      displayName: 'faults',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      displayName: 'teardown',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/teardown/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleNameMapper,
      testEnvironment: 'node',
    },
  ],
};
