import {
  keyIdOf,
  newOrgKeyPair,
  newSessionKey,
  orgKeyPairFromPrivateScalar,
  privateScalarOf,
  publicKeyFingerprint,
  type OrgKeyPair,
} from '@smartmeter/crypto';
import { isoSecondsOf } from '@smartmeter/domain';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors';

/** Files holding secrets are readable by their owner only; folders holding them likewise. */
export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

/** A session key as kept on the household's machine, under a name the household chooses. */
export interface StoredSessionKey {
  name: string;
  keyId: string;
  /** 32 bytes, hex. */
  key: string;
  createdAt: string;
  /** Key ids this name held before rotations, oldest first (their files stay in retired/). */
  previousKeyIds: string[];
}

export interface IdentityFilePair {
  certPath: string;
  keyPath: string;
}

/** Writes a file only its owner can read, creating its folder (0700) when needed. */
export function writeSecretFile(path: string, content: string | Uint8Array): void {
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (dir) ensureSecretDir(dir);
  writeFileSync(path, content, { mode: SECRET_FILE_MODE });
  // writeFileSync keeps the mode of an existing file; make sure it is 0600 in every case.
  chmodSync(path, SECRET_FILE_MODE);
}

function ensureSecretDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: SECRET_DIR_MODE });
}

/**
 * The local keystore of one party (METERCTL_HOME, default ~/.meterctl): its organization's private encryption
 * keys by version, a household's session keys by name, and identities enrolled with `meterctl identity`.
 * Nothing in it ever goes to the ledger unwrapped.
 */
export class Keystore {
  constructor(readonly dir: string) {}

  static resolve(explicit?: string): Keystore {
    return new Keystore(explicit ?? process.env.METERCTL_HOME ?? join(homedir(), '.meterctl'));
  }

  // --- organization encryption keys -----------------------------------------------------------------------
  /** Keys are per channel: each channel's ledger numbers an organization's key versions on its own. */
  orgKeyPath(channel: string, mspId: string, version: number): string {
    return join(this.dir, 'org-keys', channel, mspId, `v${version}.pem`);
  }

  /** A new key pair kept as "pending" until the ledger has given it a version. */
  newPendingOrgKey(channel: string, mspId: string): { pair: OrgKeyPair; pendingPath: string } {
    const pair = newOrgKeyPair();
    const pendingPath = join(this.dir, 'org-keys', channel, mspId, `pending-${Date.now()}.pem`);
    writeSecretFile(pendingPath, pair.privateKeyPem);
    return { pair, pendingPath };
  }

  commitOrgKey(pendingPath: string, channel: string, mspId: string, version: number): string {
    const path = this.orgKeyPath(channel, mspId, version);
    renameSync(pendingPath, path);
    return path;
  }

