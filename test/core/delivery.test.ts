/**
 * The writer's delivery check (core/delivery.ts, by hand so that making entries loads no zod) and
 * the entry schema that reads stored deliveries (entry.ts) give the same verdict on any value: a
 * delivery the writer accepts is one every reader accepts, and the other way round.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/canonical-json.js';
import { checkDelivery } from '../../src/core/delivery.js';
import { utf8 } from '../../src/core/encoding.js';
import { type Delivery, decodeEntry } from '../../src/core/entry.js';
import { InputError } from '../../src/core/errors.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const event = sampleEvent(1);

/** Whether the entry schema reads an event entry with this delivery. */
function schemaAccepts(delivery: unknown): boolean {
  const entry = { kind: 'event', receivedAt: '2026-12-03T10:00:00.000Z', event, delivery };
  try {
    decodeEntry(utf8(canonicalize(entry)));
    return true;
  } catch {
    return false;
  }
}

function writerAccepts(delivery: unknown): boolean {
  try {
    checkDelivery(delivery as Delivery);
    return true;
  } catch (err) {
    expect((err as { code?: string }).code).toBe('DELIVERY_INVALID');
    return false;
  }
}

const text = fc.oneof(
  fc.constantFrom('sqs', 'cli', 'a', 'A', '', '-x', 'a'.repeat(32), 'a'.repeat(33), 'x.y_z-1'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom(
    'stdin:\n1',
    'a\u007fb',
    '\uD800',
    'ok\uD83D\uDE00',
    'x'.repeat(512),
    'x'.repeat(513),
  ),
);
const member = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]));

describe('checkDelivery', () => {
  it('accepts exactly the deliveries the entry schema reads', () => {
    fc.assert(
      fc.property(
        fc.record(
          { source: member, id: member, extra: member },
          { requiredKeys: [], noNullPrototype: true },
        ),
        (delivery) => {
          expect(writerAccepts(delivery)).toBe(schemaAccepts(delivery));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts non-objects never, as the schema', () => {
    for (const value of [null, 'sqs', 1, ['sqs']])
      expect([writerAccepts(value), schemaAccepts(value)]).toEqual([false, false]);
  });

  it('names at most five issues in its message, as every summary of issues does, and keeps them all', () => {
    const extra = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x${i}`, i]));
    let err: unknown;
    try {
      checkDelivery({ source: 'sqs', ...extra } as Delivery);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const { message, issues } = err as InputError;
    expect(issues).toHaveLength(9);
    expect(message).toBe(
      'invalid delivery: x0: unexpected member (not allowed here); x1: unexpected member (not allowed here); x2: unexpected member (not allowed here); x3: unexpected member (not allowed here); x4: unexpected member (not allowed here); and 4 more',
    );
  });

  it('returns a copy with the members given', () => {
    const given = { source: 'cli', id: 'in.jsonl:1:x' };
    const checked = checkDelivery(given);
    expect(checked).toEqual(given);
    expect(checked).not.toBe(given);
    expect(checkDelivery({ source: 'sqs' })).toEqual({ source: 'sqs' });
  });
});
