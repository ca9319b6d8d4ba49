import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/core/encoding.js';
import {
  bytesEqual,
  HASH_SIZE,
  sha256,
  sha256Noble,
  sha256Node,
  sha256NodeOneShot,
} from '../../src/core/hash.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// "abc", the 448-bit message and one million 'a' are the SHA-256 examples of FIPS 180-2
// Appendix B.1-B.3 (repeated in NIST's FIPS 180-4 example documents); the empty message is the
// Len = 0 entry of NIST CAVP SHA256ShortMsg.rsp.
const NIST_VECTORS: { name: string; message: () => Uint8Array; digest: string }[] = [
  {
    name: 'the empty message',
    message: () => new Uint8Array(0),
    digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  {
    name: '"abc"',
    message: () => utf8('abc'),
    digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  },
  {
    name: 'the 448-bit two-block message',
    message: () => utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  },
  {
    name: "one million 'a'",
    message: () => new Uint8Array(1_000_000).fill(0x61),
    digest: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  },
];

const IMPLEMENTATIONS = [
  { name: 'sha256Node', sha: sha256Node },
  { name: 'sha256NodeOneShot', sha: sha256NodeOneShot },
  { name: 'sha256Noble', sha: sha256Noble },
  { name: 'sha256', sha: sha256 },
];

/** Splits `bytes` at the given cut points (taken modulo its length) into consecutive parts. */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

describe('SHA-256 known answers (FIPS 180-4)', () => {
  for (const { name, sha } of IMPLEMENTATIONS) {
    for (const vector of NIST_VECTORS) {
      it(`${name} hashes ${vector.name}`, () => {
        expect(hex(sha(vector.message()))).toBe(vector.digest);
      });
    }

    it(`${name} hashes the 448-bit message given in uneven parts`, () => {
      // Prepare
      const message = utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
      const parts = splitAt(message, [0, 1, 1, 13, 55]);

      // Act
      const digest = sha(...parts);

      // Assess
      expect(parts).toHaveLength(6);
      expect(hex(digest)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    });

    it(`${name} returns a ${HASH_SIZE}-byte Uint8Array`, () => {
      const digest = sha(utf8('x'));
      expect(digest).toBeInstanceOf(Uint8Array);
      expect(digest.length).toBe(HASH_SIZE);
    });
  }
});

describe('SHA-256 implementations agree', () => {
  it('on any message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (message) => {
        expect(hex(sha256Noble(message))).toBe(hex(sha256Node(message)));
        expect(hex(sha256NodeOneShot(message))).toBe(hex(sha256Node(message)));
      }),
    );
  });

  it('on any split of a message into parts, and the split does not change the digest', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (message, cuts) => {
          // Prepare
          const parts = splitAt(message, cuts);
          const whole = hex(sha256Node(message));

          // Act
          const byNode = hex(sha256Node(...parts));
          const byOneShot = hex(sha256NodeOneShot(...parts));
          const byNoble = hex(sha256Noble(...parts));

          // Assess
          expect(byNode).toBe(whole);
          expect(byOneShot).toBe(whole);
          expect(byNoble).toBe(whole);
        },
      ),
    );
  });

  it('on several independently generated parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 8 }), (parts) => {
        expect(hex(sha256Noble(...parts))).toBe(hex(sha256Node(...parts)));
        expect(hex(sha256NodeOneShot(...parts))).toBe(hex(sha256Node(...parts)));
      }),
    );
  });

  it('sha256 is the one-shot node:crypto implementation', () => {
    expect(sha256).toBe(sha256NodeOneShot);
  });

  it('on parts around the 16 KiB scratch size, and the scratch holds nothing over', () => {
    // sha256NodeOneShot joins parts of up to 16 KiB in a reused buffer and hands larger ones to
    // createHash; a Merkle leaf (prefix byte + entry) crosses that size for entries near 16 KiB.
    fc.assert(
      fc.property(
        fc.integer({ min: 16 * 1024 - 40, max: 16 * 1024 + 40 }),
        fc.nat({ max: 255 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (size, fill, cuts) => {
          // Prepare
          const message = new Uint8Array(size).map((_, i) => (i * 31 + fill) & 0xff);
          const parts = splitAt(message, cuts);
          const whole = hex(sha256Node(message));

          // Act
          const byOneShot = hex(sha256NodeOneShot(...parts));
          const small = hex(sha256NodeOneShot(Uint8Array.of(0), Uint8Array.of(fill)));

          // Assess
          expect(byOneShot).toBe(whole);
          expect(small).toBe(hex(sha256Noble(Uint8Array.of(0, fill))));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('bytesEqual', () => {
  it('is true exactly when the bytes are the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(bytesEqual(a, b)).toBe(hex(a) === hex(b));
        expect(bytesEqual(a, a.slice())).toBe(true);
      }),
    );
  });

  it('is false for a prefix', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
  });
});
