import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBrokerCertificate } from '../../../test/support/brokerCertificate';
import { randomBytes } from 'node:crypto';

/** A throwaway folder outside the repository, with a self-signed TLS certificate and an aggregator password. */
export interface TestFiles {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  passwordPath: string;
  password: string;
  remove(): void;
}

export function makeTestFiles(): TestFiles {
  const dir = mkdtempSync(join(tmpdir(), 'aggregator-test-'));
  const { certPath, keyPath } = writeBrokerCertificate(dir);
  const password = randomBytes(24).toString('base64url');
  const passwordPath = join(dir, 'mqtt-password');
  writeFileSync(passwordPath, `${password}\n`, { mode: 0o600 });
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    passwordPath,
    password,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
