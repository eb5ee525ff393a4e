import { CommitError, type GatewayError } from '@hyperledger/fabric-gateway';
import {
  CaError,
  ClientRefusal,
  describeFailure,
  ExitCode,
  NotOnChannel,
  outcomeUnknown,
  refusalOf,
  ServiceUnreachable,
  UsageError,
  validationCodeName,
} from '@smartmeter/client/dist/errors';
import { InvalidGrantError } from '@smartmeter/client/dist/grants';
import { ProfileError } from '@smartmeter/client/dist/profile';
import { ErrorCode } from '@smartmeter/domain';
import type { ApiError } from './api';

/** The portal's own codes, beside the chaincode's (ErrorCode): stable, for pages and scripts to match. */
export const PortalCode = {
  /** The request does not match the route's schema; fields says which. */
  Validation: 'VALIDATION',
  /** Well-formed but not usable as asked (a key this keystore does not hold, a range the wrong way round). */
  Usage: 'USAGE',
  /** No session cookie or bearer token, or a wrong one. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** A state-changing call without the session's CSRF token, or from another origin. */
  Csrf: 'CSRF',
  /** The Host header names a site this server does not serve (DNS rebinding). */
  WrongHost: 'WRONG_HOST',
  /** The route is another party's (a household asking to approve a subscription). */
  NotForParty: 'NOT_FOR_PARTY',
  /** The channel is not one of the organization's. */
  NotOnChannel: 'NOT_ON_CHANNEL',
  /** The transaction was endorsed but not committed valid (a validation code such as MVCC_READ_CONFLICT). */
  NotCommitted: 'NOT_COMMITTED',
  /** The peer, the CA or the reporting database cannot be reached. */
  Unreachable: 'UNREACHABLE',
  /** The transaction was submitted but its outcome is unknown: check the ledger before repeating it. */
  OutcomeUnknown: 'OUTCOME_UNKNOWN',
  NotFound: 'NOT_FOUND',
  /** The pages' files are missing (a checkout that was not built). */
  NotBuilt: 'NOT_BUILT',
} as const;

/** An error the portal answers itself, with its HTTP status. */
export class PortalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
    this.name = 'PortalError';
  }
}

const STATUS_OF_CHAINCODE_CODE: Record<string, number> = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.WrongKey]: 409,
  [ErrorCode.Internal]: 502,
};

export interface HttpFailure {
  status: number;
  error: ApiError;
}

/**
 * Any failure as the API answers it: the chaincode's code with the peer that said it, else one of the portal's
 * codes, mapped as meterctl maps them to exit codes (describeFailure) so the CLI and the pages agree.
 */
export function httpFailureOf(err: unknown, endpoint?: string): HttpFailure {
  if (err instanceof PortalError)
    return { status: err.status, error: { code: err.code, message: err.message, fields: err.fields } };
  const refusal = refusalOf(err);
  if (refusal) {
    const detail = (err as GatewayError).details.find((d) => d.message.includes(`${refusal.code}: `));
    return {
      status: STATUS_OF_CHAINCODE_CODE[refusal.code] ?? 400,
      error: {
        code: refusal.code,
        message: refusal.text,
        peer: detail ? `${detail.address} (${detail.mspId})` : undefined,
      },
    };
  }
  return localFailure(err) ?? unreachableOrInternal(err, endpoint);
}

/** Failures of the portal's or meterctl's own making, before or after the peer answered. */
function localFailure(err: unknown): HttpFailure | undefined {
  if (err instanceof CommitError)
    return {
      status: 409,
      error: { code: PortalCode.NotCommitted, message: `${validationCodeName(err.code)}: ${err.message}` },
    };
  if (err instanceof ClientRefusal) return { status: 422, error: { code: err.code, message: err.message } };
  if (err instanceof InvalidGrantError)
    return { status: 422, error: { code: err.code, message: err.message.slice(`${err.code}: `.length) } };
  if (err instanceof NotOnChannel)
    return { status: 403, error: { code: PortalCode.NotOnChannel, message: err.message } };
  if (err instanceof UsageError || err instanceof ProfileError)
    return { status: 400, error: { code: PortalCode.Usage, message: err.message } };
  return undefined;
}

function unreachableOrInternal(err: unknown, endpoint?: string): HttpFailure {
  const failure = describeFailure(err, endpoint);
  if (
    err instanceof ServiceUnreachable ||
    err instanceof CaError ||
    failure.exitCode === ExitCode.Unreachable
  ) {
    const unknown = outcomeUnknown(err);
    return {
      status: unknown ? 504 : 503,
      error: { code: unknown ? PortalCode.OutcomeUnknown : PortalCode.Unreachable, message: failure.message },
    };
  }
  return { status: 500, error: { code: ErrorCode.Internal, message: failure.message } };
}
