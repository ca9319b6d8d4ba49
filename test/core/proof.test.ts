import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange } from '../../src/core/compact-range.js';
import { fromBase64 } from '../../src/core/encoding.js';
import { countOnes, hashLeaf, merkleRoot } from '../../src/core/merkle.js';
import {
  consistencyProof,
  consistencyProofRanges,
  inclusionProof,
  inclusionProofInSegment,
  inclusionProofRanges,
} from '../../src/core/proof.js';
import { verifyConsistency, verifyInclusion } from '../../src/core/proof-verify.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const coded = (name: string, code: string) => expect.objectContaining({ name, code });

// Proof vectors from transparency-dev/merkle over the eight RFC 6962 test leaves; see SOURCE.md.
const VECTORS = new URL('../vectors/transparency-dev/', import.meta.url);
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, VECTORS), 'utf8'));
const RFC_LEAF_HASHES = (readJson('rfc6962-roots.json').leavesHex as string[]).map((h) =>
  hashLeaf(fromHex(h)),
);

type Vector<T> = { file: string; wantErr: boolean; proof: Uint8Array[] } & T;

function loadVectors<T>(folder: string, fields: (raw: Record<string, unknown>) => T): Vector<T>[] {
  const files = readdirSync(new URL(folder, VECTORS), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const raw = readJson(`${folder}/${file}`);
    const proof = ((raw.proof ?? []) as string[]).map(fromBase64);
    return { file, wantErr: raw.wantErr as boolean, proof, ...fields(raw) };
  });
}

const INCLUSION = loadVectors('inclusion', (raw) => ({
  index: raw.leafIdx as number,
  size: raw.treeSize as number,
  leafHash: fromBase64(raw.leafHash as string),
  root: fromBase64(raw.root as string),
}));
const CONSISTENCY = loadVectors('consistency', (raw) => ({
  oldSize: raw.size1 as number,
  newSize: raw.size2 as number,
  oldRoot: fromBase64(raw.root1 as string),
  newRoot: fromBase64(raw.root2 as string),
}));

describe('transparency-dev proof vectors', () => {
  it('are all loaded', () => {
    expect(INCLUSION.length + CONSISTENCY.length).toBe(196);
    expect(INCLUSION.filter((v) => !v.wantErr)).toHaveLength(6);
    expect(CONSISTENCY.filter((v) => !v.wantErr)).toHaveLength(6);
  });

  it.each(INCLUSION)('inclusion/$file is accepted iff wantErr is false', (v) => {
    const act = () => verifyInclusion(v.leafHash, v.index, v.size, v.proof, v.root);
    if (v.wantErr) expect(act).toThrow(coded('IntegrityError', 'PROOF_INVALID'));
    else expect(act).not.toThrow();
  });

  it.each(CONSISTENCY)('consistency/$file is accepted iff wantErr is false', (v) => {
    const act = () => verifyConsistency(v.oldSize, v.newSize, v.proof, v.oldRoot, v.newRoot);
    if (v.wantErr) expect(act).toThrow(coded('IntegrityError', 'PROOF_INVALID'));
    else expect(act).not.toThrow();
  });

  const happyPath = <T>(vectors: Vector<T>[]) =>
    vectors.filter((v) => v.file.endsWith('happy-path.json'));

  it.each(happyPath(INCLUSION))('inclusion/$file is reproduced byte for byte', (v) => {
    // Prepare
    const leafHashes = RFC_LEAF_HASHES.slice(0, v.size);

    // Act
    const proof = inclusionProof(leafHashes, v.index);

    // Assess
    expect(hex(leafHashes[v.index] as Uint8Array)).toBe(hex(v.leafHash));
    expect(hex(merkleRoot(leafHashes))).toBe(hex(v.root));
    expect(proof.map(hex)).toEqual(v.proof.map(hex));
  });

  it.each(happyPath(INCLUSION))('inclusion/$file is reproduced from every segment split', (v) => {
    const leafHashes = RFC_LEAF_HASHES.slice(0, v.size);
    for (let firstIndex = 0; firstIndex <= v.index; firstIndex++) {
      // Prepare
      const before = new CompactRange();
      before.appendAll(leafHashes.slice(0, firstIndex));

      // Act
      const proof = inclusionProofInSegment({
        frontierBefore: before.hashes(),
        firstIndex,
        leafHashes: leafHashes.slice(firstIndex),
        index: v.index,
      });

      // Assess
      expect(proof.map(hex)).toEqual(v.proof.map(hex));
    }
  });

  it.each(happyPath(CONSISTENCY))('consistency/$file is reproduced byte for byte', (v) => {
    // Prepare
    const leafHashes = RFC_LEAF_HASHES.slice(0, v.newSize);

    // Act
    const proof = consistencyProof(leafHashes, v.oldSize);

    // Assess
    expect(hex(merkleRoot(leafHashes, 0, v.oldSize))).toBe(hex(v.oldRoot));
    expect(hex(merkleRoot(leafHashes))).toBe(hex(v.newRoot));
    expect(proof.map(hex)).toEqual(v.proof.map(hex));
  });
});

/** `n` distinct leaf hashes (distinct so that no two subtrees share a hash). */
const distinctLeafHashes = (n: number) =>
  Array.from({ length: n }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));

/** A tree size and a leaf index in it. */
const indexInTree = (maxSize: number) =>
  fc
    .integer({ min: 1, max: maxSize })
    .chain((size) => fc.record({ size: fc.constant(size), index: fc.nat({ max: size - 1 }) }));

