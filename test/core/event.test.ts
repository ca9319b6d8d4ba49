import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/canonical-json.js';
import { InputError } from '../../src/core/errors.js';
import {
  isIpv4,
  isIpv6,
  isRfc3339,
  MAX_DETAIL_BYTES,
  MAX_EVENT_BYTES,
  MAX_EVENT_LINE_LENGTH,
  MAX_RESOURCES,
  parseEvent,
  parseEventLine,
} from '../../src/core/event.js';
import { auditEvent } from '../helpers/arbitraries.js';

const valid = {
  time: '2026-11-26T08:16:35.123Z',
  action: 'iam:CreateUser',
  actor: { id: 'zoe@example.com' },
  outcome: 'success',
};

const full = {
  id: '7f3a9c1e-0d4b-4c2a-9e61-3b5f0a8d2c77',
  time: '2026-11-26T09:16:35.123456+01:00',
  action: 'patient.record.view',
  category: 'hipaa.phi-access',
  actor: {
    id: 'arn:aws:sts::123456789012:assumed-role/Admin/zoe',
    type: 'role',
    name: 'Zoë Ångström',
    account: '123456789012',
    sessionId: 'ASIAEXAMPLE',
  },
  resources: [
    {
      type: 'fhir:Patient',
      id: 'Patient/123',
      name: '山田太郎',
      account: '1',
      region: 'eu-west-1',
    },
  ],
  outcome: 'failure',
  reason: { code: 'AccessDenied', message: 'not authorised\nsee policy' },
  source: {
    ip: '2001:db8::1',
    userAgent: 'curl/8.11.0',
    host: 'ip-10-0-0-1',
    region: 'eu-west-1',
    service: 'ehr',
  },
  correlationId: 'req-1',
  detail: { purposeOfUse: 'TREATMENT', nested: { list: [1, 2.5, null, true, 'x'] } },
};

/** Runs `fn`, expecting an InputError; returns it so the test can check code and issue paths. */
function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

const paths = (err: InputError) => err.issues.map((i) => i.path).sort();

describe('parseEvent: valid events', () => {
  it('accepts a minimal and a full event unchanged', () => {
    expect(parseEvent(valid)).toEqual(valid);
    expect(parseEvent(full)).toEqual(full);
  });

  it('accepts every arbitrary valid event unchanged', () => {
    fc.assert(
      fc.property(auditEvent(), (event) => {
        expect(parseEvent(event)).toEqual(event);
      }),
    );
  });
});

