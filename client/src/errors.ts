import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CommitError,
  CommitStatusError,
  GatewayError,
  StatusCode,
  type SubmitError,
} from '@hyperledger/fabric-gateway';
import { parseErrorMessage, type ErrorCode } from '@smartmeter/domain';
import { InvalidGrantError } from './grants';
import { ProfileError } from './profile';

/** Exit codes of meterctl: 0 ok, 1 refused by the network, 2 usage or configuration, 3 network unreachable. */
export const ExitCode = { Ok: 0, Refused: 1, Usage: 2, Unreachable: 3 } as const;

/** A mistake in how meterctl was called or configured; nothing was sent. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The CA refused or could not be reached; unreachable tells the two apart for the exit code. */
export class CaError extends Error {
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
    this.name = 'CaError';
  }
}

/**
 * The organization is not a member of the channel asked for (-c): the peers would refuse it ("creator org
 * unknown"), so meterctl refuses it the same way (exit 1) without sending it.
 */
export class NotOnChannel extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotOnChannel';
  }
}

/** A service other than the peer (the reporting database) cannot be reached. */
export class ServiceUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnreachable';
  }
}

/**
 * meterctl refuses before sending anything, for a reason the network would refuse too or that makes the result
 * untrustworthy (a report whose hash differs from the ledger's, rounds not closed): exit 1, "CODE: message".
 */
export class ClientRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ClientRefusal';
  }
}

/**
 * A service beside the peer (the reporting database) answered and said no (HTTP 4xx: bad credentials, no
 * right to the database, a malformed request): waiting would not change the answer. Told like a ClientRefusal,
 * exit 1 with "CODE: message", so it is one.
 */
export class ServiceRefusal extends ClientRefusal {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'ServiceRefusal';
  }
}

export interface CliFailure {
  exitCode: number;
  /** One readable line. */
  message: string;
}

/** The network could not be reached, or did not answer in time. */
const UNREACHABLE: readonly number[] = [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED];
/** Fabric's name of a validation code (fabric-gateway exports the codes, not the names). */
export function validationCodeName(code: number): string {
  return Object.entries(StatusCode).find(([, value]) => value === code)?.[0] ?? 'validation code';
}

/** The gRPC status name of a code ("UNAVAILABLE" for 14). */
export function grpcStatusName(code: number): string {
  return GrpcStatus[code] ?? `gRPC status ${code}`;
}

/** fabric-gateway exports SubmitError as a type only, so it is recognized by name. */
export function isSubmitError(err: unknown): err is SubmitError {
  return err instanceof GatewayError && err.name === 'SubmitError';
}

/** Lost a validation race with another transaction: the same call, endorsed again, may well commit. */
const RACE_LOST: readonly number[] = [StatusCode.MVCC_READ_CONFLICT, StatusCode.PHANTOM_READ_CONFLICT];

/** Turns any error into one line and an exit code; the chaincode's "CODE: text" and the peer that said it first. */
export function describeFailure(err: unknown, endpoint?: string): CliFailure {
  if (err instanceof CommitError) {
    return {
      exitCode: ExitCode.Refused,
      message: `transaction ${err.transactionId} was not committed: ${validationCodeName(err.code)} (${err.code})`,
    };
  }
  if (err instanceof GatewayError) return describeGatewayError(err, endpoint);
  return (
    describeLocalFailure(err) ?? {
      exitCode: ExitCode.Refused,
      message: oneLine(err instanceof Error ? err.message : String(err)),
    }
  );
}

/** Failures of meterctl's own making or of a service beside the peer. */
function describeLocalFailure(err: unknown): CliFailure | undefined {
  if (err instanceof UsageError || err instanceof ProfileError)
    return { exitCode: ExitCode.Usage, message: err.message };
  if (err instanceof ServiceUnreachable) return { exitCode: ExitCode.Unreachable, message: err.message };
  if (err instanceof ClientRefusal)
    return { exitCode: ExitCode.Refused, message: `${err.code}: ${err.message}` };
  if (err instanceof CaError)
    return { exitCode: err.unreachable ? ExitCode.Unreachable : ExitCode.Refused, message: err.message };
  if (err instanceof InvalidGrantError || err instanceof NotOnChannel)
    return { exitCode: ExitCode.Refused, message: err.message };
  return undefined;
}

