'use strict';
/** Round "submitReadings96": Measurement:SubmitReadings, 96 encrypted readings (a day) per transaction. */
const { ReadingsWorkload } = require('./lib/readingsWorkload');

module.exports.createWorkloadModule = () => new ReadingsWorkload(96);