describe('parseEvent: errors name every issue by dotted path', () => {
  it.each([
    ['missing actor.id', { ...valid, actor: { type: 'user' } }, ['actor.id']],
    ['actor.id of the wrong type', { ...valid, actor: { id: 5 } }, ['actor.id']],
    ['missing actor', { time: valid.time, action: 'x', outcome: 'success' }, ['actor']],
    ['missing time, action, outcome', { actor: { id: 'a' } }, ['action', 'outcome', 'time']],
    ['bad outcome', { ...valid, outcome: 'ok' }, ['outcome']],
    ['bad actor type', { ...valid, actor: { id: 'a', type: 'robot' } }, ['actor.type']],
    ['empty action', { ...valid, action: '' }, ['action']],
    ['over-long actor.id', { ...valid, actor: { id: 'a'.repeat(257) } }, ['actor.id']],
    [
      'a control character in actor.name',
      { ...valid, actor: { id: 'a', name: 'Zoë\u0007' } },
      ['actor.name'],
    ],
    ['a line feed in reason.code', { ...valid, reason: { code: 'A\nB' } }, ['reason.code']],
    [
      'an unpaired surrogate in a resource id',
      { ...valid, resources: [{ type: 't', id: 'x\ud800' }] },
      ['resources.0.id'],
    ],
    ['an id with a space', { ...valid, id: 'a b' }, ['id']],
    ['an id with non-ASCII', { ...valid, id: 'évènement' }, ['id']],
    ['an over-long id', { ...valid, id: 'a'.repeat(129) }, ['id']],
    ['a bad correlationId', { ...valid, correlationId: '' }, ['correlationId']],
    ['an empty reason', { ...valid, reason: {} }, ['reason']],
    [
      'too many resources',
      { ...valid, resources: Array(MAX_RESOURCES + 1).fill({ type: 't', id: 'i' }) },
      ['resources'],
    ],
    [
      'a resource without id',
      { ...valid, resources: [{ type: 't', id: 'i' }, { type: 't' }] },
      ['resources.1.id'],
    ],
    ['a bad IP', { ...valid, source: { ip: '256.1.2.3' } }, ['source.ip']],
    ['detail that is an array', { ...valid, detail: [1] }, ['detail']],
    ['detail that is a string', { ...valid, detail: 'x' }, ['detail']],
    ['detail with a Date', { ...valid, detail: { when: new Date(0) } }, ['detail.when']],
    ['detail with NaN', { ...valid, detail: { a: [Number.NaN] } }, ['detail.a.0']],
    ['detail with a lone surrogate key', { ...valid, detail: { '\udc00': 1 } }, ['detail.\udc00']],
  ])('%s', (_name, input, expected) => {
    const err = inputError(() => parseEvent(input));
    expect(err.code).toBe('EVENT_INVALID');
    expect(paths(err)).toEqual(expected);
  });

  it('names each unknown field, at any level', () => {
    const input = {
      ...valid,
      eventName: 'CreateUser',
      actor: { id: 'a', foo: 1, bar: 2 },
      resources: [{ type: 't', id: 'i', nm: 'x' }],
      source: { port: 443 },
      reason: { code: 'X', extra: true },
    };

    const err = inputError(() => parseEvent(input));

    expect(err.code).toBe('EVENT_INVALID');
    expect(paths(err)).toEqual([
      'actor.bar',
      'actor.foo',
      'eventName',
      'reason.extra',
      'resources.0.nm',
      'source.port',
    ]);
  });

  it('lists every issue at once', () => {
    const input = { actor: { id: 5 }, outcome: 'ok', time: 'yesterday', action: 'x', extra: 1 };
    expect(paths(inputError(() => parseEvent(input)))).toEqual([
      'actor.id',
      'extra',
      'outcome',
      'time',
    ]);
  });

  it.each([[42], [null], [[valid]], ['{"a":1}'], [undefined], [true]])(
    'refuses a non-object (%j) at the top level',
    (input) => {
      const err = inputError(() => parseEvent(input));
      expect(err.code).toBe('EVENT_INVALID');
      expect(paths(err)).toEqual(['']);
    },
  );

  it('carries the location and puts it in the message', () => {
    const err = inputError(() => parseEvent({ ...valid, outcome: 'ok' }, 'record abc'));
    expect(err.location).toBe('record abc');
    expect(err.message).toContain('record abc');
  });

  it('does not crash on deeply nested values in wrong or unknown fields', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];

    expect(paths(inputError(() => parseEvent({ ...valid, actor: { id: deep } })))).toEqual([
      'actor.id',
    ]);
    expect(paths(inputError(() => parseEvent({ ...valid, junk: deep })))).toEqual(['junk']);
    expect(inputError(() => parseEvent({ ...valid, detail: { deep } })).code).toBe('EVENT_INVALID');
  });

  it('throws only InputError EVENT_INVALID for any input that is not a valid event', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true }),
        (input) => {
          try {
            parseEvent(input);
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
            expect((e as InputError).code).toBe('EVENT_INVALID');
          }
        },
      ),
    );
  });
});

