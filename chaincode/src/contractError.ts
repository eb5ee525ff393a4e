import { ErrorCode } from './api/errors';

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

export const invalidArgument = (text: string): ContractError =>
  new ContractError(ErrorCode.InvalidArgument, text);
export const forbidden = (text: string): ContractError => new ContractError(ErrorCode.Forbidden, text);
export const notFound = (text: string): ContractError => new ContractError(ErrorCode.NotFound, text);
