'use strict';
/**
 * The meters of one Caliper worker, shared by the workload modules of all rounds (a worker is one process for the
 * whole benchmark, so a meter's readings go on advancing from round to round).
 *
 * Worker w of n uses the meters whose index i has i % n === w, and each meter has at most one transaction in
 * flight: acquire() hands out the next idle meter in round-robin order, none when all are busy. Readings are
 * encrypted as bench/support/load.ts does it (encryptReading, slot {channel, subscriptionId, sequence,
 * periodStart}); a meter's nth reading is sequence n + 1 at start + n × interval. A transaction that failed is
 * sent again with the identical readings: if it did commit after all, the chaincode takes the same readings
 * without a second write (a new encryption would be a different reading for a stored slot: CONFLICT).
 */
const { Buffer } = require('node:buffer');
const { readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const repoDir = path.resolve(__dirname, '..', '..', '..', '..');
const manifestPath =
  process.env.CALIPER_FLEET_MANIFEST || path.join(repoDir, '.bench-results', 'caliper', 'fleet.json');

/** The built @smartmeter/crypto and @smartmeter/domain of the repository (npm run build at its root). */
function smartmeter(name) {
  try {
    return require(path.join(repoDir, name));
  } catch (err) {
    throw new Error(
      `cannot load the built @smartmeter/${name} (run npm run build at the repository root): ${err}`,
    );
  }
}
const { encryptReading } = smartmeter('crypto');
const { isoSeconds } = smartmeter('domain');

let manifest;
function loadManifest() {
  if (!manifest) {
    const mode = statSync(manifestPath).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `${manifestPath} holds session keys but is readable by others (mode ${mode.toString(8)})`,
      );
    }
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  }
  return manifest;
}

class WorkerFleet {
  constructor(workerIndex, totalWorkers) {
    const fleet = loadManifest();
    this.channel = fleet.channel;
    this.chaincodeName = fleet.chaincodeName;
    this.mspId = fleet.mspId;
    this.startSeconds = fleet.startSeconds;
    this.intervalSeconds = fleet.intervalSeconds;
    this.meters = fleet.meters
      .filter((_, i) => i % totalWorkers === workerIndex)
      .map((m) => ({
        meterId: m.meterId,
        subscriptionId: m.subscriptionId,
        sessionKey: Buffer.from(m.sessionKeyHex, 'hex'),
        next: 0,
        busy: false,
        pending: [],
      }));
    if (this.meters.length === 0) {
      throw new Error(
        `worker ${workerIndex} of ${totalWorkers} has no meters: prepare at least ${totalWorkers}`,
      );
    }
    this.cursor = 0;
  }

  /**
   * The next idle meter in round-robin order, or undefined when all are busy: the caller then sends nothing
   * (Caliper's controllers call again; waiting here instead would hide transactions from their load count).
   */
  acquire() {
    for (let k = 0; k < this.meters.length; k += 1) {
      const meter = this.meters[(this.cursor + k) % this.meters.length];
      if (!meter.busy) {
        this.cursor = (this.cursor + k + 1) % this.meters.length;
        meter.busy = true;
        return meter;
      }
    }
    return undefined;
  }

  release(meter) {
    meter.busy = false;
  }

  /**
   * The meter's next `count` readings. Readings of a failed transaction come first and identical (they stay
   * pending until a transaction carrying them commits); only the rest are encrypted anew.
   */
  readings(meter, count) {
    const lastEnds = this.startSeconds + (meter.next + count) * this.intervalSeconds;
    if (lastEnds > Date.now() / 1000) {
      throw new Error(
        `meter ${meter.meterId} has reported every period up to now: prepare a new fleet (bench/caliper/run.sh does)`,
      );
    }
    const readings = meter.pending.slice(0, count);
    for (let n = meter.next + readings.length; readings.length < count; n += 1) {
      const slot = {
        channel: this.channel,
        subscriptionId: meter.subscriptionId,
        sequence: n + 1,
        periodStart: isoSeconds(this.startSeconds + n * this.intervalSeconds),
      };
      // A plausible 15-minute household figure, as in bench/support/load.ts (fixed-size plaintext).
      const payload = { energyWh: 50 + (n % 400), utility: 'electricity', unit: 'Wh', quality: 'measured' };
      readings.push({
        subscriptionId: slot.subscriptionId,
        sequence: slot.sequence,
        periodStart: slot.periodStart,
        ...encryptReading(payload, meter.sessionKey, slot),
      });
    }
    meter.pending = readings.concat(meter.pending.slice(count));
    return readings;
  }

  /** After a transaction of the meter's first `count` pending readings committed: the next ones follow them. */
  advance(meter, count) {
    meter.next += count;
    meter.pending = meter.pending.slice(count);
  }

  /** Submits one transaction as the meter and returns whether it committed VALID. */
  async submit(sutAdapter, meter, contractFunction, contractArguments) {
    const status = await sutAdapter.sendRequests({
      channel: this.channel,
      contractId: this.chaincodeName,
      contractFunction,
      contractArguments,
      invokerMspId: this.mspId,
      invokerIdentity: meter.meterId,
      readOnly: false,
    });
    return status.GetStatus() === 'success';
  }
}

const fleets = new Map();

/** The meters of this worker (one WorkerFleet per worker process, kept across rounds). */
function workerFleet(workerIndex, totalWorkers) {
  const key = `${workerIndex}/${totalWorkers}`;
  if (!fleets.has(key)) fleets.set(key, new WorkerFleet(workerIndex, totalWorkers));
  return fleets.get(key);
}

module.exports = { workerFleet };
