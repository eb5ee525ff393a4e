'use strict';
/** Round "submitReading": Measurement:SubmitReading, one genuinely encrypted reading per transaction. */
const { ReadingsWorkload } = require('./lib/readingsWorkload');

module.exports.createWorkloadModule = () => new ReadingsWorkload(1);
