/**
 * The accept-only fast path of `parseEvent` against zod, differentially: it may only accept what
 * zod accepts, must then return a value deep-equal to zod's, and `parseEvent` must return or throw
 * the same with the fast path on and off. Inputs: valid events from the shared arbitrary, the same
 * events mutated (wrong types, missing and extra fields, hostile text and numbers, deep nesting,
 * oversize values), and all of those round-tripped through JSON text as ingest sees them.
 *
 * FAST_PATH_RUNS=20000 npx vitest run test/core/event-fast-path.test.ts   (the one-off deep run)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/canonical-json.js';
import {
  acceptEvent,
  auditEventSchema,
  isRfc3339,
  MAX_DETAIL_BYTES,
  messageFor,
  parseEvent,
} from '../../src/core/event.js';
import { auditEvent } from '../helpers/arbitraries.js';

const RUNS = Number(process.env.FAST_PATH_RUNS ?? 500);

type Mutable = Record<string, unknown>;

/** `[1, <hole>, 3]`. */
function sparse(): unknown[] {
  const a: unknown[] = [1];
  a[2] = 3;
  return a;
}

/** Values that break a rule somewhere, or sit right at a limit. */
const HOSTILE: readonly unknown[] = [
  undefined,
  null,
  0,
  -0,
  JSON.parse('1e400'),
  JSON.parse('-0'),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  '',
  ' ',
  'a\u0000b',
  'tab\there',
  'line\nfeed',
  '\u007f',
  '\uD800',
  'x\uDC00',
  '😀',
  '\uD83D\uDE00\uD800',
  '2026-11-26T08:16:35.123Z',
  '2026-02-29T00:00:00Z',
  '2024-02-29T23:59:60Z',
  '2026-11-26t08:16:35Z',
  '2026-11-26T08:16:35.1234567890Z',
  '2026-11-26T08:16:35+24:00',
  '10.0.0.1',
  '010.0.0.1',
  '256.1.1.1',
  '::',
  '::1',
  '1::2::3',
  'fe80::1%eth0',
  '::ffff:1.2.3.4',
  '1:2:3:4:5:6:7:8:9',
  'user',
  'success',
  'x'.repeat(65),
  'x'.repeat(129),
  'x'.repeat(257),
  'x'.repeat(2049),
  [],
  {},
  Object.create(null),
  new Date(0),
  [1, undefined, 3],
  sparse(),
  JSON.parse('{"__proto__":{"x":1}}'),
];
const hostile = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.anything({ maxDepth: 2 }),
);

const MINIMAL = {
  time: '2026-11-26T08:16:35Z',
  action: 'a',
  actor: { id: 'x' },
  outcome: 'unknown',
};

/** An event with every field set. */
const FULL = {
  id: '7f3a9c1e-0d4b-4c2a-9e61-3b5f0a8d2c77',
  time: '2026-11-26T09:16:35.123456+01:00',
  action: 'patient.record.view',
  category: 'hipaa.phi-access',
  actor: {
    id: 'arn:aws:sts::1:assumed-role/A/z',
    type: 'role',
    name: 'Zoë',
    account: '1',
    sessionId: 'S',
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
    host: 'h',
    region: 'eu-west-1',
    service: 'ehr',
  },
  correlationId: 'req-1',
  detail: { purposeOfUse: 'TREATMENT', nested: { list: [1, 2.5, null, true, 'x'] } },
};

function proto(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
}

/** Nested arrays/objects `depth` levels deep. */
function nested(depth: number, asArray: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { k: v };
  return v;
}

/** A detail object that is big in canonical form: near, at or past the 64 KiB limit. */
const bigDetail = fc
  .record({
    units: fc.integer({ min: Math.floor(MAX_DETAIL_BYTES / 6) - 20, max: MAX_DETAIL_BYTES + 20 }),
    unit: fc.constantFrom('a', 'é', '山', '\u0001', '"', '😀'),
  })
  .map(({ units, unit }) => ({ blob: unit.repeat(Math.ceil(units / unit.length)) }));

/** Where a mutation lands: every field of the schema, plus unknown and awkward keys. */
const FIELDS: readonly (readonly [readonly (string | number)[], string])[] = [
  ...['id', 'time', 'action', 'category', 'actor', 'resources', 'outcome'].map(
    (k) => [[], k] as const,
  ),
  ...['reason', 'source', 'correlationId', 'detail', 'extra', '__proto__', 'constructor'].map(
    (k) => [[], k] as const,
  ),
  ...['id', 'type', 'name', 'account', 'sessionId', 'extra'].map((k) => [['actor'], k] as const),
  ...['type', 'id', 'name', 'account', 'region', '__proto__'].map(
    (k) => [['resources', 0], k] as const,
  ),
  ...['ip', 'userAgent', 'host', 'region', 'service', 'extra'].map((k) => [['source'], k] as const),
  ...['code', 'message', 'extra'].map((k) => [['reason'], k] as const),
  ...['k', '__proto__', '\uD800', '\u0000', 'é'].map((k) => [['detail'], k] as const),
  ...['k', '\uDFFF'].map((k) => [['detail', 'nested'], k] as const),
];

