import { isAnomalyTag, SEALED_ANOMALY_BYTES } from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { EventName, type ConfirmedAnomalyRecord, type SubscriptionRecord } from '@smartmeter/domain';
import { callerOf, describe, isAuditor, isOperatorOf, isOwner, type Caller } from '../access';
import { SmartMeterContract } from '../baseContract';
import { alreadyExists, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { exists, readOptional, saveAndEmit, valuesByPartialKey } from '../ledger/store';
import { txTimeIso } from '../ledger/txTime';
import { requireCanonicalBase64 } from '../validate';
import { loadSubscription, requireStatus, requireSubscriptionId } from '../subscriptions';

/**
 * Anomalies the distributor confirmed (issue 19). The distributor finds them with `meterctl anomalies scan` over
 * readings it decrypts; when it confirms one, the finding goes on the ledger sealed under the subscription's
 * session key and named by a tag keyed with that key, so the record is pseudonymous and only the key holders
 * open it. The ledger cannot read the finding; it checks who confirms, the shape of what is stored, and that a
 * finding is confirmed once.
 */
@Info({ title: 'Anomaly', description: 'Confirmed consumption anomalies, sealed under the session key' })
export class AnomalyContract extends SmartMeterContract {
  constructor() {
    super('Anomaly');
  }

  /** By an operator of the subscription's distributor. */
  @Transaction()
  @Returns('string')
  async ConfirmAnomaly(
    ctx: Context,
    subscriptionId: string,
    anomalyTag: string,
    sealedFinding: string,
  ): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    if (!isAnomalyTag(anomalyTag))
      throw invalidArgument('anomalyTag must be 32 lowercase hex characters (crypto anomalyTagOf)');
    const sealed = requireSealedFinding(sealedFinding);
    const subscription = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    if (!isOperatorOf(caller, subscription.distributorMspId))
      throw forbidden(
        `only an operator of ${subscription.distributorMspId} confirms anomalies of ${id}; caller is ${describe(caller)}`,
      );
    requireStatus(subscription, ['APPROVED', 'ACTIVE', 'ENDED'], 'confirm an anomaly of');
    const key = Keys.confirmedAnomaly.key(ctx, { subscriptionId: id, anomalyTag });
    if (await exists(ctx, key)) throw alreadyExists(`this anomaly of ${id} is confirmed already`);
    const record: ConfirmedAnomalyRecord = {
      docType: 'confirmedAnomaly',
      channel: ctx.stub.getChannelID(),
      subscriptionId: id,
      distributorMspId: subscription.distributorMspId,
      anomalyTag,
      keyId: subscription.keyId,
      sealedFinding: sealed,
      confirmedAt: txTimeIso(ctx),
    };
    return saveAndEmit(ctx, key, record, EventName.AnomalyConfirmed, { subscriptionId: id, anomalyTag });
  }

  @Transaction(false)
  @Returns('string')
  async GetConfirmedAnomaly(ctx: Context, subscriptionId: string, anomalyTag: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    if (!isAnomalyTag(anomalyTag)) throw invalidArgument('anomalyTag must be 32 lowercase hex characters');
    requireAnomalyReader(callerOf(ctx), await loadSubscription(ctx, id));
    const record = await readOptional<ConfirmedAnomalyRecord>(
      ctx,
      Keys.confirmedAnomaly.key(ctx, { subscriptionId: id, anomalyTag }),
    );
    if (!record) throw notFound(`no confirmed anomaly of ${id} has this tag`);
    return canonicalJson(record);
  }

  /** A subscription's confirmed anomalies, in tag order (the readers sort the opened findings by period). */
  @Transaction(false)
  @Returns('string')
  async ListConfirmedAnomalies(ctx: Context, subscriptionId: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    requireAnomalyReader(callerOf(ctx), await loadSubscription(ctx, id));
    return canonicalJson(
      await valuesByPartialKey<ConfirmedAnomalyRecord, 'subscriptionId' | 'anomalyTag'>(
        ctx,
        Keys.confirmedAnomaly,
        { subscriptionId: id },
      ),
    );
  }
}

/**
 * The household, its distributor's operators and, in disclosed mode only, the authority: the readers.
 * In aggregate mode the authority holds no session key and could not open a finding anyway; refusing it the
 * record too keeps it from learning even when and how often its household's anomalies are confirmed.
 */
function requireAnomalyReader(caller: Caller, subscription: SubscriptionRecord): void {
  if (isOwner(caller, subscription) || isOperatorOf(caller, subscription.distributorMspId)) return;
  if (isAuditor(caller) && subscription.privacyMode !== 'aggregate') return;
  throw forbidden(
    `confirmed anomalies of ${subscription.subscriptionId} are for its household, its distributor's operators` +
      `${subscription.privacyMode === 'aggregate' ? '' : ' and the authority'}; caller is ${describe(caller)}`,
  );
}

/** Base64 of exactly SEALED_ANOMALY_BYTES: every sealed finding is that long, whatever it says. */
function requireSealedFinding(value: unknown): string {
  const bytes = requireCanonicalBase64('sealedFinding', value);
  if (bytes.length !== SEALED_ANOMALY_BYTES)
    throw invalidArgument(`sealedFinding must be ${SEALED_ANOMALY_BYTES} bytes (got ${bytes.length})`);
  return value as string;
}
