import { readFileSync, statSync } from 'node:fs';

/** A secret file that is missing, empty or readable by others: the process refuses to start. */
export class PasswordFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordFileError';
  }
}

/**
 * Reads the aggregator's MQTT password: the first line of a file that only its owner may read (mode 0600 or
 * 0400). A file readable by the group or by others is refused, as ssh refuses such a private key.
 */
export function readPasswordFile(path: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode & 0o777;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PasswordFileError(`cannot read the password file ${path}: ${code}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new PasswordFileError(
      `the password file ${path} has mode ${mode.toString(8).padStart(4, '0')}: it must be readable by its owner only (chmod 600 ${path})`,
    );
  }
  const password = text.split(/\r?\n/, 1)[0];
  if (password.length < 16) {
    throw new PasswordFileError(`the password file ${path} must hold a password of at least 16 characters`);
  }
  return password;
}