  /** The versions of the organization's key this keystore holds a private key for, on that channel, ascending. */
  orgKeyVersions(channel: string, mspId: string): number[] {
    const dir = join(this.dir, 'org-keys', channel, mspId);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((file) => /^v([1-9][0-9]*)\.pem$/.exec(file)?.[1])
      .filter((version): version is string => version !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * Whether this keystore holds the private key of that published version: a file under that version whose public
   * key has the ledger's fingerprint (a file left from an earlier network of the same name does not count).
   */
  holdsOrgKey(channel: string, mspId: string, version: number, fingerprint: string): boolean {
    const path = this.orgKeyPath(channel, mspId, version);
    if (!existsSync(path)) return false;
    const { publicKeyPem } = orgKeyPairFromPrivateScalar(privateScalarOf(readFileSync(path, 'utf8')));
    return publicKeyFingerprint(publicKeyPem) === fingerprint;
  }

  /**
   * The private key of that version, which the session keys granted to the organization are wrapped for. Missing
   * when another keystore published that version: the message says which file is needed and how to get on.
   */
  orgPrivateKey(channel: string, mspId: string, version: number): string {
    const path = this.orgKeyPath(channel, mspId, version);
    if (!existsSync(path)) {
      const held = this.orgKeyVersions(channel, mspId);
      throw new UsageError(
        [
          `no private key for version ${version} of ${mspId}'s encryption key on ${channel} in the keystore ${this.dir}`,
          `(it needs ${path}; this keystore holds ${held.length > 0 ? held.map((v) => `v${v}`).join(', ') : 'no version'}).`,
          `v${version} was published from another keystore: run with that one (-k <folder> or METERCTL_HOME),`,
          `or copy its org-keys/${channel}/${mspId}/v${version}.pem here; if that key is lost, publish a new one from`,
          `this keystore (meterctl keys publish --rotate) and have the household request the subscription again`,
        ].join(' '),
      );
    }
    return readFileSync(path, 'utf8');
  }

  // --- the household's own encryption key -----------------------------------------------------------------
  /** The household's P-256 key pair for its sealed bill reports; its public key goes into subscription requests. */
  householdKeyPath(): string {
    return join(this.dir, 'household', 'report-key.pem');
  }

  hasHouseholdKey(): boolean {
    return existsSync(this.householdKeyPath());
  }

  /** The household's report key pair, made (0600) on first use. */
  householdKeyPair(): OrgKeyPair {
    const path = this.householdKeyPath();
    if (!existsSync(path)) {
      const pair = newOrgKeyPair();
      writeSecretFile(path, pair.privateKeyPem);
      return pair;
    }
    return orgKeyPairFromPrivateScalar(privateScalarOf(readFileSync(path, 'utf8')));
  }

  // --- personal-data request keys -------------------------------------------------------------------------
  /**
   * The private key of one personal-data request: the household seals its data for the public half, so this
   * file is the only way to open any copy of it. It is destroyed when the data is purged (crypto-shredding).
   */
  requestKeyPath(channel: string, requestId: string): string {
    return join(this.dir, 'request-keys', channel, `${requireKeyName(requestId)}.pem`);
  }

  newPendingRequestKey(channel: string): { pair: OrgKeyPair; pendingPath: string } {
    const pair = newOrgKeyPair();
    const pendingPath = join(this.dir, 'request-keys', channel, `pending-${Date.now()}-${process.pid}.pem`);
    writeSecretFile(pendingPath, pair.privateKeyPem);
    return { pair, pendingPath };
  }

  commitRequestKey(pendingPath: string, channel: string, requestId: string): string {
    const path = this.requestKeyPath(channel, requestId);
    renameSync(pendingPath, path);
    return path;
  }

  /** Forgets a pending key whose request never reached the ledger. */
  discardPendingKey(pendingPath: string): void {
    shredFile(pendingPath);
  }

  requestPrivateKey(channel: string, requestId: string): string {
    const path = this.requestKeyPath(channel, requestId);
    if (!existsSync(path)) {
      throw new UsageError(
        `no key for request ${requestId} in ${this.dir}: it was filed from another keystore, or its data was purged and the key destroyed`,
      );
    }
    return readFileSync(path, 'utf8');
  }

  /** Destroys a request's private key; true when there was one. */
  shredRequestKey(channel: string, requestId: string): boolean {
    const path = this.requestKeyPath(channel, requestId);
    if (!existsSync(path)) return false;
    shredFile(path);
    return true;
  }

  // --- session keys --------------------------------------------------------------------------------------
  private sessionKeyPath(name: string): string {
    return join(this.dir, 'session-keys', `${requireKeyName(name)}.json`);
  }

  newSessionKey(name: string, now = new Date()): StoredSessionKey {
    if (existsSync(this.sessionKeyPath(name))) {
      throw new UsageError(`a session key named ${name} exists already; use meterctl keys rotate ${name}`);
    }
    return this.storeSessionKey(name, newSessionKey(), now, []);
  }

  /** Replaces the named key with a fresh one; the old one is kept (read-only use) under retired/. */
  rotateSessionKey(name: string, now = new Date()): StoredSessionKey {
    const current = this.sessionKey(name);
    writeSecretFile(
      join(this.dir, 'session-keys', 'retired', `${current.keyId}.json`),
      JSON.stringify(current),
    );
    return this.storeSessionKey(name, newSessionKey(), now, [...current.previousKeyIds, current.keyId]);
  }

  sessionKey(name: string): StoredSessionKey {
    const path = this.sessionKeyPath(name);
    if (!existsSync(path))
      throw new UsageError(
        `no session key named ${name} in ${this.dir} (create one with meterctl keys new ${name})`,
      );
    return JSON.parse(readFileSync(path, 'utf8')) as StoredSessionKey;
  }

  /** The named session key's 32 bytes. */
  sessionKeyBytes(name: string): Buffer {
    return keyBytes(this.sessionKey(name));
  }

  /** The key with this id, current or retired, if this keystore has it. */
  sessionKeyById(keyId: string): Buffer | undefined {
    for (const stored of this.sessionKeys()) if (stored.keyId === keyId) return keyBytes(stored);
    const retired = join(this.dir, 'session-keys', 'retired', `${keyId}.json`);
    if (existsSync(retired)) return keyBytes(JSON.parse(readFileSync(retired, 'utf8')) as StoredSessionKey);
    return undefined;
  }

  sessionKeys(): StoredSessionKey[] {
    const dir = join(this.dir, 'session-keys');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as StoredSessionKey);
  }

  private storeSessionKey(name: string, key: Buffer, now: Date, previousKeyIds: string[]): StoredSessionKey {
    const stored: StoredSessionKey = {
      name,
      keyId: keyIdOf(key),
      key: key.toString('hex'),
      createdAt: isoSecondsOf(now),
      previousKeyIds,
    };
    writeSecretFile(this.sessionKeyPath(name), `${JSON.stringify(stored, null, 2)}\n`);
    return stored;
  }

  // --- identities ----------------------------------------------------------------------------------------
  identityDir(mspId: string, name: string): string {
    return join(this.dir, 'identities', mspId, requireKeyName(name));
  }

  saveIdentity(mspId: string, name: string, certificatePem: string, privateKeyPem: string): IdentityFilePair {
    const dir = this.identityDir(mspId, name);
    const files = { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
    writeSecretFile(files.keyPath, privateKeyPem);
    writeSecretFile(files.certPath, certificatePem);
    return files;
  }

  identity(mspId: string, name: string): IdentityFilePair | undefined {
    const dir = this.identityDir(mspId, name);
    const files = { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
    return existsSync(files.certPath) && existsSync(files.keyPath) ? files : undefined;
  }
}

/**
 * Overwrites a secret file with zeros, flushes, and removes it. On copy-on-write or flash storage the old blocks
 * may survive the overwrite; the removal of the only copy of the key is what counts.
 */
function shredFile(path: string): void {
  const size = statSync(path).size;
  writeFileSync(path, Buffer.alloc(size), { flush: true });
  unlinkSync(path);
}

function keyBytes(stored: StoredSessionKey): Buffer {
  return Buffer.from(stored.key, 'hex');
}

/** Permission bits of a file, for checks and tests. */
export function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

function requireKeyName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
    throw new UsageError(`name "${name}" must be 1-64 letters, digits, '.', '_' or '-'`);
  return name;
}
