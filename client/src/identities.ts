import type FabricCAServices from 'fabric-ca-client';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, type Role } from '@smartmeter/domain';
import type { Keystore, IdentityFilePair } from './keystore';
import type { CaEndpoint, ConnectionProfile, IdentityFiles } from './profile';
import { CaError, UsageError } from './errors';

/** What the chaincode decides access from: the role and the pseudonymous ids in the certificate. */
export interface IdentityAttributes {
  role: Role;
  meterId?: string;
  subscriberId?: string;
}

export interface RegistrationRequest extends IdentityAttributes {
  name: string;
  /** Generated when absent. */
  secret?: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks the attributes every role needs before anything is sent to the CA; all problems at once. */
export function validateAttributes(attributes: Partial<IdentityAttributes>): IdentityAttributes {
  const problems: string[] = [];
  const role = attributes.role;
  if (!role || !ROLES.includes(role)) problems.push(`--role must be one of ${ROLES.join(', ')}`);
  if (role === 'meter' && !attributes.meterId) problems.push('a meter needs --meter-id');
  if (role === 'subscriber' && !attributes.subscriberId) problems.push('a subscriber needs --subscriber-id');
  if (role !== 'meter' && attributes.meterId) problems.push('--meter-id is only for meters');
  if (role !== 'subscriber' && attributes.subscriberId)
    problems.push('--subscriber-id is only for subscribers');
  for (const [flag, value] of [
    ['--meter-id', attributes.meterId],
    ['--subscriber-id', attributes.subscriberId],
  ] as const) {
    if (value !== undefined && !ID_PATTERN.test(value))
      problems.push(`${flag} must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return attributes as IdentityAttributes;
}

/** Attributes in the form Fabric CA puts into enrollment certificates (ecert: true). */
export function certificateAttributes(attributes: IdentityAttributes): FabricCAServices.IKeyValueAttribute[] {
  const list: FabricCAServices.IKeyValueAttribute[] = [{ name: 'role', value: attributes.role, ecert: true }];
  if (attributes.meterId) list.push({ name: 'meterId', value: attributes.meterId, ecert: true });
  if (attributes.subscriberId)
    list.push({ name: 'subscriberId', value: attributes.subscriberId, ecert: true });
  return list;
}

/**
 * fabric-ca-client and fabric-common, loaded only by the functions that talk to the CA. Loading fabric-common
 * reads its configuration through nconf, whose copy of yargs parses process.argv there and then: loaded at
 * start, it would answer --help and --version itself ("Options: --help --version") before commander saw them.
 */
async function caLibrary(): Promise<{
  FabricCAServices: typeof FabricCAServices;
  User: typeof import('fabric-common').User;
}> {
  const [ca, common] = await Promise.all([import('fabric-ca-client'), import('fabric-common')]);
  return { FabricCAServices: ca.default, User: common.User };
}

async function caClient(ca: CaEndpoint): Promise<FabricCAServices> {
  const tlsRoot = readFileSync(ca.tlsCertPath, 'utf8');
  const { FabricCAServices: Client } = await caLibrary();
  return new Client(ca.url, { trustedRoots: [tlsRoot], verify: true }, ca.caName);
}

/**
 * Where an identity of a role is registered, from a distributor's or the authority's profile: households and
 * meters at the distributor's households CA (their own MSP, which is not a channel reader), operators and
 * auditors at the organization's own CA.
 */
export interface RegistrationTarget {
  mspId: string;
  ca: CaEndpoint;
  /** The profile identity with registrar rights at that CA. */
  registrar: string;
}

export function registrationTarget(profile: ConnectionProfile, role: Role): RegistrationTarget {
  if (role === 'subscriber' || role === 'meter') {
    if (!profile.households) {
      throw new UsageError(
        `${profile.org} registers no households or meters: use the profile of the distributor they belong to`,
      );
    }
    return { mspId: profile.households.mspId, ca: profile.households.ca, registrar: 'households-registrar' };
  }
  if (profile.distributorMspId) {
    throw new UsageError(
      `${profile.org} is a households profile: operators and auditors are registered by their organization`,
    );
  }
  return { mspId: profile.mspId, ca: profile.ca, registrar: 'registrar' };
}

/** Registers an identity at the CA for its role with the registrar's credentials; returns the secret. */
export async function registerIdentity(
  target: RegistrationTarget,
  registrar: IdentityFiles,
  request: RegistrationRequest,
): Promise<string> {
  if (!ID_PATTERN.test(request.name))
    throw new UsageError(`identity name must be 1-64 letters, digits, '.', '_' or '-'`);
  const attributes = validateAttributes(request);
  const { User } = await caLibrary();
  const registrarUser = User.createUser(
    'registrar',
    '',
    target.mspId,
    readFileSync(registrar.certPath, 'utf8'),
    readFileSync(registrar.keyPath, 'utf8'),
  );
  const secret = request.secret ?? randomBytes(12).toString('hex');
  await caCall(target.ca, async () =>
    (await caClient(target.ca)).register(
      {
        enrollmentID: request.name,
        enrollmentSecret: secret,
        role: 'client',
        affiliation: '',
        maxEnrollments: 1,
        attrs: certificateAttributes(attributes),
      },
      registrarUser,
    ),
  );
  return secret;
}

/** Enrolls a registered identity and keeps its certificate and private key (0600) in the keystore. */
export async function enrollIdentity(
  profile: ConnectionProfile,
  keystore: Keystore,
  name: string,
  secret: string,
): Promise<IdentityFilePair> {
  if (keystore.identity(profile.mspId, name))
    throw new UsageError(
      `the keystore ${keystore.dir} already holds an identity ${name} of ${profile.mspId}`,
    );
  const enrollment = await caCall(profile.ca, async () =>
    (await caClient(profile.ca)).enroll({ enrollmentID: name, enrollmentSecret: secret }),
  );
  return keystore.saveIdentity(profile.mspId, name, enrollment.certificate, enrollment.key.toBytes());
}

async function caCall<T>(ca: CaEndpoint, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
    if (/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/.test(message)) {
      throw new CaError(
        `cannot reach the CA at ${ca.url}; is the network up? ./test-network.sh status`,
        true,
      );
    }
    const caMessage = /message:\s*'([^']*(?:'[^']*')*?[^']*)'/.exec(message)?.[1];
    throw new CaError(`the CA ${ca.caName} refused: ${caMessage ?? message}`, false);
  }
}
