import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { EventName, validateDeviceHealth, type DeviceHealthRecord } from '@smartmeter/domain';
import { callerOf, describe, isAuditor, isConfigAdminOf, isItsMeter, isOperatorOf } from '../access';
import { SmartMeterContract } from '../baseContract';
import { forbidden, invalidArgument, notFound } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { readOptional, saveAndEmit, valuesByPartialKey } from '../ledger/store';
import { txTimeIso } from '../ledger/txTime';
import { loadSubscription, requireStatus, requireSubscriptionId } from '../subscriptions';
import { parseJsonObject, requireIdentifier } from '../validate';

/**
 * Device health (issue 19): each meter's latest report of battery, free disk, free memory and uptime. The
 * latest report replaces the one before (the key's history keeps them all); a meter that stops reporting is
 * found by `meterctl device health`, which raises `device-silent` alerts.
 */
@Info({ title: 'DeviceHealth', description: "Meters' latest health reports" })
export class DeviceHealthContract extends SmartMeterContract {
  constructor() {
    super('DeviceHealth');
  }

  /** The paired meter of an approved or active subscription reports its health. */
  @Transaction()
  @Returns('string')
  async ReportDeviceHealth(ctx: Context, subscriptionId: string, reportJson: string): Promise<string> {
    const id = requireSubscriptionId(subscriptionId);
    const { report, errors } = validateDeviceHealth(parseJsonObject('health', reportJson));
    if (!report) throw invalidArgument(`health report is invalid: ${errors.join('; ')}`);
    const subscription = await loadSubscription(ctx, id);
    const caller = callerOf(ctx);
    if (!isItsMeter(caller, subscription) || subscription.meterKeyFingerprint === undefined)
      throw forbidden(`only the paired meter of ${id} reports its health; caller is ${describe(caller)}`);
    requireStatus(subscription, ['APPROVED', 'ACTIVE'], 'report the health of');
    const record: DeviceHealthRecord = {
      docType: 'deviceHealth',
      distributorMspId: subscription.distributorMspId,
      meterId: subscription.meterId,
      subscriptionId: id,
      ...report,
      reportedAt: txTimeIso(ctx),
    };
    const { distributorMspId, meterId } = record;
    return saveAndEmit(
      ctx,
      Keys.deviceHealth.key(ctx, { distributorMspId, meterId }),
      record,
      EventName.DeviceHealthReported,
      {
        distributorMspId,
        meterId,
      },
    );
  }

  /** One meter's latest report: for the meter itself, its distributor's operators and config admins, the authority. */
  @Transaction(false)
  @Returns('string')
  async GetDeviceHealth(ctx: Context, distributorMspId: string, meterId: string): Promise<string> {
    const distributor = requireIdentifier('distributorMspId', distributorMspId);
    const meter = requireIdentifier('meterId', meterId);
    const caller = callerOf(ctx);
    const itself =
      caller.role === 'meter' && caller.meterId === meter && caller.distributorMspId === distributor;
    if (!itself) requireHealthReader(caller, distributor);
    const record = await readOptional<DeviceHealthRecord>(
      ctx,
      Keys.deviceHealth.key(ctx, { distributorMspId: distributor, meterId: meter }),
    );
    if (!record) throw notFound(`${meter} of ${distributor} has not reported its health`);
    return canonicalJson(record);
  }

  /** Every meter's latest report of one distributor, for its status table and alerts. */
  @Transaction(false)
  @Returns('string')
  async ListDeviceHealth(ctx: Context, distributorMspId: string): Promise<string> {
    const distributor = requireIdentifier('distributorMspId', distributorMspId);
    requireHealthReader(callerOf(ctx), distributor);
    const records = await valuesByPartialKey<DeviceHealthRecord, 'distributorMspId' | 'meterId'>(
      ctx,
      Keys.deviceHealth,
      { distributorMspId: distributor },
    );
    return canonicalJson(records);
  }
}

function requireHealthReader(caller: ReturnType<typeof callerOf>, distributorMspId: string): void {
  if (
    isOperatorOf(caller, distributorMspId) ||
    isConfigAdminOf(caller, distributorMspId) ||
    isAuditor(caller)
  )
    return;
  throw forbidden(
    `device health of ${distributorMspId} is for its operators and configuration administrators and the authority; caller is ${describe(caller)}`,
  );
}
