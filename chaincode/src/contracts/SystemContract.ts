import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { SmartMeterContract } from '../baseContract';
import { EventName, type ChaincodeVersion, type PingRecord } from '@smartmeter/domain';
import { Keys } from '../ledger/keys';
import { readRequired, saveAndEmit } from '../ledger/store';
import { canonicalJson } from '../ledger/marshal';
import { txTimestampIso } from '../ledger/txTime';
import { requireText, requireTxId } from '../validate';
import { CHAINCODE_NAME, CHAINCODE_VERSION } from '../version';

const MAX_PING_MESSAGE_LENGTH = 256;

/** Smoke-test transactions: prove that submit, commit and read work end to end on a channel. */
@Info({ title: 'System', description: 'Liveness and version checks' })
export class SystemContract extends SmartMeterContract {
  constructor() {
    super('System');
  }

  /** Writes a ping record keyed by the transaction id and returns it. */
  @Transaction()
  @Returns('string')
  async Ping(ctx: Context, message: string): Promise<string> {
    const validMessage = requireText('message', message, MAX_PING_MESSAGE_LENGTH);
    const record: PingRecord = {
      docType: 'ping',
      pingId: ctx.stub.getTxID(),
      message: validMessage,
      submitterMspId: ctx.clientIdentity.getMSPID(),
      recordedAt: txTimestampIso(ctx),
    };
    return saveAndEmit(ctx, Keys.ping.key(ctx, { pingId: record.pingId }), record, EventName.PingRecorded, {
      pingId: record.pingId,
    });
  }

  @Transaction(false)
  @Returns('string')
  async GetPing(ctx: Context, pingId: string): Promise<string> {
    const validId = requireTxId('pingId', pingId);
    return canonicalJson(
      await readRequired<PingRecord>(ctx, Keys.ping.key(ctx, { pingId: validId }), `ping ${validId}`),
    );
  }

  @Transaction(false)
  @Returns('string')
  Version(_ctx: Context): Promise<string> {
    const version: ChaincodeVersion = { name: CHAINCODE_NAME, version: CHAINCODE_VERSION };
    return Promise.resolve(canonicalJson(version));
  }
}
