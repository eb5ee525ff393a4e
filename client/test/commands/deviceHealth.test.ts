import type { DeviceHealthRecord, ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import { householdSubscription } from './support/fixtures';
import { TestWorld } from './support/world';

/** TestWorld's clock is 2026-11-15T10:07:00Z. */
function healthOf(meterId: string, subscriptionId: string, reportedAt: string): DeviceHealthRecord {
  return {
    docType: 'deviceHealth',
    distributorMspId: 'Distributor1MSP',
    meterId,
    subscriptionId,
    batteryPermille: 875,
    freeDiskBytes: 3_200_000_000,
    freeMemoryBytes: 512_000_000,
    uptimeSeconds: 7_200,
    reportedAt,
  };
}

function reading(subscriptionId: string, periodStart: string): ReadingRecord {
  return {
    docType: 'reading',
    subscriptionId,
    sequence: 1,
    periodStart,
    ciphertext: 'AA==',
    nonce: 'AA==',
    keyId: '0'.repeat(32),
    submittedAt: periodStart,
    txId: 'tx',
  };
}

function fleet(): { world: TestWorld; quiet: SubscriptionRecord; fine: SubscriptionRecord } {
  const world = new TestWorld();
  const base = householdSubscription(world.keystore, { status: 'ACTIVE' }).subscription;
  const fine = { ...base, meterId: 'mtr-fine', subscriptionId: 'sub_000000000000000000000001' };
  const quiet = { ...base, meterId: 'mtr-quiet', subscriptionId: 'sub_000000000000000000000002' };
  world.clients = {
    subscriptions: { all: async () => [fine, quiet] },
    deviceHealth: {
      all: async () => [
        healthOf('mtr-fine', fine.subscriptionId, '2026-11-15T10:02:00Z'),
        healthOf('mtr-quiet', quiet.subscriptionId, '2026-11-15T06:00:00Z'),
      ],
    },
    measurements: {
      all: async (subscriptionId: string) =>
        subscriptionId === fine.subscriptionId ? [reading(subscriptionId, '2026-11-15T09:30:00Z')] : [],
    },
  };
  return { world, quiet, fine };
}

describe('meterctl device health', () => {
  it('lists each meter’s health and raises device-silent for the one that stopped, with what stopped and since when', async () => {
    const { world, quiet } = fleet();

    const result = await world.run('--json', 'device', 'health', '--silent-after', '1h');

    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {
      devices: { meterId: string; lastReadingAt?: string }[];
      alerts: Record<string, unknown>[];
    };
    expect(out.devices.map((d) => [d.meterId, d.lastReadingAt])).toEqual([
      ['mtr-fine', '2026-11-15T10:00:00Z'],
      ['mtr-quiet', undefined],
    ]);
    expect(out.alerts).toEqual([
      {
        code: 'DEVICE_SILENT',
        meterId: 'mtr-quiet',
        subscriptionId: quiet.subscriptionId,
        silent: 'health and readings',
        lastSeen: '2026-11-15T06:00:00Z',
        silentSeconds: 14_820,
      },
    ]);
    // Readings are looked for over twice the allowance.
    expect(world.calls.filter((c) => c.method === 'measurements.all').map((c) => c.args.slice(1))).toEqual([
      ['2026-11-15T08:07:00Z', '2026-11-15T10:07:00Z'],
      ['2026-11-15T08:07:00Z', '2026-11-15T10:07:00Z'],
    ]);
  });

  it('prints a table with units and a summary line', async () => {
    const { world } = fleet();

    const result = await world.run('device', 'health', '--silent-after', '1h');

    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^METER\s+SUBSCRIPTION\s+BATTERY\s+FREE DISK\s+FREE MEMORY\s+UPTIME/);
    expect(lines[1]).toMatch(/^mtr-fine .* 87\.5 % +3200 MB +512 MB +7200s /);
    expect(lines.at(-1)).toBe(
      '1 of 2 meters silent: mtr-quiet (health and readings, last seen 2026-11-15T06:00:00Z)',
    );
  });

  it('refuses a duration it cannot read, and a meter with no active subscription, before reading health', async () => {
    const { world } = fleet();
    const bad = await world.run('device', 'health', '--silent-after', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--silent-after must be a duration such as 90s, 15m, 2h or 1d \(got "soon"\)/);
    expect(world.methodsCalled()).toEqual([]);

    const unknown = await world.run('device', 'health', 'mtr-nobody');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no active subscription of Distributor1MSP has meter mtr-nobody/);
    expect(world.methodsCalled()).toEqual(['subscriptions.all']);
  });
});
