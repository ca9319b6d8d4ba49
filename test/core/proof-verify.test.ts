import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashLeaf, merkleRoot } from '../../src/core/merkle.js';
import { consistencyProof, inclusionProof } from '../../src/core/proof.js';
import {
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../src/core/proof-verify.js';

// The transparency-dev known-answer vectors for these verifiers are run in proof.test.ts.

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const PROOF_INVALID = expect.objectContaining({ name: 'IntegrityError', code: 'PROOF_INVALID' });

const MAX_SIZE = 130;
/** Distinct leaves, so that no two subtrees of a tree share a hash. */
const LEAVES = Array.from({ length: MAX_SIZE }, (_, i) =>
  hashLeaf(new TextEncoder().encode(`event ${i}`)),
);
const ROOTS = Array.from({ length: MAX_SIZE + 1 }, (_, size) => merkleRoot(LEAVES, 0, size));
const rootOf = (size: number) => ROOTS[size] as Uint8Array;
const leafAt = (index: number) => LEAVES[index] as Uint8Array;

/** A copy of `proof` with one bit flipped; `pick` chooses the hash, `bit` the bit. */
function flipBit(proof: readonly Uint8Array[], pick: number, bit: number): Uint8Array[] {
  const copy = proof.map((h) => h.slice());
  const target = copy[pick % copy.length] as Uint8Array;
  const byte = Math.floor(bit / 8) % target.length;
  target[byte] = (target[byte] ?? 0) ^ (1 << (bit % 8));
  return copy;
}

const leafInTree = fc
  .integer({ min: 1, max: MAX_SIZE })
  .chain((size) => fc.record({ size: fc.constant(size), index: fc.nat({ max: size - 1 }) }));

const twoSizes = fc
  .integer({ min: 1, max: MAX_SIZE })
  .chain((newSize) =>
    fc.record({ newSize: fc.constant(newSize), oldSize: fc.integer({ min: 1, max: newSize }) }),
  );

describe('verifyInclusion', () => {
  it('accepts every generated proof, and rootFromInclusionProof gives the root', () => {
    fc.assert(
      fc.property(leafInTree, ({ size, index }) => {
        // Prepare
        const proof = inclusionProof(LEAVES.slice(0, size), index);

        // Act / Assess
        expect(() =>
          verifyInclusion(leafAt(index), index, size, proof, rootOf(size)),
        ).not.toThrow();
        expect(hex(rootFromInclusionProof(leafAt(index), index, size, proof))).toBe(
          hex(rootOf(size)),
        );
      }),
    );
  });

  it('rejects a proof with any one bit flipped', () => {
    fc.assert(
      fc.property(leafInTree, fc.nat(), fc.nat({ max: 255 }), ({ size, index }, pick, bit) => {
        fc.pre(size > 1);
        const proof = flipBit(inclusionProof(LEAVES.slice(0, size), index), pick, bit);
        expect(() => verifyInclusion(leafAt(index), index, size, proof, rootOf(size))).toThrow(
          PROOF_INVALID,
        );
      }),
    );
  });

  it('rejects the wrong leaf, and the right leaf at another index', () => {
    fc.assert(
      fc.property(leafInTree, fc.nat(), ({ size, index }, other) => {
        // Prepare
        const proof = inclusionProof(LEAVES.slice(0, size), index);
        const otherIndex = other % MAX_SIZE;
        fc.pre(otherIndex !== index);

        // Act / Assess
        const root = rootOf(size);
        expect(() => verifyInclusion(leafAt(otherIndex), index, size, proof, root)).toThrow(
          PROOF_INVALID,
        );
        expect(() => verifyInclusion(leafAt(index), otherIndex, size, proof, root)).toThrow(
          PROOF_INVALID,
        );
      }),
    );
  });

  it('rejects a proof presented for another tree size, against that size’s root', () => {
    fc.assert(
      fc.property(leafInTree, fc.integer({ min: 1, max: MAX_SIZE }), ({ size, index }, other) => {
        fc.pre(other !== size && index < other);
        const proof = inclusionProof(LEAVES.slice(0, size), index);
        expect(() => verifyInclusion(leafAt(index), index, other, proof, rootOf(other))).toThrow(
          PROOF_INVALID,
        );
      }),
    );
  });

  it('binds the size only through the root: size and root must come from one checkpoint', () => {
    // Prepare: leaf 0 has the same path shape (two left turns) in trees of 3 and 4 leaves.
    const proof = inclusionProof(LEAVES.slice(0, 3), 0);

    // Act / Assess: so the size-3 proof also checks out as "size 4" against the size-3 root.
    expect(() => verifyInclusion(leafAt(0), 0, 4, proof, rootOf(3))).not.toThrow();
    expect(() => verifyInclusion(leafAt(0), 0, 4, proof, rootOf(4))).toThrow(PROOF_INVALID);
  });

  it('rejects a proof one hash too short or too long', () => {
    fc.assert(
      fc.property(leafInTree, ({ size, index }) => {
        const proof = inclusionProof(LEAVES.slice(0, size), index);
        const root = rootOf(size);
        const longer = [...proof, leafAt(0)];
        expect(() => verifyInclusion(leafAt(index), index, size, longer, root)).toThrow(
          PROOF_INVALID,
        );
        if (proof.length > 0) {
          const shorter = proof.slice(0, -1);
          expect(() => verifyInclusion(leafAt(index), index, size, shorter, root)).toThrow(
            PROOF_INVALID,
          );
        }
      }),
    );
  });

  it.each([
    { case: 'index = size', index: 5, size: 5 },
    { case: 'index > size', index: 9, size: 5 },
    { case: 'size 0', index: 0, size: 0 },
    { case: 'negative index', index: -1, size: 5 },
    { case: 'fractional index', index: 1.5, size: 5 },
    { case: 'NaN size', index: 0, size: Number.NaN },
    { case: 'unsafe size', index: 0, size: 2 ** 53 },
  ])('rejects $case', ({ index, size }) => {
    expect(() => rootFromInclusionProof(leafAt(0), index, size, [])).toThrow(PROOF_INVALID);
  });

  it('rejects hashes that are not 32 bytes', () => {
    const proof = inclusionProof(LEAVES.slice(0, 4), 1);
    const short = [proof[0] as Uint8Array, (proof[1] as Uint8Array).subarray(1)];
    expect(() => verifyInclusion(leafAt(1), 1, 4, short, rootOf(4))).toThrow(PROOF_INVALID);
    expect(() => verifyInclusion(new Uint8Array(0), 0, 1, [], new Uint8Array(0))).toThrow(
      PROOF_INVALID,
    );
  });
});

describe('verifyConsistency', () => {
  it('accepts every generated proof', () => {
    fc.assert(
      fc.property(twoSizes, ({ oldSize, newSize }) => {
        const proof = consistencyProof(LEAVES.slice(0, newSize), oldSize);
        expect(() =>
          verifyConsistency(oldSize, newSize, proof, rootOf(oldSize), rootOf(newSize)),
        ).not.toThrow();
      }),
    );
  });

  it('rejects a proof with any one bit flipped', () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(), fc.nat({ max: 255 }), ({ oldSize, newSize }, pick, bit) => {
        fc.pre(oldSize < newSize);
        const proof = flipBit(consistencyProof(LEAVES.slice(0, newSize), oldSize), pick, bit);
        expect(() =>
          verifyConsistency(oldSize, newSize, proof, rootOf(oldSize), rootOf(newSize)),
        ).toThrow(PROOF_INVALID);
      }),
    );
  });

  it('rejects the proof for other sizes, against the roots of those sizes', () => {
    fc.assert(
      fc.property(twoSizes, twoSizes, (real, claimed) => {
        // Prepare
        fc.pre(real.oldSize !== claimed.oldSize || real.newSize !== claimed.newSize);
        const proof = consistencyProof(LEAVES.slice(0, real.newSize), real.oldSize);

        // Act
        const act = () =>
          verifyConsistency(
            claimed.oldSize,
            claimed.newSize,
            proof,
            rootOf(claimed.oldSize),
            rootOf(claimed.newSize),
          );

        // Assess: only an empty proof for equal sizes can be reused, and it proves nothing new.
        if (claimed.oldSize === claimed.newSize && proof.length === 0) expect(act).not.toThrow();
        else expect(act).toThrow(PROOF_INVALID);
      }),
    );
  });

  it('rejects a wrong old or new root, and swapped roots', () => {
    fc.assert(
      fc.property(twoSizes, fc.nat({ max: MAX_SIZE }), ({ oldSize, newSize }, other) => {
        // Prepare
        fc.pre(other !== oldSize && other !== newSize);
        const proof = consistencyProof(LEAVES.slice(0, newSize), oldSize);
        const [oldRoot, newRoot, wrong] = [rootOf(oldSize), rootOf(newSize), rootOf(other)];

        // Act / Assess
        expect(() => verifyConsistency(oldSize, newSize, proof, wrong, newRoot)).toThrow(
          PROOF_INVALID,
        );
        expect(() => verifyConsistency(oldSize, newSize, proof, oldRoot, wrong)).toThrow(
          PROOF_INVALID,
        );
        if (oldSize !== newSize) {
          expect(() => verifyConsistency(oldSize, newSize, proof, newRoot, oldRoot)).toThrow(
            PROOF_INVALID,
          );
        }
      }),
    );
  });

  it('rejects a proof one hash too short or too long', () => {
    fc.assert(
      fc.property(twoSizes, ({ oldSize, newSize }) => {
        const proof = consistencyProof(LEAVES.slice(0, newSize), oldSize);
        const verify = (p: Uint8Array[]) => () =>
          verifyConsistency(oldSize, newSize, p, rootOf(oldSize), rootOf(newSize));
        expect(verify([...proof, leafAt(0)])).toThrow(PROOF_INVALID);
        if (proof.length > 0) expect(verify(proof.slice(0, -1))).toThrow(PROOF_INVALID);
      }),
    );
  });

  it.each([
    { case: 'old size 0', oldSize: 0, newSize: 3 },
    { case: 'both sizes 0', oldSize: 0, newSize: 0 },
    { case: 'old size > new size', oldSize: 4, newSize: 3 },
    { case: 'negative size', oldSize: -1, newSize: 3 },
    { case: 'fractional size', oldSize: 1, newSize: 2.5 },
    { case: 'unsafe size', oldSize: 1, newSize: 2 ** 53 },
  ])('rejects $case', ({ oldSize, newSize }) => {
    expect(() => verifyConsistency(oldSize, newSize, [], rootOf(0), rootOf(0))).toThrow(
      PROOF_INVALID,
    );
  });

  it('rejects roots and proof hashes that are not 32 bytes', () => {
    // Prepare
    const proof = consistencyProof(LEAVES.slice(0, 8), 4);
    const [oldRoot, newRoot] = [rootOf(4), rootOf(8)];

    // Act / Assess
    expect(() => verifyConsistency(4, 8, [new Uint8Array(0)], oldRoot, newRoot)).toThrow(
      PROOF_INVALID,
    );
    expect(() => verifyConsistency(4, 8, proof, oldRoot.subarray(1), newRoot)).toThrow(
      PROOF_INVALID,
    );
    expect(() => verifyConsistency(4, 8, proof, oldRoot, newRoot.subarray(1))).toThrow(
      PROOF_INVALID,
    );
  });
});
