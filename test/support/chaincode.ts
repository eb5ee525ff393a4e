import type { Contract, Gateway } from '@hyperledger/fabric-gateway';
import { openGateway, type GatewayConnection } from '../../client/src/gateway';
import { CHAINCODE, profile } from './network';

/** Gateway helpers for integration tests of the smartmeter chaincode. */
export { CHAINCODE };
const utf8 = new TextDecoder();

/** Opens gateways on demand and closes them all at the end of a test file. */
export class Gateways {
  private readonly open: GatewayConnection[] = [];

  gateway(org: string, identity?: string): Gateway {
    const connection = openGateway(profile(org), { identity });
    this.open.push(connection);
    return connection.gateway;
  }

  contract(org: string, channel: string, name: string, identity?: string): Contract {
    return this.gateway(org, identity).getNetwork(channel).getContract(CHAINCODE, name);
  }

  track(connection: GatewayConnection): GatewayConnection {
    this.open.push(connection);
    return connection;
  }

  closeAll(): void {
    for (const connection of this.open.splice(0)) connection.close();
  }
}

export async function submitJson<T>(contract: Contract, fn: string, ...args: string[]): Promise<T> {
  return JSON.parse(utf8.decode(await contract.submitTransaction(fn, ...args))) as T;
}

export async function evaluateJson<T>(contract: Contract, fn: string, ...args: string[]): Promise<T> {
  return JSON.parse(utf8.decode(await contract.evaluateTransaction(fn, ...args))) as T;
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(utf8.decode(bytes)) as T;
}

/** The error text of a refused call, including the chaincode's "<CODE>: ..." message from each peer. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    // fabric-gateway errors carry one detail per peer; a raw gRPC error's details is its message text.
    const details = (err as { details?: { message: string }[] | string }).details ?? [];
    const messages = typeof details === 'string' ? [details] : details.map((detail) => detail.message);
    return [err instanceof Error ? err.message : String(err), ...messages].join(' | ');
  }
  throw new Error('expected the transaction to be refused');
}

export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
