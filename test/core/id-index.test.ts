/**
 * Event-id index files (FORMAT.md §7.2): the exact byte layout, a round trip for random ids
 * (every id found, others almost never), and each kind of malformed file refused with a reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../src/core/encoding.js';
import { sha256 } from '../../src/core/hash.js';
import { encodeIdIndex, eventIdsOf, hasTag, idTag, parseIdIndex } from '../../src/core/id-index.js';

const HASH = sha256(utf8('a segment'));

describe('event-id index files', () => {
  it('lays out magic, segment hash, count and ascending tags as FORMAT.md §7.2 says', () => {
    // Act
    const bytes = encodeIdIndex(HASH, ['b', 'a', 'a']);

    // Assess
    expect(fromUtf8(bytes.subarray(0, 16))).toBe('auditlock-ids/1\n');
    expect(bytes.subarray(16, 48)).toEqual(HASH);
    expect(new DataView(bytes.buffer).getUint32(48)).toBe(3);
    expect(bytes.length).toBe(52 + 3 * 8);
    const tags = [0, 1, 2].map((i) =>
      Buffer.from(bytes.subarray(52 + 8 * i, 60 + 8 * i)).toString('hex'),
    );
    const expected = ['a', 'a', 'b']
      .map((id) => Buffer.from(sha256(utf8(id)).subarray(0, 8)).toString('hex'))
      .sort();
    expect(tags).toEqual(expected);
  });

  it('finds every id it was made from', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 200 }),
        (ids) => {
          const index = parseIdIndex(encodeIdIndex(HASH, ids));
          expect(index.count).toBe(ids.length);
          expect(index.segmentHash).toEqual(HASH);
          for (const id of ids) expect(hasTag(index, idTag(id))).toBe(true);
          if (!ids.includes('not-there')) expect(hasTag(index, idTag('not-there'))).toBe(false);
        },
      ),
    );
  });

  it('refuses a wrong header, a wrong length and tags out of order', () => {
    const good = encodeIdIndex(HASH, ['x', 'y', 'z']);
    const magic = good.slice();
    magic[9] = 0x5f;
    const short = good.slice(0, good.length - 1);
    const count = good.slice();
    count[51] = 4;
    const swapped = good.slice();
    swapped.set(good.subarray(60, 68), 52);
    swapped.set(good.subarray(52, 60), 60);
    for (const [bytes, why] of [
      [magic, /header/],
      [short, /holds/],
      [count, /says 4 tags/],
      [swapped, /must ascend/],
      [new Uint8Array(10), /header/],
    ] as const)
      expect(() => parseIdIndex(bytes)).toThrow(
        expect.objectContaining({
          code: 'ID_INDEX_MALFORMED',
          message: expect.stringMatching(why),
        }),
      );
  });

  it('takes the ids of event entries only, and refuses a leaf that is not JSON', () => {
    const leaves = [
      { kind: 'event', receivedAt: 't', event: { id: 'e-1' } },
      { kind: 'event', receivedAt: 't', event: {} },
      { kind: 'quarantine', event: { id: 'q-1' } },
      { kind: 'event', event: { id: 'e-2' } },
    ].map((e) => utf8(JSON.stringify(e)));
    expect(eventIdsOf(leaves, 'segment 1')).toEqual(['e-1', 'e-2']);
    expect(() => eventIdsOf([utf8('{')], 'segment 1')).toThrow(
      expect.objectContaining({ code: 'ENTRY_INVALID', message: 'segment 1 leaf 0 is not JSON' }),
    );
  });
});
