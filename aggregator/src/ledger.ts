import type {
  AggregationFiltersView,
  AggregationRoundRecord,
  ErrorCode,
  ShareBatch,
} from '@smartmeter/domain';
import { AggregationClient } from '@smartmeter/client/dist/contracts/AggregationClient';
import { chaincodeChannel } from '@smartmeter/client/dist/contracts/invoke';
import { refusalOf } from '@smartmeter/client/dist/errors';
import { openGateway, type GatewayConnection } from '@smartmeter/client/dist/gateway';
import { resolveChannel, resolveIdentity } from '@smartmeter/client/dist/commands/context';
import { Keystore } from '@smartmeter/client/dist/keystore';
import { loadProfile, ProfileError, type IdentityFiles } from '@smartmeter/client/dist/profile';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the aggregator needs of the ledger: the day filters it checks shares against, and the two transactions
 * of a round. The ledger re-verifies every share; the aggregator's own checks only keep bad shares from
 * failing a whole batch.
 */
export interface AggregationLedger {
  /** The filters of a region and UTC day (YYYY-MM-DD); undefined when the distributor has not published them. */
  filters(regionCode: string, day: string): Promise<AggregationFiltersView | undefined>;
  /** Stores a batch of one round's shares; a share already stored counts as a duplicate. */
  submitShares(batch: ShareBatch): Promise<{ stored: number; duplicates: number }>;
  /** Ends a round; CONFLICT when it is closed already. */
  closeRound(regionCode: string, periodStart: string): Promise<AggregationRoundRecord>;
  /** A closed round, or undefined while it is open: tells a closed round from a PRID conflict on CONFLICT. */
  round(regionCode: string, periodStart: string): Promise<AggregationRoundRecord | undefined>;
}

/**
 * The chaincode refused a transaction ("CODE: text" from an endorser): the only failure the service reacts to
 * by code. Anything else a ledger throws (peer unreachable, outcome unknown, a validation code at commit) is
 * retried later with back-off, for both transactions of a round are safe to repeat.
 */
export class LedgerRefusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly text: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${text}`, options);
    this.name = 'LedgerRefusal';
  }
}

/** The Aggregation contract through the Fabric gateway; chaincode refusals become LedgerRefusal. */
export class NetworkAggregationLedger implements AggregationLedger {
  constructor(private readonly client: AggregationClient) {}

  filters(regionCode: string, day: string): Promise<AggregationFiltersView | undefined> {
    return undefinedWhenNotFound(this.client.filters(regionCode, day));
  }

  async submitShares(batch: ShareBatch): Promise<{ stored: number; duplicates: number }> {
    const result = await refusalsByCode(this.client.submitShares(batch));
    return { stored: result.stored, duplicates: result.duplicates };
  }

  closeRound(regionCode: string, periodStart: string): Promise<AggregationRoundRecord> {
    return refusalsByCode(this.client.closeRound(regionCode, periodStart));
  }

  round(regionCode: string, periodStart: string): Promise<AggregationRoundRecord | undefined> {
    return undefinedWhenNotFound(this.client.round(regionCode, periodStart));
  }
}

async function refusalsByCode<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const refusal = refusalOf(err);
    if (refusal) throw new LedgerRefusal(refusal.code, refusal.text, { cause: err });
    throw err;
  }
}

async function undefinedWhenNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await refusalsByCode(call);
  } catch (err) {
    if (err instanceof LedgerRefusal && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

export interface LedgerConnectionOptions {
  /** A connection profile (./test-network.sh writes them to .network/profiles/<org>.json). */
  profilePath: string;
  /** A folder with cert.pem and key.pem of an identity with role=aggregator. */
  identityDir?: string;
  /** Else: an identity of the profile, or one enrolled into the keystore with meterctl identity enroll. */
  identity?: string;
  /** The meterctl keystore (default METERCTL_HOME or ~/.meterctl). */
  keystore?: string;
  /** The channel; may be omitted when the profile's organization is on one channel only. */
  channel?: string;
}

export interface LedgerConnection {
  readonly ledger: AggregationLedger;
  /** Where it connects, for log lines: peer endpoint, MSP, channel, identity. */
  readonly description: string;
  close(): void;
}

/** Opens the gateway to the profile's peer with the aggregator's identity. Close it when done. */
export function connectNetworkLedger(options: LedgerConnectionOptions): LedgerConnection {
  const profile = loadProfile(options.profilePath);
  const { name, files } = aggregatorIdentity(options, profile);
  const channelName = resolveChannel(profile, { channel: options.channel });
  const connection: GatewayConnection = openGateway(profile, { files });
  const channel = chaincodeChannel(connection.gateway, channelName, profile.chaincodeName);
  return {
    ledger: new NetworkAggregationLedger(new AggregationClient(channel)),
    description: `${profile.peer.endpoint} as ${name} of ${profile.mspId} on ${channelName} (chaincode ${profile.chaincodeName})`,
    close: () => {
      connection.close();
    },
  };
}

function aggregatorIdentity(
  options: LedgerConnectionOptions,
  profile: ReturnType<typeof loadProfile>,
): { name: string; files: IdentityFiles } {
  if (options.identityDir) {
    const files = {
      certPath: join(options.identityDir, 'cert.pem'),
      keyPath: join(options.identityDir, 'key.pem'),
    };
    for (const path of [files.certPath, files.keyPath]) {
      if (!existsSync(path)) throw new ProfileError(`--identity-dir ${options.identityDir} has no ${path}`);
    }
    return { name: options.identityDir, files };
  }
  return resolveIdentity(profile, options.identity, Keystore.resolve(options.keystore));
}