function describeGatewayError(err: GatewayError, endpoint?: string): CliFailure {
  for (const detail of err.details) {
    const parsed = chaincodeError(detail.message);
    if (parsed)
      return { exitCode: ExitCode.Refused, message: `${parsed} (${detail.address}, ${detail.mspId})` };
  }
  if (outcomeUnknown(err)) {
    return {
      exitCode: ExitCode.Unreachable,
      message: `the network did not confirm transaction ${err.transactionId} (${oneLine(err.message)}); it may still commit: check the ledger before repeating it`,
    };
  }
  if (UNREACHABLE.includes(err.code)) {
    return {
      exitCode: ExitCode.Unreachable,
      message: `cannot reach ${endpoint ?? 'the gateway peer'}; is the network up? ./test-network.sh status`,
    };
  }
  const detail = err.details.at(0);
  const where = detail ? ` (${detail.address}, ${detail.mspId}: ${detail.message})` : '';
  return { exitCode: ExitCode.Refused, message: `${oneLine(err.message)}${where}` };
}

/** The chaincode's refusal ("CODE: text") carried by a gateway error, or null when there is none. */
export function refusalOf(err: unknown): { code: ErrorCode; text: string } | null {
  if (!(err instanceof GatewayError)) return null;
  for (const detail of err.details) {
    const start = detail.message.search(/[A-Z_]+: /);
    const parsed = start < 0 ? null : parseErrorMessage(detail.message.slice(start));
    if (parsed) return parsed;
  }
  return null;
}

/** The gateway refused the request itself (a bad argument, an identity it does not accept): final. */
const REQUEST_REFUSED: readonly number[] = [
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
];

/**
 * Whether a failed transaction is worth trying again later, as a new proposal. Only what is safe and useful:
 * - a validation race (MVCC or phantom read conflict): endorsing again reads the new state;
 * - an endorsement that failed for want of an endorser (a peer or chaincode server down or too slow, or one a
 *   block behind the other: "ProposalResponsePayloads do not match"): nothing reached the orderers.
 * Never a chaincode refusal, an endorsement-policy failure or another validation code at commit, nor the gateway
 * refusing the request or the identity. A submit whose outcome is still unknown after submitConfirmed looked it
 * up by id is not retried as a new transaction either (it may yet commit); see mayRepeat for idempotent ones.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CommitError) return RACE_LOST.includes(err.code);
  if (!(err instanceof GatewayError) || refusalOf(err)) return false;
  if (outcomeUnknown(err)) return false;
  return !REQUEST_REFUSED.includes(err.code);
}

/**
 * For a transaction whose repeat is harmless (a reading slot is stored once; a pairing already confirmed is seen
 * on the next read): worth trying again later also when the outcome of the last attempt is unknown.
 */
export function mayRepeat(err: unknown): boolean {
  return isRetryable(err) || outcomeUnknown(err);
}

/** Whether the outcome of a submitted transaction is unknown: it may or may not have been ordered. */
export function outcomeUnknown(err: unknown): err is SubmitError | CommitStatusError {
  return isSubmitError(err) || err instanceof CommitStatusError;
}

/** Exponential back-off with full jitter: many meters coming back after an outage must not retry in step. */
export function backoffDelayMs(attempt: number, baseMs = 1000, capMs = 30_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/** The "CODE: text" part of a peer's message such as "chaincode response 500, FORBIDDEN: ...". */
function chaincodeError(message: string): string | null {
  const start = message.search(/[A-Z_]+: /);
  if (start < 0) return null;
  const parsed = parseErrorMessage(message.slice(start));
  return parsed ? `${parsed.code}: ${oneLine(parsed.text)}` : null;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
