/**
 * The load generator of the throughput benchmark, built like meter-sim's fleet: many meters in one process, each
 * with its own CA identity, gateway and session key, all over one gRPC connection to the peer. Each meter has at
 * most one transaction in flight; every reading is genuinely encrypted. Submits go through the client's
 * submitConfirmed, so a failure reported for a transaction that did commit is found by its id and counted as
 * committed; only committed-VALID transactions count.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  CommitError,
  CommitStatusError,
  EndorseError,
  GatewayError,
  connect,
  type Gateway,
} from '@hyperledger/fabric-gateway';
import { encryptReading } from '@smartmeter/crypto';
import { isoSeconds } from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  chaincodeChannel,
  contractOf,
  peersDiverged,
  submitConfirmed,
  type ContractTarget,
  type SubmitObserver,
} from '../../client/src/contracts/invoke';
import { grpcStatusName, isSubmitError, refusalOf, validationCodeName } from '../../client/src/errors';
import { peerClient, signingOptions } from '../../client/src/gateway';
import type { ConnectionProfile } from '../../client/src/profile';
import type { BenchMeter } from './fleet';

export type RoundKind = 'ping' | 'single' | 'batch';

export interface RoundSpec {
  name: string;
  kind: RoundKind;
  /** Transactions in flight at once; for readings at most one per meter, so at most the fleet's size. */
  concurrency: number;
  /** Readings per transaction (1 for single readings; ignored for Ping). */
  batchSize: number;
  warmupSeconds: number;
  seconds: number;
  /** Offer at most this many transactions per second in all (open loop); undefined: as fast as they complete. */
  rateTxPerSecond?: number;
}

/** What one round measured; counts and latencies are of transactions that committed inside the window. */
export interface RoundOutcome {
  committed: number;
  readings: number;
  latenciesMs: number[];
  failures: Record<string, number>;
  /** Endorsed anew because the two peers answered differently (not failures: nothing was ordered). */
  reEndorsed: number;
  /** Submits reported as failed that the ledger had committed (fabric#4415), found by their id. */
  foundCommitted: number;
  windowSeconds: number;
  /** Readings committed during the whole round (warm-up and drain included): for ledger bytes per reading. */
  readingsAllRound: number;
}

interface FleetMeter {
  meter: BenchMeter;
  measurement: ContractTarget;
  system: ContractTarget;
  /** Index of the next reading to send: period start + n × interval, sequence n + 1. */
  next: number;
}

export interface FleetOptions {
  /**
   * The other endorsing organization's peer (the authority's): when given, each meter's submit returns only once
   * that peer has committed it too, so its next proposal is endorsed on peers that agree.
   */
  confirmAt?: ConnectionProfile['peer'];
}

export class LoadFleet {
  private readonly client: grpc.Client;
  private readonly confirmClient: grpc.Client | undefined;
  private readonly gateways: Gateway[] = [];
  private readonly meters: FleetMeter[];
  private readonly observed = { reEndorsed: 0, foundCommitted: 0 };

  constructor(
    meters: BenchMeter[],
    households: ConnectionProfile,
    private readonly channel: string,
    private readonly schedule: { startSeconds: number; intervalSeconds: number },
    options: FleetOptions = {},
  ) {
    const { endpoint, hostAlias, tlsRootCertPath } = households.peer;
    this.client = peerClient(endpoint, hostAlias, readFileSync(tlsRootCertPath));
    const other = options.confirmAt;
    this.confirmClient = other
      ? peerClient(other.endpoint, other.hostAlias, readFileSync(other.tlsRootCertPath))
      : undefined;
    const observer: SubmitObserver = {
      reEndorsed: () => {
        this.observed.reEndorsed += 1;
      },
      lookedUp: (_id, found) => {
        if (found) this.observed.foundCommitted += 1;
      },
    };
    this.meters = meters.map((meter) => {
      const identity = {
        mspId: meter.mspId,
        certificatePem: readFileSync(meter.certPath),
        privateKeyPem: readFileSync(meter.keyPath),
      };
      const gateway = connect(signingOptions(this.client, identity));
      this.gateways.push(gateway);
      const alsoCommittedAt = this.confirmClient
        ? [connect(signingOptions(this.confirmClient, identity))]
        : [];
      this.gateways.push(...alsoCommittedAt);
      const chaincode = chaincodeChannel(gateway, channel, households.chaincodeName, {
        observer,
        alsoCommittedAt,
      });
      return {
        meter,
        measurement: contractOf(chaincode, 'Measurement'),
        system: contractOf(chaincode, 'System'),
        next: 0,
      };
    });
  }

  get size(): number {
    return this.meters.length;
  }

  close(): void {
    for (const gateway of this.gateways) gateway.close();
    this.client.close();
    this.confirmClient?.close();
  }

