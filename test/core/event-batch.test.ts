/**
 * Batch parsing (issue 14: per-event work off the sealing thread) against the one-line parser it
 * replaces in ingest, differentially: for any lines, valid events, mutated and hostile ones, each
 * line's outcome from parseEventBatch is what parseEventBytes + canonicalizeToBytes give (the
 * same bytes, or the same code, message, location and issues); and, stamped, each event's entry
 * and leaf hash are byte for byte what encodeEntry(makeEventEntry(...)) and hashLeaf make. With
 * the accept-only validator of the parse workers (acceptOnlyEvent), a batch either comes out the
 * same, byte for byte and reject for reject, or is refused whole with SchemaNeededError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalizeToBytes } from '../../src/core/canonical-json.js';
import { fromUtf8, utf8 } from '../../src/core/encoding.js';
import { encodeEntry, makeEventEntry } from '../../src/core/entry.js';
import { InputError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import {
  acceptEvent,
  acceptOnlyEvent,
  type EventValidator,
  SchemaNeededError,
} from '../../src/core/event-accept.js';
import {
  type LineBatch,
  lineAt,
  makeLineBatch,
  type ParsedBatch,
  parsedBatchSize,
  parseEventBatch,
  rejectError,
} from '../../src/core/event-batch.js';
import { parseEventBytes } from '../../src/core/event-line.js';
import { formatInputDeliveryId, inputNameOf } from '../../src/core/input-delivery.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { auditEvent, receivedAtMs } from '../helpers/arbitraries.js';
import { sampleEvent } from '../helpers/log-fixture.js';
import { NEAR_LIMIT_EVENT } from '../helpers/near-limit-event.js';

const nearLimit = utf8(JSON.stringify(NEAR_LIMIT_EVENT));

/** One line as ingest reads it: a valid event, written loosely or mutated, or hostile bytes. */
const line: fc.Arbitrary<Uint8Array> = fc.oneof(
  auditEvent().map((e) => utf8(JSON.stringify(e))),
  // Whitespace and key order of a producer that is not canonical.
  auditEvent().map((e) => utf8(JSON.stringify(e, Object.keys(e).reverse(), 1).replace(/\n/g, ' '))),
  // Numbers that canonicalise longer than they are written (1e2 -> 100).
  auditEvent().map((e) =>
    utf8(JSON.stringify({ ...e, detail: { n: 1 } }).replace('"n":1', '"n":1e20')),
  ),
  // Text at every UTF-8 length, in values and member names (written straight into the entry's
  // bytes when the line has no backslash).
  auditEvent().map((e) =>
    utf8(
      JSON.stringify({
        ...e,
        actor: { ...e.actor, name: 'Fran\u00e7ois \u0141ukasz \u65e5\u672c \ud83d\ude00' },
        detail: { 'cl\u00e9': '\u00ff\u07ff\u0800\uffff', '\ud800\udc00': 1, '\uffff': [2] },
      }),
    ),
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
          const parsed = parseEventBatch(batch, parseEvent);
          expect(parsed.ends.length).toBe(lines.length);
          let nextReject = 0;
          for (const [i, { content, number }] of lines.entries()) {
            expect(lineAt(batch, i)).toEqual(content);
            let expected: Uint8Array | InputError;
            try {
              expected = canonicalizeToBytes(parseEventBytes(content, number, parseEvent));
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
    const parsed = parseEventBatch(makeLineBatch([{ content, number: 1 }]), parseEvent);
    expect(parsed.rejects).toEqual([]);
    expect(lineAt(parsed, 0)).toEqual(canonicalizeToBytes(parseEventBytes(content, 1, parseEvent)));
    expect(lineAt(parsed, 0).length).toBeGreaterThan(content.length);
  });
});

