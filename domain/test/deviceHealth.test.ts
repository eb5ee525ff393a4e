import { silentDevices, validateDeviceHealth } from '../src/deviceHealth';

const now = Date.parse('2026-12-02T12:00:00Z') / 1000;

describe('device health reports', () => {
  it('accepts a whole report', () => {
    const report = {
      batteryPermille: 870,
      freeDiskBytes: 2_000_000_000,
      freeMemoryBytes: 300_000_000,
      uptimeSeconds: 86_400,
    };
    expect(validateDeviceHealth(report)).toEqual({ errors: [], report });
  });

  it('lists every problem by field', () => {
    expect(
      validateDeviceHealth({ batteryPermille: 1001, freeDiskBytes: -1, uptimeSeconds: 1.5, colour: 'red' })
        .errors,
    ).toEqual([
      'colour: unknown field',
      'batteryPermille: thousandths of a full battery, 0 to 1000',
      'freeDiskBytes: a whole number of bytes',
      'freeMemoryBytes: a whole number of bytes',
      'uptimeSeconds: a whole number of seconds',
    ]);
    expect(validateDeviceHealth([]).errors).toEqual(['health: must be a JSON object']);
  });
});

describe('device-silent alerts', () => {
  const hour = 3_600;
  it('raises one for health, readings or both when the last contact is older than the allowance', () => {
    const alerts = silentDevices(
      [
        {
          meterId: 'fine',
          subscriptionId: 's1',
          lastHealthAt: '2026-12-02T11:30:00Z',
          lastReadingAt: '2026-12-02T11:30:00Z',
        },
        {
          meterId: 'no-health',
          subscriptionId: 's2',
          lastHealthAt: '2026-12-02T08:00:00Z',
          lastReadingAt: '2026-12-02T11:30:00Z',
        },
        { meterId: 'no-readings', subscriptionId: 's3', lastHealthAt: '2026-12-02T11:55:00Z' },
        {
          meterId: 'gone',
          subscriptionId: 's4',
          lastHealthAt: '2026-12-01T12:00:00Z',
          lastReadingAt: '2026-12-01T09:00:00Z',
        },
        { meterId: 'never', subscriptionId: 's5' },
      ],
      now,
      2 * hour,
    );
    expect(alerts).toEqual([
      {
        code: 'DEVICE_SILENT',
        meterId: 'no-health',
        subscriptionId: 's2',
        silent: 'health',
        lastSeen: '2026-12-02T11:30:00Z',
        silentSeconds: 1800,
      },
      {
        code: 'DEVICE_SILENT',
        meterId: 'no-readings',
        subscriptionId: 's3',
        silent: 'readings',
        lastSeen: '2026-12-02T11:55:00Z',
        silentSeconds: 300,
      },
      {
        code: 'DEVICE_SILENT',
        meterId: 'gone',
        subscriptionId: 's4',
        silent: 'health and readings',
        lastSeen: '2026-12-01T12:00:00Z',
        silentSeconds: 86_400,
      },
      { code: 'DEVICE_SILENT', meterId: 'never', subscriptionId: 's5', silent: 'health and readings' },
    ]);
  });
});
