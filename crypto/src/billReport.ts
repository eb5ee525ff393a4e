import { createHash } from 'node:crypto';
import { CryptoInputError, DecryptionError } from './encoding';
import type { WrapRandomness } from './keyWrap';
import { openSealed, sealedSize, sealForRecipient, SEALED_VERSION } from './sealed';

/**
 * The bill report of an `aggregate` subscription, sealed for the household's own encryption key (the P-256 key
 * pair in its keystore whose public key went into the subscription request), so that it can be stored on IPFS:
 * only the household opens it. The bill record on the ledger holds the sealed report's CID and SHA-256.
 *
 * - Plaintext: `packBillReport` — canonical JSON (sorted keys, no whitespace, UTF-8) of
 *   `{ "document": <the report's JSON document>, "html": <the page>, "v": 1 }`. Not compressed: a compressed
 *   size would depend on the readings.
 * - Sealing: `sealForRecipient` (sealed.ts: ECIES P-256, HKDF-SHA-256, AES-256-GCM, a fresh ephemeral key per
 *   report) with the AAD `billReportAad(context)` =
 *   `smartmeter/bill-report/v1|<channel>|<subscriptionId>|<periodFrom>|<periodTo>`, so a report sealed for one
 *   bill never opens as another's (another subscription, period or channel).
 * - Padding: the sealed report is exactly one of the sizes 256 KiB × 2^n (n = 0 … 6: 256 KiB, 512 KiB, … 16 MiB),
 *   the smallest that holds the plaintext: the plaintext is padded (4-byte length, data, zeros) to that size
 *   less the 94 bytes sealing adds (version 1, ephemeral point 65, nonce 12, tag 16). A plaintext above
 *   16 MiB − 98 bytes is refused. The size of a sealed report therefore tells only its bucket, which follows from
 *   the number of periods (the bill's length and the subscription's interval, both public on the ledger), not
 *   from the household's consumption: the readings change the plaintext by a few bytes per period (more or fewer
 *   digits), which moves a report to the next bucket only when it already lies within those bytes of a
 *   bucket's end.
 */
export const BILL_REPORT_AAD_PREFIX = 'smartmeter/bill-report/v1';
/** The smallest and the largest size of a sealed report. */
export const BILL_REPORT_MIN_SEALED_BYTES = 256 * 1024;
export const BILL_REPORT_MAX_SEALED_BYTES = 16 * 1024 * 1024;
/** The version of the packed plaintext. */
export const BILL_REPORT_PACK_VERSION = 1;
/** What sealing adds to the padded plaintext (version, ephemeral point, nonce, tag). */
const SEALING_BYTES = sealedSize(0);
const LENGTH_BYTES = 4;

/** Which bill a sealed report belongs to: it is bound to these as its AAD. */
export interface BillReportContext {
  channel: string;
  subscriptionId: string;
  /** ISO 8601 UTC, as on the bill. */
  periodFrom: string;
  periodTo: string;
}

/** What a bill report holds: its JSON document (a BillReportDocument of @smartmeter/domain) and its HTML page. */
export interface BillReportContents<D = unknown> {
  document: D;
  html: string;
}

/** The sizes a sealed report may have, smallest first: 256 KiB, 512 KiB, … 16 MiB. */
export const BILL_REPORT_SEALED_SIZES: readonly number[] = Array.from(
  { length: Math.log2(BILL_REPORT_MAX_SEALED_BYTES / BILL_REPORT_MIN_SEALED_BYTES) + 1 },
  (_, n) => BILL_REPORT_MIN_SEALED_BYTES * 2 ** n,
);

/** The most plaintext a sealed report can hold. */
export const BILL_REPORT_MAX_PLAINTEXT_BYTES = BILL_REPORT_MAX_SEALED_BYTES - SEALING_BYTES - LENGTH_BYTES;

/** `smartmeter/bill-report/v1|channel|subscriptionId|periodFrom|periodTo`; no field may be empty or hold "|". */
export function billReportAad(context: BillReportContext): string {
  const fields = [context.channel, context.subscriptionId, context.periodFrom, context.periodTo];
  const names = ['channel', 'subscriptionId', 'periodFrom', 'periodTo'];
  fields.forEach((field, i) => {
    // eslint-disable-next-line no-control-regex
    if (typeof field !== 'string' || field.length === 0 || /[|\u0000-\u001f]/.test(field)) {
      throw new CryptoInputError(
        `the bill report's ${names[i]} must be a non-empty string without "|" or control characters`,
      );
    }
  });
  return [BILL_REPORT_AAD_PREFIX, ...fields].join('|');
}