describe('parseEvent: size limits', () => {
  const withDetailBytes = (n: number) => {
    const overhead = canonicalize({ s: '' }).length;
    return { ...valid, detail: { s: 'x'.repeat(n - overhead) } };
  };

  it(`accepts detail of exactly ${MAX_DETAIL_BYTES} bytes and refuses one more`, () => {
    expect(canonicalize(withDetailBytes(MAX_DETAIL_BYTES).detail)).toHaveLength(MAX_DETAIL_BYTES);
    expect(() => parseEvent(withDetailBytes(MAX_DETAIL_BYTES))).not.toThrow();
    expect(paths(inputError(() => parseEvent(withDetailBytes(MAX_DETAIL_BYTES + 1))))).toEqual([
      'detail',
    ]);
  });

  it('counts detail in UTF-8 bytes, not characters', () => {
    const detail = { s: '€'.repeat(MAX_DETAIL_BYTES / 3) };
    expect(paths(inputError(() => parseEvent({ ...valid, detail })))).toEqual(['detail']);
  });

  it('accepts nesting to depth 32 in detail and refuses 33', () => {
    // `detail` itself is level 1; each array inside adds one.
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 1; i < levels; i++) v = [v];
      return { a: v };
    };
    expect(() => parseEvent({ ...valid, detail: nest(32) })).not.toThrow();
    expect(paths(inputError(() => parseEvent({ ...valid, detail: nest(33) })))[0]).toMatch(
      /^detail\.a(\.0)+$/,
    );
  });

  it(`refuses an event over ${MAX_EVENT_BYTES} bytes canonically encoded, at the top level`, () => {
    const resources = Array.from({ length: 100 }, (_, i) => ({
      type: 't',
      id: `${i}${'€'.repeat(1000)}`,
    }));
    const event = { ...valid, resources };
    expect(new TextEncoder().encode(canonicalize(event)).length).toBeGreaterThan(MAX_EVENT_BYTES);

    const err = inputError(() => parseEvent(event));

    expect(err.code).toBe('EVENT_INVALID');
    expect(paths(err)).toEqual(['']);
  });

  it('measures exactly when the cheap bound is inconclusive', () => {
    // 100 × 1000 ASCII characters: the 3-bytes-per-unit bound says maybe, the exact size says fine.
    const resources = Array.from({ length: 100 }, (_, i) => ({
      type: 't',
      id: `${i}${'a'.repeat(1000)}`,
    }));
    expect(parseEvent({ ...valid, resources }).resources).toHaveLength(100);
  });
});

