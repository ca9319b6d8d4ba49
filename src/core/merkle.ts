/**
 * The Merkle Tree Hash of RFC 9162 §2.1.1 (unchanged from RFC 6962 §2.1): how leaves and interior
 * nodes are hashed, the empty root, and a plain reference `merkleRoot` over an array of leaf hashes.
 *
 * Hashes are 32-byte `Uint8Array`s. Functions here return fresh arrays; callers treat hashes they
 * are given (including `EMPTY_ROOT`) as read-only.
 *
 * Sizes and indexes are JavaScript numbers: every function is exact up to `Number.MAX_SAFE_INTEGER`
 * (2^53 - 1) leaves, so none of them uses the 32-bit bitwise operators on sizes.
 */
import { InputError, IntegrityError } from './errors.js';
import { HASH_SIZE, sha256 } from './hash.js';

// RFC 9162 §2.1.1: domain separation between leaves (0x00) and interior nodes (0x01), so that no
// leaf can be passed off as an interior node (second-preimage protection).
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** Leaves `[start, end)`: the node whose hash is MTH(D[start:end]) (RFC 9162 §2.1.1). */
export type NodeRange = { readonly start: number; readonly end: number };

/** RFC 9162 §2.1.1: the hash of an empty tree, MTH({}) = SHA-256() (`e3b0c442…b855`). */
export const EMPTY_ROOT: Uint8Array = sha256();

/** RFC 9162 §2.1.1: leaf hash MTH({d}) = SHA-256(0x00 || d). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

/** 0x01 || left || right, filled for each interior node (hashing is synchronous). */
const node = new Uint8Array(1 + 2 * HASH_SIZE);
node[0] = 0x01;

/** RFC 9162 §2.1.1: interior node hash = SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE)
    return sha256(NODE_PREFIX, left, right);
  // One 65-byte buffer filled in place instead of three parts joined in hash.ts's scratch.
  node.set(left, 1);
  node.set(right, 1 + HASH_SIZE);
  return sha256(node);
}

/**
 * RFC 9162 §2.1.1: for a tree of `n >= 2` leaves, the size `k` of the left subtree, the largest
 * power of two smaller than `n` (so `k < n <= 2k`).
 * @throws InputError `RANGE_INVALID` if `n` is not an integer in [2, 2^53).
 */
export function largestPowerOfTwoBelow(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) {
    throw new InputError('RANGE_INVALID', `expected an integer >= 2, got ${n}`);
  }
  const m = n - 1;
  // Math.clz32 sees 32 bits; split larger numbers into a high and a low word by arithmetic.
  if (m < 2 ** 32) return 2 ** (31 - Math.clz32(m));
  return 2 ** (63 - Math.clz32(Math.floor(m / 2 ** 32)));
}

/** Number of set bits of a non-negative safe integer: the number of frontier hashes of that size. */
export function countOnes(n: number): number {
  return countOnes32(n >>> 0) + countOnes32(Math.floor(n / 2 ** 32));
}

function countOnes32(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Checks that `bytes` is a 32-byte hash.
 * @throws IntegrityError with `code` if it is not.
 */
export function assertHash<C extends string>(bytes: Uint8Array, code: C, what: string): void {
  if (bytes.length !== HASH_SIZE) {
    throw new IntegrityError(code, `${what}: expected ${HASH_SIZE} bytes, got ${bytes.length}`);
  }
}

/**
 * Reference MTH (RFC 9162 §2.1.1) of the leaves `[start, end)`, given all leaf hashes. Recursive and
 * O(end - start) hashes: meant for tests, small trees and as the oracle that `CompactRange` and the
 * proof generators are checked against.
 * @throws InputError `RANGE_INVALID` if `[start, end)` is not within `leafHashes`.
 * @throws IntegrityError `HASH_INVALID` if a leaf hash in the range is not 32 bytes.
 */
export function merkleRoot(
  leafHashes: readonly Uint8Array[],
  start = 0,
  end: number = leafHashes.length,
): Uint8Array {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new InputError('RANGE_INVALID', `range [${start}, ${end}) is not made of integers`);
  }
  if (start < 0 || start > end || end > leafHashes.length) {
    throw new InputError(
      'RANGE_INVALID',
      `range [${start}, ${end}) is not within the ${leafHashes.length} leaves`,
    );
  }
  return rootOfRange(leafHashes, start, end);
}

function rootOfRange(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT.slice();
  if (n === 1) {
    const leaf = leafHashes[start] as Uint8Array;
    assertHash(leaf, 'HASH_INVALID', `leaf hash ${start}`);
    return leaf.slice();
  }
  // RFC 9162 §2.1.1: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(
    rootOfRange(leafHashes, start, start + k),
    rootOfRange(leafHashes, start + k, end),
  );
}
