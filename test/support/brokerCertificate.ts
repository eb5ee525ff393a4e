import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A throwaway self-signed TLS certificate for an MQTT broker on 127.0.0.1 / localhost, valid one day, written
 * into dir (a temporary folder outside the repository) with its key (0600). For the aggregator's and meter-sim's
 * broker tests; the network's broker has a certificate from the distributor's CA instead.
 */
export function writeBrokerCertificate(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, 'broker.pem');
  const keyPath = join(dir, 'broker-key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'pipe' },
  );
  chmodSync(keyPath, 0o600);
  return { certPath, keyPath };
}
