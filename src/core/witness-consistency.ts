/**
 * An RFC 9162 §2.1.4.1 consistency proof from what a log keeps: the frontier of the old tree and
 * the leaf hashes appended since, instead of every leaf hash (`consistencyProof` in proof.ts).
 *
 * Why this suffices: walking PROOF(m, D[n]) down from the root, a node is pushed either to the
 * left of the old size m (`[start, mid)` with mid < m, and the final `[start, m)`), which are
 * aligned perfect subtrees that tile [0, m) — exactly the frontier nodes of size m — or to its
 * right (`[mid, end)` with mid >= m), wholly inside [m, n) and hashed from the new leaves. No
 * node straddles m. Cost: O(n - m) hashes and 32 bytes per new leaf.
 */
import { type CompactRange, frontierRanges } from './compact-range.js';
import { InputError } from './errors.js';
import { merkleRoot } from './merkle.js';
import { consistencyProofRanges } from './proof.js';

/**
 * The consistency proof from the tree `old` (its frontier) to that tree extended by `newLeaves`.
 * Empty when there are no new leaves.
 * @throws InputError `RANGE_INVALID` if `old` is the empty tree and there are new leaves (RFC
 *   9162 defines no proof from size 0: every tree extends the empty one).
 * @throws IntegrityError `HASH_INVALID` if a leaf hash is not 32 bytes.
 */
export function consistencyProofFromFrontier(
  old: CompactRange,
  newLeaves: readonly Uint8Array[],
): Uint8Array[] {
  const m = old.size;
  const n = m + newLeaves.length;
  if (n === m) return [];
  if (m === 0) throw new InputError('RANGE_INVALID', 'no consistency proof from the empty tree');
  const frontier = old.hashes();
  const frontierStart = frontierRanges(m).map((r) => r.start);
  return consistencyProofRanges(m, n).map(({ start, end }) => {
    if (end <= m) {
      const i = frontierStart.indexOf(start);
      // The module comment's argument says this cannot happen; fail loudly if it ever did.
      if (i < 0 || frontierRanges(m)[i]?.end !== end)
        throw new InputError('RANGE_INVALID', `[${start}, ${end}) is not a frontier node of ${m}`);
      return frontier[i] as Uint8Array;
    }
    return merkleRoot(newLeaves, start - m, end - m);
  });
}

/** The frontier of `base` extended by `leaves` (a copy; `base` is unchanged). */
export function extendFrontier(base: CompactRange, leaves: Iterable<Uint8Array>): CompactRange {
  const range = base.clone();
  range.appendAll(leaves);
  return range;
}
