import { newOrgKeyPair, sealForRecipient, sealedSize } from '@smartmeter/crypto';
import {
  canonicalConfigBytes,
  configHash,
  DEVICE_CONFIG_PADDED_BYTES,
  DeviceConfigError,
  deviceConfigContext,
  openConfigForDevice,
  sealConfigForDevice,
  validateDeviceConfig,
  type DeviceConfig,
} from '../src';

const config: DeviceConfig = {
  schemaVersion: 1,
  readingIntervalSeconds: 900,
  maxJitterSeconds: 120,
  firmwarePin: '2.4.1',
  display: { tariffName: 'Night saver', message: 'Cheaper from 22:00' },
  alertThresholds: { maxPerHour: 9000, leakMinPerHour: 5 },
};
const context = deviceConfigContext('northgrid', 'MTR-001', 1);

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    if (err instanceof DeviceConfigError) return err.code;
    throw err;
  }
  throw new Error('expected a DeviceConfigError');
}

describe('validateDeviceConfig', () => {
  it('when every setting is valid then it returns the configuration and no errors', () => {
    expect(validateDeviceConfig(config)).toEqual({ config, errors: [] });
  });

  it('when several fields are wrong then it lists every error by field, unknown fields included', () => {
    const { config: valid, errors } = validateDeviceConfig({
      schemaVersion: 2,
      readingIntervalSeconds: 700,
      maxJitterSeconds: 601,
      firmwarePin: 'latest',
      display: { message: 'x'.repeat(141), colour: 'red' },
      alertThresholds: { maxPerHour: 0 },
      reboot: true,
    });
    expect(valid).toBeUndefined();
    expect(errors).toEqual([
      'reboot: unknown field',
      'schemaVersion: must be 1',
      'readingIntervalSeconds: one of 300, 600, 900, 1800, 3600',
      'maxJitterSeconds: an integer from 0 to 600',
      'firmwarePin: a version like 2.4.1 or 2.5.0-rc.1',
      'display.colour: unknown field',
      'display.message: at most 140 characters (got 141)',
      'alertThresholds.maxPerHour: a positive integer up to 1000000000',
    ]);
  });

  it('when no setting is given then it is refused', () => {
    expect(validateDeviceConfig({ schemaVersion: 1 }).errors).toEqual([
      'the configuration must set at least one of readingIntervalSeconds, maxJitterSeconds, firmwarePin, display, alertThresholds',
    ]);
  });
});

describe('configHash', () => {
  it('when the same configuration has its keys in another order then the bytes and hash are the same', () => {
    const reordered = JSON.parse(
      '{"alertThresholds":{"leakMinPerHour":5,"maxPerHour":9000},"firmwarePin":"2.4.1","maxJitterSeconds":120,"display":{"message":"Cheaper from 22:00","tariffName":"Night saver"},"readingIntervalSeconds":900,"schemaVersion":1}',
    ) as DeviceConfig;
    expect(canonicalConfigBytes(reordered).equals(canonicalConfigBytes(config))).toBe(true);
    expect(configHash(reordered)).toBe(configHash(config));
    expect(configHash(config)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('sealing a configuration for a device', () => {
  const device = newOrgKeyPair();

  it('when the device opens its sealed configuration then it gets the same configuration back', () => {
    const sealed = sealConfigForDevice(config, device.publicKeyPem, context);
    expect(sealed.length).toBe(sealedSize(DEVICE_CONFIG_PADDED_BYTES));
    expect(sealed.toString('latin1')).not.toContain('Night saver');
    expect(
      openConfigForDevice(sealed.toString('base64'), device.privateKeyPem, context, configHash(config)),
    ).toEqual(config);
  });

  it('when the ciphertext is corrupted then it is UNREADABLE', () => {
    const sealed = sealConfigForDevice(config, device.publicKeyPem, context);
    sealed[200] ^= 0xff;
    expect(codeOf(() => openConfigForDevice(sealed, device.privateKeyPem, context, configHash(config)))).toBe(
      'UNREADABLE',
    );
  });

  it('when another device key or another version context opens it then it is UNREADABLE', () => {
    const sealed = sealConfigForDevice(config, device.publicKeyPem, context);
    const other = newOrgKeyPair();
    expect(codeOf(() => openConfigForDevice(sealed, other.privateKeyPem, context, configHash(config)))).toBe(
      'UNREADABLE',
    );
    const version2 = deviceConfigContext('northgrid', 'MTR-001', 2);
    expect(
      codeOf(() => openConfigForDevice(sealed, device.privateKeyPem, version2, configHash(config))),
    ).toBe('UNREADABLE');
  });

  it('when the sealed configuration fails the schema after decryption then it is SCHEMA', () => {
    const bad = Buffer.from(JSON.stringify({ schemaVersion: 1, maxJitterSeconds: -1 }));
    const sealed = sealForRecipient(bad, device.publicKeyPem, context, DEVICE_CONFIG_PADDED_BYTES);
    expect(() => openConfigForDevice(sealed, device.privateKeyPem, context, configHash(config))).toThrow(
      'SCHEMA: maxJitterSeconds: an integer from 0 to 600',
    );
  });

  it('when the configuration is valid but not the published one then it is HASH_MISMATCH', () => {
    const sealed = sealConfigForDevice(
      { schemaVersion: 1, maxJitterSeconds: 5 },
      device.publicKeyPem,
      context,
    );
    expect(codeOf(() => openConfigForDevice(sealed, device.privateKeyPem, context, configHash(config)))).toBe(
      'HASH_MISMATCH',
    );
  });
});
