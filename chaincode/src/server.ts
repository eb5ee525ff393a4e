/**
 * The chaincode server each organization runs (chaincode as a service; network/scripts/nodes.sh starts it):
 * fabric-shim's contract dispatch with one addition, a stable error code on every refusal. Refusals that come
 * from the dispatch itself (an unknown contract, a wrong number of arguments) carry none in fabric-shim, so
 * clients could only match their text; here they become INVALID_ARGUMENT, and anything else uncoded INTERNAL.
 *
 *   node chaincode/dist/server.js --chaincode-address host:port --chaincode-id <package id> \
 *     --chaincode-tls-cert-file cert.pem --chaincode-tls-key-file key.pem
 */
import { JSONSerializer } from 'fabric-contract-api';
import {
  Shim,
  type ChaincodeInterface,
  type ChaincodeResponse,
  type ChaincodeServerTLSProperties,
  type ChaincodeStub,
} from 'fabric-shim';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ErrorCode, parseErrorMessage } from '@smartmeter/domain';
import { contracts } from './index';
import { topology } from './topology';
import { CHAINCODE_NAME, CHAINCODE_VERSION } from './version';

type ContractDispatcherClass = new (
  contractClasses: unknown[],
  serializers: unknown,
  metadata: unknown,
  title: string,
  version: string,
) => ChaincodeInterface;

// fabric-shim has no public constructor for its contract dispatcher; this is the one its own
// `fabric-chaincode-node server` command uses (fabric-shim is pinned to an exact version in package.json).
const ChaincodeFromContract =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('fabric-shim/lib/contract-spi/chaincodefromcontract') as ContractDispatcherClass;

/** fabric-shim's own refusals of a malformed call: the caller's mistake, so INVALID_ARGUMENT. */
const DISPATCH_ERRORS = [
  /^Contract name is not known/,
  /^You've asked to invoke a function that does not exist/,
  /^Expected \d+ parameters/,
  /^Unable to /,
];

export function withErrorCode(message: string): string {
  if (parseErrorMessage(message)) return message;
  const code = DISPATCH_ERRORS.some((pattern) => pattern.test(message))
    ? ErrorCode.InvalidArgument
    : ErrorCode.Internal;
  return `${code}: ${message}`;
}

export class CodedChaincode implements ChaincodeInterface {
  constructor(private readonly inner: ChaincodeInterface) {}

  async Init(stub: ChaincodeStub): Promise<ChaincodeResponse> {
    return coded(await this.inner.Init(stub));
  }

  async Invoke(stub: ChaincodeStub): Promise<ChaincodeResponse> {
    return coded(await this.inner.Invoke(stub));
  }
}

function coded(response: ChaincodeResponse): ChaincodeResponse {
  if (response.status < 400) return response;
  return { ...response, message: withErrorCode(response.message ?? '') };
}

export function contractChaincode(): ChaincodeInterface {
  const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
  return new CodedChaincode(
    new ChaincodeFromContract(contracts, serializers, {}, CHAINCODE_NAME, CHAINCODE_VERSION),
  );
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'chaincode-address': { type: 'string' },
      'chaincode-id': { type: 'string' },
      'chaincode-tls-cert-file': { type: 'string' },
      'chaincode-tls-key-file': { type: 'string' },
    },
    strict: true,
  });
  const missing = Object.entries(values).filter(([, value]) => !value);
  const address = values['chaincode-address'];
  const ccid = values['chaincode-id'];
  const certFile = values['chaincode-tls-cert-file'];
  const keyFile = values['chaincode-tls-key-file'];
  if (!address || !ccid || !certFile || !keyFile || missing.length > 0) {
    process.stderr.write(
      'usage: server.js --chaincode-address <host:port> --chaincode-id <package id> --chaincode-tls-cert-file <pem> --chaincode-tls-key-file <pem>\n',
    );
    process.exit(2);
  }
  // Fail at start, not on the first transaction, when the topology is missing or malformed.
  topology();
  const server = Shim.server(contractChaincode(), {
    ccid,
    address,
    // No client certificate is asked of the peer, as with fabric-shim's own server without a client CA.
    tlsProps: { cert: readFileSync(certFile), key: readFileSync(keyFile) } as ChaincodeServerTLSProperties,
  });
  server.start().catch((err: unknown) => {
    process.stderr.write(`the chaincode server stopped: ${String(err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) main();
