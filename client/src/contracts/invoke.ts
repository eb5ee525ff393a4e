import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CommitError,
  CommitStatusError,
  EndorseError,
  type Commit,
  type Contract,
  type Gateway,
  type Network,
  type ProposalOptions,
  type Status,
  type Transaction,
} from '@hyperledger/fabric-gateway';
import { gateway as gatewayProtos, msp } from '@hyperledger/fabric-protos';
import type { Page } from '@smartmeter/domain';
import { isSubmitError, refusalOf } from '../errors';

const utf8 = new TextDecoder();

/** What submitConfirmed did beyond one endorse, submit and commit: benchmarks count it, logs may tell it. */
export interface SubmitObserver {
  /** The endorsing peers answered differently (one had not committed the previous block yet); endorsed anew. */
  reEndorsed?(attempt: number): void;
  /** A submit reported as failed was looked up by id: found committed (with its status) or not found. */
  lookedUp?(transactionId: string, found: boolean): void;
}

/** The chaincode on one channel, through one gateway: what every contract adapter is built from. */
export interface ChaincodeChannel {
  readonly gateway: Gateway;
  readonly network: Network;
  /** From the connection profile (network.conf's `chaincode` line). */
  readonly chaincodeName: string;
  readonly observer?: SubmitObserver;
  /**
   * Gateways to the other endorsing organizations' peers (same identity): a submit returns only once these have
   * committed it too, so the next transaction of the same party is endorsed on peers that agree (see
   * endorseConsistently). For a client that submits back to back, e.g. a meter catching up.
   */
  readonly alsoCommittedAt?: readonly Gateway[];
}

export function chaincodeChannel(
  gateway: Gateway,
  channelName: string,
  chaincodeName: string,
  extras: Pick<ChaincodeChannel, 'observer' | 'alsoCommittedAt'> = {},
): ChaincodeChannel {
  return { gateway, network: gateway.getNetwork(channelName), chaincodeName, ...extras };
}

/** One contract of the chaincode, and the gateway that can look its transactions up by id. */
export interface ContractTarget {
  readonly contract: Contract;
  readonly gateway: Gateway;
  readonly channelName: string;
  readonly observer?: SubmitObserver;
  readonly alsoCommittedAt?: readonly Gateway[];
}

export function contractOf(channel: ChaincodeChannel, name: string): ContractTarget {
  return {
    contract: channel.network.getContract(channel.chaincodeName, name),
    gateway: channel.gateway,
    channelName: channel.network.getName(),
    observer: channel.observer,
    alsoCommittedAt: channel.alsoCommittedAt,
  };
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(utf8.decode(bytes)) as T;
}

export async function evaluateJson<T>(target: ContractTarget, fn: string, ...args: string[]): Promise<T> {
  return decodeJson<T>(await target.contract.evaluateTransaction(fn, ...args));
}

export async function submitJson<T>(target: ContractTarget, fn: string, ...args: string[]): Promise<T> {
  return submitWith<T>(target, fn, { arguments: args });
}

/** Submits with options (transient data, endorsing organizations) and decodes the JSON result. */
export async function submitWith<T>(
  target: ContractTarget,
  fn: string,
  options: ProposalOptions,
): Promise<T> {
  return decodeJson<T>(await submitConfirmed(target, fn, options));
}

/** How long a look-up by transaction id waits for a transaction the orderers may not have taken. */
const LOOKUP_DEADLINE_MS = 10_000;
/** Waits before endorsing again when the peers answered differently: about a block's time each. */
const DIVERGED_WAITS_MS = [100, 250, 500];

/**
 * Endorses, submits and waits for the commit, without ever ordering a second transaction with the same effect.
 * A submit the gateway reports as failed may still have been ordered: on this Fabric build a BFT gateway answers
 * "insufficient number of orderers … request already processed" for transactions that did commit (fabric#4415).
 * So a failed submit is looked up by its transaction id first; only when the ledger does not have it is the
 * *same* signed transaction sent again, which commits at most once (a second copy is a DUPLICATE_TXID).
 * Throws CommitError when the transaction was ordered but is invalid; a SubmitError or CommitStatusError when
 * its outcome is still unknown after that (errors.ts outcomeUnknown).
 */
