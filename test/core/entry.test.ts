import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/canonical-json.js';
import {
  decodeEntry,
  type Entry,
  encodeEntry,
  MAX_ENTRY_BYTES,
  MAX_QUARANTINE_ISSUES,
  makeEventEntry,
  makeQuarantineEntry,
  QUARANTINE_RAW_MAX,
} from '../../src/core/entry.js';
import { AuditlockError, InputError, IntegrityError } from '../../src/core/errors.js';
import { MAX_EVENT_BYTES, parseEvent, parseEventLine } from '../../src/core/event.js';
import { formatTimestamp, parseTimestamp } from '../../src/core/timestamp.js';
import {
  auditEvent,
  delivery,
  entry,
  quarantineEntry,
  receivedAtMs,
} from '../helpers/arbitraries.js';

const RECEIVED = Date.UTC(2026, 10, 26, 8, 16, 35, 123);
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');

const event = parseEvent({
  time: '2026-11-26T08:16:35Z',
  action: 'user.login',
  actor: { id: 'zoe', name: 'Zoë' },
  outcome: 'success',
  detail: { b: 1, a: [true] },
});

/** Runs `fn`, expecting an AuditlockError subclass; returns it for code checks. */
function caught<E extends AuditlockError>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuditlockError) return e as E;
    throw e;
  }
  throw new Error('expected an AuditlockError');
}

/** decodeEntry must refuse `bytes` with IntegrityError ENTRY_INVALID. */
function expectInvalid(bytes: Uint8Array | string): void {
  const err = caught(() => decodeEntry(typeof bytes === 'string' ? utf8(bytes) : bytes, 'leaf 7'));
  expect(err).toBeInstanceOf(IntegrityError);
  expect(err.code).toBe('ENTRY_INVALID');
}

describe('stored form (golden: changing these breaks every archive)', () => {
  it('an event entry', () => {
    const stored = encodeEntry(makeEventEntry(event, RECEIVED, { source: 'cli', id: 'stdin:1' }));
    expect(text(stored)).toBe(
      '{"delivery":{"id":"stdin:1","source":"cli"},"event":{"action":"user.login",' +
        '"actor":{"id":"zoe","name":"Zoë"},"detail":{"a":[true],"b":1},"outcome":"success",' +
        '"time":"2026-11-26T08:16:35Z"},"kind":"event","receivedAt":"2026-11-26T08:16:35.123Z"}',
    );
  });

  it('a quarantine entry for text and for binary input', () => {
    const err = new InputError('JSON_INVALID', 'line 3: not JSON', {
      issues: [{ path: '', message: 'x' }],
    });

    const asText = encodeEntry(makeQuarantineEntry(utf8('{"oops"'), err, RECEIVED));
    const asBinary = encodeEntry(
      makeQuarantineEntry(new Uint8Array([0xff, 0x00, 0x41]), err, RECEIVED),
    );

    expect(text(asText)).toBe(
      '{"error":{"code":"JSON_INVALID","issues":[{"message":"x","path":""}],"message":"line 3: not JSON"},' +
        '"kind":"quarantine","raw":{"data":"{\\"oops\\"","encoding":"utf8",' +
        '"sha256":"wWuAwuKzEIBk7MEO1KHfxUcVwi9JhTGG4nQjIa85k2k=","size":7,"truncated":false},' +
        '"receivedAt":"2026-11-26T08:16:35.123Z"}',
    );
    expect(text(asBinary)).toContain(
      '"raw":{"data":"/wBB","encoding":"base64","sha256":"D6PmJRF3nwOYt3ytN7PMR2O7liU7kfzWFQD4qXmtmSA=","size":3,"truncated":false}',
    );
  });
});

