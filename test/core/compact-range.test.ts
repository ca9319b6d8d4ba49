import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange, frontierRanges } from '../../src/core/compact-range.js';
import { countOnes, EMPTY_ROOT, hashLeaf, merkleRoot } from '../../src/core/merkle.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const coded = (name: string, code: string) => expect.objectContaining({ name, code });

// RFC 6962 test leaves and roots from transparency-dev/merkle (test/vectors/transparency-dev/SOURCE.md).
const RFC6962 = JSON.parse(
  readFileSync(new URL('../vectors/transparency-dev/rfc6962-roots.json', import.meta.url), 'utf8'),
) as { leavesHex: string[]; rootsHexBySize: string[] };
const RFC_LEAF_HASHES = RFC6962.leavesHex.map((h) => hashLeaf(fromHex(h)));

/** Arbitrary leaves, hashed: any data, duplicates allowed. */
const leafHashesArb = (maxLength: number) =>
  fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength }).map((data) => data.map(hashLeaf));

/** Cuts `items` into consecutive batches at the given points (taken modulo its length). */
function batches<T>(items: readonly T[], cuts: number[]): T[][] {
  const points = [...cuts.map((c) => c % (items.length + 1)), items.length].sort((a, b) => a - b);
  let from = 0;
  return points.map((p) => {
    const batch = items.slice(from, p);
    from = p;
    return batch;
  });
}

describe('CompactRange roots', () => {
  it('match the transparency-dev roots after each of the eight RFC 6962 leaves', () => {
    // Prepare
    const range = new CompactRange();
    const roots = [hex(range.root())];

    // Act
    for (const leaf of RFC_LEAF_HASHES) {
      range.append(leaf);
      roots.push(hex(range.root()));
    }

    // Assess
    expect(roots).toEqual(RFC6962.rootsHexBySize);
  });

  it('is EMPTY_ROOT for the empty tree', () => {
    expect(hex(new CompactRange().root())).toBe(hex(EMPTY_ROOT));
    expect(new CompactRange().size).toBe(0);
    expect(new CompactRange().hashes()).toEqual([]);
  });

  it('equal the reference MTH for any leaves, at every intermediate size', () => {
    fc.assert(
      fc.property(leafHashesArb(70), (leafHashes) => {
        const range = new CompactRange();
        leafHashes.forEach((leaf, i) => {
          range.append(leaf);
          expect(range.size).toBe(i + 1);
          expect(hex(range.root())).toBe(hex(merkleRoot(leafHashes, 0, i + 1)));
        });
      }),
    );
  });

  it('keep one frontier hash per set bit of the size, each the MTH of its frontier range', () => {
    fc.assert(
      fc.property(leafHashesArb(70), (leafHashes) => {
        // Act
        const range = new CompactRange();
        range.appendAll(leafHashes);

        // Assess
        const hashes = range.hashes();
        expect(hashes).toHaveLength(countOnes(leafHashes.length));
        const expected = frontierRanges(leafHashes.length).map((r) =>
          hex(merkleRoot(leafHashes, r.start, r.end)),
        );
        expect(hashes.map(hex)).toEqual(expected);
      }),
    );
  });
});

describe('CompactRange batching', () => {
  it('gives the same root and frontier however appends are batched and resumed', () => {
    fc.assert(
      fc.property(leafHashesArb(80), fc.array(fc.nat(), { maxLength: 6 }), (leafHashes, cuts) => {
        // Prepare
        const oneGo = new CompactRange();
        oneGo.appendAll(leafHashes);

        // Act: each batch resumes from the exported frontier of the previous one, as segments do.
        let size = 0;
        let frontier: Uint8Array[] = [];
        for (const batch of batches(leafHashes, cuts)) {
          const range = new CompactRange(size, frontier);
          range.appendAll(batch);
          size = range.size;
          frontier = range.hashes();
        }

        // Assess
        expect(size).toBe(leafHashes.length);
        expect(frontier.map(hex)).toEqual(oneGo.hashes().map(hex));
        expect(hex(new CompactRange(size, frontier).root())).toBe(hex(oneGo.root()));
      }),
    );
  });

  it('clone() is independent of the original', () => {
    // Prepare
    const original = new CompactRange();
    original.appendAll(RFC_LEAF_HASHES.slice(0, 5));
    const rootAt5 = hex(original.root());

    // Act
    const copy = original.clone();
    copy.appendAll(RFC_LEAF_HASHES.slice(5));

    // Assess
    expect(original.size).toBe(5);
    expect(hex(original.root())).toBe(rootAt5);
    expect(hex(copy.root())).toBe(RFC6962.rootsHexBySize[8]);
  });

  it('hands out copies, so callers cannot corrupt its state', () => {
    // Prepare
    const range = new CompactRange();
    range.appendAll(RFC_LEAF_HASHES.slice(0, 7));
    const input = range.hashes();
    const resumed = new CompactRange(7, input);

    // Act
    for (const h of [...range.hashes(), range.root(), ...input, resumed.root()]) h.fill(0);

    // Assess
    expect(hex(range.root())).toBe(RFC6962.rootsHexBySize[7]);
    expect(hex(resumed.root())).toBe(RFC6962.rootsHexBySize[7]);
  });
});