/** The size of the sealed report of a plaintext of `dataBytes`: its bucket. A CryptoInputError above the largest. */
export function sealedBillReportBytes(dataBytes: number): number {
  const bucket = BILL_REPORT_SEALED_SIZES.find((size) => dataBytes + LENGTH_BYTES + SEALING_BYTES <= size);
  if (bucket === undefined) {
    throw new CryptoInputError(
      `a bill report holds at most ${BILL_REPORT_MAX_PLAINTEXT_BYTES} bytes (got ${dataBytes})`,
    );
  }
  return bucket;
}

/** Whether a number of bytes is the size of a sealed report (one of the buckets). */
export function isSealedBillReportSize(bytes: number): boolean {
  return BILL_REPORT_SEALED_SIZES.includes(bytes);
}

/** Seals a packed report for the household's P-256 public key (SPKI PEM), bound to its bill. */
export function sealBillReport(
  plaintext: Uint8Array,
  householdPublicKeyPem: string,
  context: BillReportContext,
  randomness?: WrapRandomness,
): Buffer {
  const aad = billReportAad(context);
  return sealForRecipient(
    plaintext,
    householdPublicKeyPem,
    aad,
    sealedBillReportBytes(plaintext.length) - SEALING_BYTES,
    randomness,
  );
}

/**
 * Opens a sealed report with the household's private key (PKCS#8 PEM). A DecryptionError when it was sealed for
 * another key or another bill, or any byte was changed; a CryptoInputError when its size is no sealed report's.
 */
export function openBillReport(
  sealed: Uint8Array,
  householdPrivateKeyPem: string,
  context: BillReportContext,
): Buffer {
  const aad = billReportAad(context);
  if (!isSealedBillReportSize(sealed.length)) {
    throw new CryptoInputError(
      `not a sealed bill report: ${sealed.length} bytes is none of the sizes ${BILL_REPORT_SEALED_SIZES.join(', ')}`,
    );
  }
  // openSealed refuses an unknown version as malformed input; here it can only be a changed byte.
  if (sealed[0] !== SEALED_VERSION) {
    throw new DecryptionError('the sealed bill report does not open: its version byte was changed');
  }
  return openSealed(sealed, householdPrivateKeyPem, aad);
}

/** SHA-256 of the sealed report's bytes, lowercase hex (as the bill record holds it). */
export function billReportSha256(sealed: Uint8Array): string {
  return createHash('sha256').update(sealed).digest('hex');
}

/** The plaintext of a report: canonical JSON `{"document":…,"html":…,"v":1}` in UTF-8. */
export function packBillReport(contents: BillReportContents): Uint8Array {
  if (typeof contents.html !== 'string') throw new CryptoInputError("a bill report's html must be a string");
  if (!isPlainObject(contents.document)) {
    throw new CryptoInputError("a bill report's document must be a JSON object");
  }
  const packed = { document: contents.document, html: contents.html, v: BILL_REPORT_PACK_VERSION };
  return Buffer.from(JSON.stringify(canonical(packed, 'the bill report')), 'utf8');
}

/** The document and page of a packed report; a CryptoInputError when the bytes are no packed report. */
export function unpackBillReport(bytes: Uint8Array): BillReportContents {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new CryptoInputError('not a bill report: not UTF-8 JSON');
  }
  if (!isPlainObject(value)) throw new CryptoInputError('not a bill report: not a JSON object');
  if (value.v !== BILL_REPORT_PACK_VERSION) {
    throw new CryptoInputError(`not a bill report of version ${BILL_REPORT_PACK_VERSION}`);
  }
  const unknownFields = Object.keys(value).filter((key) => !['document', 'html', 'v'].includes(key));
  if (unknownFields.length > 0) {
    throw new CryptoInputError(`not a bill report: unknown fields ${unknownFields.join(', ')}`);
  }
  if (!isPlainObject(value.document)) throw new CryptoInputError('not a bill report: no document object');
  if (typeof value.html !== 'string') throw new CryptoInputError('not a bill report: no html string');
  return { document: value.document, html: value.html };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** JSON with object keys sorted at every depth (undefined fields dropped); no number that JSON cannot hold. */
function canonical(value: unknown, where: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => canonical(item, `${where}[${i}]`));
  if (isPlainObject(value)) {
    // fromEntries defines own properties, so even a "__proto__" key stays data.
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => value[key] !== undefined)
        .map((key) => [key, canonical(value[key], `${where}.${key}`)]),
    );
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new CryptoInputError(`${where} is not a finite number`);
  }
  if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
    throw new CryptoInputError(`${where} is not JSON (${typeof value})`);
  }
  return value;
}
