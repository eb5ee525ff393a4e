import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBrokerCertificate } from '../../../test/support/brokerCertificate';

/** A self-signed broker certificate for 127.0.0.1 and localhost, valid a day, and its key. */
export function brokerCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meter-sim-broker-'));
  try {
    const { certPath, keyPath } = writeBrokerCertificate(dir);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
