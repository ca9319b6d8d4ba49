/**
 * "Exactly one byte form" as properties (docs/FORMAT.md §4): every segment the writer's functions
 * make parses into parts that reassemble to the same bytes, and any other byte string made from
 * it, whether it still parses or not, is reported by full verification. Plus the one change a
 * byte-level mutation cannot make: an ECDSA signature replaced by its malleated twin (r, n - s).
 */
import { verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encodeDerSignature,
  isCanonicalSignature,
  parseDerSignature,
} from '../../src/core/ecdsa.js';
import { encodeEntry } from '../../src/core/entry.js';
import { signNoteText } from '../../src/core/note.js';
import { assembleSegment, encodePayload, parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { entry } from '../helpers/arbitraries.js';
import { makeKey, type TestKey } from '../helpers/log-fixture.js';
import { concat, sealedSegment, verifyCodes } from './segment-builder.js';

/** P-256 group order (FIPS 186-4 D.1.2.3). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

let key: TestKey;
let second: TestKey;

beforeAll(() => {
  key = makeKey('main');
  second = makeKey('second');
});

const segmentInput = fc.record({
  entries: fc.array(entry(), { minLength: 1, maxLength: 6 }),
  encoding: fc.constantFrom('identity', 'gzip' as const),
  twoSigners: fc.boolean(),
});

/** A segment made only by the writer's functions (one or two signatures). */
async function writerSegment(input: {
  entries: readonly Parameters<typeof encodeEntry>[0][];
  encoding: 'identity' | 'gzip';
  twoSigners: boolean;
}): Promise<Uint8Array> {
  // Entries in receive order, as the archiver stamps them.
  const entries = [...input.entries]
    .sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0))
    .map((e) => encodeEntry(e));
  const times = input.entries.map((e) => parseTimestamp(e.receivedAt)).sort((x, y) => x - y);
  const { bytes } = await sealedSegment(key, {
    entries,
    encoding: input.encoding,
    firstReceivedAt: times[0],
    lastReceivedAt: times[times.length - 1],
  });
  if (!input.twoSigners) return bytes;
  const p = parseSegment(bytes);
  const extra = await signNoteText(p.noteText, p.checkpoint.origin, second.signer);
  return assembleSegment(p.noteText, [...p.signatures, extra], p.payload);
}

/** One edit of a byte string; the result always differs from the input. */
type Edit =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate-line'; line: number }
  | { kind: 'swap-lines'; line: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat(20) }),
  fc.record({ kind: fc.constant('swap-lines' as const), line: fc.nat(20) }),
);

function applyEdit(bytes: Uint8Array, e: Edit): Uint8Array {
  // A truncation to nothing leaves nothing for a later edit to work on (no byte, no line).
  if (bytes.length === 0) return bytes;
  const at = 'at' in e ? e.at % bytes.length : 0;
  switch (e.kind) {
    case 'flip': {
      const out = Uint8Array.from(bytes);
      out[at] = (out[at] as number) ^ e.xor;
      return out;
    }
    case 'insert':
      return concat(bytes.subarray(0, at), Uint8Array.of(e.byte), bytes.subarray(at));
    case 'delete':
      return concat(bytes.subarray(0, at), bytes.subarray(at + 1));
    case 'truncate':
      return bytes.subarray(0, at);
    default: {
      // Lines of the text part (magic .. header): the body may be binary.
      const lines: Uint8Array[] = [];
      let start = 0;
      for (let i = 0; i < 16; i++) {
        const end = bytes.indexOf(0x0a, start);
        if (end < 0) break;
        lines.push(bytes.subarray(start, end + 1));
        start = end + 1;
      }
      const rest = bytes.subarray(start);
      // An earlier edit may have cut every line feed: nothing to duplicate or swap.
      if (lines.length === 0) return bytes;
      const i = e.line % lines.length;
      const j = (i + 1) % lines.length;
      if (e.kind === 'duplicate-line') lines.splice(i, 0, lines[i] as Uint8Array);
      else [lines[i], lines[j]] = [lines[j] as Uint8Array, lines[i] as Uint8Array];
      return concat(...lines, rest);
    }
  }
}

describe('one byte form (properties over writer output)', () => {
  it('parse then reassemble gives the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(segmentInput, async (input) => {
        const bytes = await writerSegment(input);
        const p = parseSegment(bytes);
        const again = assembleSegment(p.noteText, p.signatures, encodePayload(p.header, p.body));
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        const trusted = input.twoSigners ? [key.trusted, second.trusted] : [key.trusted];
        expect(verifyCodes(bytes, trusted)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('any other byte string made from it is reported by full verification', async () => {
    await fc.assert(
      fc.asyncProperty(
        segmentInput,
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        async (input, edits) => {
          const bytes = await writerSegment(input);
          const changed = edits.reduce(applyEdit, bytes);
          fc.pre(!Buffer.from(changed).equals(Buffer.from(bytes)));
          const trusted = input.twoSigners ? [key.trusted, second.trusted] : [key.trusted];
          expect(verifyCodes(changed, trusted)).not.toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('signature malleability', () => {
  it('rejects the malleated twin (r, n - s) of a valid signature, which node:crypto accepts', async () => {
    // Prepare: the writer's low-S signature and its high-S twin over the same note text.
    const { bytes } = await sealedSegment(key);
    const p = parseSegment(bytes);
    const sig = p.signatures[0];
    if (!sig) throw new Error('no signature');
    const { r, s } = parseDerSignature(sig.signature);
    const twin = encodeDerSignature({ r, s: N - s });
    const message = new TextEncoder().encode(p.noteText);
    const spki = { key: Buffer.from(key.spki), format: 'der' as const, type: 'spki' as const };
    expect(nodeVerify('sha256', message, spki, twin)).toBe(true);
    expect(isCanonicalSignature(twin)).toBe(false);
    const malleated = assembleSegment(p.noteText, [{ ...sig, signature: twin }], p.payload);
    // Act / Assess: a different object, with a mathematically valid signature, refused.
    expect(Buffer.from(malleated).equals(Buffer.from(bytes))).toBe(false);
    expect(verifyCodes(malleated, [key.trusted])).toEqual(['SIGNATURE_INVALID']);
    expect(verifyCodes(bytes, [key.trusted])).toEqual([]);
  });
});
