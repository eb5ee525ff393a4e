'use strict';
/**
 * A round of Measurement readings: each transaction carries the next `batchSize` readings of one of the worker's
 * meters (SubmitReading for one, SubmitReadings for more), at most one transaction in flight per meter.
 */
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');
const { workerFleet } = require('./fleet');

class ReadingsWorkload extends WorkloadModuleBase {
  constructor(defaultBatchSize) {
    super();
    this.defaultBatchSize = defaultBatchSize;
  }

  async initializeWorkloadModule(
    workerIndex,
    totalWorkers,
    roundIndex,
    roundArguments,
    sutAdapter,
    sutContext,
  ) {
    await super.initializeWorkloadModule(
      workerIndex,
      totalWorkers,
      roundIndex,
      roundArguments,
      sutAdapter,
      sutContext,
    );
    this.fleet = workerFleet(workerIndex, totalWorkers);
    this.batchSize = Number((roundArguments && roundArguments.batchSize) || this.defaultBatchSize);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 96) {
      throw new Error(`batchSize must be a whole number from 1 to 96, not ${this.batchSize}`);
    }
  }

  async submitTransaction() {
    const meter = this.fleet.acquire();
    if (!meter) return;
    try {
      const readings = this.fleet.readings(meter, this.batchSize);
      const [fn, argument] =
        this.batchSize === 1
          ? ['Measurement:SubmitReading', JSON.stringify(readings[0])]
          : ['Measurement:SubmitReadings', JSON.stringify(readings)];
      if (await this.fleet.submit(this.sutAdapter, meter, fn, [argument]))
        this.fleet.advance(meter, readings.length);
    } finally {
      this.fleet.release(meter);
    }
  }
}

module.exports = { ReadingsWorkload };