describe('proof ranges', () => {
  it('inclusion: siblings that grow the leaf into the whole tree, deepest first', () => {
    fc.assert(
      fc.property(
        fc.oneof(indexInTree(300), indexInTree(Number.MAX_SAFE_INTEGER)),
        ({ size, index }) => {
          // Act
          const ranges = inclusionProofRanges(index, size);

          // Assess: starting from the leaf, each sibling extends the covered span on one side,
          // so the list runs from the leaf up, and ends covering [0, size).
          let covered = { start: index, end: index + 1 };
          for (const r of ranges) {
            expect(r.end === covered.start || r.start === covered.end).toBe(true);
            covered = {
              start: Math.min(r.start, covered.start),
              end: Math.max(r.end, covered.end),
            };
          }
          expect(covered).toEqual({ start: 0, end: size });
        },
      ),
    );
  });

  it('consistency: empty for equal sizes, never longer than 2 log2(newSize) + 1', () => {
    fc.assert(
      fc.property(indexInTree(Number.MAX_SAFE_INTEGER), ({ size, index }) => {
        const ranges = consistencyProofRanges(index + 1, size);
        if (index + 1 === size) expect(ranges).toEqual([]);
        expect(ranges.length).toBeLessThanOrEqual(2 * Math.log2(size) + 1);
        for (const r of ranges) expect(r.start < r.end && r.end <= size).toBe(true);
      }),
    );
  });

  it('reject impossible arguments with RANGE_INVALID', () => {
    const invalid = coded('InputError', 'RANGE_INVALID');
    expect(() => inclusionProofRanges(5, 5)).toThrow(invalid);
    expect(() => inclusionProofRanges(-1, 5)).toThrow(invalid);
    expect(() => inclusionProofRanges(0, 0)).toThrow(invalid);
    expect(() => inclusionProofRanges(0.5, 5)).toThrow(invalid);
    expect(() => consistencyProofRanges(0, 5)).toThrow(invalid);
    expect(() => consistencyProofRanges(6, 5)).toThrow(invalid);
    expect(() => consistencyProofRanges(1, 2 ** 53)).toThrow(invalid);
    expect(() => inclusionProof(distinctLeafHashes(3), 3)).toThrow(invalid);
    expect(() => consistencyProof(distinctLeafHashes(3), 0)).toThrow(invalid);
  });
});

describe('inclusionProofInSegment', () => {
  it('equals the reference proof for any frontier size, segment length and leaf', () => {
    const segmentArb = fc
      .record({ firstIndex: fc.nat({ max: 300 }), length: fc.integer({ min: 1, max: 80 }) })
      .chain(({ firstIndex, length }) =>
        fc.record({
          firstIndex: fc.constant(firstIndex),
          length: fc.constant(length),
          index: fc.integer({ min: firstIndex, max: firstIndex + length - 1 }),
        }),
      );
    fc.assert(
      fc.property(segmentArb, ({ firstIndex, length, index }) => {
        // Prepare
        const leafHashes = distinctLeafHashes(firstIndex + length);
        const before = new CompactRange();
        before.appendAll(leafHashes.slice(0, firstIndex));

        // Act
        const proof = inclusionProofInSegment({
          frontierBefore: before.hashes(),
          firstIndex,
          leafHashes: leafHashes.slice(firstIndex),
          index,
        });

        // Assess
        expect(proof.map(hex)).toEqual(inclusionProof(leafHashes, index).map(hex));
      }),
    );
  });

  it('yields proofs that verify for trees far beyond 2^32 leaves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        (firstIndex, length, pick) => {
          // Prepare: an arbitrary (made-up) frontier stands in for the first `firstIndex` leaves.
          const frontierBefore = Array.from({ length: countOnes(firstIndex) }, (_, i) =>
            hashLeaf(Uint8Array.of(i)),
          );
          const leafHashes = distinctLeafHashes(length);
          const range = new CompactRange(firstIndex, frontierBefore);
          range.appendAll(leafHashes);
          const index = firstIndex + (pick % length);

          // Act
          const proof = inclusionProofInSegment({ frontierBefore, firstIndex, leafHashes, index });

          // Assess
          const leafHash = leafHashes[index - firstIndex] as Uint8Array;
          expect(() =>
            verifyInclusion(leafHash, index, firstIndex + length, proof, range.root()),
          ).not.toThrow();
        },
      ),
    );
  });

  it('rejects a leaf outside the segment and a frontier that does not fit', () => {
    // Prepare
    const leafHashes = distinctLeafHashes(6);
    const before = new CompactRange();
    before.appendAll(leafHashes.slice(0, 3));
    const segment = {
      frontierBefore: before.hashes(),
      firstIndex: 3,
      leafHashes: leafHashes.slice(3),
    };

    // Act / Assess
    expect(() => inclusionProofInSegment({ ...segment, index: 2 })).toThrow(
      coded('InputError', 'RANGE_INVALID'),
    );
    expect(() => inclusionProofInSegment({ ...segment, index: 6 })).toThrow(
      coded('InputError', 'RANGE_INVALID'),
    );
    expect(() => inclusionProofInSegment({ ...segment, firstIndex: 4, index: 4 })).toThrow(
      coded('IntegrityError', 'FRONTIER_INVALID'),
    );
  });
});
