/**
 * Batch parsing (issue 14: per-event work off the sealing thread) against the one-line parser it
 * replaces in ingest, differentially: for any lines, valid events, mutated and hostile ones, each
 * line's outcome from parseEventBatch is what parseEventBytes + canonicalizeToBytes give (the
 * same bytes, or the same code, message, location and issues); and an entry spliced from an
 * event's canonical bytes (encodeEventEntry) is byte for byte the entry encodeEntry makes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalizeToBytes } from '../../src/core/canonical-json.js';
import { utf8 } from '../../src/core/encoding.js';
import {
  encodeEntry,
  encodeEventEntry,
  MAX_ENTRY_BYTES,
  makeEventEntry,
} from '../../src/core/entry.js';
import { AuditlockError, InputError } from '../../src/core/errors.js';
import { MAX_EVENT_BYTES } from '../../src/core/event.js';
import { lineAt, makeLineBatch, parseEventBatch, rejectError } from '../../src/core/event-batch.js';
import { parseEventBytes } from '../../src/core/event-line.js';
import { auditEvent, delivery, receivedAtMs } from '../helpers/arbitraries.js';

/** One line as ingest reads it: a valid event, written loosely or mutated, or hostile bytes. */
const line: fc.Arbitrary<Uint8Array> = fc.oneof(
  auditEvent().map((e) => utf8(JSON.stringify(e))),
  // Whitespace and key order of a producer that is not canonical.
  auditEvent().map((e) => utf8(JSON.stringify(e, Object.keys(e).reverse(), 1).replace(/\n/g, ' '))),
  // Numbers that canonicalise longer than they are written (1e2 -> 100).
  auditEvent().map((e) =>
    utf8(JSON.stringify({ ...e, detail: { n: 1 } }).replace('"n":1', '"n":1e20')),
  ),
  auditEvent().map((e) => utf8(JSON.stringify({ ...e, actor: { ...e.actor, extra: 1 } }))),
  auditEvent().map((e) => utf8(JSON.stringify({ ...e, outcome: 'maybe' }))),
  auditEvent().map((e) => utf8(`{"time":"x",${JSON.stringify(e).slice(1)}`)),
  fc
    .constantFrom('{', '[]', 'null', '{"a":1,"a":2}', '{"n":12345678901234567890}', '\u00e9\u00e9')
    .map(utf8),
  fc.uint8Array({ maxLength: 64 }),
);

describe('parseEventBatch', () => {
  it('gives each line the outcome parseEventBytes gives it, in line order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(line, fc.integer({ min: 1, max: 1e9 })), { maxLength: 12 }),
        (items) => {
          const lines = items.map(([content, number]) => ({ content, number }));
          const batch = makeLineBatch(lines);
          const parsed = parseEventBatch(batch);
          expect(parsed.ends.length).toBe(lines.length);
          let nextReject = 0;
          for (const [i, { content, number }] of lines.entries()) {
            expect(lineAt(batch, i)).toEqual(content);
            let expected: Uint8Array | InputError;
            try {
              expected = canonicalizeToBytes(parseEventBytes(content, number));
            } catch (err) {
              if (!(err instanceof InputError)) throw err;
              expected = err;
            }
            const reject = parsed.rejects[nextReject];
            if (expected instanceof InputError) {
              expect(reject?.index).toBe(i);
              nextReject++;
              const got = rejectError(reject as NonNullable<typeof reject>);
              expect(got).toBeInstanceOf(InputError);
              expect({ ...got, message: got.message }).toEqual({
                ...expected,
                message: expected.message,
              });
              expect(lineAt(parsed, i)).toHaveLength(0);
            } else {
              expect(reject?.index).not.toBe(i);
              expect(lineAt(parsed, i)).toEqual(expected);
            }
          }
          expect(nextReject).toBe(parsed.rejects.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('grows its output for events whose canonical form is longer than the batch', () => {
    // One line, 1e20 written in 4 bytes and canonically in 21: the output outgrows the input.
    const content = utf8(
      `{"time":"2026-01-01T00:00:00Z","action":"a","actor":{"id":"u"},"outcome":"success","detail":{${Array.from({ length: 400 }, (_, i) => `"k${i}":1e20`).join(',')}}}`,
    );
    const parsed = parseEventBatch(makeLineBatch([{ content, number: 1 }]));
    expect(parsed.rejects).toEqual([]);
    expect(lineAt(parsed, 0)).toEqual(canonicalizeToBytes(parseEventBytes(content, 1)));
    expect(lineAt(parsed, 0).length).toBeGreaterThan(content.length);
  });
});

describe('encodeEventEntry', () => {
  it('splices the same bytes encodeEntry(makeEventEntry(...)) makes', () => {
    fc.assert(
      fc.property(
        auditEvent(),
        receivedAtMs(),
        fc.option(delivery(), { nil: undefined }),
        (e, t, d) => {
          const spliced = encodeEventEntry(canonicalizeToBytes(e), t, d);
          expect(Buffer.from(spliced).toString('utf8')).toBe(
            Buffer.from(encodeEntry(makeEventEntry(e, t, d))).toString('utf8'),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses an entry over the limit and bytes holding a line feed', () => {
    const big = utf8(`{"detail":"${'x'.repeat(MAX_ENTRY_BYTES)}"}`);
    expect(() => encodeEventEntry(big, 0)).toThrow(
      expect.objectContaining({ code: 'ENTRY_TOO_LARGE' }),
    );
    const fits = utf8(`{"detail":"${'x'.repeat(MAX_EVENT_BYTES)}"}`);
    expect(encodeEventEntry(fits, 0).length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(() => encodeEventEntry(utf8('{"a":"\n"}'), 0)).toThrow(AuditlockError);
    expect(() => encodeEventEntry(utf8('{"a":"\n"}'), 0)).toThrow(
      expect.objectContaining({ code: 'ENTRY_NEWLINE' }),
    );
  });

  it('refuses a delivery a reader would refuse', () => {
    expect(() => encodeEventEntry(utf8('{}'), 0, { source: 'Bad Source' })).toThrow(
      expect.objectContaining({ code: 'DELIVERY_INVALID' }),
    );
  });
});
