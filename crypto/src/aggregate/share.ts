import { sha256 } from '@noble/hashes/sha2';
import { KeyObject, sign, verify } from 'node:crypto';
import { CryptoInputError, decodeHex } from '../encoding';
import { SHARE_CONTEXT, SHARE_RANGE_MAX, SHARE_RANGE_MIN, SHARE_VALUE_LIMIT } from './constants';
import { randomSplitPart } from './masks';
import type { PeriodSecrets } from './periodSecrets';
import { ed25519PublicHex, pridPublicKey, type Pseudonym } from './pseudonym';
import { parseIsoSeconds, parsePeriodStart } from './time';

/** One of a reading's two masked shares: the MQTT message on grid/<region>/shares. */
export interface GridShare {
  v: 1;
  /** Lowercase path of up to six segments, like "north/d3". */
  region: string;
  /** ISO 8601 UTC, seconds precision, on a 300-second slot boundary. */
  periodStart: string;
  /** The period's pseudonym: an Ed25519 public key, 64 lowercase hex. */
  prid: string;
  /** rc' or rc'': a decimal integer, no leading zeros, |value| <= 2^33. */
  value: string;
  /** ISO 8601 UTC, seconds precision. */
  sentAt: string;
  /** Ed25519 under the PRID over shareDigest(share), 128 lowercase hex. */
  signature: string;
}

export type UnsignedGridShare = Omit<GridShare, 'signature'>;

const REGION = /^[a-z0-9-]{1,16}(\/[a-z0-9-]{1,16}){0,5}$/;
/** At most 11 digits: 2^33 has 10, so anything longer is out of range before BigInt ever sees it. */
const DECIMAL = /^(0|-?[1-9][0-9]{0,10})$/;
const SHARE_KEYS: readonly (keyof GridShare)[] = [
  'v',
  'region',
  'periodStart',
  'prid',
  'value',
  'sentAt',
  'signature',
];
/** Readings above 2^32 Wh in one period could push c'' + H3(z') past SHARE_VALUE_LIMIT. */
const MAX_PERIOD_WATT_HOURS = 2n ** 32n;
const PRID_BYTES = 32;
const SIGNATURE_BYTES = 64;

function requireRegion(value: unknown): string {
  if (typeof value !== 'string' || !REGION.test(value)) {
    throw new CryptoInputError(
      'region must be 1 to 6 segments of [a-z0-9-]{1,16} separated by "/", like north/d3',
    );
  }
  return value;
}

function requireShareValue(value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new CryptoInputError('value must be a decimal integer string without leading zeros or "+"');
  }
  const amount = BigInt(value);
  if (amount > SHARE_VALUE_LIMIT || amount < -SHARE_VALUE_LIMIT) {
    throw new CryptoInputError('value must be within +-2^33');
  }
  return value;
}

function requireHexField(value: unknown, bytes: number, what: string): string {
  if (typeof value !== 'string') {
    throw new CryptoInputError(`${what} must be ${bytes * 2} lowercase hex characters`);
  }
  decodeHex(value, bytes, what);
  return value;
}

