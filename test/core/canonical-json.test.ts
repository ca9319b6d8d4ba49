import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalizePlainInto,
  canonicalizeToBytes,
} from '../../src/core/canonical-json.js';
import { InputError } from '../../src/core/errors.js';

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

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// Vectors reconstructed from RFC 8785 (JSON Canonicalization Scheme), June 2020.
describe('RFC 8785 vectors', () => {
  it('§3.2.2: the sample object canonicalises to the published text and bytes', () => {
    // Prepare: the RFC's input, whitespace, escapes and number spellings as published.
    const input =
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
      '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
      '  "literals": [null, true, false]\n}';

    // Act
    const text = canonicalize(JSON.parse(input));
    const bytes = canonicalizeToBytes(JSON.parse(input));

    // Assess
    expect(text).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // §3.2.4: the UTF-8 bytes.
    expect(hex(bytes)).toBe(
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b33333333' +
        '33333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e6722' +
        '3a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d',
    );
  });

  it('§3.2.3: members are sorted by UTF-16 code units, so the emoji sorts before U+FB33', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",' +
        '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",' +
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );

    const order = [...canonicalize(input).matchAll(/"([^"]*)":"/g)].map((m) => m[1]);

    expect(order).toEqual(['\\r', '1', '\u0080', 'ö', '€', '😀', '\ufb33']);
  });

  // Appendix B: IEEE 754 bit patterns and their canonical spelling.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('Appendix B: %s → %s', (bits, expected) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    expect(canonicalize(value)).toBe(expected);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('Appendix B: %s is refused', (_name, value) => {
    const err = inputError(() => canonicalize({ n: [value] }));
    expect(err.code).toBe('CANONICAL_JSON_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual(['n.0']);
  });
});

describe('canonicalize', () => {
  it('spells numbers as ECMAScript does: 1e21, 1e-7, -0', () => {
    expect(canonicalize([1e21, 1e20, 1e-7, 1e-6, -0, 0.1, 100, -1.5])).toBe(
      '[1e+21,100000000000000000000,1e-7,0.000001,0,0.1,100,-1.5]',
    );
  });

  it('escapes only quote, backslash and C0 controls, with short forms where JSON has them', () => {
    expect(canonicalize('"\\\b\f\n\r\t\u0000\u001f\u007f\u2028/é😀')).toBe(
      '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\u2028/é😀"',
    );
  });

  it('omits undefined members and adds no whitespace', () => {
    expect(canonicalize({ b: undefined, a: [true, null, { d: 1, c: 'x' }] })).toBe(
      '{"a":[true,null,{"c":"x","d":1}]}',
    );
  });

  it('sorts integer-like keys as text, not numerically', () => {
    expect(canonicalize({ 10: 'a', 9: 'b', 1: 'c' })).toBe('{"1":"c","10":"a","9":"b"}');
  });

  it('keeps an own __proto__ member from JSON.parse as a member', () => {
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1},"a":2}'))).toBe(
      '{"__proto__":{"x":1},"a":2}',
    );
  });

  it('accepts null-prototype objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = 1;
    o.a = 2;
    expect(canonicalize(o)).toBe('{"a":2,"b":1}');
  });

  it.each([
    ['a lone high surrogate in a value', { a: ['\ud800'] }, 'a.0'],
    ['a lone low surrogate in a key', { '\udc00': 1 }, '\udc00'],
    ['undefined in an array', { a: [1, undefined] }, 'a.1'],
    ['a hole in an array', { a: sparse() }, 'a.1'],
    ['a bigint', { a: { b: 1n } }, 'a.b'],
    ['a function', { f: () => 1 }, 'f'],
    ['a symbol', { s: Symbol('x') }, 's'],
    ['a Date', { d: new Date(0) }, 'd'],
    ['a Map', { m: new Map() }, 'm'],
    ['a typed array', { t: new Uint8Array(2) }, 't'],
    ['a class instance', { c: new (class Thing {})() }, 'c'],
    ['a top-level undefined', undefined, ''],
  ])('refuses %s, naming the path', (_name, value, path) => {
    const err = inputError(() => canonicalize(value));
    expect(err.code).toBe('CANONICAL_JSON_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual([path]);
  });

  it('refuses nesting deeper than maxDepth without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];

    const err = inputError(() => canonicalize(deep));
    expect(err.code).toBe('CANONICAL_JSON_INVALID');
    expect(canonicalize([[1]], { maxDepth: 2 })).toBe('[[1]]');
    expect(inputError(() => canonicalize([[[1]]], { maxDepth: 2 })).issues[0]?.path).toBe('0.0');
  });

  it('refuses cycles (through the depth limit)', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(inputError(() => canonicalize(a)).code).toBe('CANONICAL_JSON_INVALID');
  });
});