describe('CompactRange validation', () => {
  const h = () => new Uint8Array(32);

  it('accepts exactly one hash per set bit of the size', () => {
    expect(new CompactRange(6, [h(), h()]).size).toBe(6);
    expect(new CompactRange(2 ** 53 - 1, Array.from({ length: 53 }, h)).size).toBe(2 ** 53 - 1);
  });

  it.each([
    { size: 0, count: 1 },
    { size: 1, count: 0 },
    { size: 6, count: 1 },
    { size: 6, count: 3 },
    { size: 7, count: 2 },
    { size: 2 ** 40, count: 0 },
  ])('rejects $count hashes for size $size with FRONTIER_INVALID', ({ size, count }) => {
    const hashes = Array.from({ length: count }, h);
    expect(() => new CompactRange(size, hashes)).toThrow(
      coded('IntegrityError', 'FRONTIER_INVALID'),
    );
  });

  it.each([-1, 1.5, Number.NaN, 2 ** 53])('rejects size %s with FRONTIER_INVALID', (size) => {
    expect(() => new CompactRange(size, [h()])).toThrow(
      coded('IntegrityError', 'FRONTIER_INVALID'),
    );
  });

  it('rejects a frontier hash that is not 32 bytes', () => {
    expect(() => new CompactRange(3, [h(), new Uint8Array(31)])).toThrow(
      coded('IntegrityError', 'FRONTIER_INVALID'),
    );
  });

  it('rejects appending a leaf hash that is not 32 bytes, and stays unchanged', () => {
    // Prepare
    const range = new CompactRange();
    range.append(h());

    // Act / Assess
    expect(() => range.append(new Uint8Array(0))).toThrow(coded('IntegrityError', 'HASH_INVALID'));
    expect(range.size).toBe(1);
    expect(hex(range.root())).toBe(hex(h()));
  });
});

describe('frontierRanges', () => {
  it('covers [0, size) with one perfect, aligned subtree per set bit, largest first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (size) => {
        // Act
        const ranges = frontierRanges(size);

        // Assess
        expect(ranges).toHaveLength(countOnes(size));
        let next = 0;
        let previousWidth = Number.POSITIVE_INFINITY;
        for (const { start, end } of ranges) {
          const width = end - start;
          expect(start).toBe(next);
          expect(countOnes(width)).toBe(1);
          expect(width).toBeLessThan(previousWidth);
          expect(start % width).toBe(0);
          next = end;
          previousWidth = width;
        }
        expect(next).toBe(size);
      }),
    );
  });

  it('splits 13 = 0b1101 into 8, 4 and 1', () => {
    expect(frontierRanges(13)).toEqual([
      { start: 0, end: 8 },
      { start: 8, end: 12 },
      { start: 12, end: 13 },
    ]);
  });

  it('rejects a negative or fractional size', () => {
    expect(() => frontierRanges(-1)).toThrow(coded('InputError', 'RANGE_INVALID'));
    expect(() => frontierRanges(2.5)).toThrow(coded('InputError', 'RANGE_INVALID'));
  });
});

describe('CompactRange with shared leaf-hash objects', () => {
  it('gives the same roots when runs of equal leaves share one hash object (merge memo)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 40 })), {
          maxLength: 12,
        }),
        (runs) => {
          // Prepare: runs of equal leaves; `shared` reuses one object per run, `fresh` copies.
          const shared = new CompactRange();
          const fresh = new CompactRange();
          const leaves: Uint8Array[] = [];
          for (const [value, length] of runs) {
            const leaf = hashLeaf(Uint8Array.of(value));
            for (let i = 0; i < length; i++) {
              // Act
              shared.append(leaf);
              fresh.append(leaf.slice());
              leaves.push(leaf);
              // Assess: every intermediate root agrees with the reference computation.
              expect(shared.root()).toEqual(fresh.root());
            }
          }
          expect(shared.root()).toEqual(merkleRoot(leaves));
          expect(shared.hashes()).toEqual(fresh.hashes());
        },
      ),
      { numRuns: 60 },
    );
  });
});
