import type { DeviceHealthRecord } from '@smartmeter/domain';
import { DeviceHealthContract } from '../src/contracts/DeviceHealthContract';
import { D1, id, parse, World } from './support/fixtures';

const health = new DeviceHealthContract();
const report = {
  batteryPermille: 912,
  freeDiskBytes: 8_000_000_000,
  freeMemoryBytes: 420_000_000,
  uptimeSeconds: 3_600,
};

describe('DeviceHealth contract', () => {
  it('stores the paired meter’s latest report, which its distributor and the authority can read', async () => {
    const world = await World.create();
    const household = await world.active();
    const stored = parse<DeviceHealthRecord>(
      await world.run(household.meter, (ctx) =>
        health.ReportDeviceHealth(ctx, household.subscriptionId, JSON.stringify(report)),
      ),
    );
    expect(stored).toMatchObject({
      docType: 'deviceHealth',
      distributorMspId: D1,
      meterId: household.meterId,
      ...report,
    });
    await world.run(household.meter, (ctx) =>
      health.ReportDeviceHealth(
        ctx,
        household.subscriptionId,
        JSON.stringify({ ...report, uptimeSeconds: 3_900 }),
      ),
    );
    for (const reader of [id.d1Operator, id.d1ConfigAdmin, id.auditor, household.meter]) {
      const latest = parse<DeviceHealthRecord>(
        await world.run(reader, (ctx) => health.GetDeviceHealth(ctx, D1, household.meterId)),
      );
      expect(latest.uptimeSeconds).toBe(3_900);
    }
    const all = parse<DeviceHealthRecord[]>(
      await world.run(id.d1Operator, (ctx) => health.ListDeviceHealth(ctx, D1)),
    );
    expect(all.map((r) => r.meterId)).toEqual([household.meterId]);
  });

  it('refuses a report that is not whole (every field), from a meter not yet paired, or from another meter, writing nothing', async () => {
    const world = await World.create();
    const approved = await world.approved();
    const before = world.ledger.dump();
    await expect(
      world.run(approved.meter, (ctx) =>
        health.ReportDeviceHealth(ctx, approved.subscriptionId, JSON.stringify(report)),
      ),
    ).rejects.toThrow(/^FORBIDDEN: only the paired meter of/);
    await expect(
      world.run(approved.meter, (ctx) =>
        health.ReportDeviceHealth(
          ctx,
          approved.subscriptionId,
          JSON.stringify({ ...report, batteryPermille: 2000, extra: 1 }),
        ),
      ),
    ).rejects.toThrow(
      'INVALID_ARGUMENT: health report is invalid: extra: unknown field; batteryPermille: thousandths of a full battery, 0 to 1000',
    );
    await expect(
      world.run(id.meter('MTR-999'), (ctx) =>
        health.ReportDeviceHealth(ctx, approved.subscriptionId, JSON.stringify(report)),
      ),
    ).rejects.toThrow(/^FORBIDDEN/);
    await expect(
      world.run(id.d1Operator, (ctx) =>
        health.ReportDeviceHealth(ctx, approved.subscriptionId, JSON.stringify(report)),
      ),
    ).rejects.toThrow(/^FORBIDDEN/);
    expect(world.ledger.dump()).toEqual(before);
  });

  it('keeps health from households, from another distributor and from other meters', async () => {
    const world = await World.create();
    const household = await world.active();
    await world.run(household.meter, (ctx) =>
      health.ReportDeviceHealth(ctx, household.subscriptionId, JSON.stringify(report)),
    );
    for (const outsider of [household.subscriber, id.d2Operator, id.d2ConfigAdmin]) {
      await expect(
        world.run(outsider, (ctx) => health.GetDeviceHealth(ctx, D1, household.meterId)),
      ).rejects.toThrow(/^FORBIDDEN: device health of Distributor1MSP is for its operators/);
      await expect(world.run(outsider, (ctx) => health.ListDeviceHealth(ctx, D1))).rejects.toThrow(
        /^FORBIDDEN/,
      );
    }
    await expect(
      world.run(id.meter('MTR-002', undefined, 'key-c'), (ctx) =>
        health.GetDeviceHealth(ctx, D1, household.meterId),
      ),
    ).rejects.toThrow(/^FORBIDDEN/);
    await expect(
      world.run(id.d1Operator, (ctx) => health.GetDeviceHealth(ctx, D1, 'MTR-404')),
    ).rejects.toThrow(/^NOT_FOUND: MTR-404 of Distributor1MSP has not reported its health/);
  });
});
