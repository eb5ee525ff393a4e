// fabric-contract-api logs every decorator at info level when contracts load; unit test output needs errors only.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
