import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hash.js';
import {
  countOnes,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  largestPowerOfTwoBelow,
  merkleRoot,
} from '../../src/core/merkle.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

// The eight RFC 6962 test leaves and the roots of their prefixes, from transparency-dev/merkle
// (see test/vectors/transparency-dev/SOURCE.md).
const RFC6962 = JSON.parse(
  readFileSync(new URL('../vectors/transparency-dev/rfc6962-roots.json', import.meta.url), 'utf8'),
) as { leavesHex: string[]; rootsHexBySize: string[] };
const LEAF_HASHES = RFC6962.leavesHex.map((h) => hashLeaf(fromHex(h)));

/** Matches a thrown AuditlockError by class name and code (never by message). */
const coded = (name: string, code: string) => expect.objectContaining({ name, code });

describe('RFC 9162 §2.1.1 hashing', () => {
  it('EMPTY_ROOT is SHA-256 of the empty string', () => {
    expect(hex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('hashLeaf prefixes 0x00', () => {
    // The root of the one-leaf tree over the empty leaf, a known answer from transparency-dev.
    expect(hex(hashLeaf(new Uint8Array(0)))).toBe(RFC6962.rootsHexBySize[1]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        expect(hex(hashLeaf(data))).toBe(hex(sha256(Uint8Array.of(0), data)));
      }),
    );
  });

  it('hashChildren prefixes 0x01 and keeps the order', () => {
    // Prepare
    const [left, right] = [LEAF_HASHES[0], LEAF_HASHES[1]] as [Uint8Array, Uint8Array];

    // Act
    const node = hashChildren(left, right);

    // Assess
    expect(hex(node)).toBe(RFC6962.rootsHexBySize[2]);
    expect(hex(node)).toBe(hex(sha256(Uint8Array.of(1), left, right)));
    expect(hex(hashChildren(right, left))).not.toBe(hex(node));
  });

  it('separates leaves from interior nodes', () => {
    // Prepare: a leaf whose data is exactly the concatenation of two child hashes.
    const [left, right] = [LEAF_HASHES[2], LEAF_HASHES[3]] as [Uint8Array, Uint8Array];
    const data = new Uint8Array([...left, ...right]);

    // Act / Assess
    expect(hex(hashLeaf(data))).not.toBe(hex(hashChildren(left, right)));
  });
});

describe('merkleRoot (reference MTH)', () => {
  it('matches the transparency-dev roots for sizes 0 to 8', () => {
    RFC6962.rootsHexBySize.forEach((want, size) => {
      expect(hex(merkleRoot(LEAF_HASHES.slice(0, size)))).toBe(want);
    });
  });

  it('hashes any leaf range as the tree of just those leaves', () => {
    for (let start = 0; start <= 8; start++) {
      for (let end = start; end <= 8; end++) {
        const whole = merkleRoot(LEAF_HASHES.slice(start, end));
        expect(hex(merkleRoot(LEAF_HASHES, start, end))).toBe(hex(whole));
      }
    }
  });

  it('splits at the largest power of two below the size', () => {
    // RFC 9162 §2.1.1 for 5 leaves: MTH = H(MTH(D[0:4]), MTH(D[4:5])).
    const want = hashChildren(merkleRoot(LEAF_HASHES, 0, 4), LEAF_HASHES[4] as Uint8Array);
    expect(hex(merkleRoot(LEAF_HASHES.slice(0, 5)))).toBe(hex(want));
  });

  it('returns fresh arrays', () => {
    // Prepare
    const leaf = LEAF_HASHES[0] as Uint8Array;

    // Act
    const root = merkleRoot([leaf]);
    root[0] = (root[0] ?? 0) ^ 1;

    // Assess
    expect(hex(leaf)).toBe(RFC6962.rootsHexBySize[1]);
    expect(hex(merkleRoot([]))).toBe(hex(EMPTY_ROOT));
  });

  it('rejects ranges outside the leaves', () => {
    expect(() => merkleRoot(LEAF_HASHES, 0, 9)).toThrow(coded('InputError', 'RANGE_INVALID'));
    expect(() => merkleRoot(LEAF_HASHES, -1, 2)).toThrow(coded('InputError', 'RANGE_INVALID'));
    expect(() => merkleRoot(LEAF_HASHES, 3, 2)).toThrow(coded('InputError', 'RANGE_INVALID'));
    expect(() => merkleRoot(LEAF_HASHES, 0.5, 2)).toThrow(coded('InputError', 'RANGE_INVALID'));
  });

  it('rejects a leaf hash that is not 32 bytes', () => {
    expect(() => merkleRoot([new Uint8Array(31)])).toThrow(coded('IntegrityError', 'HASH_INVALID'));
    expect(() => merkleRoot([LEAF_HASHES[0] as Uint8Array, new Uint8Array(33)])).toThrow(
      coded('IntegrityError', 'HASH_INVALID'),
    );
  });
});

describe('size arithmetic', () => {
  it('largestPowerOfTwoBelow gives k with k < n <= 2k', () => {
    // Prepare: sizes across the 32-bit boundary and up to 2^53 - 1.
    const sizes = fc.oneof(
      fc.integer({ min: 2, max: 5000 }),
      fc.integer({ min: 2 ** 31 - 5, max: 2 ** 33 + 5 }),
      fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }),
    );

    fc.assert(
      fc.property(sizes, (n) => {
        // Act
        const k = largestPowerOfTwoBelow(n);

        // Assess
        expect(k < n && n <= 2 * k).toBe(true);
        expect(countOnes(k)).toBe(1);
      }),
    );
  });

  it('largestPowerOfTwoBelow at and just above exact powers of two', () => {
    for (let e = 1; e <= 52; e++) {
      const n = 2 ** e;
      expect(largestPowerOfTwoBelow(n)).toBe(n / 2);
      expect(largestPowerOfTwoBelow(n + 1)).toBe(n);
    }
    expect(largestPowerOfTwoBelow(Number.MAX_SAFE_INTEGER)).toBe(2 ** 52);
  });

  it('largestPowerOfTwoBelow rejects sizes below 2 and unsafe numbers', () => {
    for (const n of [1, 0, -4, 2.5, Number.NaN, 2 ** 53]) {
      expect(() => largestPowerOfTwoBelow(n)).toThrow(coded('InputError', 'RANGE_INVALID'));
    }
  });

  it('countOnes counts the set bits of any safe integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(countOnes(n)).toBe([...n.toString(2)].filter((c) => c === '1').length);
      }),
    );
    expect(countOnes(Number.MAX_SAFE_INTEGER)).toBe(53);
  });
});
