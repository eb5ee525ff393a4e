import { ErrorCode } from '@smartmeter/domain';

/** A rejection with a stable code; its message is what the client sees. */
export class ContractError extends Error {
  constructor(
    readonly code: ErrorCode,
    text: string,
  ) {
    super(`${code}: ${text}`);
    this.name = 'ContractError';
  }
}

// One helper per code, so that every refusal states its code where it is raised.
export const invalidArgument = (text: string): ContractError =>
  new ContractError(ErrorCode.InvalidArgument, text);
export const forbidden = (text: string): ContractError => new ContractError(ErrorCode.Forbidden, text);
export const notFound = (text: string): ContractError => new ContractError(ErrorCode.NotFound, text);
export const conflict = (text: string): ContractError => new ContractError(ErrorCode.Conflict, text);
export const alreadyExists = (text: string): ContractError =>
  new ContractError(ErrorCode.AlreadyExists, text);
export const wrongKey = (text: string): ContractError => new ContractError(ErrorCode.WrongKey, text);
