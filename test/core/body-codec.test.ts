/**
 * body-codec: JSON Lines framing and the one gzip member (docs/FORMAT.md §4.4), under hostile
 * input: sizes are checked before anything large is allocated, and counts before views are made.
 */
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  countEntries,
  decodeBody,
  encodeBody,
  entryViews,
  joinEntries,
  joinedLength,
  MAX_DEFLATE_RATIO,
  maxInflatedLength,
  splitEntries,
  writeEntries,
} from '../../src/core/body-codec.js';
import { thrownCode } from './segment-builder.js';

const enc = new TextEncoder();
const text = (views: Iterable<Uint8Array>) => [...views].map((v) => Buffer.from(v).toString());

afterEach(() => {
  vi.restoreAllMocks();
});

describe('joinEntries / splitEntries', () => {
  it('round-trips any non-empty lines without a newline, for both encodings', () => {
    const line = fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((b) => b.map((x) => (x === 0x0a ? 0x20 : x)));
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 30 }),
        fc.constantFrom('identity', 'gzip' as const),
        (lines, encoding) => {
          const raw = joinEntries(lines);
          const body = encodeBody(raw, encoding);
          const decoded = decodeBody(body, encoding, raw.length);
          expect(splitEntries(decoded, lines.length)).toEqual(lines);
          expect([...entryViews(decoded, lines.length)]).toEqual(lines);
          expect(countEntries(decoded)).toBe(lines.length);
        },
      ),
    );
  });

  it('rejects bad framing with BODY_INVALID', () => {
    const cases: [string, string, number | undefined][] = [
      ['no final newline', 'a\nb', undefined],
      ['empty first line', '\na\n', undefined],
      ['empty line inside', 'a\n\nb\n', undefined],
      ['just a newline', '\n', undefined],
      ['fewer than the count', 'a\nb\n', 3],
      ['more than the count', 'a\nb\nc\n', 2],
      ['nothing, with a count', '', 1],
    ];
    for (const [, body, count] of cases) {
      expect(thrownCode(() => splitEntries(enc.encode(body), count))).toBe('BODY_INVALID');
      expect(thrownCode(() => entryViews(enc.encode(body), count))).toBe('BODY_INVALID');
    }
    expect(splitEntries(new Uint8Array(), 0)).toEqual([]);
  });

  it('stops at entry count + 1 of a body of a million tiny lines, making no view', () => {
    // Prepare: 1,000,000 lines "a", a header that says 10.
    const raw = new Uint8Array(2_000_000).fill(0x0a);
    for (let i = 0; i < raw.length; i += 2) raw[i] = 0x61;
    const subarray = vi.spyOn(Uint8Array.prototype, 'subarray');
    // Act / Assess
    expect(thrownCode(() => splitEntries(raw, 10))).toBe('BODY_INVALID');
    expect(thrownCode(() => entryViews(raw, 10))).toBe('BODY_INVALID');
    expect(subarray.mock.calls.length).toBeLessThanOrEqual(2 * 11);
  });

  it('yields views one at a time (the iterator holds no array of them)', () => {
    const raw = enc.encode('a\nbb\nccc\n');
    const it = entryViews(raw, 3);
    expect(text([it.next().value as Uint8Array])).toEqual(['a']);
    expect(text(it)).toEqual(['bb', 'ccc']);
  });

  it('writeEntries fills a buffer of joinedLength bytes exactly as joinEntries, and no other', () => {
    // Prepare
    const lines = ['{"a":1}', 'x', '{"bb":[2,3]}'].map((s) => enc.encode(s));
    const out = new Uint8Array(joinedLength(lines)).fill(0xee);
    // Act
    writeEntries(lines, out);
    // Assess
    expect(Buffer.from(out).toString()).toBe('{"a":1}\nx\n{"bb":[2,3]}\n');
    expect(out).toEqual(joinEntries(lines));
    expect(() => writeEntries(lines, new Uint8Array(out.length + 1))).toThrow(RangeError);
    expect(() => writeEntries(lines, new Uint8Array(out.length - 1))).toThrow(RangeError);
  });
});

describe('decodeBody', () => {
  const raw = joinEntries(['{"a":1}', '{"b":2}'].map((s) => enc.encode(s)));
  const gz = encodeBody(raw, 'gzip');

  it('writes exactly one fixed gzip header and decodes it', () => {
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    expect(decodeBody(gz, 'gzip', raw.length)).toEqual(raw);
    expect(decodeBody(raw, 'identity', raw.length)).toBe(raw);
  });

  it('rejects every way a gzip member can differ from the one form (BODY_INVALID)', () => {
    const withByte = (at: number, v: number) => {
      const b = Uint8Array.from(gz);
      b[at] = v;
      return b;
    };
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const wrongCrc = Uint8Array.from(gz);
    view(wrongCrc).setUint32(gz.length - 8, 0xdeadbeef, true);
    const wrongSize = Uint8Array.from(gz);
    view(wrongSize).setUint32(gz.length - 4, raw.length + 1, true);
    const cases: [Uint8Array, number][] = [
      [withByte(0, 0x1e), raw.length],
      [withByte(2, 7), raw.length],
      [withByte(3, 0x08), raw.length], // FNAME
      [withByte(4, 1), raw.length], // MTIME
      [withByte(8, 2), raw.length], // XFL
      [withByte(9, 3), raw.length], // OS
      [gz.subarray(0, 17), raw.length],
      [Uint8Array.from([...gz, 0]), raw.length], // trailing byte
      [Uint8Array.from([...gz, ...gz]), raw.length], // a second member
      [wrongCrc, raw.length],
      [wrongSize, raw.length],
      [gz, raw.length - 1],
      [gz, raw.length + 1],
      [withByte(12, gz[12] === 0xff ? 0 : 0xff), raw.length], // broken DEFLATE stream
    ];
    for (const [body, length] of cases)
      expect(thrownCode(() => decodeBody(body, 'gzip', length))).toBe('BODY_INVALID');
    expect(thrownCode(() => decodeBody(raw, 'identity', raw.length + 1))).toBe('BODY_INVALID');
  });

  it('refuses a size DEFLATE cannot reach before inflating (decompression-ratio guard)', () => {
    // Prepare: a real 64 MiB-claiming header over a stream of a few bytes.
    const claimed = 64 * 1024 * 1024;
    // Act / Assess
    expect(maxInflatedLength(gz.length - 18)).toBe((gz.length - 18) * MAX_DEFLATE_RATIO);
    expect(claimed).toBeGreaterThan(maxInflatedLength(gz.length - 18));
    expect(thrownCode(() => decodeBody(gz, 'gzip', claimed))).toBe('BODY_INVALID');
  });

  it('never refuses what zlib really makes: the most compressible input stays within the bound', () => {
    // 16 MiB of one byte at the best level compresses close to DEFLATE's limit.
    for (const fill of [0x00, 0x61]) {
      const input = new Uint8Array(16 * 1024 * 1024).fill(fill);
      const stream = deflateRawSync(input, { level: 9 });
      expect(input.length).toBeLessThanOrEqual(maxInflatedLength(stream.length));
      expect(input.length / stream.length).toBeGreaterThan(1000);
      const body = encodeBody(input, 'gzip');
      expect(decodeBody(body, 'gzip', input.length).length).toBe(input.length);
    }
  });
});
