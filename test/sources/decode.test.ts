import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { decodeBase64, gunzipBounded, parseJson } from '../../src/sources/decode.js';
import { text } from './support.js';

/** Runs `fn`, expecting an InputError; returns its code. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.code;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('decodeBase64 (RFC 4648 §4, canonical only)', () => {
  it('decodes padded base64', () => {
    expect(text(decodeBase64('eyJhIjoxfQ==', 'x'))).toBe('{"a":1}');
    expect(decodeBase64('', 'x')).toHaveLength(0);
  });

  it.each([
    ['missing padding', 'eyJhIjoxfQ'],
    ['a line break', 'eyJh\nIjoxfQ=='],
    ['a space', 'eyJh IjoxfQ=='],
    ['URL-safe letters', 'ab-_'],
    ['non-zero padding bits', 'eyJhIjoxfR=='],
    ['stray characters', 'not base64!'],
  ])('refuses %s', (_, data) => {
    expect(codeOf(() => decodeBase64(data, 'x'))).toBe('BASE64_INVALID');
  });
});

describe('gunzipBounded', () => {
  it('stops at the bound with PAYLOAD_TOO_LARGE', () => {
    const zipped = gzipSync(Buffer.alloc(1001));
    expect(gunzipBounded(zipped, 'x', 1001)).toHaveLength(1001);
    expect(codeOf(() => gunzipBounded(zipped, 'x', 1000))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses truncated, empty and trailing data', () => {
    const zipped = gzipSync('{"a":1}');
    expect(codeOf(() => gunzipBounded(zipped.subarray(0, zipped.length - 1), 'x'))).toBe(
      'GZIP_INVALID',
    );
    expect(codeOf(() => gunzipBounded(new Uint8Array(0), 'x'))).toBe('GZIP_INVALID');
    expect(codeOf(() => gunzipBounded(Buffer.concat([zipped, Buffer.from([0])]), 'x'))).toBe(
      'GZIP_INVALID',
    );
  });
});

describe('parseJson', () => {
  it('names the location and keeps the parser error as cause', () => {
    try {
      parseJson('{', 'kinesis record 7');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).code).toBe('JSON_INVALID');
      expect((e as InputError).location).toBe('kinesis record 7');
      expect((e as InputError).cause).toBeInstanceOf(SyntaxError);
    }
  });

  it.each([
    ['{"outcome":"success","outcome":"failure"}', 'JSON_DUPLICATE_MEMBER'],
    ['{"n":9007199254740993}', 'JSON_NUMBER_INEXACT'],
    ['{"n":1e-400}', 'JSON_NUMBER_INEXACT'],
  ])('refuses %s as the CLI does (%s) instead of changing it', (text, code) => {
    try {
      parseJson(text, 'sqs message m-1');
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).code).toBe(code);
      expect((e as InputError).location).toBe('sqs message m-1');
    }
  });
});
