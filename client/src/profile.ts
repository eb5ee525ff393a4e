import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { readJsonFile } from './jsonFile';

/**
 * A connection profile as written by `./test-network.sh up` to .network/profiles/<org>.json: everything a
 * client of one organization needs to reach its peer and CA. All paths are absolute.
 */
export interface ConnectionProfile {
  /** Short organization name, e.g. "distributor1" or "households1". */
  org: string;
  mspId: string;
  /** The public authority's MSP id (from network.conf): session keys are also wrapped for it. */
  authorityMspId: string;
  /** The name the smart-meter chaincode is deployed under on the channels (network.conf). */
  chaincodeName: string;
  /** In a households profile: the distributor its households subscribe to and whose peer they use. */
  distributorMspId?: string;
  /** In a distributor's profile: its households' MSP and CA, where it registers households and meters. */
  households?: { mspId: string; ca: CaEndpoint };
  channels: string[];
  peer: {
    /** host:port of the organization's gateway peer. */
    endpoint: string;
    /** Name the peer's TLS certificate is issued for; used as the TLS server name override. */
    hostAlias: string;
    tlsRootCertPath: string;
  };
  ca: CaEndpoint;
  /** Name of the identity used when none is chosen; empty in a households profile (each uses its own). */
  defaultIdentity: string;
  /** Identities by name (looked up with identityIn, so that a name such as "constructor" is just unknown). */
  identities: Record<string, IdentityFiles>;
  /** The reporting database (CouchDB API) the authority's `meterctl report` commands use, when there is one. */
  reportDbUrl?: string;
  /**
   * The RPC API (http://host:port) of the IPFS node (Kubo) that bill reports are stored on and fetched from;
   * in every application org's profile: IPFS_API_URL, or the network's own node (network.conf, kind ipfs).
   */
  ipfsApiUrl?: string;
}

export interface CaEndpoint {
  url: string;
  caName: string;
  tlsCertPath: string;
}

export interface IdentityFiles {
  certPath: string;
  keyPath: string;
}

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

export function loadProfile(path: string): ConnectionProfile {
  const missing = missingProfile(path);
  if (missing) throw new ProfileError(missing);
  const parsed = readJsonFile(path, 'connection profile', (message) => new ProfileError(message));
  return validateProfile(parsed, path);
}

/**
 * Why there is no profile file at path, naming the profiles that do exist where it was looked for (the folder
 * given, or the file's folder); undefined when the file is there.
 */
function missingProfile(path: string): string | undefined {
  const kind = fileKind(path);
  if (kind === 'file') return undefined;
  const folder = kind === 'folder' ? path : dirname(path);
  const head =
    kind === 'folder'
      ? `connection profile ${path} is a folder, not a profile file`
      : `no connection profile ${path}`;
  if (fileKind(folder) !== 'folder')
    return `${head}: the folder ${folder} does not exist either (./test-network.sh up writes the profiles to .network/profiles/)`;
  const profiles = readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort();
  return profiles.length > 0
    ? `${head}; the profiles in ${folder} are ${profiles.join(', ')}`
    : `${head}, and ${folder} holds no profile (*.json)`;
}

function fileKind(path: string): 'file' | 'folder' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return 'missing';
    throw new ProfileError(
      `cannot read connection profile ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

export function identityFiles(profile: ConnectionProfile, name = profile.defaultIdentity): IdentityFiles {
  if (name === '') throw new ProfileError(noDefaultIdentity(profile));
  const files = identityIn(profile, name);
  if (!files) {
    const known = Object.keys(profile.identities).join(', ');
    throw new ProfileError(`profile ${profile.org} has no identity "${name}" (known: ${known})`);
  }
  return files;
}

/** The profile's identity of this name, if it lists one. */
export function identityIn(profile: ConnectionProfile, name: string): IdentityFiles | undefined {
  return Object.hasOwn(profile.identities, name) ? profile.identities[name] : undefined;
}

/** What a households profile says when no -i is given: each household and meter acts as itself. */
export function noDefaultIdentity(profile: ConnectionProfile): string {
  return `the ${profile.org} profile has no default identity: pass -i <name> of the identity you enrolled (meterctl identity enroll <name>)`;
}

type Fields = Record<string, unknown> | null;

/** Collects the dotted names of missing or invalid fields, so one error lists them all. */
class ProfileProblems {
  readonly names: string[] = [];

  strings(record: Fields, fields: string[], where = ''): void {
    for (const field of fields) {
      if (typeof record?.[field] !== 'string' || record[field] === '') this.names.push(`${where}${field}`);
    }
  }

  add(name: string): void {
    this.names.push(name);
  }
}

function validateProfile(value: unknown, path: string): ConnectionProfile {
  const problems = new ProfileProblems();
  const obj = asRecord(value);
  problems.strings(obj, ['org', 'mspId', 'authorityMspId', 'chaincodeName']);
  if (typeof obj?.defaultIdentity !== 'string') problems.add('defaultIdentity');
  if (obj?.distributorMspId !== undefined) problems.strings(obj, ['distributorMspId']);
  if (obj?.households !== undefined) validateHouseholds(asRecord(obj.households), problems);
  problems.strings(asRecord(obj?.peer), ['endpoint', 'hostAlias', 'tlsRootCertPath'], 'peer.');
  problems.strings(asRecord(obj?.ca), ['url', 'caName', 'tlsCertPath'], 'ca.');
  if (!Array.isArray(obj?.channels) || !obj.channels.every((c) => typeof c === 'string')) {
    problems.add('channels');
  }
  validateIdentities(asRecord(obj?.identities), problems);
  validateServiceUrls(obj, problems);
  if (problems.names.length > 0) {
    throw new ProfileError(
      `connection profile ${path} is missing or has invalid: ${problems.names.join(', ')}`,
    );
  }
  return value as ConnectionProfile;
}

function validateHouseholds(households: Fields, problems: ProfileProblems): void {
  problems.strings(households, ['mspId'], 'households.');
  problems.strings(asRecord(households?.ca), ['url', 'caName', 'tlsCertPath'], 'households.ca.');
}

function validateIdentities(identities: Fields, problems: ProfileProblems): void {
  if (!identities) {
    problems.add('identities');
    return;
  }
  for (const [name, files] of Object.entries(identities)) {
    problems.strings(asRecord(files), ['certPath', 'keyPath'], `identities.${name}.`);
  }
}

/** The addresses of services beside the peer, when the profile has them. */
function validateServiceUrls(obj: Fields, problems: ProfileProblems): void {
  if (obj?.ipfsApiUrl !== undefined && !isHttpUrl(obj.ipfsApiUrl)) problems.add('ipfsApiUrl');
}

/** An http:// or https:// URL (the form of a service's address in a profile). */
function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
