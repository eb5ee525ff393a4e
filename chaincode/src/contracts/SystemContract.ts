import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { SmartMeterContract } from '../baseContract';
import { EventName, type ChaincodeVersion, type PingRecord } from '../api/records';
import { notFound } from '../contractError';
import { pingKey } from '../ledger/keys';
import { canonicalJson, marshal } from '../ledger/marshal';
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
    await ctx.stub.putState(pingKey(ctx, record.pingId), marshal(record));
    ctx.stub.setEvent(EventName.PingRecorded, marshal({ pingId: record.pingId }));
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async GetPing(ctx: Context, pingId: string): Promise<string> {
    const validId = requireTxId('pingId', pingId);
    const bytes = await ctx.stub.getState(pingKey(ctx, validId));
    if (!bytes || bytes.length === 0) throw notFound(`no ping with id ${validId}`);
    return Buffer.from(bytes).toString('utf8');
  }

  @Transaction(false)
  @Returns('string')
  async Version(_ctx: Context): Promise<string> {
    const version: ChaincodeVersion = { name: CHAINCODE_NAME, version: CHAINCODE_VERSION };
    return canonicalJson(version);
  }
}
