/**
 * The compact range [0, size) of a log: its right-edge frontier. A tree of `size` leaves is covered
 * by one maximal perfect subtree per set bit of `size`, largest (leftmost) first; e.g. size 6 =
 * 0b110 is covered by [0, 4) and [4, 6). Their hashes are all that is needed to append further
 * leaves and to compute the root (RFC 9162 §2.1.1), so a segment stores them as `frontierBefore`.
 */
import { InputError, IntegrityError } from './errors.js';
import { assertHash, countOnes, EMPTY_ROOT, hashChildren, type NodeRange } from './merkle.js';

/**
 * The ranges of the frontier nodes of a tree of `size` leaves, largest (leftmost) first.
 * @throws InputError `RANGE_INVALID` if `size` is not a non-negative safe integer.
 */
export function frontierRanges(size: number): NodeRange[] {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new InputError('RANGE_INVALID', `size ${size} is not a non-negative integer`);
  }
  // The set bits of `size`, lowest first, are the widths of the frontier nodes, rightmost first.
  const widths: number[] = [];
  for (let rest = size, width = 1; rest > 0; rest = Math.floor(rest / 2), width *= 2) {
    if (rest % 2 === 1) widths.push(width);
  }
  const ranges: NodeRange[] = [];
  let start = 0;
  for (const width of widths.reverse()) {
    ranges.push({ start, end: start + width });
    start += width;
  }
  return ranges;
}

/**
 * An appendable Merkle tree that keeps only its frontier: O(log n) memory, amortised one interior
 * hash per appended leaf, O(log n) hashes for `root()`.
 *
 * Hashes passed to `append` are kept by reference (do not modify them afterwards); hashes returned
 * are copies. `root()` is cached until the next append, so calling it repeatedly is cheap.
 */
export class CompactRange {
  #size: number;
  readonly #hashes: Uint8Array[];
  /** `root()` of the current size, kept until the next append. */
  #root: Uint8Array | undefined;
  /** Per tree level, the last merge: its two children (by reference) and their parent. */
  readonly #memo: ({ left: Uint8Array; right: Uint8Array; parent: Uint8Array } | undefined)[] = [];

  /**
   * The compact range of `size` leaves whose frontier is `hashes` (largest subtree first), as
   * produced by {@link CompactRange.hashes}. With no arguments, an empty tree.
   * @throws IntegrityError `FRONTIER_INVALID` if `size` is not a non-negative safe integer, if
   *   there is not exactly one hash per set bit of `size`, or if a hash is not 32 bytes.
   */
  constructor(size = 0, hashes: readonly Uint8Array[] = []) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new IntegrityError('FRONTIER_INVALID', `size ${size} is not a non-negative integer`);
    }
    const expected = countOnes(size);
    if (hashes.length !== expected) {
      throw new IntegrityError(
        'FRONTIER_INVALID',
        `a tree of size ${size} has ${expected} frontier hashes, got ${hashes.length}`,
      );
    }
    for (const [i, h] of hashes.entries()) assertHash(h, 'FRONTIER_INVALID', `frontier hash ${i}`);
    this.#size = size;
    this.#hashes = hashes.map((h) => h.slice());
  }

  /** Number of leaves appended so far (including those summarised by the initial frontier). */
  get size(): number {
    return this.#size;
  }

  /** The frontier hashes, largest subtree first: one per set bit of `size`. Fresh copies. */
  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }

  /**
   * Appends the leaf hash (`hashLeaf(data)`) of leaf number `size`.
   * @throws IntegrityError `HASH_INVALID` if `leafHash` is not 32 bytes.
   */
  append(leafHash: Uint8Array): void {
    assertHash(leafHash, 'HASH_INVALID', `leaf hash ${this.#size}`);
    let node = leafHash;
    // Each trailing 1 bit of the size is a perfect subtree as tall as `node`, just left of it:
    // merge the two into their parent (RFC 9162 §2.1.1), like a carry in binary addition.
    for (let s = this.#size, level = 0; s % 2 === 1; s = (s - 1) / 2, level++) {
      const left = this.#hashes.pop() as Uint8Array;
      // The same two hash objects (kept by reference, never modified) have the same parent: a
      // caller that passes one leaf-hash object for equal consecutive entries (the verifier does)
      // gets a run of equal leaves merged without hashing, which bounds what a highly
      // compressible hostile body can cost.
      const memo = this.#memo[level];
      if (memo && memo.left === left && memo.right === node) node = memo.parent;
      else {
        const parent = hashChildren(left, node);
        this.#memo[level] = { left, right: node, parent };
        node = parent;
      }
    }
    this.#hashes.push(node);
    this.#size += 1;
    this.#root = undefined;
  }

  /**
   * Appends several leaf hashes in order; the same as calling `append` on each.
   * @throws IntegrityError `HASH_INVALID` if a leaf hash is not 32 bytes (earlier ones stay appended).
   */
  appendAll(leafHashes: Iterable<Uint8Array>): void {
    for (const leafHash of leafHashes) this.append(leafHash);
  }

  /**
   * The RFC 9162 §2.1.1 Merkle Tree Hash of the `size` leaves; `EMPTY_ROOT` for size 0. To get the
   * root at an intermediate size N, call this right after the append that brings `size` to N.
   */
  root(): Uint8Array {
    this.#root ??= this.#computeRoot();
    return this.#root.slice();
  }

  #computeRoot(): Uint8Array {
    const hashes = this.#hashes;
    let i = hashes.length - 1;
    const last = hashes[i];
    if (last === undefined) return EMPTY_ROOT.slice();
    // MTH splits off the largest perfect subtree on the left, so fold the frontier from the right.
    let root = last;
    while (--i >= 0) root = hashChildren(hashes[i] as Uint8Array, root);
    return root;
  }

  /** An independent copy, e.g. to keep the frontier before a segment while appending its leaves. */
  clone(): CompactRange {
    return new CompactRange(this.#size, this.#hashes);
  }
}
