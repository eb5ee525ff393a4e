import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { isoSeconds } from '@smartmeter/domain';

/** One key written by a valid transaction, with the JSON value when it is a JSON object. */
export interface LedgerWrite {
  namespace: string;
  key: string;
  isDelete: boolean;
  value: Uint8Array;
}

export interface BlockTransaction {
  txId: string;
  /** Fabric's validation code; 0 (VALID) is the only one whose writes reached the state. */
  validationCode: number;
  timestamp: string;
  writes: LedgerWrite[];
  events: { chaincodeId: string; name: string; payload: Uint8Array }[];
}

const VALID = peer.TxValidationCode.VALID;

/** The endorser transactions of a block with their write sets and chaincode events, in block order. */
export function transactionsOf(block: common.Block): BlockTransaction[] {
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
  const transactions: BlockTransaction[] = [];
  block
    .getData()
    ?.getDataList_asU8()
    .forEach((envelopeBytes, index) => {
      const envelope = common.Envelope.deserializeBinary(envelopeBytes);
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const header = payload.getHeader();
      if (!header) return;
      const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
      if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return;
      const seconds = channelHeader.getTimestamp()?.getSeconds() ?? 0;
      const validationCode = filter?.[index];
      // A committed block carries a validation code for every transaction; without it nothing can be trusted.
      if (validationCode === undefined) {
        throw new Error(
          `block ${block.getHeader()?.getNumber() ?? '?'} has no validation code for transaction ${index}: not a committed block`,
        );
      }
      const transaction: BlockTransaction = {
        txId: channelHeader.getTxId(),
        validationCode,
        timestamp: isoSeconds(seconds),
        writes: [],
        events: [],
      };
      for (const action of peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()) {
        const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
        const responseBytes = actionPayload.getAction()?.getProposalResponsePayload_asU8();
        if (!responseBytes) continue;
        const chaincodeAction = peer.ChaincodeAction.deserializeBinary(
          peer.ProposalResponsePayload.deserializeBinary(responseBytes).getExtension_asU8(),
        );
        collectWrites(chaincodeAction, transaction.writes);
        const eventBytes = chaincodeAction.getEvents_asU8();
        if (eventBytes.length > 0) {
          const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
          transaction.events.push({
            chaincodeId: event.getChaincodeId(),
            name: event.getEventName(),
            payload: event.getPayload_asU8(),
          });
        }
      }
      transactions.push(transaction);
    });
  return transactions;
}

function collectWrites(action: peer.ChaincodeAction, writes: LedgerWrite[]): void {
  const results = action.getResults_asU8();
  if (results.length === 0) return;
  for (const namespaceSet of ledger.rwset.TxReadWriteSet.deserializeBinary(results).getNsRwsetList()) {
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(namespaceSet.getRwset_asU8());
    for (const write of kv.getWritesList()) {
      writes.push({
        namespace: namespaceSet.getNamespace(),
        key: write.getKey(),
        isDelete: write.getIsDelete(),
        value: write.getValue_asU8(),
      });
    }
  }
}

export function isValid(transaction: BlockTransaction): boolean {
  return transaction.validationCode === VALID;
}

/** The JSON object in a write's value, or undefined for deletes, index entries and non-JSON values. */
export function jsonValue(write: LedgerWrite): Record<string, unknown> | undefined {
  if (write.isDelete || write.value.length === 0 || write.value[0] !== 0x7b) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(write.value).toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
