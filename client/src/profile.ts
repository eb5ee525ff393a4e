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
  identities: Record<string, IdentityFiles>;
  /** The reporting database (CouchDB API) the authority's `meterctl report` commands use, when there is one. */
  reportDbUrl?: string;
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
  const parsed = readJsonFile(path, 'connection profile', (message) => new ProfileError(message));
  return validateProfile(parsed, path);
}

export function identityFiles(profile: ConnectionProfile, name = profile.defaultIdentity): IdentityFiles {
  if (name === '') throw new ProfileError(noDefaultIdentity(profile));
  const files = profile.identities[name];
  if (!files) {
    const known = Object.keys(profile.identities).join(', ');
    throw new ProfileError(`profile ${profile.org} has no identity "${name}" (known: ${known})`);
  }
  return files;
}

/** What a households profile says when no -i is given: each household and meter acts as itself. */
export function noDefaultIdentity(profile: ConnectionProfile): string {
  return `the ${profile.org} profile has no default identity: pass -i <name> of the identity you enrolled (meterctl identity enroll <name>)`;
}

function validateProfile(value: unknown, path: string): ConnectionProfile {
  const problems: string[] = [];
  const obj = asRecord(value);
  const requireString = (record: Record<string, unknown> | null, field: string, where: string): void => {
    if (typeof record?.[field] !== 'string' || record[field] === '') problems.push(`${where}${field}`);
  };
  requireString(obj, 'org', '');
  requireString(obj, 'mspId', '');
  requireString(obj, 'authorityMspId', '');
  if (typeof obj?.defaultIdentity !== 'string') problems.push('defaultIdentity');
  if (obj?.distributorMspId !== undefined) requireString(obj, 'distributorMspId', '');
  if (obj?.households !== undefined) {
    const households = asRecord(obj.households);
    requireString(households, 'mspId', 'households.');
    const householdsCa = asRecord(households?.ca);
    for (const field of ['url', 'caName', 'tlsCertPath'])
      requireString(householdsCa, field, 'households.ca.');
  }
  const peer = asRecord(obj?.peer);
  for (const field of ['endpoint', 'hostAlias', 'tlsRootCertPath']) requireString(peer, field, 'peer.');
  const ca = asRecord(obj?.ca);
  for (const field of ['url', 'caName', 'tlsCertPath']) requireString(ca, field, 'ca.');
  if (!Array.isArray(obj?.channels) || !obj.channels.every((c) => typeof c === 'string')) {
    problems.push('channels');
  }
  const identities = asRecord(obj?.identities);
  if (!identities) problems.push('identities');
  for (const [name, files] of Object.entries(identities ?? {})) {
    const record = asRecord(files);
    requireString(record, 'certPath', `identities.${name}.`);
    requireString(record, 'keyPath', `identities.${name}.`);
  }
  if (problems.length > 0) {
    throw new ProfileError(`connection profile ${path} is missing or has invalid: ${problems.join(', ')}`);
  }
  return value as ConnectionProfile;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
