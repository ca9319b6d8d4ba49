/**
 * Strict decoding for the event-source mappers: base64, UTF-8, gzip, JSON. Each step throws an
 * InputError with a stable code and the record's location, never a stray `SyntaxError`; the
 * mappers keep the input, as far as it was decoded, as a rejected item.
 */
import { gunzipSync } from 'node:zlib';
import { fromBase64, fromUtf8 } from '../core/encoding.js';
import { InputError, type InputIssue } from '../core/errors.js';
import { parseJsonStrict } from '../core/strict-json.js';

/**
 * Most bytes a compressed payload may expand to. Real CloudWatch Logs batches are far smaller
 * (Lambda's asynchronous payload limit bounds the compressed data, and log text seldom compresses
 * beyond 10:1); the bound stops a decompression bomb (1000:1 and more) from exhausting memory.
 */
export const MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/** An InputError located at `location`, with one issue per problem (whole input: path ''). */
export function inputError(
  code: string,
  location: string,
  what: string,
  issues: readonly InputIssue[] = [{ path: '', message: what }],
  cause?: unknown,
): InputError {
  return new InputError(code, `${location}: ${what}`, { location, issues, cause });
}

/**
 * Decodes canonical padded base64 (RFC 4648 §4): no whitespace, no URL-safe letters, zero padding
 * bits, so each byte string has one accepted text. `Buffer.from(text, 'base64')` alone accepts
 * almost anything and silently skips what it cannot read.
 * @throws InputError `BASE64_INVALID`
 */
export function decodeBase64(text: string, location: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch (cause) {
    throw inputError(
      'BASE64_INVALID',
      location,
      'expected canonical padded base64',
      undefined,
      cause,
    );
  }
}

/**
 * Decodes UTF-8, refusing invalid sequences rather than substituting U+FFFD.
 * @throws InputError `UTF8_INVALID`
 */
export function decodeUtf8(bytes: Uint8Array, location: string): string {
  try {
    return fromUtf8(bytes);
  } catch (cause) {
    throw inputError('UTF8_INVALID', location, 'expected UTF-8 text', undefined, cause);
  }
}

/**
 * Decompresses gzip (RFC 1952), at most `max` bytes out. Several members are allowed (RFC 1952
 * §2.2: a file is a series of members); bytes after the last member are refused, although zlib
 * itself ignores trailing zeros.
 * @throws InputError `GZIP_INVALID`, or `PAYLOAD_TOO_LARGE` past `max`
 */
export function gunzipBounded(
  bytes: Uint8Array,
  location: string,
  max = MAX_DECOMPRESSED_BYTES,
): Uint8Array {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // `info: true` (documented for the convenience methods) also returns the engine, whose
    // `bytesWritten` says how much input was consumed; @types/node does not model it.
    result = gunzipSync(bytes, { maxOutputLength: max, info: true } as object) as never;
  } catch (cause) {
    if ((cause as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') {
      const what = `expected at most ${max} bytes after decompression`;
      throw inputError('PAYLOAD_TOO_LARGE', location, what, undefined, cause);
    }
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw inputError('GZIP_INVALID', location, `expected gzip data${detail}`, undefined, cause);
  }
  const consumed = result.engine.bytesWritten;
  if (consumed !== bytes.length) {
    const what = `expected gzip data only, got ${bytes.length - consumed} bytes after the end`;
    throw inputError('GZIP_INVALID', location, what);
  }
  const out = result.buffer;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Parses JSON text strictly, with the same rules as the CLI (src/core/strict-json.ts): duplicate
 * member names and numbers that cannot be kept exactly are refused, never silently changed.
 * @throws InputError `JSON_INVALID`, `JSON_DUPLICATE_MEMBER`, `JSON_NUMBER_INEXACT`
 */
export function parseJson(text: string, location: string): unknown {
  try {
    return parseJsonStrict(text, location);
  } catch (cause) {
    if (!(cause instanceof InputError)) throw cause;
    throw inputError(
      cause.code,
      location,
      cause.message.replace(`${location}: `, ''),
      cause.issues.length ? cause.issues : undefined,
      cause.cause ?? cause,
    );
  }
}
