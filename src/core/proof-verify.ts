/**
 * Verification of RFC 9162 inclusion proofs (§2.1.3.2) and consistency proofs (§2.1.4.2), step by
 * step as the RFC writes them. Sizes, indexes, hashes and proofs all come from storage or from a
 * client, so all are treated as hostile.
 *
 * Failure is signalled one way only: by throwing `IntegrityError` with code `PROOF_INVALID` (and a
 * message saying what was expected and what was got). There is no boolean result to forget to check;
 * a verifier that wants to carry on catches the error and records a finding.
 */
import { IntegrityError } from './errors.js';
import { bytesEqual } from './hash.js';
import { assertHash, countOnes, hashChildren } from './merkle.js';
import { consistencyProofRanges, inclusionProofRanges } from './proof.js';

const CODE = 'PROOF_INVALID';

function fail(detail: string): never {
  throw new IntegrityError(CODE, detail);
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) fail(`${what} ${value} is not a valid count`);
}

function checkHashes(proof: readonly Uint8Array[]): void {
  for (const [i, hash] of proof.entries()) assertHash(hash, CODE, `proof hash ${i}`);
}

/** Drops the lowest bit, like `>> 1`, but exact for all safe integers (not only 32-bit ones). */
function half(n: number): number {
  return Math.floor(n / 2);
}

/**
 * RFC 9162 §2.1.3.2: the root that `proof` gives for leaf `index` (hash `leafHash`) in a tree of
 * `size` leaves. The caller compares it with a trusted root, or uses {@link verifyInclusion}.
 * @throws IntegrityError `PROOF_INVALID` if index >= size, a hash is not 32 bytes, or the proof
 *   has the wrong number of hashes for (index, size).
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  assertHash(leafHash, CODE, 'leaf hash');
  checkHashes(proof);
  const wrongLength = () =>
    fail(
      `leaf ${index} of a tree of size ${size} needs ${inclusionProofRanges(index, size).length}` +
        ` proof hashes, got ${proof.length}`,
    );
  // Step 1.
  if (index >= size) fail(`leaf index ${index} is not below tree size ${size}`);
  // Steps 2 and 3: fn walks up from the leaf, sn from the last leaf; r is the running hash.
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash.slice();
  // Step 4.
  for (const p of proof) {
    if (sn === 0) wrongLength();
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      // fn is a right-edge node with no right sibling: climb while it is a left child.
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5 (the root comparison is the caller's).
  if (sn !== 0) wrongLength();
  return r;
}

/**
 * RFC 9162 §2.1.3.2: checks that `proof` proves leaf `index` (hash `leafHash`) is in the tree of
 * `size` leaves whose root is `root`. Returns normally if and only if it does.
 *
 * `size` and `root` MUST come from the same trusted checkpoint. The proof binds the size only
 * through the root: where two sizes give the leaf the same path shape (leaf 0 in trees of 3 and
 * 4 leaves), a proof for one also passes for the other against the same root.
 * @throws IntegrityError `PROOF_INVALID` if it does not, or if any argument is malformed.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!bytesEqual(computed, root)) {
    fail(`inclusion proof of leaf ${index} does not lead to the root of the tree of size ${size}`);
  }
}

/**
 * RFC 9162 §2.1.4.2: checks that the tree of `newSize` leaves with root `newRoot` extends the tree
 * of `oldSize` leaves with root `oldRoot`. Returns normally if and only if it does.
 *
 * Equal sizes are consistent exactly when the proof is empty and the roots are byte-equal. A proof
 * from size 0 is rejected: the RFC requires 0 < first, and such a proof would prove nothing.
 * @throws IntegrityError `PROOF_INVALID` if the proof fails or any argument is malformed.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  checkCount(oldSize, 'old tree size');
  checkCount(newSize, 'new tree size');
  if (oldSize === 0) fail('no consistency proof exists from the empty tree');
  if (oldSize > newSize) fail(`old tree size ${oldSize} is larger than new tree size ${newSize}`);
  if (oldSize === newSize) {
    if (proof.length !== 0)
      fail(`equal tree sizes need an empty proof, got ${proof.length} hashes`);
    if (!bytesEqual(oldRoot, newRoot)) fail(`two different roots for tree size ${oldSize}`);
    return;
  }
  assertHash(oldRoot, CODE, 'old root');
  assertHash(newRoot, CODE, 'new root');
  checkHashes(proof);
  const wrongLength = () =>
    fail(
      `consistency from size ${oldSize} to ${newSize} needs` +
        ` ${consistencyProofRanges(oldSize, newSize).length} proof hashes, got ${proof.length}`,
    );
  // Step 1.
  if (proof.length === 0) wrongLength();
  // Step 2: a perfect old tree is itself a node of the new tree, and the proof leaves it out.
  const path = countOnes(oldSize) === 1 ? [oldRoot, ...proof] : proof;
  // Step 3.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // Step 4: skip the levels where the old tree's last node is a right child inside path[0].
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5: fr rebuilds the old root, sr the new one.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0) wrongLength();
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) wrongLength();
  if (!bytesEqual(fr, oldRoot)) fail('consistency proof does not lead to the old root');
  if (!bytesEqual(sr, newRoot)) fail('consistency proof does not lead to the new root');
}