describe('time, IP', () => {
  it.each([
    '2026-11-26T08:16:35Z',
    '2026-11-26T08:16:35.1Z',
    '2026-11-26T08:16:35.123456789Z',
    '2026-11-26T09:16:35+01:00',
    '2026-11-26T03:16:35-05:00',
    '2026-11-26T08:16:35-00:00',
    '2024-02-29T00:00:00Z',
    '2000-02-29T23:59:59+23:59',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
  ])('accepts time %s', (time) => {
    expect(isRfc3339(time)).toBe(true);
    expect(parseEvent({ ...valid, time }).time).toBe(time);
  });

  it.each([
    '2026-11-26T08:16:35',
    '2026-11-26 08:16:35Z',
    '2026-11-26t08:16:35z',
    '2026-11-26T08:16Z',
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-11-26T24:00:00Z',
    '2026-11-26T23:60:00Z',
    '2026-12-31T23:59:60Z',
    '2026-11-26T08:16:35+24:00',
    '2026-11-26T08:16:35+01:60',
    '2026-11-26T08:16:35+0100',
    '2026-11-26T08:16:35.Z',
    '2026-11-26T08:16:35.1234567890Z',
    '+02026-11-26T08:16:35Z',
    '1764144995',
    '',
  ])('refuses time %j at path time', (time) => {
    expect(isRfc3339(time)).toBe(false);
    expect(paths(inputError(() => parseEvent({ ...valid, time })))).toEqual(['time']);
  });

  it('reads each field of a time where RFC 3339 puts it, as capture groups would', () => {
    // The reading by captures that isRfc3339 replaced (it reads the fields at their places).
    const byCaptures = (s: string): boolean => {
      const m =
        /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/.exec(
          s,
        );
      if (!m) return false;
      const [y, mo, d, h, mi, se, oh, om] = m
        .slice(1)
        .map((x) => (x === undefined ? 0 : Number(x)));
      const leap =
        (y as number) % 4 === 0 && ((y as number) % 100 !== 0 || (y as number) % 400 === 0);
      const days = mo === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(mo as number) ? 30 : 31;
      return (
        (mo as number) >= 1 &&
        (mo as number) <= 12 &&
        (d as number) >= 1 &&
        (d as number) <= days &&
        (h as number) <= 23 &&
        (mi as number) <= 59 &&
        (se as number) <= 59 &&
        (oh as number) <= 23 &&
        (om as number) <= 59
      );
    };
    const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
    const time = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        two,
        two,
        two,
        two,
        two,
        fc.option(fc.stringMatching(/^\.[0-9]{1,10}$/), { nil: '' }),
        fc.oneof(
          fc.constant('Z'),
          fc.tuple(fc.constantFrom('+', '-'), two, two).map((p) => `${p[0]}${p[1]}:${p[2]}`),
        ),
      )
      .map(([y, mo, d, h, mi, se, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${se}${f}${z}`);
    fc.assert(
      fc.property(time, (t) => {
        expect(isRfc3339(t)).toBe(byCaptures(t));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    '0.0.0.0',
    '192.0.2.1',
    '255.255.255.255',
    '::',
    '::1',
    '1::',
    '2001:db8::1',
    '2001:DB8:0:0:0:0:0:1',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::ffff:203.0.113.7',
    '1:2:3:4:5:6:1.2.3.4',
  ])('accepts IP %s', (ip) => {
    expect(isIpv4(ip) || isIpv6(ip)).toBe(true);
    expect(parseEvent({ ...valid, source: { ip } }).source?.ip).toBe(ip);
  });

  it.each([
    '256.1.2.3',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    ' 1.2.3.4',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::',
    ':1',
    '1:',
    '1.2.3.4::',
    '::1.2.3.4:1',
    'fe80::1%eth0',
    '[::1]',
    's3.amazonaws.com',
    '',
  ])('refuses IP %j at path source.ip', (ip) => {
    expect(isIpv4(ip) || isIpv6(ip)).toBe(false);
    expect(paths(inputError(() => parseEvent({ ...valid, source: { ip } })))).toEqual([
      'source.ip',
    ]);
  });

  it('accepts every IP that fast-check generates', () => {
    fc.assert(fc.property(fc.ipV4(), (ip) => isIpv4(ip)));
    fc.assert(fc.property(fc.ipV6(), (ip) => isIpv6(ip)));
  });
});

describe('parseEventLine', () => {
  it('parses one JSON line', () => {
    expect(parseEventLine(JSON.stringify(full), 1)).toEqual(full);
  });

  it.each([
    ['cut-off JSON', '{"time":"2026-11-26T08:16:35Z",'],
    ['trailing garbage', `${JSON.stringify(valid)} x`],
    ['two values', `${JSON.stringify(valid)}${JSON.stringify(valid)}`],
    ['an empty line', ''],
    ['single quotes', "{'a':1}"],
  ])('turns %s into JSON_INVALID with the line number', (_name, line) => {
    const err = inputError(() => parseEventLine(line, 12));
    expect(err.code).toBe('JSON_INVALID');
    expect(err.location).toBe('line 12');
    expect(err.message).toContain('line 12');
  });

  it.each([['[1,2]'], ['null'], ['"text"'], ['42']])('refuses the non-object %s', (line) => {
    const err = inputError(() => parseEventLine(line, 3));
    expect(err.code).toBe('EVENT_INVALID');
    expect(err.location).toBe('line 3');
    expect(paths(err)).toEqual(['']);
  });

  it('refuses an over-long line before parsing it', () => {
    // Not JSON at all: if it were parsed, the error would be JSON_INVALID.
    const line = `{${' '.repeat(MAX_EVENT_LINE_LENGTH)}`;
    const err = inputError(() => parseEventLine(line, 7));
    expect(err.code).toBe('EVENT_TOO_LARGE');
    expect(err.location).toBe('line 7');
  });

  it('accepts a long line whose canonical form fits (escaped non-ASCII, as Python writes it)', () => {
    const detail = { s: '山'.repeat(20_000) };
    const line = JSON.stringify({ ...valid, detail }).replace(/山/g, '\\u5c71');
    expect(line.length).toBeGreaterThan(100_000);
    expect(parseEventLine(line, 1).detail).toEqual(detail);
  });
});

describe('examples/', () => {
  const read = (name: string) =>
    readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')
      .split('\n')
      .slice(0, -1);

  it('events.jsonl: 5,000 valid events with unique ids', () => {
    const lines = read('events.jsonl');
    const events = lines.map((line, i) => parseEventLine(line, i + 1));
    expect(events).toHaveLength(5000);
    expect(new Set(events.map((e) => e.id)).size).toBe(5000);
    expect(events.every((e) => e.id !== undefined)).toBe(true);
  });

  it('bad-events.jsonl: each line fails in its own way', () => {
    const expected: [code: string, paths: string[]][] = [
      ['JSON_INVALID', []],
      ['EVENT_INVALID', ['actor.id']],
      ['EVENT_INVALID', ['eventName']],
      ['EVENT_INVALID', ['outcome']],
      ['EVENT_INVALID', ['detail']],
      ['EVENT_INVALID', ['']],
      ['EVENT_INVALID', ['time']],
      ['EVENT_INVALID', ['source.ip']],
    ];
    const lines = read('bad-events.jsonl');

    const got = lines.map((line, i) => {
      const err = inputError(() => parseEventLine(line, i + 1));
      return [err.code, paths(err)];
    });

    expect(got).toEqual(expected);
  });
});
