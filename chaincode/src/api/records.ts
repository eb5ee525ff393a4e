/**
 * Ledger record shapes. Import-free so that the client can `import type` them: one source of truth.
 */

/** Written by System.Ping: a smoke-test record proving that a submit reached the ledger. */
export interface PingRecord {
  docType: 'ping';
  /** The id of the transaction that wrote the record. */
  pingId: string;
  message: string;
  /** MSP id of the submitter. */
  submitterMspId: string;
  /** Transaction timestamp, ISO 8601 UTC. */
  recordedAt: string;
}

export interface ChaincodeVersion {
  name: string;
  version: string;
}

export const EventName = {
  PingRecorded: 'PingRecorded',
} as const;
