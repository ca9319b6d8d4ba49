/**
 * Generation of RFC 9162 inclusion proofs (§2.1.3.1) and consistency proofs (§2.1.4.1).
 *
 * Every proof hash is the MTH of some leaf range, so generation is split in two: which ranges
 * (`inclusionProofRanges`, `consistencyProofRanges`, pure arithmetic on sizes), then their hashes,
 * from whatever the caller holds: all leaf hashes (`inclusionProof`, `consistencyProof`), or one
 * stored segment (`inclusionProofInSegment`). Proofs are ordered as in the RFC: deepest node first.
 * Verification is in `proof-verify.ts`.
 */
import { CompactRange, frontierRanges } from './compact-range.js';
import { InputError } from './errors.js';
import { largestPowerOfTwoBelow, merkleRoot, type NodeRange } from './merkle.js';

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]) as leaf ranges: the nodes whose hashes form the inclusion proof
 * of leaf `index` in a tree of `size` leaves, deepest first. O(log size), no hashing.
 * @throws InputError `RANGE_INVALID` unless 0 <= index < size (safe integers).
 */
export function inclusionProofRanges(index: number, size: number): NodeRange[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new InputError('RANGE_INVALID', `leaf ${index} is not in a tree of size ${size}`);
  }
  const siblings: NodeRange[] = [];
  let start = 0;
  let end = size;
  // Walk down from the root; at each split the proof needs the subtree the leaf is not in.
  while (end - start > 1) {
    const mid = start + largestPowerOfTwoBelow(end - start);
    if (index < mid) {
      siblings.push({ start: mid, end });
      end = mid;
    } else {
      siblings.push({ start, end: mid });
      start = mid;
    }
  }
  // PATH lists the sibling nearest the leaf first.
  return siblings.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) as leaf ranges: the nodes whose hashes form the consistency
 * proof from `oldSize` to `newSize`, in proof order. Empty when the sizes are equal.
 * @throws InputError `RANGE_INVALID` unless 0 < oldSize <= newSize (safe integers); the RFC
 *   defines no proof from the empty tree, which every tree trivially extends.
 */
export function consistencyProofRanges(oldSize: number, newSize: number): NodeRange[] {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize)) {
    throw new InputError('RANGE_INVALID', `sizes ${oldSize} and ${newSize} must be integers`);
  }
  if (oldSize < 1 || oldSize > newSize) {
    throw new InputError(
      'RANGE_INVALID',
      `no consistency proof from size ${oldSize} to ${newSize}`,
    );
  }
  const siblings: NodeRange[] = [];
  let start = 0;
  let end = newSize;
  // SUBPROOF(m, D[n], b) on [start, end), with m = oldSize - start: the old tree's last leaf is
  // always inside [start, end). `isWholeOldTree` is b, true while `start` is still leaf 0.
  let isWholeOldTree = true;
  while (oldSize < end) {
    const mid = start + largestPowerOfTwoBelow(end - start);
    if (oldSize <= mid) {
      siblings.push({ start: mid, end });
      end = mid;
    } else {
      siblings.push({ start, end: mid });
      start = mid;
      isWholeOldTree = false;
    }
  }
  // SUBPROOF(m, D[m], true) = {}: the verifier holds the old root. With b false, MTH(D[m]) is the
  // old tree's node at this point, which the verifier needs explicitly.
  if (!isWholeOldTree) siblings.push({ start, end });
  return siblings.reverse();
}

/**
 * Reference inclusion proof of leaf `index` in the tree of all of `leafHashes`. O(n) hashes.
 * @throws InputError `RANGE_INVALID` unless 0 <= index < leafHashes.length.
 * @throws IntegrityError `HASH_INVALID` if a leaf hash is not 32 bytes.
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  return inclusionProofRanges(index, leafHashes.length).map((r) =>
    merkleRoot(leafHashes, r.start, r.end),
  );
}

/**
 * Reference consistency proof from the first `oldSize` leaves to the tree of all of `leafHashes`.
 * O(n) hashes.
 * @throws InputError `RANGE_INVALID` unless 0 < oldSize <= leafHashes.length.
 * @throws IntegrityError `HASH_INVALID` if a leaf hash is not 32 bytes.
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  return consistencyProofRanges(oldSize, leafHashes.length).map((r) =>
    merkleRoot(leafHashes, r.start, r.end),
  );
}

/** What one stored segment knows about the tree: the frontier before it and its own leaves. */
export type SegmentLeaves = {
  /** Frontier hashes of the leaves [0, firstIndex), largest subtree first (`CompactRange.hashes`). */
  readonly frontierBefore: readonly Uint8Array[];
  /** Index of the segment's first leaf: the tree size before the segment. */
  readonly firstIndex: number;
  /** Leaf hashes of the segment's leaves [firstIndex, firstIndex + leafHashes.length). */
  readonly leafHashes: readonly Uint8Array[];
};

/**
 * Inclusion proof of leaf `index` in the tree of size `firstIndex + leafHashes.length`, from one
 * segment alone. Costs O(leafHashes.length) hashes.
 *
 * Why this suffices: a proof node either lies wholly within the segment (hashed from its leaves),
 * or it is a left sibling on the leaf's path. A left sibling wholly before `firstIndex` is a
 * maximal perfect subtree of [0, firstIndex), i.e. exactly one frontier node; one that straddles
 * `firstIndex` is a perfect subtree whose part before `firstIndex` is covered by frontier nodes,
 * so a `CompactRange` seeded with those and fed the segment's leaves yields its hash.
 *
 * @throws InputError `RANGE_INVALID` unless firstIndex <= index < firstIndex + leafHashes.length.
 * @throws IntegrityError `FRONTIER_INVALID` if `frontierBefore` does not fit `firstIndex`.
 * @throws IntegrityError `HASH_INVALID` if a leaf hash used is not 32 bytes.
 */
export function inclusionProofInSegment(segment: SegmentLeaves & { index: number }): Uint8Array[] {
  const { frontierBefore, firstIndex, leafHashes, index } = segment;
  // Checks the frontier against its size (FRONTIER_INVALID) before anything is indexed by it.
  const frontierHashes = new CompactRange(firstIndex, frontierBefore).hashes();
  const size = firstIndex + leafHashes.length;
  if (!Number.isSafeInteger(index) || index < firstIndex || index >= size) {
    throw new InputError(
      'RANGE_INVALID',
      `leaf ${index} is not in the segment [${firstIndex}, ${size})`,
    );
  }
  const frontier = frontierRanges(firstIndex).map((range, i) => ({
    ...range,
    hash: frontierHashes[i] as Uint8Array,
  }));
  return inclusionProofRanges(index, size).map(({ start, end }) => {
    // The frontier nodes inside [start, end) cover its part before `firstIndex` (there are none if
    // it starts at or after `firstIndex`); the segment's own leaves cover the rest.
    const before = frontier.filter((node) => node.start >= start && node.end <= end);
    const range = new CompactRange(
      Math.max(0, Math.min(end, firstIndex) - start),
      before.map((node) => node.hash),
    );
    for (let i = Math.max(start, firstIndex); i < end; i++) {
      range.append(leafHashes[i - firstIndex] as Uint8Array);
    }
    return range.root();
  });
}