/** Checks the six signed fields (ignoring any others) and returns them in wire order. */
function requireUnsignedFields(share: unknown): UnsignedGridShare {
  if (!isRecord(share)) {
    throw new CryptoInputError('a share must be a JSON object');
  }
  if (share.v !== 1) {
    throw new CryptoInputError('v must be the number 1');
  }
  const region = requireRegion(share.region);
  parsePeriodStart(share.periodStart);
  const prid = requireHexField(share.prid, PRID_BYTES, 'prid');
  const value = requireShareValue(share.value);
  parseIsoSeconds(share.sentAt, 'sentAt');
  // Both parsers accept only strings.
  return { v: 1, region, periodStart: String(share.periodStart), prid, value, sentAt: String(share.sentAt) };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates an untrusted value (a parsed MQTT payload or chaincode argument) as a GridShare: exactly the
 * seven keys, each well formed. Returns a fresh object in wire order. The signature is not checked here.
 */
export function parseGridShare(value: unknown): GridShare {
  if (!isRecord(value)) {
    throw new CryptoInputError('a share must be a JSON object');
  }
  const keys = Object.keys(value);
  const unexpected = keys.filter((key) => !(SHARE_KEYS as readonly string[]).includes(key));
  if (unexpected.length > 0) {
    throw new CryptoInputError(`a share has unexpected field(s): ${unexpected.join(', ')}`);
  }
  const missing = SHARE_KEYS.filter((key) => !keys.includes(key));
  if (missing.length > 0) {
    throw new CryptoInputError(`a share is missing field(s): ${missing.join(', ')}`);
  }
  const fields = requireUnsignedFields(value);
  return { ...fields, signature: requireHexField(value.signature, SIGNATURE_BYTES, 'signature') };
}

/** SHA-256("smartmeter/share/v1|region|periodStart|prid|value|sentAt"): what the PRID's key signs. */
export function shareDigest(share: UnsignedGridShare): Buffer {
  const { region, periodStart, prid, value, sentAt } = requireUnsignedFields(share);
  const message = `${SHARE_CONTEXT}|${region}|${periodStart}|${prid}|${value}|${sentAt}`;
  return Buffer.from(sha256(Buffer.from(message, 'utf8')));
}

/** Signs a share with its pseudonym's private key, which must be the key of share.prid. */
export function signShare(unsigned: UnsignedGridShare, privateKey: KeyObject): GridShare {
  const fields = requireUnsignedFields(unsigned);
  if (
    !(privateKey instanceof KeyObject) ||
    privateKey.type !== 'private' ||
    privateKey.asymmetricKeyType !== 'ed25519'
  ) {
    throw new CryptoInputError('a share is signed with an Ed25519 private KeyObject');
  }
  if (ed25519PublicHex(privateKey) !== fields.prid) {
    throw new CryptoInputError('the signing key is not the key of the share prid');
  }
  const signature = sign(null, shareDigest(fields), privateKey).toString('hex');
  return { ...fields, signature };
}

/**
 * True when the share's signature verifies under its PRID. Malformed fields throw CryptoInputError; a PRID
 * that is well-formed hex but no curve point cannot have signed anything, so it gives false like any other
 * bad signature.
 */
export function verifyShareSignature(share: GridShare): boolean {
  const parsed = parseGridShare(share);
  let publicKey: KeyObject;
  try {
    publicKey = pridPublicKey(parsed.prid);
  } catch (error) {
    if (error instanceof CryptoInputError) {
      return false;
    }
    throw error;
  }
  return verify(null, shareDigest(parsed), publicKey, Buffer.from(parsed.signature, 'hex'));
}

function requireWattHours(value: unknown): bigint {
  let amount: bigint;
  if (typeof value === 'bigint') {
    amount = value;
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
    amount = BigInt(value);
  } else {
    throw new CryptoInputError('wattHours must be an integer (number or bigint)');
  }
  if (amount < 0n || amount > MAX_PERIOD_WATT_HOURS) {
    throw new CryptoInputError('wattHours must be from 0 to 2^32');
  }
  return amount;
}

function requireInShareRange(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint' || value < SHARE_RANGE_MIN || value > SHARE_RANGE_MAX) {
    throw new CryptoInputError(`${what} must be a bigint in [-2^31, 2^31]`);
  }
  return value;
}

export interface SplitReadingOptions {
  /** c: the period's consumption, a non-negative integer of Wh. */
  wattHours: bigint | number;
  secrets: PeriodSecrets;
  region: string;
  /** sentAt of the first and of the second share. */
  sentAt: readonly [string, string];
  /** c': only for test vectors; by default drawn uniformly in [-2^31, 2^31]. */
  randomPart?: bigint;
}

/**
 * Splits a reading c into c' (random) and c'' = c - c', masks them as rc' = c' + H3(z_k) and
 * rc'' = c'' + H3(z'_k), and signs them under PRID_k and PRID'_k.
 */
export function splitReading(options: SplitReadingOptions): [GridShare, GridShare] {
  const { secrets, sentAt } = options;
  const wattHours = requireWattHours(options.wattHours);
  const region = requireRegion(options.region);
  const firstPart =
    options.randomPart === undefined
      ? randomSplitPart()
      : requireInShareRange(options.randomPart, 'randomPart');
  const secondPart = wattHours - firstPart;
  const share = (pseudonym: Pseudonym, value: bigint, sent: string): GridShare =>
    signShare(
      {
        v: 1,
        region,
        periodStart: secrets.periodStart,
        prid: pseudonym.prid,
        value: value.toString(),
        sentAt: sent,
      },
      pseudonym.privateKey,
    );
  return [
    share(secrets.first, firstPart + requireInShareRange(secrets.firstMask, 'firstMask'), sentAt[0]),
    share(secrets.second, secondPart + requireInShareRange(secrets.secondMask, 'secondMask'), sentAt[1]),
  ];
}
