import {
  certificateAttribute,
  PAIR_BUNDLE_FORMAT,
  type PairBundle,
} from '@smartmeter/client/dist/pairBundle';
import { keyIdOf } from '@smartmeter/crypto';
import { PRIVACY_MODES, type PrivacyMode } from '@smartmeter/domain';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The meter's Fabric identity: from the bundle (tests) or from its own enrollment (meter-sim enroll). */
export interface MeterIdentity {
  certificatePem: string;
  privateKeyPem: string;
}

/** A pair bundle that passed every check, with its session key decoded and the meter's identity found. */
export interface MeterBundle {
  path: string;
  bundle: PairBundle;
  sessionKey: Buffer;
  identity: MeterIdentity;
  /**
   * The subscription's privacy mode, when the bundle says (for `check`); the meter goes by the ledger's
   * subscription record at start in any case.
   */
  privacyMode?: PrivacyMode;
}

/** Where `meter-sim enroll` keeps a meter's own certificate and private key (folder 0700, files 0600). */
export function identityFiles(identityDir: string, meterId: string): { certPath: string; keyPath: string } {
  const dir = join(identityDir, meterId);
  return { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
}

/** A bundle as read from disk, before it is checked: any field may be missing or of another type. */
type UncheckedBundle = {
  [K in keyof PairBundle]?: PairBundle[K] extends object | undefined
    ? { [F in keyof NonNullable<PairBundle[K]>]?: unknown }
    : unknown;
};

const REQUIRED_TEXT: ReadonlyArray<[string, (b: UncheckedBundle) => unknown]> = [
  ['channel', (b) => b.channel],
  ['chaincodeName', (b) => b.chaincodeName],
  ['mspId', (b) => b.mspId],
  ['subscriptionId', (b) => b.subscriptionId],
  ['meterId', (b) => b.meterId],
  ['peer.endpoint', (b) => b.peer?.endpoint],
  ['peer.hostAlias', (b) => b.peer?.hostAlias],
  ['peer.tlsRootCertPem', (b) => b.peer?.tlsRootCertPem],
  ['sessionKey.keyId', (b) => b.sessionKey?.keyId],
  ['sessionKey.keyHex', (b) => b.sessionKey?.keyHex],
];

/**
 * Reads and checks a pair bundle written by `meterctl meter pair-bundle`, and the meter's identity: the one in
 * the bundle, or else the one `meter-sim enroll` made in `identityDir`. Every problem found is added to
 * `problems` (prefixed with the file name); the bundle is returned only when there were none.
 */
export function loadBundle(path: string, problems: string[], identityDir: string): MeterBundle | undefined {
  const found: string[] = [];
  const say = (problem: string) => found.push(`${path}: ${problem}`);
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      say(
        `holds the meter's private key but is readable by others (mode ${mode.toString(8)}); chmod 600 ${path}`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(
      `${path}: cannot read the pair bundle (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
    return undefined;
  }
  const unchecked = parseBundleJson(text);
  if (!unchecked) {
    problems.push(`${path}: is not a JSON object; expected a pair bundle from "meterctl meter pair-bundle"`);
    return undefined;
  }
  if (unchecked.format !== PAIR_BUNDLE_FORMAT)
    say(`format must be "${PAIR_BUNDLE_FORMAT}" (got ${JSON.stringify(unchecked.format)})`);
  const missing = REQUIRED_TEXT.filter(
    ([, get]) => typeof get(unchecked) !== 'string' || get(unchecked) === '',
  );
  for (const [name] of missing) say(`${name} is missing`);
  if (missing.length > 0) {
    problems.push(...found);
    return undefined;
  }
  // Format and every required text field checked; identity and sealed data are checked below.
  const bundle = unchecked as PairBundle;
  const sessionKey = checkSessionKey(bundle, say);
  const identity = bundle.identity ?? enrolledIdentity(bundle, identityDir, say);
  if (identity) checkIdentity(bundle, identity, say);
  checkPem(bundle.peer.tlsRootCertPem, "the peer's TLS root certificate (peer.tlsRootCertPem)", say);
  checkSealedData(bundle, say);
  const privacyMode = checkPrivacyMode((unchecked as { privacyMode?: unknown }).privacyMode, say);
  problems.push(...found);
  return found.length === 0 && sessionKey && identity
    ? { path, bundle, sessionKey, identity, ...(privacyMode ? { privacyMode } : {}) }
    : undefined;
}

function checkSealedData(bundle: PairBundle, say: (problem: string) => void): void {
  if (bundle.sealedPersonalData !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(bundle.sealedPersonalData)) {
    say('sealedPersonalData must be base64');
  }
}

function checkPrivacyMode(value: unknown, say: (problem: string) => void): PrivacyMode | undefined {
  if (value === undefined) return undefined;
  const mode = PRIVACY_MODES.find((known) => known === value);
  if (!mode) say(`privacyMode must be one of ${PRIVACY_MODES.join(', ')} (got ${JSON.stringify(value)})`);
  return mode;
}

function parseBundleJson(text: string): UncheckedBundle | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function enrolledIdentity(
  bundle: PairBundle,
  identityDir: string,
  say: (problem: string) => void,
): MeterIdentity | undefined {
  const files = identityFiles(identityDir, bundle.meterId);
  if (!existsSync(files.certPath) || !existsSync(files.keyPath)) {
    say(
      `the bundle holds no meter identity and meter ${bundle.meterId} has not enrolled yet (no ${files.certPath}): run meter-sim enroll first`,
    );
    return undefined;
  }
  const mode = statSync(files.keyPath).mode & 0o777;
  if ((mode & 0o077) !== 0)
    say(`${files.keyPath} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return {
    certificatePem: readFileSync(files.certPath, 'utf8'),
    privateKeyPem: readFileSync(files.keyPath, 'utf8'),
  };
}

function checkSessionKey(bundle: PairBundle, say: (problem: string) => void): Buffer | undefined {
  if (!/^[0-9a-f]{64}$/.test(bundle.sessionKey.keyHex)) {
    say('sessionKey.keyHex must be 64 lowercase hex characters (a 256-bit key)');
    return undefined;
  }
  const key = Buffer.from(bundle.sessionKey.keyHex, 'hex');
  if (keyIdOf(key) !== bundle.sessionKey.keyId) {
    say(
      `sessionKey.keyId ${bundle.sessionKey.keyId} is not the id of the key in the bundle (${keyIdOf(key)})`,
    );
    return undefined;
  }
  return key;
}

function checkIdentity(bundle: PairBundle, identity: MeterIdentity, say: (problem: string) => void): void {
  const certificate = checkPem(identity.certificatePem, 'identity.certificatePem', say);
  let privateKey;
  try {
    privateKey = createPrivateKey(identity.privateKeyPem);
  } catch {
    say('identity.privateKeyPem is not a PEM private key');
  }
  if (!certificate) return;
  if (privateKey && !certificate.checkPrivateKey(privateKey)) {
    say('identity.privateKeyPem does not belong to the certificate');
  }
  const role = certificateAttribute(identity.certificatePem, 'role');
  if (role !== 'meter') say(`the certificate's role attribute is ${role ?? '(none)'}, not meter`);
  const meterId = certificateAttribute(identity.certificatePem, 'meterId');
  if (meterId !== bundle.meterId) {
    say(`the certificate is for meter ${meterId ?? '(none)'}, the bundle for meter ${bundle.meterId}`);
  }
}

function checkPem(pem: string, what: string, say: (problem: string) => void): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    say(`${what} is not a PEM certificate`);
    return undefined;
  }
}