  /** Runs one round: `concurrency` workers, each looping until the window ends; then waits for all to finish. */
  async run(spec: RoundSpec): Promise<RoundOutcome> {
    if (spec.kind !== 'ping' && spec.concurrency > this.meters.length) {
      throw new Error(
        `${spec.name}: ${spec.concurrency} meters asked for, the fleet has ${this.meters.length}`,
      );
    }
    const started = performance.now();
    const windowStart = started + spec.warmupSeconds * 1000;
    const windowEnd = windowStart + spec.seconds * 1000;
    const outcome: RoundOutcome = {
      committed: 0,
      readings: 0,
      latenciesMs: [],
      failures: {},
      reEndorsed: 0,
      foundCommitted: 0,
      windowSeconds: spec.seconds,
      readingsAllRound: 0,
    };
    const observedBefore = { ...this.observed };
    const pace = pacer(spec.rateTxPerSecond);
    const workers = Array.from({ length: spec.concurrency }, (_, slot) =>
      this.worker(spec, this.meters[slot % this.meters.length], windowStart, windowEnd, outcome, pace),
    );
    await Promise.all(workers);
    outcome.reEndorsed = this.observed.reEndorsed - observedBefore.reEndorsed;
    outcome.foundCommitted = this.observed.foundCommitted - observedBefore.foundCommitted;
    return outcome;
  }

  private async worker(
    spec: RoundSpec,
    fleetMeter: FleetMeter,
    windowStart: number,
    windowEnd: number,
    outcome: RoundOutcome,
    pace: () => Promise<void>,
  ): Promise<void> {
    let sequence = 0;
    while (performance.now() < windowEnd) {
      await pace();
      if (performance.now() >= windowEnd) break;
      const { target, fn, argument, readings } =
        spec.kind === 'ping'
          ? { target: fleetMeter.system, fn: 'Ping', argument: `bench ${(sequence += 1)}`, readings: 0 }
          : this.readingsCall(fleetMeter, spec.batchSize);
      const began = performance.now();
      try {
        await submitConfirmed(target, fn, { arguments: [argument] });
        const ended = performance.now();
        if (spec.kind !== 'ping') fleetMeter.next += readings;
        outcome.readingsAllRound += readings;
        if (began >= windowStart && ended <= windowEnd) {
          outcome.committed += 1;
          outcome.readings += readings;
          outcome.latenciesMs.push(ended - began);
        }
      } catch (err) {
        const cause = causeOf(err);
        outcome.failures[cause] = (outcome.failures[cause] ?? 0) + 1;
        // A refusal or an invalid transaction would repeat forever: this worker stops; the table shows why.
        // Anything else (an outcome still unknown) sends the same readings again: a slot is stored once.
        if (err instanceof CommitError || refusalOf(err)) return;
      }
    }
  }

  private readingsCall(
    fleetMeter: FleetMeter,
    batchSize: number,
  ): { target: ContractTarget; fn: string; argument: string; readings: number } {
    const { meter } = fleetMeter;
    const readings = Array.from({ length: batchSize }, (_, i) => {
      const n = fleetMeter.next + i;
      const slot = {
        channel: this.channel,
        subscriptionId: meter.subscriptionId,
        sequence: n + 1,
        periodStart: isoSeconds(this.schedule.startSeconds + n * this.schedule.intervalSeconds),
      };
      // A plausible 15-minute household figure; its value does not change the work (fixed-size plaintext).
      const payload = {
        energyWh: 50 + (n % 400),
        utility: 'electricity' as const,
        unit: 'Wh',
        quality: 'measured' as const,
      };
      return {
        subscriptionId: slot.subscriptionId,
        sequence: slot.sequence,
        periodStart: slot.periodStart,
        ...encryptReading(payload, meter.sessionKey, slot),
      };
    });
    return batchSize === 1
      ? {
          target: fleetMeter.measurement,
          fn: 'SubmitReading',
          argument: JSON.stringify(readings[0]),
          readings: 1,
        }
      : {
          target: fleetMeter.measurement,
          fn: 'SubmitReadings',
          argument: JSON.stringify(readings),
          readings: batchSize,
        };
  }

  /** How many readings every meter can still send before its periods reach the present. */
  readingsLeft(nowSeconds: number): number {
    const periods = Math.floor((nowSeconds - this.schedule.startSeconds) / this.schedule.intervalSeconds) - 1;
    return Math.min(...this.meters.map((m) => periods - m.next));
  }
}

/** Spaces the start of transactions across all workers to a rate; without a rate, never waits. */
function pacer(rateTxPerSecond: number | undefined): () => Promise<void> {
  if (rateTxPerSecond === undefined || rateTxPerSecond <= 0) return () => Promise.resolve();
  const gapMs = 1000 / rateTxPerSecond;
  let nextAt = performance.now();
  return () => {
    const now = performance.now();
    const at = Math.max(nextAt, now);
    nextAt = at + gapMs;
    return new Promise((resolve) => setTimeout(resolve, at - now));
  };
}

/** One failure's cause, by code: a chaincode refusal, a validation code, or a gRPC status at a given step. */
export function causeOf(err: unknown): string {
  if (err instanceof CommitError) return `commit ${validationCodeName(err.code)}`;
  const refusal = refusalOf(err);
  if (refusal) return `refused ${refusal.code}`;
  if (peersDiverged(err)) return 'endorse: peers answered differently (after 3 new endorsements)';
  if (err instanceof EndorseError) return `endorse ${grpcStatusName(err.code)}`;
  if (isSubmitError(err)) return `submit ${grpcStatusName(err.code)}, outcome unknown`;
  if (err instanceof CommitStatusError) return `commit status ${grpcStatusName(err.code)}, outcome unknown`;
  if (err instanceof GatewayError) return `gateway ${grpcStatusName(err.code)}`;
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 60)}` : 'unknown';
}
