'use strict';
/**
 * Round "ping" (the ceiling, like Ping in bench/throughput.ts): System:Ping, one key write per transaction, sent
 * as the worker's meters in turn, at most one in flight per meter.
 */
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');
const { workerFleet } = require('./lib/fleet');

class Ping extends WorkloadModuleBase {
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
    this.count = 0;
  }

  async submitTransaction() {
    const meter = this.fleet.acquire();
    if (!meter) return;
    try {
      this.count += 1;
      await this.fleet.submit(this.sutAdapter, meter, 'System:Ping', [
        `caliper w${this.workerIndex} r${this.roundIndex} ${this.count}`,
      ]);
    } finally {
      this.fleet.release(meter);
    }
  }
}

module.exports.createWorkloadModule = () => new Ping();
