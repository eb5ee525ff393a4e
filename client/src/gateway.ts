import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers, type ConnectOptions, type Gateway } from '@hyperledger/fabric-gateway';
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
  return peerClient(profile.peer.endpoint, profile.peer.hostAlias, tlsRoot);
}

/** A TLS gRPC connection to a peer whose certificate names hostAlias (not the address we dial). */
export function peerClient(endpoint: string, hostAlias: string, tlsRootCertPem: Buffer): grpc.Client {
  return new grpc.Client(endpoint, grpc.credentials.createSsl(tlsRootCertPem), {
    'grpc.ssl_target_name_override': hostAlias,
  });
}

function gatewayOptions(
  profile: ConnectionProfile,
  client: grpc.Client,
  choice: ConnectionChoice,
): ConnectOptions {
  const files = choice.files ?? identityFiles(profile, choice.identity);
  return signingOptions(
    client,
    {
      mspId: profile.mspId,
      certificatePem: readProfileFile(files.certPath, 'the identity certificate'),
      privateKeyPem: readProfileFile(files.keyPath, 'the identity private key'),
    },
    choice.deadlines,
  );
}

/** An identity held in memory (a meter's pair bundle carries its certificate and key inline). */
export interface InlineIdentity {
  mspId: string;
  certificatePem: string | Buffer;
  privateKeyPem: string | Buffer;
}

/** Gateway options for one identity over an existing gRPC connection, with our per-call deadlines. */
export function signingOptions(
  client: grpc.Client,
  identity: InlineIdentity,
  deadlineOverrides: Partial<Deadlines> = {},
): ConnectOptions {
  const deadlines = { ...defaultDeadlines, ...deadlineOverrides };
  return {
    client,
    identity: { mspId: identity.mspId, credentials: Buffer.from(identity.certificatePem) },
    signer: signers.newPrivateKeySigner(createPrivateKey(identity.privateKeyPem)),
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