/** Text at and around every length limit, made of ordinary and awkward characters. */
const TAILS = ['', 'a', '\uD800', '\u0000', '\t'];
const LENGTHS = [0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 2047, 2048, 2049];
const UNITS = [
  'a',
  '!',
  '~',
  ' ',
  'é',
  '😀',
  '\t',
  '\n',
  '\r',
  '\u0001',
  '\u007f',
  '\uD800',
  '\uDC00',
];
const boundaryText = fc
  .record({
    length: fc.constantFrom(...LENGTHS),
    unit: fc.constantFrom(...UNITS),
    tail: fc.constantFrom(...TAILS),
  })
  .map(({ length, unit, tail }) => (unit.repeat(length) + tail).slice(0, length + tail.length));

type Mutation = { field: (typeof FIELDS)[number]; value: unknown; del: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  field: fc.constantFrom(...FIELDS),
  value: fc.oneof(
    { arbitrary: hostile, weight: 4 },
    { arbitrary: boundaryText, weight: 4 },
    { arbitrary: bigDetail, weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 28, max: 36 }), fc.boolean())
        .map(([d, a]) => nested(d, a)),
      weight: 1,
    },
  ),
  del: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
});

/** Applies mutations to a deep copy; `__proto__` is set as an own key, as JSON.parse does. */
function mutate(event: unknown, mutations: readonly Mutation[]): unknown {
  const copy = structuredClone(event) as Mutable;
  for (const m of mutations) {
    const [path, key] = m.field;
    let target: unknown = copy;
    for (const step of path) {
      if (typeof target !== 'object' || target === null) break;
      const next = (target as Mutable)[step as string];
      if (next === undefined && !m.del) (target as Mutable)[step as string] = {};
      target = (target as Mutable)[step as string];
    }
    if (typeof target !== 'object' || target === null) continue;
    if (m.del) delete (target as Mutable)[key];
    else
      Object.defineProperty(target, key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

/** Through JSON text and back, as ingest sees events (drops undefined, -0 becomes 0, 1e400 null). */
function viaJson(value: unknown): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? value : JSON.parse(text);
  } catch {
    return value; // cycles, bigint: keep the value as is
  }
}

const input = fc
  .oneof(
    { arbitrary: auditEvent(), weight: 2 },
    {
      arbitrary: fc
        .tuple(auditEvent(), fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([e, ms]) => mutate(e, ms)),
      weight: 5,
    },
    { arbitrary: hostile, weight: 1 },
  )
  .chain((v) => fc.constantFrom(v, viaJson(v)));

/** parseEvent's outcome: the value, or the thrown error's code, message and issues. */
function outcome(value: unknown, fast: boolean): unknown {
  try {
    return { ok: parseEvent(value, 'line 1', { fastPath: fast }) };
  } catch (e) {
    const { code, message, issues } = e as { code?: string; message?: string; issues?: unknown };
    return { code, message, issues, name: (e as Error).name };
  }
}

describe('acceptEvent (accept-only fast path of parseEvent)', () => {
  it('accepts only what zod accepts, and then returns what zod returns', () => {
    fc.assert(
      fc.property(input, (value) => {
        const fast = acceptEvent(value);
        if (fast === undefined) return;
        const zod = auditEventSchema.safeParse(value, { error: messageFor });
        expect(zod.success).toBe(true);
        expect(fast).toStrictEqual(zod.data);
      }),
      { numRuns: RUNS },
    );
  });

  it('makes parseEvent return and throw the same with and without it', () => {
    fc.assert(
      fc.property(input, (value) => {
        expect(outcome(value, true)).toStrictEqual(outcome(value, false));
      }),
      { numRuns: RUNS },
    );
  });

  it('accepts the valid events it is there for', () => {
    fc.assert(
      fc.property(auditEvent(), (event) => {
        expect(acceptEvent(viaJson(event))).toStrictEqual(event);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with zod on every field set to every boundary and hostile value', () => {
    const values: unknown[] = [...HOSTILE];
    for (const length of LENGTHS)
      for (const unit of UNITS) values.push(unit.repeat(length).slice(0, length));
    for (const tail of TAILS) values.push(`ok${tail}`, `${'x'.repeat(63)}${tail}`);
    for (let depth = 29; depth <= 34; depth++)
      values.push(nested(depth, true), nested(depth, false));
    for (const field of FIELDS) {
      for (const value of values) {
        const mutated = mutate(FULL, [{ field, value, del: false }]);
        expect(outcome(mutated, true)).toStrictEqual(outcome(mutated, false));
      }
      const deleted = mutate(FULL, [{ field, value: undefined, del: true }]);
      expect(outcome(deleted, true)).toStrictEqual(outcome(deleted, false));
    }
  });

  it('accepts detail exactly when it canonicalises within 32 levels and 64 KiB', () => {
    const detailValue = fc.oneof(
      fc.dictionary(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 4 }),
          fc.constantFrom('\uD800', '__proto__'),
        ),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
          boundaryText,
          bigDetail,
          fc.constantFrom(...HOSTILE),
          fc.integer({ min: 29, max: 34 }).map((d) => nested(d, d % 2 === 0)),
        ),
        { maxKeys: 4 },
      ),
      fc.constantFrom(...HOSTILE),
    );
    fc.assert(
      fc.property(detailValue, fc.boolean(), (raw, json) => {
        const detail = json ? viaJson(raw) : raw;
        if (detail === undefined) return; // a member set to undefined: the other properties cover it
        // zod's rule: an object (not an array) that canonicalises within the limits.
        let fits: boolean;
        try {
          fits =
            typeof detail === 'object' &&
            detail !== null &&
            !Array.isArray(detail) &&
            Buffer.byteLength(canonicalize(detail, { maxDepth: 32 })) <= MAX_DETAIL_BYTES;
        } catch {
          fits = false;
        }
        const event = { ...MINIMAL, detail };
        expect(auditEventSchema.safeParse(event).success).toBe(fits);
        // The fast path also leaves objects with another prototype (null) to zod.
        const plain = proto(detail) === Object.prototype;
        expect(acceptEvent(event) !== undefined).toBe(fits && plain);
      }),
      { numRuns: RUNS },
    );
  });

  it('checks timestamps as the previous isRfc3339 did', () => {
    // The implementation before the allocation-free rewrite, kept as the reference.
    const RE =
      /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
    const reference = (t: string): boolean => {
      const m = RE.exec(t);
      if (!m) return false;
      const [y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, oh = 0, om = 0] = m
        .slice(1)
        .map((p) => (p === undefined ? 0 : Number(p)));
      const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
      const days = mo === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
      return (
        mo >= 1 &&
        mo <= 12 &&
        d >= 1 &&
        d <= days &&
        h <= 23 &&
        mi <= 59 &&
        se <= 59 &&
        oh <= 23 &&
        om <= 59
      );
    };
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const time = fc
      .tuple(
        fc.constantFrom('2000', '1900', '2024', '2026', '0000', '9999'),
        two(13),
        two(32),
        two(25),
        two(61),
        two(61),
      )
      .chain(([y, mo, d, h, mi, se]) =>
        fc
          .constantFrom('Z', `+${h}:${mi}`, `-${d}:${se}`, 'z', '+0100', '.123Z', `.1234567890Z`)
          .map((zone) => `${y}-${mo}-${d}T${h}:${mi}:${se}${zone}`),
      );
    fc.assert(
      fc.property(time, (t) => {
        expect(isRfc3339(t)).toBe(reference(t));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('returns fresh objects, except detail, as zod does', () => {
    // Prepare
    const event = {
      time: '2026-11-26T08:16:35.123Z',
      action: 'a',
      actor: { id: 'x' },
      outcome: 'success',
      resources: [{ type: 't', id: 'i' }],
      detail: { k: [1] },
    };
    // Act
    const fast = acceptEvent(event);
    const zod = auditEventSchema.parse(event);
    // Assess
    expect(fast).not.toBe(event);
    expect(fast?.actor).not.toBe(event.actor);
    expect(fast?.resources).not.toBe(event.resources);
    expect(fast?.resources?.[0]).not.toBe(event.resources[0]);
    expect(fast?.detail).toBe(zod.detail);
  });

  it('leaves detail and whole-event sizes near the limits to zod', () => {
    const base = {
      time: '2026-11-26T08:16:35Z',
      action: 'a',
      actor: { id: 'x' },
      outcome: 'unknown',
    };
    for (const units of [
      MAX_DETAIL_BYTES / 6,
      MAX_DETAIL_BYTES - 12,
      MAX_DETAIL_BYTES - 11,
      MAX_DETAIL_BYTES,
    ]) {
      const value = { ...base, detail: { b: 'a'.repeat(units) } };
      expect(outcome(value, true)).toStrictEqual(outcome(value, false));
    }
    const big = {
      ...base,
      resources: Array.from({ length: 100 }, () => ({ type: 't', id: 'é'.repeat(2048) })),
    };
    expect(acceptEvent(big)).toBeUndefined();
    expect(outcome(big, true)).toStrictEqual(outcome(big, false));
  });
});
