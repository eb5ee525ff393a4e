import { createHmac } from 'node:crypto';
import { CryptoInputError } from '../encoding';
import { GGM_DEPTH } from './constants';

const NODE_BYTES = 32;
const LEFT = Uint8Array.of(0x00);
const RIGHT = Uint8Array.of(0x01);

function requireNode(seed: Uint8Array, what: string): void {
  if (!(seed instanceof Uint8Array) || seed.length !== NODE_BYTES) {
    throw new CryptoInputError(`${what} must be ${NODE_BYTES} bytes`);
  }
}

/** One half of G: HMAC-SHA-256 keyed with the node. Node's own HMAC: a meter derives 4 × 14 of these per period. */
function half(node: Uint8Array, side: Uint8Array): Buffer {
  return createHmac('sha256', node).update(side).digest();
}

/** The length-doubling PRG of the GGM tree: G(x) = HMAC-SHA-256(x, 0x00) || HMAC-SHA-256(x, 0x01), as [G0, G1]. */
export function prg(seed: Uint8Array): [Buffer, Buffer] {
  requireNode(seed, 'a GGM seed');
  return [half(seed, LEFT), half(seed, RIGHT)];
}

/**
 * The GGM PRF f_seed(index): from the root, take G0 for a 0 bit and G1 for a 1 bit of the index, most
 * significant of `depth` bits first.
 */
export function ggmLeaf(seed: Uint8Array, index: number, depth: number = GGM_DEPTH): Buffer {
  requireNode(seed, 'a GGM seed');
  if (!Number.isInteger(depth) || depth < 1 || depth > 30) {
    throw new CryptoInputError('GGM depth must be an integer from 1 to 30');
  }
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** depth) {
    throw new CryptoInputError(`GGM index must be an integer from 0 to 2^${depth} - 1`);
  }
  let node: Buffer = Buffer.from(seed);
  for (let bit = depth - 1; bit >= 0; bit--) {
    node = half(node, (index >>> bit) & 1 ? RIGHT : LEFT);
  }
  return node;
}
