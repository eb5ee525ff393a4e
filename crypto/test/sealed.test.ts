import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  certificateAttributes,
  certificateKeyFingerprint,
  DecryptionError,
  maxSealedData,
  newOrgKeyPair,
  openSealed,
  sealedSize,
  sealForRecipient,
  validateSealed,
} from '../src';

describe('data sealed for one recipient', () => {
  const recipient = newOrgKeyPair();

  it('when sealed and opened with the recipient key and context then the data comes back', () => {
    const sealed = sealForRecipient(
      Buffer.from('R. Household, 7 Meter Row'),
      recipient.publicKeyPem,
      'par_1',
      256,
    );
    expect(openSealed(sealed, recipient.privateKeyPem, 'par_1').toString()).toBe('R. Household, 7 Meter Row');
  });

  it('when data of any length up to the limit is sealed then every result has one size', () => {
    const sizes = new Set(
      [0, 1, 100, maxSealedData(256)].map(
        (n) => sealForRecipient(Buffer.alloc(n, 7), recipient.publicKeyPem, 'c', 256).length,
      ),
    );
    expect([...sizes]).toEqual([sealedSize(256)]);
    expect(() =>
      sealForRecipient(Buffer.alloc(maxSealedData(256) + 1), recipient.publicKeyPem, 'c', 256),
    ).toThrow(/at most 252 bytes/);
  });

  it('when the key, the context or a byte is wrong then it does not open', () => {
    const sealed = sealForRecipient(Buffer.from('secret'), recipient.publicKeyPem, 'par_1', 64);
    expect(() => openSealed(sealed, newOrgKeyPair().privateKeyPem, 'par_1')).toThrow(DecryptionError);
    expect(() => openSealed(sealed, recipient.privateKeyPem, 'par_2')).toThrow(DecryptionError);
    const tampered = Buffer.from(sealed);
    tampered[100] ^= 1;
    expect(() => openSealed(tampered, recipient.privateKeyPem, 'par_1')).toThrow(DecryptionError);
  });

  it('when the shape is checked without the key then only the exact size and version pass', () => {
    const sealed = sealForRecipient(Buffer.from('x'), recipient.publicKeyPem, 'c', 64);
    expect(() => {
      validateSealed(sealed, 64);
    }).not.toThrow();
    expect(() => {
      validateSealed(sealed.subarray(1), 64);
    }).toThrow(/exactly/);
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    expect(() => {
      validateSealed(otherVersion, 64);
    }).toThrow(/version/);
  });
});

describe('certificates', () => {
  const cert = (name: string) =>
    readFileSync(join(__dirname, '..', '..', 'chaincode', 'test', 'support', 'certs', `${name}.pem`), 'utf8');

  it('when two certificates hold different keys then their fingerprints differ, and one is stable', () => {
    expect(certificateKeyFingerprint(cert('key-a'))).toMatch(/^[0-9a-f]{64}$/);
    expect(certificateKeyFingerprint(cert('key-a'))).toBe(
      certificateKeyFingerprint(Buffer.from(cert('key-a'))),
    );
    expect(certificateKeyFingerprint(cert('key-a'))).not.toBe(certificateKeyFingerprint(cert('key-b')));
  });

  it('when fingerprints are remembered (and the oldest forgotten) then every answer is still the key of its own certificate', () => {
    const a = certificateKeyFingerprint(cert('key-a'));
    const b = certificateKeyFingerprint(cert('key-b'));
    // More distinct inputs than the cache holds: the same certificate with more and more trailing newlines.
    for (let i = 1; i <= 4200; i += 1) {
      expect(certificateKeyFingerprint(cert(i % 2 === 0 ? 'key-a' : 'key-b') + '\n'.repeat(i))).toBe(
        i % 2 === 0 ? a : b,
      );
    }
    expect(certificateKeyFingerprint(cert('key-a'))).toBe(a);
    expect(certificateKeyFingerprint(Buffer.from(cert('key-b')))).toBe(b);
  });

  it('when a certificate carries Fabric CA attributes then they are read, and none when it has none', () => {
    expect(certificateAttributes(cert('subscriber-hh-001'))).toEqual({
      role: 'subscriber',
      subscriberId: 'hh-001',
    });
    expect(certificateAttributes(cert('key-a'))).toEqual({});
  });

  it('when the input is no certificate then it is refused', () => {
    expect(() =>
      certificateKeyFingerprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    ).toThrow(/not an X.509 certificate/);
  });
});
