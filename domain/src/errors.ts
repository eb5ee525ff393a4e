/**
 * Error codes that cross the wire. Only the message of a chaincode error reaches the client, so every
 * message starts with one of these codes followed by ": " and a human-readable explanation.
 */
export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  Conflict: 'CONFLICT',
  /**
   * Data encrypted under another session key than the subscription's (a meter with an old pair bundle): the
   * meter cannot go on until it gets a bundle with the current key.
   */
  WrongKey: 'WRONG_KEY',
  /** Anything the chaincode did not anticipate (a bug or a broken environment): not the caller's fault. */
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Splits "<CODE>: <text>" back into its parts; null when the message carries no known code. */
export function parseErrorMessage(message: string): { code: ErrorCode; text: string } | null {
  const match = /^([A-Z_]+): ([\s\S]*)$/.exec(message.trim());
  if (!match) return null;
  const code = Object.values(ErrorCode).find((known) => known === match[1]);
  return code ? { code, text: match[2] } : null;
}
