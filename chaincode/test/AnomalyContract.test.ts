import { anomalyTagOf, openConfirmedAnomaly, sealConfirmedAnomaly } from '@smartmeter/crypto';
import type { ConfirmedAnomalyRecord } from '@smartmeter/domain';
import { AnomalyContract } from '../src/contracts/AnomalyContract';
import { D1, H1, id, parse, World, type Household } from './support/fixtures';

const anomaly = new AnomalyContract();
const ANOMALY_ID = '0123456789abcdef0123456789abcdef';
const finding = JSON.stringify({
  anomalyId: ANOMALY_ID,
  finding: { kind: 'leak' },
  note: 'site visit booked',
});

function sealedFor(household: Household, anomalyId = ANOMALY_ID): { tag: string; sealed: string } {
  const tag = anomalyTagOf(household.sessionKey, household.subscriptionId, anomalyId);
  const sealed = sealConfirmedAnomaly(finding, household.sessionKey, {
    channel: 'northgrid',
    subscriptionId: household.subscriptionId,
    anomalyTag: tag,
  });
  return { tag, sealed: sealed.toString('base64') };
}

async function confirmed(world: World, household: Household): Promise<ConfirmedAnomalyRecord> {
  const { tag, sealed } = sealedFor(household);
  return parse(
    await world.run(id.d1Operator, (ctx) =>
      anomaly.ConfirmAnomaly(ctx, household.subscriptionId, tag, sealed),
    ),
  );
}

