import { certificateAttributes } from '@smartmeter/crypto';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname } from 'node:path';
import type { PairBundle } from '@smartmeter/client/dist/pairBundle';
import { identityFiles } from './bundle';
import { ConfigError } from './config';

export interface EnrollOptions {
  bundlePath: string;
  identityDir: string;
  /** The enrollment id the household or distributor registered for this meter (default: the meter id). */
  enrollmentId?: string;
  /** The one-time enrollment secret (maxEnrollments 1). */
  secret: string;
}

export interface EnrollResult {
  meterId: string;
  certPath: string;
  keyPath: string;
  caName: string;
}

/** The CA refused, or could not be reached. */
export class EnrollError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnrollError';
  }
}

/**
 * The meter makes its own P-256 key, sends a certificate request to its households CA with its one-time
 * secret, checks that the certificate it gets is a meter certificate for its meter id, and keeps both (0600):
 * the private key never leaves the device, and the pair bundle needs none.
 */
export async function enrollMeter(options: EnrollOptions): Promise<EnrollResult> {
  const bundle = readBundle(options.bundlePath);
  if (!bundle.ca) {
    throw new ConfigError([
      `${options.bundlePath} names no CA to enroll at: export it again with meterctl meter pair-bundle (without --meter-identity)`,
    ]);
  }
  const files = identityFiles(options.identityDir, bundle.meterId);
  if (existsSync(files.certPath)) {
    throw new ConfigError([
      `meter ${bundle.meterId} is enrolled already (${files.certPath}); it keeps that identity`,
    ]);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const csr = certificateRequest(
    options.enrollmentId ?? bundle.meterId,
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem,
  );
  const certificatePem = await callEnroll(
    bundle.ca,
    options.enrollmentId ?? bundle.meterId,
    options.secret,
    csr,
  );
  const attributes = certificateAttributes(certificatePem);
  if (attributes.role !== 'meter' || attributes.meterId !== bundle.meterId) {
    throw new EnrollError(
      `the CA issued a certificate with role ${attributes.role ?? '(none)'} and meterId ${attributes.meterId ?? '(none)'}; this meter is ${bundle.meterId}: register it with --role meter --meter-id ${bundle.meterId}`,
    );
  }
  if (!new X509Certificate(certificatePem).checkPrivateKey(privateKey)) {
    throw new EnrollError('the CA returned a certificate for another key');
  }
  mkdirSync(dirname(files.keyPath), { recursive: true, mode: 0o700 });
  chmodSync(dirname(files.keyPath), 0o700);
  writeFileSync(files.keyPath, privateKeyPem, { mode: 0o600 });
  writeFileSync(files.certPath, certificatePem, { mode: 0o600 });
  return { meterId: bundle.meterId, ...files, caName: bundle.ca.caName };
}

function readBundle(path: string): PairBundle {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PairBundle;
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the pair bundle (${(err as Error).message})`]);
  }
}

/** Loaded only at enrollment: a running meter does not need it (the Pi build keeps it in jsrsasign.js). */
function loadJsrsasign(): typeof import('jsrsasign') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('jsrsasign') as typeof import('jsrsasign');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new EnrollError(
      'cannot load jsrsasign, which builds the certificate request: install jsrsasign.js next to meter-sim.js (npm run build:pi writes both)',
    );
  }
}

/** A PKCS#10 request for CN=<enrollment id>, signed with the new key (jsrsasign, as Fabric's own SDK does). */
function certificateRequest(commonName: string, publicKeyPem: string, privateKeyPem: string): string {
  const { KJUR } = loadJsrsasign();
  return KJUR.asn1.csr.CSRUtil.newCSRPEM({
    subject: { str: `/CN=${commonName}` },
    sbjpubkey: publicKeyPem,
    sigalg: 'SHA256withECDSA',
    sbjprvkey: privateKeyPem,
  });
}

interface EnrollResponse {
  success?: boolean;
  result?: { Cert?: string };
  errors?: { code?: number; message?: string }[];
}

/** Fabric CA's REST enroll: POST /api/v1/enroll with Basic auth and the certificate request. */
function callEnroll(
  ca: NonNullable<PairBundle['ca']>,
  enrollmentId: string,
  secret: string,
  csr: string,
): Promise<string> {
  const url = new URL('/api/v1/enroll', ca.url);
  const body = JSON.stringify({ certificate_request: csr, caname: ca.caName });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: ca.tlsRootCertPem,
        timeout: 15_000,
        headers: {
          authorization: `Basic ${Buffer.from(`${enrollmentId}:${secret}`).toString('base64')}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          let parsed: EnrollResponse;
          try {
            parsed = JSON.parse(text) as EnrollResponse;
          } catch {
            reject(new EnrollError(`the CA at ${ca.url} answered HTTP ${res.statusCode} without JSON`));
            return;
          }
          const cert = parsed.result?.Cert;
          if (!parsed.success || !cert) {
            const reason =
              parsed.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') ?? `HTTP ${res.statusCode}`;
            reject(
              new EnrollError(`the CA ${ca.caName} refused the enrollment of ${enrollmentId}: ${reason}`),
            );
            return;
          }
          resolve(Buffer.from(cert, 'base64').toString('utf8'));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => {
      reject(new EnrollError(`cannot reach the CA at ${ca.url}: ${err.message}`));
    });
    req.end(body);
  });
}
