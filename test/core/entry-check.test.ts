/**
 * checkEntryBytes: the verifier's per-entry check. Its fast path (a byte scanner) must agree with
 * the reference it replaces (JSON.parse plus the structural rules) on every input, and hostile
 * entries (oversized, deeply nested) must be refused before JSON.parse ever sees them.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeEntry, encodeEntry, MAX_ENTRY_BYTES } from '../../src/core/entry.js';
import { checkEntryBytes, MAX_ENTRY_DEPTH, nestsDeeperThan } from '../../src/core/entry-check.js';
import { MAX_DETAIL_DEPTH } from '../../src/core/event.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { entry } from '../helpers/arbitraries.js';

const enc = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

afterEach(() => {
  vi.restoreAllMocks();
});

/** Nesting depth of a parsed JSON value (a scalar is 0). */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depthOf(x));
  return d + 1;
}

/** The rules of the structural check, written the slow, obvious way. */
function reference(bytes: Uint8Array): { ok: boolean; kind?: string; receivedAt?: number } {
  if (bytes.length > MAX_ENTRY_BYTES) return { ok: false };
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return { ok: false };
  }
  if (depthOf(v) > MAX_ENTRY_DEPTH) return { ok: false };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false };
  const { kind, receivedAt } = v as Record<string, unknown>;
  if ((kind !== 'event' && kind !== 'quarantine') || typeof receivedAt !== 'string')
    return { ok: false };
  try {
    return { ok: true, kind, receivedAt: parseTimestamp(receivedAt) };
  } catch {
    return { ok: false };
  }
}

function outcome(bytes: Uint8Array): { ok: boolean; kind?: string; receivedAt?: number } {
  const r = checkEntryBytes(bytes);
  return r.ok ? { ok: true, kind: r.kind, receivedAt: r.receivedAt } : { ok: false };
}

const nested = (depth: number, inner = '0') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

describe('checkEntryBytes bounds (hostile entries are refused unparsed)', () => {
  it('refuses an entry over MAX_ENTRY_BYTES without JSON.parse, on both paths', () => {
    // Prepare: one huge entry of nested brackets, as a bomb would hold.
    const huge = enc.encode(nested(MAX_ENTRY_BYTES));
    const parse = vi.spyOn(JSON, 'parse');
    // Act
    const fast = checkEntryBytes(huge);
    const strict = checkEntryBytes(huge, decodeEntry);
    // Assess
    expect(fast.ok).toBe(false);
    expect(strict.ok).toBe(false);
    expect(parse).not.toHaveBeenCalled();
  });

  it('refuses nesting deeper than MAX_ENTRY_DEPTH without JSON.parse, on both paths', () => {
    // Prepare: deep but small, in the shapes the scanner hands over (array, escaped key, object).
    const bombs = [
      nested(100_000),
      `{"kind":"event","receivedAt":"2026-11-26T08:00:00.000Z","x":${nested(MAX_ENTRY_DEPTH)}}`,
      `{"\\u006bind":${nested(MAX_ENTRY_DEPTH + 1)}}`,
      `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
    ].map((s) => enc.encode(s));
    const parse = vi.spyOn(JSON, 'parse');
    for (const b of bombs) {
      // Act / Assess
      expect(b.length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
      expect(checkEntryBytes(b).ok).toBe(false);
      expect(checkEntryBytes(b, decodeEntry).ok).toBe(false);
    }
    expect(parse).not.toHaveBeenCalled();
  });

  it('leaves room for the deepest valid entry', () => {
    expect(2 + MAX_DETAIL_DEPTH).toBeLessThan(MAX_ENTRY_DEPTH);
    expect(nestsDeeperThan(enc.encode(nested(MAX_ENTRY_DEPTH)), MAX_ENTRY_DEPTH)).toBe(false);
    expect(nestsDeeperThan(enc.encode(nested(MAX_ENTRY_DEPTH + 1)), MAX_ENTRY_DEPTH)).toBe(true);
    // Brackets inside strings (escaped quotes included) are not nesting.
    expect(nestsDeeperThan(enc.encode(`["\\"${'['.repeat(100)}"]`), 2)).toBe(false);
  });
});

describe('the scanner against JSON.parse (differential)', () => {
  const ts = fc
    .integer({ min: 0, max: 253_402_300_799_999 })
    .map((ms) => new Date(ms).toISOString());
  const member = fc.oneof(
    fc.constant('"kind":"event"'),
    fc.constant('"kind":"quarantine"'),
    fc.constant('"kind":"Event"'),
    fc.constant('"kind":1'),
    fc.constant('"k\\u0069nd":"event"'),
    fc.constant('"kind":"ev\\u0065nt"'),
    ts.map((t) => `"receivedAt":"${t}"`),
    fc.constant('"receivedAt":"2026-02-30T00:00:00.000Z"'),
    fc.constant('"receivedAt":"2026-11-26T08:00:00Z"'),
    fc.constant('"receivedAt":null'),
    fc
      .tuple(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }))
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`),
    fc.integer({ min: 60, max: 70 }).map((d) => `"deep":${nested(d)}`),
  );
  const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n ', '\u00a0', '\f');
  const objectText = fc
    .tuple(fc.array(fc.tuple(space, member, space), { maxLength: 6 }), space, space)
    .map(([ms, a, b]) => `${a}{${ms.map(([x, m, y]) => `${x}${m}${y}`).join(',')}}${b}`);
  const alphabet = [
    ...'{}[]",:\\/ 0123456789.-+eEtrufalsn\u00e9\u{1f600}',
    '\\u00',
    'kind',
    'event',
  ];
  const noise = fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((a) => a.join(''));
  /** Edits a byte string: deletes, inserts or replaces a few bytes. */
  const mutated = (base: fc.Arbitrary<Uint8Array>) =>
    fc
      .tuple(
        base,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), {
          minLength: 1,
          maxLength: 3,
        }),
      )
      .map(([b, edits]) => {
        const out = [...b];
        for (const [at, byte, op] of edits) {
          const i = out.length === 0 ? 0 : at % out.length;
          if (op === 0) out.splice(i, 1);
          else if (op === 1) out.splice(i, 0, byte);
          else out[i] = byte;
        }
        return Uint8Array.from(out);
      });
  const validEntry = entry().map((e) => encodeEntry(e));
  const inputs = fc.oneof(
    validEntry,
    objectText.map((s) => enc.encode(s)),
    mutated(validEntry),
    mutated(objectText.map((s) => enc.encode(s))),
    noise.map((s) => enc.encode(s)),
    fc.uint8Array({ maxLength: 40 }),
  );

  it('agrees with the reference on every input', () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        expect(outcome(bytes)).toEqual(reference(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every valid entry, with its kind and receive time', () => {
    fc.assert(
      fc.property(entry(), (e) => {
        const r = checkEntryBytes(encodeEntry(e));
        expect(r).toEqual({ ok: true, kind: e.kind, receivedAt: parseTimestamp(e.receivedAt) });
      }),
      { numRuns: 300 },
    );
  });
});
