import type { Context } from 'fabric-contract-api';

/** What a test says about the submitter: its MSP and the Fabric CA attributes in its certificate. */
export interface FakeIdentity {
  mspId: string;
  attributes?: Record<string, string>;
}

export interface EmittedEvent {
  name: string;
  payload: string;
}

const MIN_UNICODE = '\u0000';

/**
 * An in-memory stand-in for the chaincode stub, enough for unit tests of contract logic. Integration tests
 * cover the real peer; this only lets contract rules be tested without one.
 */
export class MemoryLedger {
  readonly state = new Map<string, Uint8Array>();
  readonly events: EmittedEvent[] = [];
  private txCounter = 0;

  /** Builds a Context for one transaction by the given identity at the given time. */
  context(identity: FakeIdentity, txTime = new Date('2026-01-15T10:00:00.000Z')): Context {
    this.txCounter += 1;
    const txId = this.txCounter.toString(16).padStart(64, '0');
    const writes = new Map<string, Uint8Array>();
    const stub = {
      getTxID: () => txId,
      getTxTimestamp: () => ({
        seconds: Math.floor(txTime.getTime() / 1000),
        nanos: (txTime.getTime() % 1000) * 1e6,
      }),
      createCompositeKey: (objectType: string, attributes: string[]) =>
        MIN_UNICODE + [objectType, ...attributes].join(MIN_UNICODE) + MIN_UNICODE,
      getState: async (key: string) => this.state.get(key) ?? new Uint8Array(),
      putState: async (key: string, value: Uint8Array) => {
        writes.set(key, value);
        this.state.set(key, value);
      },
      setEvent: (name: string, payload: Uint8Array) => {
        this.events.push({ name, payload: Buffer.from(payload).toString('utf8') });
      },
    };
    const clientIdentity = {
      getMSPID: () => identity.mspId,
      getID: () => `x509::CN=test::CN=ca.${identity.mspId}`,
      getAttributeValue: (name: string) => identity.attributes?.[name] ?? null,
      assertAttributeValue: (name: string, value: string) => identity.attributes?.[name] === value,
    };
    return { stub, clientIdentity } as unknown as Context;
  }

  /** The stored value under a key as text, or undefined. */
  read(key: string): string | undefined {
    const bytes = this.state.get(key);
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  }
}