export async function submitConfirmed(
  target: ContractTarget,
  fn: string,
  options: ProposalOptions,
): Promise<Uint8Array> {
  const transaction = await endorseConsistently(target, fn, options);
  const status = await submitAndWait(target, transaction);
  await committedElsewhere(target, status.transactionId);
  if (!status.successful) {
    throw new CommitError({
      code: status.code,
      transactionId: status.transactionId,
      message: `transaction ${status.transactionId} failed to commit with status code ${status.code}`,
    });
  }
  return transaction.getResult();
}

/**
 * Endorses; when the endorsing peers answered differently ("ProposalResponsePayloads do not match": one of them
 * had not yet committed the block with this subscription's previous transaction), endorses anew a little later.
 * Nothing was ordered, so this is always safe; a chaincode refusal is never endorsed again.
 */
async function endorseConsistently(
  target: ContractTarget,
  fn: string,
  options: ProposalOptions,
): Promise<Transaction> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await target.contract.newProposal(fn, options).endorse();
    } catch (err) {
      const wait = DIVERGED_WAITS_MS.at(attempt);
      if (wait === undefined || !peersDiverged(err)) throw err;
      target.observer?.reEndorsed?.(attempt + 1);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

const ABORTED: number = GrpcStatus.ABORTED;

/** The gateway's answer when the endorsements differ: ABORTED without any chaincode refusal among the details. */
export function peersDiverged(err: unknown): boolean {
  return err instanceof EndorseError && err.code === ABORTED && refusalOf(err) === null;
}

async function submitAndWait(target: ContractTarget, transaction: Transaction): Promise<Status> {
  try {
    const submitted = await transaction.submit();
    return await submitted.getStatus();
  } catch (err) {
    if (err instanceof CommitStatusError) return confirmLate(target, transaction, err);
    if (!isSubmitError(err)) throw err;
    const found = await lookUp(target, transaction.getTransactionId());
    target.observer?.lookedUp?.(transaction.getTransactionId(), found !== undefined);
    if (found) return found;
    const again = await transaction.submit();
    return await again.getStatus();
  }
}

/** Waits (within the look-up deadline) until the other peers have committed the transaction too. */
async function committedElsewhere(target: ContractTarget, transactionId: string): Promise<void> {
  const others = target.alsoCommittedAt ?? [];
  await Promise.all(others.map((gateway) => lookUp({ ...target, gateway }, transactionId)));
}

/** The transaction was ordered but its status did not come in time: ask once more before calling it unknown. */
async function confirmLate(
  target: ContractTarget,
  transaction: Transaction,
  err: CommitStatusError,
): Promise<Status> {
  const found = await lookUp(target, transaction.getTransactionId());
  target.observer?.lookedUp?.(transaction.getTransactionId(), found !== undefined);
  if (found) return found;
  throw err;
}

/** The commit status of a transaction by id, or undefined when the ledger does not have it within the deadline. */
async function lookUp(target: ContractTarget, transactionId: string): Promise<Status | undefined> {
  try {
    return await commitStatusRequest(target, transactionId).getStatus({
      deadline: Date.now() + LOOKUP_DEADLINE_MS,
    });
  } catch {
    return undefined;
  }
}

/** A commit-status request for a transaction id, signed by the gateway's identity when it is sent. */
export function commitStatusRequest(target: ContractTarget, transactionId: string): Commit {
  const identity = target.gateway.getIdentity();
  const serialized = new msp.SerializedIdentity();
  serialized.setMspid(identity.mspId);
  serialized.setIdBytes(identity.credentials);
  const request = new gatewayProtos.CommitStatusRequest();
  request.setTransactionId(transactionId);
  request.setChannelId(target.channelName);
  request.setIdentity(serialized.serializeBinary());
  const signed = new gatewayProtos.SignedCommitStatusRequest();
  signed.setRequest(request.serializeBinary());
  return target.gateway.newCommit(signed.serializeBinary());
}

/** Follows a paged query to its end. */
export async function allPages<T>(fetchPage: (bookmark: string) => Promise<Page<T>>): Promise<T[]> {
  const records: T[] = [];
  let bookmark = '';
  do {
    const page = await fetchPage(bookmark);
    records.push(...page.records);
    bookmark = page.bookmark;
  } while (bookmark !== '');
  return records;
}
