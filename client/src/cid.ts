import { createHash } from 'node:crypto';

/**
 * The CID Kubo gives bytes under `add --cid-version=1 --raw-leaves --hash=sha2-256` with its default chunker
 * (262,144-byte chunks) and balanced layout, computed here without asking a node. A household checks the
 * report an IPFS node returned against the CID on the ledger with it: asking the same node "what is the CID of
 * these bytes" would ask the party that might be lying, and would need an API call households may not make.
 *
 * Up to one chunk, the CID is the raw leaf's. Above, it is a dag-pb node linking the leaves, with UnixFS file
 * metadata (the file size and each leaf's size). One level holds 174 links (Kubo's limit), so 45,613,056 bytes;
 * sealed bill reports are at most 16 MiB.
 */

const CHUNK_BYTES = 262_144;
const MAX_LINKS = 174;
export const MAX_LOCAL_CID_BYTES = CHUNK_BYTES * MAX_LINKS;

const RAW_CODEC = 0x55;
const DAG_PB_CODEC = 0x70;
const SHA2_256 = 0x12;
const UNIXFS_FILE = 2;

export class CidTooLargeError extends Error {
  constructor(bytes: number) {
    super(
      `${bytes} bytes need more than one level of links; at most ${MAX_LOCAL_CID_BYTES} are computed here`,
    );
    this.name = 'CidTooLargeError';
  }
}

/** CIDv1 (base32, "bafk…" or "bafy…") of the bytes, as Kubo would add them. */
export function cidOfBytes(bytes: Uint8Array): string {
  if (bytes.byteLength <= CHUNK_BYTES) return toBase32Cid(cidBytes(RAW_CODEC, bytes));
  const chunks = Math.ceil(bytes.byteLength / CHUNK_BYTES);
  if (chunks > MAX_LINKS) throw new CidTooLargeError(bytes.byteLength);
  const links: Buffer[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const leaf = bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.byteLength, (i + 1) * CHUNK_BYTES));
    sizes.push(leaf.byteLength);
    links.push(
      Buffer.concat([
        field(1, cidBytes(RAW_CODEC, leaf)), // Hash
        field(2, Buffer.alloc(0)), // Name: "" (Kubo writes it)
        varintField(3, leaf.byteLength), // Tsize
      ]),
    );
  }
  const unixfs = Buffer.concat([
    varintField(1, UNIXFS_FILE),
    varintField(3, bytes.byteLength),
    ...sizes.map((size) => varintField(4, size)),
  ]);
  // dag-pb's canonical form: the links first, then the data.
  const node = Buffer.concat([...links.map((link) => field(2, link)), field(1, unixfs)]);
  return toBase32Cid(cidBytes(DAG_PB_CODEC, node));
}

function cidBytes(codec: number, block: Uint8Array): Buffer {
  const digest = createHash('sha256').update(block).digest();
  return Buffer.concat([varint(1), varint(codec), varint(SHA2_256), varint(digest.length), digest]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A protobuf length-delimited field (wire type 2). */
function field(number: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.byteLength), bytes]);
}

/** A protobuf varint field (wire type 0). */
function varintField(number: number, value: number): Buffer {
  return Buffer.concat([varint(number << 3), varint(value)]);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Multibase "b": RFC 4648 base32, lower case, no padding. */
function toBase32Cid(bytes: Buffer): string {
  let text = 'b';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += BASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) text += BASE32[(buffer << (5 - bits)) & 31];
  return text;
}
