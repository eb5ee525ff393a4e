import * as grpc from '@grpc/grpc-js';
import { hash, signers, type Contract, type Gateway } from '@hyperledger/fabric-gateway';
import { common, gateway as gatewayProtos, msp, peer } from '@hyperledger/fabric-protos';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openGateway, type GatewayConnection } from '../../client/src/gateway';
import { CHAINCODE, networkHome, nodeEndpoint, profile, repoDir } from './network';

/**
 * What an outsider has: Fabric's own `peer` CLI, a raw gRPC connection to a peer's Endorser service, or a plain
 * fabric-gateway client, each with an identity of its own. The security tests attack the network with these
 * rather than with meterctl, whose checks an attacker would not run.
 */
const execFileAsync = promisify(execFile);

export interface UserMsp {
  org: string;
  mspId: string;
  name: string;
}

export function userMspDir(user: UserMsp): string {
  return join(networkHome, 'orgs', user.org, 'users', user.name, 'msp');
}

async function fabricBin(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [
    join(repoDir, 'network', 'scripts', 'install-fabric.sh'),
    '--print-dir',
  ]);
  return join(stdout.trim(), 'bin');
}

export interface CliOutcome {
  code: number;
  output: string;
}

/**
 * Runs Fabric's `peer` CLI as `user` against the peer of `peerOrg` (and the first orderer for commands that
 * need one), the way anyone holding that identity could.
 */
