import { parseErrorMessage, type ErrorCode } from '@smartmeter/chaincode/dist/api/errors';
import { CommitError, GatewayError } from '@hyperledger/fabric-gateway';
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

/** A service other than the peer (the reporting database) cannot be reached. */
export class ServiceUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnreachable';
  }
}

export interface CliFailure {
  exitCode: number;
  /** One readable line. */
  message: string;
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
/** The gateway rejected the request itself (bad argument, identity not allowed): trying again cannot help. */
const FINAL_GRPC_CODES: readonly number[] = [3, 7, 16];

/** Turns any error into one line and an exit code; the chaincode's "CODE: text" and the peer that said it first. */
export function describeFailure(err: unknown, endpoint?: string): CliFailure {
  if (err instanceof UsageError || err instanceof ProfileError)
    return { exitCode: ExitCode.Usage, message: err.message };
  if (err instanceof ServiceUnreachable) return { exitCode: ExitCode.Unreachable, message: err.message };
  if (err instanceof CaError)
    return { exitCode: err.unreachable ? ExitCode.Unreachable : ExitCode.Refused, message: err.message };
  if (err instanceof InvalidGrantError) return { exitCode: ExitCode.Refused, message: err.message };
  if (err instanceof CommitError) {
    return {
      exitCode: ExitCode.Refused,
      message: `transaction ${err.transactionId} was not committed: validation code ${err.code}`,
    };
  }
  if (err instanceof GatewayError) {
    for (const detail of err.details ?? []) {
      const parsed = chaincodeError(detail.message);
      if (parsed)
        return { exitCode: ExitCode.Refused, message: `${parsed} (${detail.address}, ${detail.mspId})` };
    }
    if (err.code === GRPC_UNAVAILABLE || err.code === GRPC_DEADLINE_EXCEEDED) {
      return {
        exitCode: ExitCode.Unreachable,
        message: `cannot reach ${endpoint ?? 'the gateway peer'}; is the network up? ./test-network.sh status`,
      };
    }
    const detail = err.details?.[0];
    const where = detail ? ` (${detail.address}, ${detail.mspId}: ${detail.message})` : '';
    return { exitCode: ExitCode.Refused, message: `${oneLine(err.message)}${where}` };
  }
  return { exitCode: ExitCode.Refused, message: oneLine(err instanceof Error ? err.message : String(err)) };
}

/** The chaincode's refusal ("CODE: text") carried by a gateway error, or null when there is none. */
export function refusalOf(err: unknown): { code: ErrorCode; text: string } | null {
  if (!(err instanceof GatewayError)) return null;
  for (const detail of err.details ?? []) {
    const start = detail.message.search(/[A-Z_]+: /);
    const parsed = start < 0 ? null : parseErrorMessage(detail.message.slice(start));
    if (parsed) return parsed;
  }
  return null;
}

/**
 * Whether trying the same transaction again later may succeed: the peer or orderers could not be reached or
 * answered too late, or the transaction lost a validation race (MVCC). A chaincode refusal is final, and so
 * is the gateway rejecting the request or the identity.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CommitError) return true;
  if (!(err instanceof GatewayError) || refusalOf(err)) return false;
  return !FINAL_GRPC_CODES.includes(err.code);
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