describe('canonicalize properties', () => {
  const json = fc.jsonValue({ stringUnit: 'binary' });

  it('matches a plain reference implementation (no fast paths)', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalize(value)).toBe(reference(value));
      }),
    );
  });

  it('is independent of member order and parses back to an equal value', () => {
    fc.assert(
      fc.property(json, fc.integer(), (value, seed) => {
        const text = canonicalize(value);
        expect(canonicalize(shuffleKeys(value, seed))).toBe(text);
        expect(canonicalize(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('never holds a raw line feed, and the bytes are its UTF-8', () => {
    fc.assert(
      fc.property(json, (value) => {
        const text = canonicalize(value);
        expect(text.includes('\n')).toBe(false);
        expect(Buffer.from(canonicalizeToBytes(value)).toString('utf8')).toBe(text);
      }),
    );
  });
});

describe('canonicalizePlainInto (what ingest uses for a line without a backslash)', () => {
  const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
  // Characters at every UTF-8 length boundary (1-4 bytes) and either side of the surrogates, so
  // that member names sort by UTF-16 code units where that differs from code point order; and any.
  const unit = fc.oneof(
    fc.constantFrom('a', 'Z', '0', ' ', '\u007f', '\u0080', 'é', 'ÿ', '\u07ff', '\u0800', '€'),
    fc.constantFrom('\ud7ff', '\ue000', '\uffff', '𐀀', '😀', '\u{10ffff}'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );
  const values = fc
    .jsonValue({ stringUnit: unit })
    .map((v) => JSON.stringify(v))
    .filter((t) => t !== undefined && !t.includes('\\'))
    .map((t) => JSON.parse(strictUtf8.decode(Buffer.from(t, 'utf8'))) as unknown);

  it('writes exactly the UTF-8 of canonicalize, for whatever JSON.parse makes of UTF-8 text with no backslash, after the bytes before it, which it leaves', () => {
    fc.assert(
      fc.property(values, fc.nat(40), (value, at) => {
        const expected = Buffer.from(canonicalize(value), 'utf8');
        // Room for the worst case it reserves (3 bytes a UTF-16 code unit, never more than 3 a byte).
        const out = new Uint8Array(at + 3 * expected.length + 16).fill(0xa5);
        const end = canonicalizePlainInto(value, out, at);
        expect(end).toBe(at + expected.length);
        expect(Buffer.from(out.subarray(at, end)).equals(expected)).toBe(true);
        expect(out.subarray(0, at).every((b) => b === 0xa5)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('returns -1 when the rest of the buffer is too small, and succeeds once it is large enough', () => {
    fc.assert(
      fc.property(values, (value) => {
        const expected = Buffer.from(canonicalize(value), 'utf8');
        // It reserves room for the worst case of each string (3 bytes a code unit), so it may
        // refuse a buffer that the bytes would just fit; never one that is too small.
        for (let size = 0; size < expected.length; size++)
          expect(canonicalizePlainInto(value, new Uint8Array(size), 0)).toBe(-1);
        let size = expected.length;
        while (canonicalizePlainInto(value, new Uint8Array(size), 0) < 0) size++;
        expect(size).toBeLessThanOrEqual(3 * expected.length + 2);
        const out = new Uint8Array(size);
        expect(canonicalizePlainInto(value, out, 0)).toBe(expected.length);
        expect(Buffer.from(out.subarray(0, expected.length)).equals(expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what canonicalize refuses, with the same code, message and path', () => {
    class Point {
      x = 1;
    }
    const deep: unknown[] = [];
    let inner = deep;
    for (let i = 0; i < 300; i++) {
      const next: unknown[] = [];
      inner.push(next);
      inner = next;
    }
    const bad: unknown[] = [
      { a: [1, { b: Number.POSITIVE_INFINITY }] },
      { a: new Point() },
      [1, undefined],
      { f: () => 1 },
      { big: 10n },
      deep,
    ];
    for (const value of bad) {
      const expected = inputError(() => canonicalize(value));
      const got = inputError(() => canonicalizePlainInto(value, new Uint8Array(4096), 0));
      expect(got.code).toBe('CANONICAL_JSON_INVALID');
      expect(got.message).toBe(expected.message);
      expect(got.issues).toEqual(expected.issues);
    }
  });

  it('is not part of the package: auditlock/core exports canonicalize only', async () => {
    const core = await import('../../src/core/index.js');
    expect('canonicalizePlainInto' in core).toBe(false);
    expect(typeof core.canonicalize).toBe('function');
  });

  it('writes strings unexamined only in its own calls, also after one that threw', () => {
    const out = new Uint8Array(16);
    const end = canonicalizePlainInto('a"b', out, 0); // the caller's promise, broken
    expect(Buffer.from(out.subarray(0, end)).toString()).toBe('"a"b"');
    expect(() => canonicalizePlainInto({ n: Number.NaN }, out, 0)).toThrow(InputError);
    expect(canonicalize('a"b')).toBe('"a\\"b"');
    expect(() => canonicalize('\uD800')).toThrow(InputError);
  });

  it('skips members whose value is undefined, as canonicalize does', () => {
    const value = { b: 1, a: undefined, c: [true, null, 'é'] };
    const out = new Uint8Array(64);
    const end = canonicalizePlainInto(value, out, 0);
    expect(Buffer.from(out.subarray(0, end)).toString('utf8')).toBe('{"b":1,"c":[true,null,"é"]}');
  });
});

/** RFC 8785 written the obvious way: sort every object's names, JSON.stringify every primitive. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${reference(record[k])}`);
  return `{${members.join(',')}}`;
}

/** A copy of `value` with every object's members inserted in a seed-dependent order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  entries.sort(([a], [b]) => (hash(a, seed) - hash(b, seed)) | 0 || (a < b ? -1 : 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: shuffleKeys(v, seed),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function hash(s: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x9e3779b1);
  return h;
}

/** `[1, <hole>, 3]`, built without a sparse literal. */
function sparse(): unknown[] {
  const a = [1];
  a[2] = 3;
  return a;
}
