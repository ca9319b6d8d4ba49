/**
 * parseSegmentHeader (hand-checked, no zod; parseSegment's header check) against the reference it
 * must equal: the zod `segmentHeaderSchema` that checked headers before it
 * (test/helpers/segment-header-schema.ts) followed by the canonical-form check. Differential: the same lines are
 * accepted (with the same value) and refused, on valid headers, headers with a field replaced,
 * dropped or added, values at and past every bound, and byte edits of the canonical text.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod';
import { canonicalize } from '../../src/core/canonical-json.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { hasCode } from '../../src/core/errors.js';
import { parseSegment } from '../../src/core/segment.js';
import {
  MAX_SEGMENT_BYTES,
  MAX_SEGMENT_ENTRIES,
  parseSegmentHeader,
  type SegmentHeader,
} from '../../src/core/segment-header.js';
import { segmentHeaderSchema } from '../helpers/segment-header-schema.js';

/** The reference: what the zod schema and the canonical check accept, and the value. */
function reference(line: Uint8Array): { ok: boolean; value?: unknown } {
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(line);
    json = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  const parsed = segmentHeaderSchema.safeParse(json);
  if (!parsed.success || canonicalize(parsed.data) !== text) return { ok: false };
  return { ok: true, value: parsed.data };
}

function outcome(line: Uint8Array): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: parseSegmentHeader(line) };
  } catch (err) {
    expect(hasCode(err, 'HEADER_INVALID')).toBe(true);
    return { ok: false };
  }
}

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toBase64);
const ts = fc.integer({ min: 0, max: 253_402_300_799_999 }).map((ms) => new Date(ms).toISOString());
const size = (max: number) =>
  fc.oneof(fc.integer({ min: 0, max }), fc.constantFrom(0, 1, max, max + 1, -1, 1.5, -0));
/** Frontiers of a few hashes, and at and past the 64 allowed. */
const frontier = fc.oneof(
  fc.array(hash, { maxLength: 5 }),
  fc.integer({ min: 63, max: 65 }).chain((n) => fc.array(hash, { minLength: n, maxLength: n })),
);
const header = fc.record({
  count: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.constantFrom(0, 1, MAX_SEGMENT_ENTRIES)),
  encoding: fc.constantFrom('identity', 'gzip'),
  firstIndex: fc.oneof(
    fc.integer({ min: 0, max: 1e9 }),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53),
  ),
  firstReceivedAt: ts,
  frontierAfter: frontier,
  frontierBefore: frontier,
  lastReceivedAt: ts,
  length: size(MAX_SEGMENT_BYTES),
  rawLength: size(MAX_SEGMENT_BYTES),
});
/** Values a field may be replaced with: near misses of every field's type and bounds. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    'identity',
    'gzip',
    'deflate',
    '2026-02-30T00:00:00.000Z',
    '2026-11-26T08:00:00Z',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    Array.from({ length: 64 }, () => 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='),
    Array.from({ length: 65 }, () => 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='),
    [1],
    MAX_SEGMENT_ENTRIES + 1,
    1e21,
  ),
);
const keys = [
  'count',
  'encoding',
  'firstIndex',
  'firstReceivedAt',
  'frontierAfter',
  'frontierBefore',
  'lastReceivedAt',
  'length',
  'rawLength',
];
const edited = fc
  .tuple(header, fc.constantFrom(...keys, 'extra', '__proto__'), fc.nat(2), oddValue, fc.boolean())
  .map(([h, key, op, value, canonical]) => {
    const v: Record<string, unknown> = { ...h };
    if (op === 0) delete v[key];
    else Object.defineProperty(v, key, { value, enumerable: true, writable: true });
    return utf8(canonical ? canonicalize(v as never) : JSON.stringify(v));
  });
const byteEdits = fc
  .tuple(
    header.map((h) => utf8(canonicalize(h))),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), {
      minLength: 1,
      maxLength: 2,
    }),
  )
  .map(([b, edits]) => {
    const out = [...b];
    for (const [at, byte, op] of edits) {
      const i = at % out.length;
      if (op === 0) out.splice(i, 1);
      else if (op === 1) out.splice(i, 0, byte);
      else out[i] = byte;
    }
    return Uint8Array.from(out);
  });

describe('parseSegmentHeader against the zod schema (differential)', () => {
  it('has the type the schema infers', () => {
    expectTypeOf<z.infer<typeof segmentHeaderSchema>>().toEqualTypeOf<SegmentHeader>();
  });

  it('accepts and refuses exactly what the schema does, with the same value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          header.map((h) => utf8(canonicalize(h))),
          header.map((h) => utf8(JSON.stringify(h, null, 1))),
          edited,
          byteEdits,
          fc.uint8Array({ maxLength: 30 }),
        ),
        (line) => {
          expect(outcome(line)).toEqual(reference(line));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts canonical headers', () => {
    let accepted = 0;
    fc.assert(
      fc.property(header, (h) => {
        const line = utf8(canonicalize(h));
        const r = reference(line);
        if (!r.ok) return;
        accepted++;
        expect(parseSegmentHeader(line)).toEqual(r.value);
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

describe('parseSegment reads its header with parseSegmentHeader', () => {
  // A golden segment (test/vectors/golden) up to its header line, then the line under test.
  const golden = readFileSync('test/vectors/golden/store/default/seg/00000000000000000000.seg');
  const headerStart = golden.indexOf('\n\n', golden.indexOf('\n\n') + 2) + 2;
  const head = golden.subarray(0, headerStart);

  it('refuses a header (HEADER_INVALID) exactly when the zod schema does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          header.map((h) => utf8(canonicalize(h))),
          edited,
        ),
        (line) => {
          const bytes = Buffer.concat([head, line, utf8('\n')]);
          let invalid = false;
          try {
            parseSegment(bytes);
          } catch (err) {
            invalid = hasCode(err, 'HEADER_INVALID');
          }
          expect(invalid).toBe(!reference(line).ok);
        },
      ),
      { numRuns: 500 },
    );
  });
});
