// The topology the chaincode servers get from network.conf (network/scripts/nodes.sh), for unit tests.
process.env.SMARTMETER_TOPOLOGY = JSON.stringify({
  authorityMspId: 'AuthorityMSP',
  distributors: [
    { mspId: 'Distributor1MSP', householdsMspId: 'Distributor1HouseholdsMSP' },
    { mspId: 'Distributor2MSP', householdsMspId: 'Distributor2HouseholdsMSP' },
  ],
});