export async function peerCli(user: UserMsp, peerOrg: string, args: string[]): Promise<CliOutcome> {
  const target = profile(peerOrg).peer;
  const env = {
    ...process.env,
    FABRIC_CFG_PATH: join(networkHome, 'config'),
    CORE_PEER_LOCALMSPID: user.mspId,
    CORE_PEER_MSPCONFIGPATH: userMspDir(user),
    CORE_PEER_ADDRESS: target.endpoint,
    CORE_PEER_TLS_ENABLED: 'true',
    CORE_PEER_TLS_ROOTCERT_FILE: target.tlsRootCertPath,
    CORE_PEER_TLS_SERVERHOSTOVERRIDE: target.hostAlias,
  };
  try {
    const { stdout, stderr } = await execFileAsync(join(await fabricBin(), 'peer'), args, {
      env,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

/**
 * `peer chaincode invoke` (or `query`) of one transaction of our chaincode as `user`, against the peer of
 * `peerOrg`: `fn` is "Contract:Transaction", `args` its arguments, `transient` a transient map of base64 values.
 */
export function peerChaincode(
  user: UserMsp,
  peerOrg: string,
  how: 'invoke' | 'query',
  channel: string,
  fn: string,
  args: string[],
  transient?: Record<string, string>,
): Promise<CliOutcome> {
  return peerCli(user, peerOrg, [
    'chaincode',
    how,
    '-C',
    channel,
    '-n',
    CHAINCODE,
    '-c',
    JSON.stringify({ Args: [fn, ...args] }),
    ...(transient ? ['--transient', JSON.stringify(transient)] : []),
    ...(how === 'invoke' ? ordererFlags() : []),
  ]);
}

/** The orderer flags of the peer CLI (orderer1, TLS, the orderer org's CA). */
export function ordererFlags(): string[] {
  return [
    '-o',
    nodeEndpoint('orderer1'),
    '--tls',
    '--cafile',
    join(networkHome, 'orgs', 'ordererorg', 'msp', 'cacerts', 'ca.pem'),
    '--ordererTLSHostnameOverride',
    'orderer1',
  ];
}

function userFiles(user: UserMsp): { certPath: string; keyPath: string } {
  const dir = userMspDir(user);
  const keystore = join(dir, 'keystore');
  const keys = readdirSync(keystore).filter((file) => file.endsWith('_sk'));
  if (keys.length !== 1) throw new Error(`${keystore} should hold one private key, holds ${keys.length}`);
  return { certPath: join(dir, 'signcerts', 'cert.pem'), keyPath: join(keystore, keys[0]) };
}

/**
 * A plain fabric-gateway connection as a user enrolled by ./test-network.sh enroll, to the peer of `peerOrg`
 * (by default the user's own profile's peer).
 */
export function gatewayAs(user: UserMsp, peerOrg?: string): GatewayConnection {
  const own = profile(user.org);
  return openGateway(
    { ...own, mspId: user.mspId, peer: peerOrg ? profile(peerOrg).peer : own.peer },
    { files: userFiles(user) },
  );
}

/**
 * A proposal for `fn` built by the SDK, with its header timestamp replaced and signed again with the user's key:
 * what a client that chooses its own time sends. The transaction id does not depend on the timestamp, so the
 * forged proposal is otherwise well-formed.
 */
export async function forgedProposal(
  contract: Contract,
  user: UserMsp,
  fn: string,
  args: string[],
  timestamp: Date,
): Promise<ForgedProposal> {
  const genuine = contract.newProposal(fn, { arguments: args });
  const proposed = gatewayProtos.ProposedTransaction.deserializeBinary(genuine.getBytes());
  const original = proposed.getProposal() as peer.SignedProposal;
  const proposal = peer.Proposal.deserializeBinary(original.getProposalBytes_asU8());
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const stamp = channelHeader.getTimestamp();
  if (!stamp) throw new Error('the SDK built a proposal without a timestamp');
  stamp.setSeconds(Math.floor(timestamp.getTime() / 1000));
  stamp.setNanos(0);
  channelHeader.setTimestamp(stamp);
  header.setChannelHeader(channelHeader.serializeBinary());
  proposal.setHeader(header.serializeBinary());
  const proposalBytes = proposal.serializeBinary();
  const sign = signers.newPrivateKeySigner(createPrivateKey(readFileSync(userFiles(user).keyPath)));
  const signature = await sign(hash.sha256(proposalBytes));
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(proposalBytes);
  signed.setSignature(signature);
  proposed.setProposal(signed);
  return {
    signed,
    proposedTransactionBytes: proposed.serializeBinary(),
    signature,
    transactionId: proposed.getTransactionId(),
  };
}

export interface ForgedProposal {
  /** For a peer's Endorser service. */
  signed: peer.SignedProposal;
  /** For Gateway.newSignedProposal: the SDK's ProposedTransaction with the forged proposal inside. */
  proposedTransactionBytes: Uint8Array;
  signature: Uint8Array;
  transactionId: string;
}

/** Replays a forged proposal through the gateway, as the SDK's off-line signing flow allows. */
export async function endorseThroughGateway(gateway: Gateway, forged: ForgedProposal): Promise<Uint8Array> {
  const proposal = gateway.newSignedProposal(forged.proposedTransactionBytes, forged.signature);
  const transaction = await proposal.endorse();
  const commit = await transaction.submit();
  await commit.getStatus();
  return transaction.getResult();
}

/** Sends a signed proposal straight to a peer's Endorser service (no gateway): the auth filters run on it. */
export function processProposalAt(
  peerOrg: string,
  signed: peer.SignedProposal,
): Promise<peer.ProposalResponse> {
  const target = profile(peerOrg).peer;
  const client = new peer.EndorserClient(
    target.endpoint,
    grpc.credentials.createSsl(readFileSync(target.tlsRootCertPath)),
    {
      'grpc.ssl_target_name_override': target.hostAlias,
    },
  );
  return new Promise((resolve, reject) => {
    client.processProposal(signed, (err, response) => {
      client.close();
      if (err) reject(err);
      else resolve(response as peer.ProposalResponse);
    });
  });
}

/** The channel's height, as the authority's peer reports it (qscc, read by the auditor). */
export async function channelHeight(gateway: Gateway, channel: string): Promise<number> {
  const info = await gateway
    .getNetwork(channel)
    .getContract('qscc')
    .evaluateTransaction('GetChainInfo', channel);
  return common.BlockchainInfo.deserializeBinary(info).getHeight();
}

/**
 * The ids of VALID transactions in blocks [fromHeight, current height) whose creator presented this
 * certificate: after an attack, there must be none.
 */
export async function validTransactionsBy(
  auditor: Gateway,
  channel: string,
  fromHeight: number,
  certificatePem: string,
): Promise<string[]> {
  const until = await channelHeight(auditor, channel);
  if (until <= fromHeight) return [];
  const wanted = Buffer.from(certificatePem.trim());
  const found: string[] = [];
  const events = await auditor.getNetwork(channel).getBlockEvents({ startBlock: BigInt(fromHeight) });
  try {
    for await (const block of events) {
      const filter = block.getMetadata()?.getMetadataList_asU8()[
        common.BlockMetadataIndex.TRANSACTIONS_FILTER
      ];
      block
        .getData()
        ?.getDataList_asU8()
        .forEach((envelopeBytes, index) => {
          const payload = common.Payload.deserializeBinary(
            common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8(),
          );
          const header = payload.getHeader();
          if (!header) return;
          const signature = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
          const creator = msp.SerializedIdentity.deserializeBinary(signature.getCreator_asU8());
          const valid = (filter?.[index] ?? peer.TxValidationCode.VALID) === peer.TxValidationCode.VALID;
          if (valid && Buffer.from(creator.getIdBytes_asU8()).toString().trim() === wanted.toString()) {
            found.push(common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()).getTxId());
          }
        });
      if ((block.getHeader()?.getNumber() ?? 0) + 1 >= until) break;
    }
  } finally {
    events.close();
  }
  return found;
}

export function certificateOf(user: UserMsp): string {
  return readFileSync(userFiles(user).certPath, 'utf8');
}
