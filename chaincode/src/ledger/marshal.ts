/**
 * Deterministic JSON for ledger bytes: object keys sorted at every depth, no whitespace, so every endorser
 * produces byte-identical writes and responses for the same record.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

export function marshal(value: unknown): Uint8Array {
  return Buffer.from(canonicalJson(value), 'utf8');
}

export function unmarshal<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(source).sort()) {
      if (source[key] !== undefined) sorted[key] = sortKeysDeep(source[key]);
    }
    return sorted;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    // Ledger numbers are integers in explicit units; a fraction or unsafe integer is a bug upstream.
    throw new Error(`non-integer or unsafe number in ledger record: ${value}`);
  }
  return value;
}
