/**
 * encoding.ts's byte writers against the string forms they stand for: `writeBase64` writes the
 * bytes of `toBase64` (Buffer's base64, RFC 4648 §4, padded), and `fromBase64` reads them back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, writeBase64 } from '../../src/core/encoding.js';

describe('writeBase64', () => {
  it('writes the ASCII of toBase64 of the range, after the bytes before it, which it leaves', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.nat(70),
        fc.nat(70),
        fc.nat(16),
        (bytes, a, b, at) => {
          const from = Math.min(a, b, bytes.length);
          const to = Math.min(Math.max(a, b), bytes.length);
          const expected = toBase64(bytes.subarray(from, to));
          const out = new Uint8Array(at + expected.length + 8).fill(0xa5);
          const end = writeBase64(bytes, from, to, out, at);
          expect(end).toBe(at + expected.length);
          const text = Buffer.from(out.subarray(at, end)).toString('latin1');
          expect(text).toBe(expected);
          expect(fromBase64(text)).toEqual(bytes.slice(from, to));
          expect(out.subarray(0, at).every((x) => x === 0xa5)).toBe(true);
          expect(out.subarray(end).every((x) => x === 0xa5)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes a 32-byte hash as the 44 characters of a delivery id chain', () => {
    const chain = Uint8Array.from({ length: 32 }, (_, i) => 255 - 7 * i);
    const out = new Uint8Array(44);
    expect(writeBase64(chain, 0, 32, out, 0)).toBe(44);
    expect(Buffer.from(out).toString('latin1')).toBe(toBase64(chain));
  });

  it('refuses a range outside the bytes or an output too small, writing nothing', () => {
    const bytes = new Uint8Array(10);
    const out = new Uint8Array(16).fill(1);
    expect(() => writeBase64(bytes, 0, 11, out, 0)).toThrow(RangeError);
    expect(() => writeBase64(bytes, 5, 4, out, 0)).toThrow(RangeError);
    expect(() => writeBase64(bytes, 0, 10, out, 1)).toThrow(RangeError); // needs 16 bytes
    expect(out.every((x) => x === 1)).toBe(true);
    expect(writeBase64(bytes, 0, 10, out, 0)).toBe(16);
  });
});
