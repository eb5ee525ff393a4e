import * as grpc from '@grpc/grpc-js';
import {
  connect,
  hash,
  signers,
  type ConnectOptions,
  type Gateway,
  type Identity,
} from '@hyperledger/fabric-gateway';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { identityFiles, ProfileError, type ConnectionProfile, type IdentityFiles } from './profile';

/** Per-call deadlines: generous enough for BFT ordering on a small machine, short enough to fail clearly. */
export interface Deadlines {
  evaluateMs: number;
  endorseMs: number;
  submitMs: number;
  commitStatusMs: number;
}

export const defaultDeadlines: Readonly<Deadlines> = {
  evaluateMs: 10_000,
  endorseMs: 30_000,
  submitMs: 15_000,
  commitStatusMs: 60_000,
};

export interface GatewayConnection {
  readonly gateway: Gateway;
  readonly client: grpc.Client;
  close(): void;
}

export interface ConnectionChoice {
  /** Identity name from the profile; the profile's default when absent. */
  identity?: string;
  /** Certificate and key files to use instead of a profile identity. */
  files?: IdentityFiles;
  deadlines?: Partial<Deadlines>;
}

/** Opens a gRPC connection to the profile's peer and a gateway over it. Close it in a finally block. */
export function openGateway(profile: ConnectionProfile, choice: ConnectionChoice = {}): GatewayConnection {
  const client = newGrpcClient(profile);
  try {
    const gateway = connect(gatewayOptions(profile, client, choice));
    return {
      gateway,
      client,
      close: () => {
        gateway.close();
        client.close();
      },
    };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Runs fn with an open gateway and always closes it afterwards. */
export async function withGateway<T>(
  profile: ConnectionProfile,
  choice: ConnectionChoice,
  fn: (gateway: Gateway) => Promise<T>,
): Promise<T> {
  const connection = openGateway(profile, choice);
  try {
    return await fn(connection.gateway);
  } finally {
    connection.close();
  }
}

export function newGrpcClient(profile: ConnectionProfile): grpc.Client {
  const tlsRoot = readProfileFile(profile.peer.tlsRootCertPath, "the peer's TLS root certificate");
  return new grpc.Client(profile.peer.endpoint, grpc.credentials.createSsl(tlsRoot), {
    'grpc.ssl_target_name_override': profile.peer.hostAlias,
  });
}

function gatewayOptions(
  profile: ConnectionProfile,
  client: grpc.Client,
  choice: ConnectionChoice,
): ConnectOptions {
  const files = choice.files ?? identityFiles(profile, choice.identity);
  const identity: Identity = {
    mspId: profile.mspId,
    credentials: readProfileFile(files.certPath, 'the identity certificate'),
  };
  const signer = signers.newPrivateKeySigner(
    createPrivateKey(readProfileFile(files.keyPath, 'the identity private key')),
  );
  const deadlines = { ...defaultDeadlines, ...choice.deadlines };
  return {
    client,
    identity,
    signer,
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + deadlines.evaluateMs }),
    endorseOptions: () => ({ deadline: Date.now() + deadlines.endorseMs }),
    submitOptions: () => ({ deadline: Date.now() + deadlines.submitMs }),
    commitStatusOptions: () => ({ deadline: Date.now() + deadlines.commitStatusMs }),
  };
}

/** A file the profile names; a missing or unreadable one is a configuration problem, not a network refusal. */
function readProfileFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ProfileError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