describe('round trips', () => {
  it('valid events survive parse → entry → encode → decode unchanged', () => {
    fc.assert(
      fc.property(
        auditEvent(),
        receivedAtMs(),
        fc.option(delivery(), { nil: undefined }),
        (input, ms, d) => {
          const line = JSON.stringify(input);
          const made = makeEventEntry(parseEventLine(line, 1), ms, d);

          const bytes = encodeEntry(made);
          const decoded = decodeEntry(bytes);

          expect(decoded).toEqual(made);
          expect(decoded.kind === 'event' && decoded.event).toEqual(input);
          expect(encodeEntry(decoded)).toEqual(bytes);
        },
      ),
    );
  });

  it('any entry re-encodes to the same bytes, whatever the member order', () => {
    fc.assert(
      fc.property(entry(), (e) => {
        const bytes = encodeEntry(e);
        const reordered = reverseMembers(e) as Entry;
        expect(encodeEntry(reordered)).toEqual(bytes);
        expect(bytes.includes(0x0a)).toBe(false);
        expect(bytes.length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
      }),
    );
  });

  it('quarantine of arbitrary bytes round-trips and caps what it keeps', () => {
    fc.assert(
      fc.property(quarantineEntry(), (q) => {
        expect(decodeEntry(encodeEntry(q))).toEqual(q);
        expect(q.error.issues.length).toBeLessThanOrEqual(MAX_QUARANTINE_ISSUES);
        expect(q.raw.truncated).toBe(q.raw.size > QUARANTINE_RAW_MAX);
      }),
    );
  });

  it('quarantine keeps exactly the first 64 KiB and hashes everything', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), (raw) => {
        const q = makeQuarantineEntry(raw, new AuditlockError('X', 'x'), RECEIVED);
        const kept =
          q.raw.encoding === 'utf8' ? utf8(q.raw.data) : Buffer.from(q.raw.data, 'base64');
        expect(Buffer.from(kept)).toEqual(Buffer.from(raw.subarray(0, QUARANTINE_RAW_MAX)));
        expect(q.raw.size).toBe(raw.length);
        expect(q.raw.sha256).toBe(sha256(raw));
      }),
      { numRuns: 30 },
    );
  });
});

