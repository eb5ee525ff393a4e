import type { Contract, Network, ProposalOptions } from '@hyperledger/fabric-gateway';
import type { Page } from '@smartmeter/chaincode/dist/api/records';

/** Name of the chaincode every contract lives in. */
export const CHAINCODE = 'smartmeter';
const utf8 = new TextDecoder();

export function contractOf(network: Network, name: string): Contract {
  return network.getContract(CHAINCODE, name);
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(utf8.decode(bytes)) as T;
}

export async function evaluateJson<T>(contract: Contract, fn: string, ...args: string[]): Promise<T> {
  return decodeJson<T>(await contract.evaluateTransaction(fn, ...args));
}

export async function submitJson<T>(contract: Contract, fn: string, ...args: string[]): Promise<T> {
  return decodeJson<T>(await contract.submitTransaction(fn, ...args));
}

/** Submits with options (transient data, endorsing organizations) and decodes the JSON result. */
export async function submitWith<T>(contract: Contract, fn: string, options: ProposalOptions): Promise<T> {
  return decodeJson<T>(await contract.submit(fn, options));
}

/** Follows a paged query to its end. */
export async function allPages<T>(fetchPage: (bookmark: string) => Promise<Page<T>>): Promise<T[]> {
  const records: T[] = [];
  let bookmark = '';
  do {
    const page = await fetchPage(bookmark);
    records.push(...page.records);
    bookmark = page.bookmark;
  } while (bookmark !== '');
  return records;
}
