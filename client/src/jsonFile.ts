import { readFileSync } from 'node:fs';

/** Reads and parses a JSON file; failures become one message naming the file, built by makeError. */
export function readJsonFile(path: string, what: string, makeError: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw makeError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw makeError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