describe('makeQuarantineEntry', () => {
  const err = new InputError('EVENT_INVALID', 'bad');

  it.each([
    ['readable UTF-8 text', utf8('{"a":"Zoë\t😀"}\r\n'), 'utf8'],
    ['text with a NUL', utf8('a\u0000b'), 'base64'],
    ['text with ESC', utf8('a\u001bb'), 'base64'],
    ['invalid UTF-8', new Uint8Array([0x61, 0xc3]), 'base64'],
    ['an overlong encoding', new Uint8Array([0xc0, 0xaf]), 'base64'],
    ['a UTF-8 BOM', new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 'utf8'],
    ['empty input', new Uint8Array(0), 'utf8'],
  ])('stores %s as %s', (_name, raw, encoding) => {
    const q = makeQuarantineEntry(raw, err, RECEIVED);
    expect(q.raw.encoding).toBe(encoding);
    expect(decodeEntry(encodeEntry(q))).toEqual(q);
  });

  it('truncates at 64 KiB, and falls back to base64 when the cut splits a character', () => {
    const exact = makeQuarantineEntry(utf8('a'.repeat(QUARANTINE_RAW_MAX)), err, RECEIVED);
    const over = makeQuarantineEntry(utf8('a'.repeat(QUARANTINE_RAW_MAX + 1)), err, RECEIVED);
    const split = makeQuarantineEntry(
      utf8(`${'a'.repeat(QUARANTINE_RAW_MAX - 1)}é`),
      err,
      RECEIVED,
    );

    expect([exact.raw.truncated, exact.raw.encoding, exact.raw.data.length]).toEqual([
      false,
      'utf8',
      QUARANTINE_RAW_MAX,
    ]);
    expect([over.raw.truncated, over.raw.encoding, over.raw.size]).toEqual([
      true,
      'utf8',
      QUARANTINE_RAW_MAX + 1,
    ]);
    expect([split.raw.truncated, split.raw.encoding, split.raw.size]).toEqual([
      true,
      'base64',
      QUARANTINE_RAW_MAX + 1,
    ]);
    for (const q of [exact, over, split]) expect(decodeEntry(encodeEntry(q))).toEqual(q);
  });

  it('keeps at most 20 issues, clips long text and repairs unpaired surrogates', () => {
    const issues = Array.from({ length: 30 }, (_, i) => ({
      path: `p${i}.${'x'.repeat(400)}`,
      message: `m\ud800${'y'.repeat(600)}`,
    }));
    const long = new InputError('EVENT_INVALID', `\udc00${'z'.repeat(5000)}`, { issues });

    const q = makeQuarantineEntry(utf8('{}'), long, RECEIVED);

    expect(q.error.issues).toHaveLength(MAX_QUARANTINE_ISSUES);
    expect(q.error.message).toHaveLength(2048);
    expect(q.error.message.startsWith('\ufffd')).toBe(true);
    expect(q.error.issues[0]?.path).toHaveLength(256);
    expect(q.error.issues[0]?.message).toHaveLength(512);
    expect(decodeEntry(encodeEntry(q))).toEqual(q);
  });

  it('stores errors that are not InputError with no issues', () => {
    const q = makeQuarantineEntry(utf8('x'), new IntegrityError('ENTRY_INVALID', 'x'), RECEIVED);
    expect(q.error).toEqual({ code: 'ENTRY_INVALID', message: 'x', issues: [] });
  });

  it('refuses an error code that is not UPPER_SNAKE', () => {
    expect(
      caught(() => makeQuarantineEntry(utf8('x'), new AuditlockError('oops', 'x'), RECEIVED)).code,
    ).toBe('ERROR_CODE_INVALID');
  });

  it('fits the worst case in MAX_ENTRY_BYTES', () => {
    // Every character escapes to 2 (data) or 6 (error text) bytes; the delivery id is maximal.
    const worstIssues = Array.from({ length: 20 }, () => ({
      path: '\u0001'.repeat(256),
      message: '\u0001'.repeat(512),
    }));
    const worst = new InputError('EVENT_INVALID', '\u0001'.repeat(2048), { issues: worstIssues });
    const q = makeQuarantineEntry(utf8('"'.repeat(QUARANTINE_RAW_MAX + 5)), worst, RECEIVED, {
      source: 'cloudwatch-logs',
      id: '山'.repeat(512),
    });
    expect(encodeEntry(q).length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
  });
});

describe('event entries', () => {
  it('fits the largest event with the largest delivery in MAX_ENTRY_BYTES', () => {
    // Prepare: fill an event to exactly MAX_EVENT_BYTES with full resources and a last short one.
    const size = (e: object) => utf8(canonicalize(e)).length;
    const base = {
      time: '2026-11-26T08:16:35Z',
      action: 'a',
      actor: { id: 'a' },
      outcome: 'success',
    };
    const resources: { type: string; id: string; name?: string }[] = [];
    const full = { type: 't', id: 'a'.repeat(2048), name: 'b'.repeat(2048) };
    while (
      size({ ...base, resources: [...resources, full, { type: 't', id: 'a' }] }) <= MAX_EVENT_BYTES
    ) {
      resources.push(full);
    }
    const room =
      MAX_EVENT_BYTES - size({ ...base, resources: [...resources, { type: 't', id: '' }] });
    resources.push({ type: 't', id: 'c'.repeat(room) });
    const big = parseEvent({ ...base, resources });
    expect(size(big)).toBe(MAX_EVENT_BYTES);

    // Act
    const bytes = encodeEntry(
      makeEventEntry(big, RECEIVED, { source: 'cloudwatch-logs', id: '山'.repeat(512) }),
    );

    // Assess
    expect(bytes.length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
  });

  it('never stores a raw line feed, even when the event holds one', () => {
    const e = parseEvent({
      ...event,
      reason: { message: 'line 1\nline 2' },
      detail: { s: '\n\r\u2028' },
    });
    expect(encodeEntry(makeEventEntry(e, RECEIVED)).includes(0x0a)).toBe(false);
  });

  it.each([
    ['an upper-case source', { source: 'SQS' }, ['source']],
    ['an empty source', { source: '' }, ['source']],
    ['a control character in id', { source: 'cli', id: 'stdin:\n1' }, ['id']],
    ['an over-long id', { source: 'cli', id: 'x'.repeat(513) }, ['id']],
    ['an unknown field', { source: 'sqs', receiptHandle: 'x' }, ['receiptHandle']],
  ])('refuses a delivery with %s', (_name, d, paths) => {
    const err = caught<InputError>(() => makeEventEntry(event, RECEIVED, d as never));
    expect(err.code).toBe('DELIVERY_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual(paths);
  });

  it('refuses to encode an entry over MAX_ENTRY_BYTES (built without parseEvent)', () => {
    const huge = { ...event, detail: { s: 'x'.repeat(MAX_ENTRY_BYTES) } };
    expect(caught(() => encodeEntry(makeEventEntry(huge, RECEIVED))).code).toBe('ENTRY_TOO_LARGE');
  });
});

describe('decodeEntry refuses malformed stored bytes with ENTRY_INVALID', () => {
  const good = text(encodeEntry(makeEventEntry(event, RECEIVED, { source: 'sqs', id: 'm-1' })));
  const goodQ = text(
    encodeEntry(
      makeQuarantineEntry(utf8('{"oops"'), new InputError('JSON_INVALID', 'x'), RECEIVED),
    ),
  );
  const goodBinary = text(
    encodeEntry(
      makeQuarantineEntry(
        new Uint8Array([0xff, 0x00]),
        new InputError('JSON_INVALID', 'x'),
        RECEIVED,
      ),
    ),
  );
  const replace = (s: string, from: string, to: string) => {
    expect(s).toContain(from);
    return s.replace(from, to);
  };

  it('accepts the good bytes (control)', () => {
    expect(decodeEntry(utf8(good)).kind).toBe('event');
    expect(decodeEntry(utf8(goodQ)).kind).toBe('quarantine');
    expect(decodeEntry(utf8(goodBinary)).kind).toBe('quarantine');
  });

  it.each([
    ['invalid UTF-8', new Uint8Array([...utf8(good.slice(0, 20)), 0xff, ...utf8(good.slice(20))])],
    ['an overlong UTF-8 encoding', new Uint8Array([...utf8(good.slice(0, -1)), 0xc0, 0xbd])],
    ['a byte-order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(good)])],
    ['empty bytes', new Uint8Array(0)],
    ['oversize bytes', new Uint8Array(MAX_ENTRY_BYTES + 1).fill(0x20)],
  ])('%s', (_name, bytes) => expectInvalid(bytes));

  it.each([
    ['trailing garbage', () => `${good}x`],
    ['a trailing line feed', () => `${good}\n`],
    ['a second value', () => `${good}${good}`],
    ['whitespace', () => replace(good, '"kind":', '"kind": ')],
    [
      'members out of order',
      () =>
        replace(
          good,
          '"kind":"event","receivedAt":"2026-11-26T08:16:35.123Z"',
          '"receivedAt":"2026-11-26T08:16:35.123Z","kind":"event"',
        ),
    ],
    [
      'a duplicate member',
      () => replace(good, '"kind":"event"', '"kind":"quarantine","kind":"event"'),
    ],
    ['an escaped letter', () => replace(good, '"zoe"', '"\\u007aoe"')],
    ['a non-canonical number', () => replace(good, '"b":1', '"b":1.0')],
    ['an unknown kind', () => replace(good, '"kind":"event"', '"kind":"evnt"')],
    ['no kind', () => replace(good, ',"kind":"event"', '')],
    [
      'an extra top-level member',
      () => replace(good, '"kind":"event"', '"kind":"event","note":"x"'),
    ],
    [
      'an extra event member',
      () => replace(good, '"outcome":"success"', '"outcome":"success","x":1'),
    ],
    ['an extra delivery member', () => replace(good, '"source":"sqs"', '"source":"sqs","x":1')],
    ['an invalid event', () => replace(good, '"outcome":"success"', '"outcome":"ok"')],
    ['receivedAt without milliseconds', () => replace(good, '35.123Z', '35Z')],
    ['receivedAt with an offset', () => replace(good, '08:16:35.123Z', '09:16:35.123+01:00')],
    [
      'receivedAt on 30 February',
      () => replace(good, '2026-11-26T08:16:35.123Z', '2026-02-30T08:16:35.123Z'),
    ],
    ['not an object', () => '["event"]'],
    ['null', () => 'null'],
    ['the wrong raw size', () => replace(goodQ, '"size":7', '"size":8')],
    ['truncated without being cut', () => replace(goodQ, '"truncated":false', '"truncated":true')],
    ['a wrong sha256', () => replace(goodQ, 'wWuA', 'xWuA')],
    [
      'a short sha256',
      () => replace(goodQ, 'wWuAwuKzEIBk7MEO1KHfxUcVwi9JhTGG4nQjIa85k2k=', 'AAAA'),
    ],
    [
      'base64 for readable data',
      () =>
        replace(
          replace(goodQ, '"data":"{\\"oops\\""', '"data":"eyJvb3BzIg=="'),
          '"encoding":"utf8"',
          '"encoding":"base64"',
        ),
    ],
    [
      'non-canonical base64 (padding bits set)',
      () => replace(goodBinary, '"data":"/wA="', '"data":"/wB="'),
    ],
    [
      'utf8 data with a control character',
      () =>
        replace(
          replace(goodQ, '"data":"{', '"data":"\\u0000'),
          'wWuAwuKzEIBk7MEO1KHfxUcVwi9JhTGG4nQjIa85k2k=',
          sha256(utf8('\u0000"oops"')),
        ),
    ],
    ['an unknown encoding', () => replace(goodQ, '"encoding":"utf8"', '"encoding":"hex"')],
    ['a lower-case error code', () => replace(goodQ, '"JSON_INVALID"', '"json_invalid"')],
    ['an extra raw member', () => replace(goodQ, '"size":7', '"size":7,"x":1')],
    [
      'an event member in a quarantine entry',
      () => replace(goodQ, '"kind":"quarantine"', '"event":{},"kind":"quarantine"'),
    ],
  ])('%s', (_name, make) => expectInvalid(make()));

  it('throws only IntegrityError ENTRY_INVALID for any bytes that are not an entry', () => {
    const goodBytes = utf8(good);
    const mutated = fc
      .tuple(fc.nat(goodBytes.length - 1), fc.integer({ min: 1, max: 255 }))
      .map(([i, x]) => goodBytes.map((b, j) => (j === i ? b ^ x : b)));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => {
        try {
          decodeEntry(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(IntegrityError);
          expect((e as IntegrityError).code).toBe('ENTRY_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('timestamps', () => {
  it('formats and parses the millisecond UTC form', () => {
    expect(formatTimestamp(RECEIVED)).toBe('2026-11-26T08:16:35.123Z');
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatTimestamp(253_402_300_799_999)).toBe('9999-12-31T23:59:59.999Z');
    expect(parseTimestamp('2026-11-26T08:16:35.123Z')).toBe(RECEIVED);
    expect(parseTimestamp('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  });

  it('round-trips every representable millisecond', () => {
    fc.assert(fc.property(receivedAtMs(), (ms) => parseTimestamp(formatTimestamp(ms)) === ms));
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [253_402_300_800_000]])(
    'refuses to format %s',
    (ms) => {
      expect(caught(() => formatTimestamp(ms)).code).toBe('TIMESTAMP_INVALID');
    },
  );

  it.each([
    '2026-11-26T08:16:35Z',
    '2026-11-26T08:16:35.12Z',
    '2026-11-26T08:16:35.1234Z',
    '2026-11-26T09:16:35.123+01:00',
    '2026-11-26t08:16:35.123z',
    '2026-11-26 08:16:35.123Z',
    '2026-02-30T00:00:00.000Z',
    '2025-02-29T00:00:00.000Z',
    '2026-11-26T24:00:00.000Z',
    '2026-12-31T23:59:60.000Z',
    '1969-12-31T23:59:59.999Z',
    '+010000-01-01T00:00:00.000Z',
    ' 2026-11-26T08:16:35.123Z',
    '',
  ])('refuses to parse %j', (s) => {
    expect(caught(() => parseTimestamp(s)).code).toBe('TIMESTAMP_INVALID');
  });
});

/** A copy of `value` with every object's members in reverse order (defineProperty: `__proto__` too). */
function reverseMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseMembers);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value).reverse()) {
    Object.defineProperty(out, k, {
      value: reverseMembers(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
