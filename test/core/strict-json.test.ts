/**
 * The strict JSON reader for producer input: what JSON.parse accepts, minus the texts it would
 * silently change (duplicate member names, numbers that cannot be kept exactly: RFC 7493 §2.2
 * I-JSON). Each refusal has its own code; everything accepted parses exactly as JSON.parse does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { parseEventLine } from '../../src/core/event.js';
import { parseJsonStrict } from '../../src/core/strict-json.js';

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).code;
  }
  return 'accepted';
};

const event = (extra: string) =>
  `{"time":"2026-11-26T08:16:35Z","action":"user.login","actor":{"id":"u1"},"outcome":"success"${extra}}`;

describe('parseJsonStrict: duplicate member names', () => {
  it.each([
    ['at the top level', '{"a":1,"a":2}'],
    ['nested', '{"a":{"b":1,"c":2,"b":3}}'],
    ['inside an array', '[{"x":1},{"y":1,"y":1}]'],
    ['same value twice', '{"a":1,"a":1}'],
    ['__proto__ twice', '{"__proto__":1,"__proto__":2}'],
    ['escaped spelling of the same name', '{"a":1,"\\u0061":2}'],
  ])('refuses %s with JSON_DUPLICATE_MEMBER', (_name, text) => {
    expect(codeOf(() => parseJsonStrict(text, 'line 1'))).toBe('JSON_DUPLICATE_MEMBER');
  });

  it('names the member and its path in the issue', () => {
    try {
      parseJsonStrict('{"a":{"b":1,"b":2}}', 'line 4');
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).issues.map((i) => i.path)).toEqual(['a.b']);
      expect((e as InputError).location).toBe('line 4');
    }
  });

  it('accepts equal names in different objects, and names that only look alike', () => {
    expect(parseJsonStrict('{"a":{"a":1},"b":[{"a":1},{"a":2}],"A":3}', 'x')).toEqual({
      a: { a: 1 },
      b: [{ a: 1 }, { a: 2 }],
      A: 3,
    });
    expect(parseJsonStrict('{"a:":1,"a":2,"\\"a":3}', 'x')).toEqual({ 'a:': 1, a: 2, '"a': 3 });
  });
});

describe('parseJsonStrict: numbers kept exactly (RFC 7493 §2.2)', () => {
  it.each([
    ['2^53+1', '9007199254740993'],
    ['2^53', '9007199254740992'],
    ['-(2^53)', '-9007199254740992'],
    ['a 20-digit integer', '12345678901234567890'],
    ['underflow to zero', '1e-400'],
    ['overflow to Infinity', '1e400'],
    ['negative overflow', '-1e400'],
    ['more precision than a double', '3.141592653589793238462643383279'],
    ['a fraction beyond 2^53', '9007199254740993.0'],
  ])('refuses %s (%s) with JSON_NUMBER_INEXACT', (_name, n) => {
    expect(codeOf(() => parseJsonStrict(`{"n":${n}}`, 'line 1'))).toBe('JSON_NUMBER_INEXACT');
    expect(codeOf(() => parseJsonStrict(`[${n}]`, 'line 1'))).toBe('JSON_NUMBER_INEXACT');
  });

  it.each([
    ['0', 0],
    ['-0', -0],
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['0.1', 0.1],
    ['1.50', 1.5],
    ['1e20', 1e20],
    ['1E+2', 100],
    ['5e-324', 5e-324],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['0.000001', 0.000001],
    ['123.456e-2', 1.23456],
  ])('accepts %s', (n, value) => {
    expect(parseJsonStrict(`{"n":${n}}`, 'x')).toEqual({ n: value });
  });

  it('does not mistake digits inside strings for numbers', () => {
    expect(parseJsonStrict('{"n":"1e400","m":"9007199254740993"}', 'x')).toEqual({
      n: '1e400',
      m: '9007199254740993',
    });
  });

  it('accepts every finite double written the way JavaScript writes it', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = JSON.stringify([d]);
        const integral = !/[.eE]/.test(text);
        if (integral && Math.abs(d) > Number.MAX_SAFE_INTEGER) return;
        expect(parseJsonStrict(text, 'x')).toEqual(JSON.parse(text));
      }),
    );
  });
});

describe('parseJsonStrict: otherwise exactly JSON.parse', () => {
  it('refuses what JSON.parse refuses with JSON_INVALID', () => {
    for (const text of ['', '{', '{"a":1,}', "{'a':1}", '[1] x', 'NaN'])
      expect(codeOf(() => parseJsonStrict(text, 'x'))).toBe('JSON_INVALID');
  });

  it('agrees with JSON.parse on any JSON without duplicates or large integers', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'medium' }), (text) => {
        const strict = codeOf(() => parseJsonStrict(text, 'x'));
        if (strict === 'accepted') expect(parseJsonStrict(text, 'x')).toEqual(JSON.parse(text));
        else expect(strict).toMatch(/^JSON_(DUPLICATE_MEMBER|NUMBER_INEXACT)$/);
      }),
    );
  });

  it('handles deep nesting without a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(codeOf(() => parseJsonStrict(deep, 'x'))).not.toBe('unexpected');
  });
});

describe('parseEventLine reads strictly', () => {
  it('refuses a duplicated outcome instead of keeping the last one', () => {
    expect(codeOf(() => parseEventLine(event(',"outcome":"failure"'), 1))).toBe(
      'JSON_DUPLICATE_MEMBER',
    );
  });

  it('refuses 2^53+1 and 1e-400 in detail instead of rounding them', () => {
    expect(codeOf(() => parseEventLine(event(',"detail":{"n":9007199254740993}'), 1))).toBe(
      'JSON_NUMBER_INEXACT',
    );
    expect(codeOf(() => parseEventLine(event(',"detail":{"n":1e-400}'), 1))).toBe(
      'JSON_NUMBER_INEXACT',
    );
  });
});