describe('Anomaly contract', () => {
  it('stores a confirmed finding pseudonymously, sealed, and the household, the operator and the authority read it back', async () => {
    const world = await World.create();
    const household = await world.active();
    const record = await confirmed(world, household);
    const { tag } = sealedFor(household);
    expect(record).toMatchObject({
      docType: 'confirmedAnomaly',
      channel: 'northgrid',
      subscriptionId: household.subscriptionId,
      distributorMspId: D1,
      anomalyTag: tag,
      keyId: (await world.subscription(household.subscriptionId)).keyId,
    });
    // Nothing of the finding is in clear: not its kind, its note, nor the anomaly id a scan prints.
    const stored = JSON.stringify(world.ledger.dump());
    expect(stored).not.toContain('leak');
    expect(stored).not.toContain('site visit');
    expect(stored).not.toContain(ANOMALY_ID);
    for (const reader of [household.subscriber, id.d1Operator, id.auditor]) {
      const listed = parse<ConfirmedAnomalyRecord[]>(
        await world.run(reader, (ctx) => anomaly.ListConfirmedAnomalies(ctx, household.subscriptionId)),
      );
      expect(listed).toEqual([record]);
      const one = parse<ConfirmedAnomalyRecord>(
        await world.run(reader, (ctx) => anomaly.GetConfirmedAnomaly(ctx, household.subscriptionId, tag)),
      );
      const opened = openConfirmedAnomaly(Buffer.from(one.sealedFinding, 'base64'), household.sessionKey, {
        channel: 'northgrid',
        subscriptionId: household.subscriptionId,
        anomalyTag: tag,
      });
      expect(JSON.parse(opened)).toEqual(JSON.parse(finding));
    }
  });

  it('refuses a confirmation from anyone but the distributor’s operator, writing nothing', async () => {
    const world = await World.create();
    const household = await world.active();
    const { tag, sealed } = sealedFor(household);
    const before = world.ledger.dump();
    for (const outsider of [
      household.subscriber,
      household.meter,
      id.d2Operator,
      id.d1ConfigAdmin,
      id.auditor,
      id.d1Admin,
      id.noRole,
    ]) {
      await expect(
        world.run(outsider, (ctx) => anomaly.ConfirmAnomaly(ctx, household.subscriptionId, tag, sealed)),
      ).rejects.toThrow(/^FORBIDDEN: only an operator of Distributor1MSP confirms anomalies of/);
    }
    expect(world.ledger.dump()).toEqual(before);
  });

  it('refuses a second confirmation of the same finding as ALREADY_EXISTS and keeps the first', async () => {
    const world = await World.create();
    const household = await world.active();
    const first = await confirmed(world, household);
    const before = world.ledger.dump();
    const { tag, sealed } = sealedFor(household);
    await expect(
      world.run(id.d1Operator, (ctx) => anomaly.ConfirmAnomaly(ctx, household.subscriptionId, tag, sealed)),
    ).rejects.toThrow(/^ALREADY_EXISTS: this anomaly of sub_[0-9a-f]{24} is confirmed already/);
    expect(world.ledger.dump()).toEqual(before);
    const listed = parse<ConfirmedAnomalyRecord[]>(
      await world.run(id.d1Operator, (ctx) => anomaly.ListConfirmedAnomalies(ctx, household.subscriptionId)),
    );
    expect(listed).toEqual([first]);
  });

  it('refuses a bad tag, a sealed finding of the wrong size or not base64, an unknown subscription, writing nothing', async () => {
    const world = await World.create();
    const household = await world.active();
    const { tag, sealed } = sealedFor(household);
    const before = world.ledger.dump();
    const attempts: [string, string, string, RegExp][] = [
      [household.subscriptionId, 'ABC', sealed, /^INVALID_ARGUMENT: anomalyTag must be 32 lowercase hex/],
      [household.subscriptionId, tag.toUpperCase(), sealed, /^INVALID_ARGUMENT: anomalyTag/],
      [household.subscriptionId, tag, 'not base64!', /^INVALID_ARGUMENT: sealedFinding must be base64/],
      [
        household.subscriptionId,
        tag,
        Buffer.alloc(100).toString('base64'),
        /^INVALID_ARGUMENT: sealedFinding must be 2076 bytes \(got 100\)/,
      ],
      [household.subscriptionId, tag, `${sealed}=`, /^INVALID_ARGUMENT: sealedFinding must be/],
      ['sub_000000000000000000000000', tag, sealed, /^NOT_FOUND/],
      ['../etc', tag, sealed, /^INVALID_ARGUMENT/],
    ];
    for (const [subscriptionId, anomalyTag, sealedFinding, refusal] of attempts) {
      await expect(
        world.run(id.d1Operator, (ctx) =>
          anomaly.ConfirmAnomaly(ctx, subscriptionId, anomalyTag, sealedFinding),
        ),
      ).rejects.toThrow(refusal);
    }
    expect(world.ledger.dump()).toEqual(before);
  });

  it('refuses the records to another household, another distributor and the meter', async () => {
    const world = await World.create();
    const household = await world.active();
    const { tag } = sealedFor(household);
    await confirmed(world, household);
    for (const outsider of [
      id.subscriber('hh-002', H1, 'key-c'),
      id.d2Operator,
      household.meter,
      id.d1ConfigAdmin,
    ]) {
      await expect(
        world.run(outsider, (ctx) => anomaly.ListConfirmedAnomalies(ctx, household.subscriptionId)),
      ).rejects.toThrow(/^FORBIDDEN: confirmed anomalies of sub_[0-9a-f]{24} are for its household/);
      await expect(
        world.run(outsider, (ctx) => anomaly.GetConfirmedAnomaly(ctx, household.subscriptionId, tag)),
      ).rejects.toThrow(/^FORBIDDEN/);
    }
  });

  it('in aggregate mode the authority, which holds no session key, is refused the records too', async () => {
    const world = await World.create();
    const household = await world.aggregateApproved();
    const record = await confirmed(world, household);
    await expect(
      world.run(id.auditor, (ctx) => anomaly.ListConfirmedAnomalies(ctx, household.subscriptionId)),
    ).rejects.toThrow(
      /^FORBIDDEN: confirmed anomalies of sub_[0-9a-f]{24} are for its household, its distributor's operators; /,
    );
    const listed = parse<ConfirmedAnomalyRecord[]>(
      await world.run(household.subscriber, (ctx) =>
        anomaly.ListConfirmedAnomalies(ctx, household.subscriptionId),
      ),
    );
    expect(listed).toEqual([record]);
  });
});