describe('parseEventBatch with a stamp', () => {
  /** Any input name ingest may record: quotes, backslashes, non-ASCII, control characters cleaned. */
  const inputName = fc
    .oneof(fc.string({ maxLength: 300 }), fc.constantFrom('events.jsonl', 'a"b\\c', 'é/日本'))
    .map(inputNameOf);

  it('makes the entry of each event, byte for byte what encodeEntry(makeEventEntry(...)) makes, and its leaf hash', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(line, fc.integer({ min: 1, max: 2 ** 53 - 1 })), { maxLength: 8 }),
        inputName,
        receivedAtMs(),
        fc.uint8Array({ minLength: 32 * 8, maxLength: 32 * 8 }),
        (items, name, t, chainBytes) => {
          const lines = items.map(([content, number]) => ({ content, number }));
          const plain = makeLineBatch(lines);
          const chains = chainBytes.slice(0, 32 * lines.length);
          const stamp = { receivedAt: t, inputName: name, chains };
          const parsed = parseEventBatch({ ...plain, stamp }, parseEvent);
          const unstamped = parseEventBatch(plain, parseEvent);
          expect(parsed.rejects).toEqual(unstamped.rejects);
          const rejected = new Set(parsed.rejects.map((r) => r.index));
          for (const [i, { content, number }] of lines.entries()) {
            const leaf = parsed.leaves?.subarray(32 * i, 32 * (i + 1));
            if (rejected.has(i)) {
              expect(lineAt(parsed, i)).toHaveLength(0);
              expect(leaf).toEqual(new Uint8Array(32));
              continue;
            }
            const chain = chains.subarray(32 * i, 32 * (i + 1));
            const d = { source: 'cli', id: formatInputDeliveryId(name, number, chain) };
            const expected = encodeEntry(
              makeEventEntry(parseEventBytes(content, number, parseEvent), t, d),
            );
            expect(fromUtf8(lineAt(parsed, i))).toBe(fromUtf8(expected));
            expect(leaf).toEqual(hashLeaf(expected));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseEventBatch with a spare buffer', () => {
  it('writes the same result into a spare that is large enough, over what it held, and not into one too small', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), receivedAtMs(), (items, t) => {
        const plain = makeLineBatch(items.map((content, i) => ({ content, number: i + 1 })));
        const stamp = {
          receivedAt: t,
          inputName: 'in.jsonl',
          chains: new Uint8Array(32 * items.length),
        };
        const batch: LineBatch = { ...plain, stamp };
        const alone = parseEventBatch(batch, parseEvent);
        // Garbage from an earlier batch: every byte of the result is written anew.
        const spare = new Uint8Array(parsedBatchSize(batch)).fill(0xa5);
        const inSpare = parseEventBatch({ ...batch, spare }, parseEvent);
        const small = new Uint8Array(parsedBatchSize(batch) - 1);
        const notInSmall = parseEventBatch({ ...batch, spare: small }, parseEvent);
        expect(Buffer.from(inSpare.bytes).equals(Buffer.from(alone.bytes))).toBe(true);
        expect(inSpare.ends).toEqual(alone.ends);
        expect(inSpare.rejects).toEqual(alone.rejects);
        expect(notInSmall.bytes.buffer).not.toBe(small.buffer);
        expect(Buffer.from(notInSmall.bytes).equals(Buffer.from(alone.bytes))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('writes a batch of ordinary events into the spare itself', () => {
    const lines = Array.from({ length: 20 }, (_, i) => ({
      content: utf8(JSON.stringify(sampleEvent(i))),
      number: i + 1,
    }));
    const stamp = { receivedAt: 1e12, inputName: 'in.jsonl', chains: new Uint8Array(32 * 20) };
    const batch: LineBatch = { ...makeLineBatch(lines), stamp };
    const spare = new Uint8Array(parsedBatchSize(batch));
    const parsed = parseEventBatch({ ...batch, spare }, parseEvent);
    expect(parsed.rejects).toEqual([]);
    expect(parsed.bytes.buffer).toBe(spare.buffer);
  });

  it('sizes a batch whose stamp it cannot format without throwing (the parse reports it)', () => {
    const plain = makeLineBatch([{ content: utf8('{}'), number: 1 }]);
    const stamp = { receivedAt: Number.NaN, inputName: 'in', chains: new Uint8Array(32) };
    expect(parsedBatchSize({ ...plain, stamp })).toBeGreaterThan(0);
    expect(() => parseEventBatch({ ...plain, stamp }, parseEvent)).toThrow();
  });
});

describe('parseEventBatch with the accept-only validator (parse workers before they load zod)', () => {
  /** The outcome of a batch with `validate`: the parsed batch, or the SchemaNeededError. */
  const outcome = (batch: LineBatch, validate: EventValidator): ParsedBatch | 'schema' => {
    try {
      return parseEventBatch(batch, validate);
    } catch (err) {
      if (err instanceof SchemaNeededError) return 'schema';
      throw err;
    }
  };

  it('leaves the near-limit event to zod, which accepts it', () => {
    expect(acceptEvent(NEAR_LIMIT_EVENT)).toBeUndefined();
    expect(parseEvent(NEAR_LIMIT_EVENT)).toEqual(NEAR_LIMIT_EVENT);
    const batch = makeLineBatch([{ content: nearLimit, number: 1 }]);
    expect(outcome(batch, acceptOnlyEvent)).toBe('schema');
    expect(parseEventBatch(batch, parseEvent).rejects).toEqual([]);
  });

  it('gives what parseEvent gives, stamped or not, or asks for the schema; asks exactly when a line needs zod', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              { arbitrary: line, weight: 9 },
              { arbitrary: fc.constant(nearLimit), weight: 1 },
            ),
            fc.integer({ min: 1, max: 1e9 }),
          ),
          { maxLength: 10 },
        ),
        fc.option(
          fc.record({
            receivedAt: receivedAtMs(),
            inputName: fc.string({ maxLength: 40 }).map(inputNameOf),
          }),
          { nil: undefined },
        ),
        (items, stampParts) => {
          const lines = items.map(([content, number]) => ({ content, number }));
          const plain = makeLineBatch(lines);
          const batch = stampParts
            ? { ...plain, stamp: { ...stampParts, chains: new Uint8Array(32 * lines.length) } }
            : plain;
          const full = parseEventBatch(batch, parseEvent);
          const fast = outcome(batch, acceptOnlyEvent);
          // Invalid events (zod words their issues) and the near-limit event need zod; lines
          // refused before the schema (size, UTF-8, JSON) do not.
          const needsZod =
            full.rejects.some((r) => r.code === 'EVENT_INVALID') ||
            lines.some((l) => Buffer.from(l.content).equals(nearLimit));
          expect(fast === 'schema').toBe(needsZod);
          if (fast === 'schema') return;
          expect(fast.rejects).toEqual(full.rejects);
          expect(fast.ends).toEqual(full.ends);
          expect(fromUtf8(fast.bytes)).toBe(fromUtf8(full.bytes));
          expect(fast.leaves).toEqual(full.leaves);
        },
      ),
      { numRuns: 300 },
    );
  });
});
