import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

function readText(path: string, what: string, makeError: (message: string) => Error): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw makeError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Reads and parses a JSON file; failures become one message naming the file, built by makeError. */
export function readJsonFile(path: string, what: string, makeError: (message: string) => Error): unknown {
  const text = readText(path, what, makeError);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw makeError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** JSON, or YAML when the file name ends in .yaml/.yml. */
export function readStructuredFile(
  path: string,
  what: string,
  makeError: (message: string) => Error,
): unknown {
  if (!/\.ya?ml$/i.test(path)) return readJsonFile(path, what, makeError);
  const text = readText(path, what, makeError);
  try {
    return parseYaml(text, { prettyErrors: false }) as unknown;
  } catch (err) {
    throw makeError(`${what} ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
