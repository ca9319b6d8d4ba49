/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that the log
 * hashes and signs.
 *
 * - Object members sorted by the UTF-16 code units of their names (§3.2.3), recursively.
 * - No whitespace (§3.2.1).
 * - Numbers in ECMAScript `Number.prototype.toString` form (§3.2.2.3): `1e+21`, `1e-7`, `-0` → `0`.
 * - Strings escaped as ECMAScript `JSON.stringify` does (§3.2.2.2): `"`, `\` and U+0000–U+001F only,
 *   so the output never holds a raw line feed.
 * - Input must be I-JSON (RFC 7493): non-finite numbers and unpaired surrogates are rejected, as are
 *   values JSON cannot hold (`bigint`, functions, `Date`, class instances, sparse arrays).
 * - Object properties whose value is `undefined` are omitted, as `JSON.stringify` does.
 */
import { utf8 } from './encoding.js';
import { InputError } from './errors.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/** Nesting deeper than this is refused, so hostile input cannot overflow the stack. */
export const DEFAULT_MAX_DEPTH = 256;

/** Matches a UTF-16 code unit that is not part of a surrogate pair (`u` flag: pairs are one code point). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** Anything `JSON.stringify` would escape, or an unpaired surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const NOT_PLAIN = /["\\\u0000-\u001f\uD800-\uDFFF]/u;

/** Thrown inside the walk; converted to an InputError with the full path at the top. */
class Problem {
  constructor(
    readonly path: (string | number)[],
    readonly message: string,
  ) {}
}

/**
 * The RFC 8785 canonical form of `value`.
 * @param options.maxDepth largest number of nested arrays/objects accepted (default 256)
 * @throws InputError `CANONICAL_JSON_INVALID` with one issue naming the offending path
 */
export function canonicalize(value: unknown, options?: { maxDepth?: number }): string {
  try {
    return write(value, options?.maxDepth ?? DEFAULT_MAX_DEPTH, 0);
  } catch (e) {
    throw problemError(e);
  }
}

/** A Problem thrown by a walk as the InputError of the module's functions; anything else as is. */
function problemError(e: unknown): unknown {
  if (!(e instanceof Problem)) return e;
  const path = e.path.join('.');
  return new InputError(
    'CANONICAL_JSON_INVALID',
    `cannot canonicalise JSON${path ? ` at ${path}` : ''}: ${e.message}`,
    { issues: [{ path, message: e.message }] },
  );
}

/**
 * The UTF-8 bytes of {@link canonicalize}`(value)`, written into `out` from index `at`, for a
 * value whose strings the caller vouches need no escaping: no string of `value`, member name or
 * value, holds a `"`, a `\`, a control character (U+0000-U+001F) or an unpaired surrogate, so each
 * is written between quotes as it is, without being looked at. True of everything JSON.parse makes
 * of a text that has no backslash and came from strict UTF-8 decoding: JSON allows those
 * characters in a string only escaped, and UTF-8 cannot encode an unpaired surrogate. Ingest knows
 * it of most lines (one memchr per line). Wrong, the output is not canonical JSON: not part of the
 * package's interface (core/index.ts).
 *
 * Kept beside {@link canonicalize} because it pays end to end (issue 14, item 5;
 * docs/PERFORMANCE.md): it saves the pattern test of every string (~1.3 µs of ~18 per ~1 KB event
 * on a parse thread), and, writing bytes where the entry goes, the canonical text is never built:
 * its ~60 member strings, their ropes and the flat copy that encoding it made (~8 KB of garbage
 * per event). `auditlock ingest` of 200,000 events against the string writer, two runs of 6
 * interleaved pairs: CPU 0.96x (0.94-0.99, 0.92-1.01), wall 0.96x.
 * @returns the index after the last byte written; -1 if `out` has too little room from `at`
 *   (what was written after `at` is then garbage: give a larger `out` and call again)
 * @throws InputError `CANONICAL_JSON_INVALID`
 */
export function canonicalizePlainInto(value: unknown, out: Uint8Array, at: number): number {
  sink = out;
  cursor = at;
  try {
    return put(value, DEFAULT_MAX_DEPTH, 0) ? cursor : -1;
  } catch (e) {
    throw problemError(e);
  } finally {
    sink = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
/** Where {@link canonicalizePlainInto} writes, and the next index to write at. */
let sink: Uint8Array = EMPTY;
let cursor = 0;
const encoder = new TextEncoder();

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Writes one byte; false when `sink` is full. */
function putByte(b: number): boolean {
  if (cursor >= sink.length) return false;
  sink[cursor++] = b;
  return true;
}

/** Writes ASCII text (numbers, literals, as `write` gives them); false when it does not fit. */
function putAscii(s: string): boolean {
  if (cursor + s.length > sink.length) return false;
  for (let i = 0; i < s.length; i++) sink[cursor++] = s.charCodeAt(i);
  return true;
}

/**
 * Writes a vouched string between quotes: its ASCII head byte by byte (most strings are ASCII,
 * and a call into the encoder costs more than a short loop), the rest as UTF-8 by the encoder.
 */
function putString(s: string): boolean {
  // At most 3 UTF-8 bytes per UTF-16 code unit, and the two quotes.
  if (cursor + 3 * s.length + 2 > sink.length) return false;
  sink[cursor++] = QUOTE;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    sink[cursor++] = c;
  }
  if (i < s.length)
    cursor += encoder.encodeInto(i === 0 ? s : s.slice(i), sink.subarray(cursor)).written;
  sink[cursor++] = QUOTE;
  return true;
}

/**
 * {@link write} into the sink: the same values, checks and order; false when it is full. Numbers,
 * literals and what is no JSON value go through `write` itself (ASCII text, or its Problem).
 */
function put(value: unknown, max: number, depth: number): boolean {
  if (typeof value === 'string') return putString(value);
  if (typeof value !== 'object' || value === null) return putAscii(write(value, max, depth));
  if (depth === max) throw new Problem([], `expected at most ${max} nested arrays/objects`);
  if (Array.isArray(value)) return putArray(value, max, depth + 1);
  return putObject(value, max, depth + 1);
}

function putArray(a: readonly unknown[], max: number, depth: number): boolean {
  if (!putByte(0x5b)) return false;
  for (let i = 0; i < a.length; i++) {
    const item = a[i];
    if (item === undefined)
      throw new Problem([i], 'expected a JSON value, got undefined (or a hole)');
    if (i > 0 && !putByte(COMMA)) return false;
    try {
      if (!put(item, max, depth)) return false;
    } catch (e) {
      if (e instanceof Problem) e.path.unshift(i);
      throw e;
    }
  }
  return putByte(0x5d);
}

function putObject(o: object, max: number, depth: number): boolean {
  checkPlainObject(o);
  const keys = sortedKeys(o);
  const record = o as Record<string, unknown>;
  if (!putByte(0x7b)) return false;
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first && !putByte(COMMA)) return false;
    first = false;
    try {
      if (!putString(key) || !putByte(COLON) || !put(item, max, depth)) return false;
    } catch (e) {
      if (e instanceof Problem) e.path.unshift(key);
      throw e;
    }
  }
  return putByte(0x7d);
}

/**
 * The UTF-8 bytes of {@link canonicalize}`(value)`.
 * @throws InputError `CANONICAL_JSON_INVALID`
 */
export function canonicalizeToBytes(value: unknown, options?: { maxDepth?: number }): Uint8Array {
  return utf8(canonicalize(value, options));
}

function write(value: unknown, max: number, depth: number): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      // ECMAScript Number::toString is exactly the RFC 8785 §3.2.2.3 number form.
      if (!Number.isFinite(value)) throw new Problem([], `expected a finite number, got ${value}`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (depth === max) throw new Problem([], `expected at most ${max} nested arrays/objects`);
      if (Array.isArray(value)) return writeArray(value, max, depth + 1);
      return writeObject(value, max, depth + 1);
    default:
      throw new Problem([], `expected a JSON value, got ${typeof value}`);
  }
}

function writeString(s: string): string {
  // Most text needs no escaping; calling JSON.stringify per string costs more than this test.
  if (!NOT_PLAIN.test(s)) return `"${s}"`;
  if (LONE_SURROGATE.test(s))
    throw new Problem([], 'expected well-formed text, got an unpaired surrogate');
  return JSON.stringify(s);
}

function writeArray(a: readonly unknown[], max: number, depth: number): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) {
    const item = a[i];
    if (item === undefined)
      throw new Problem([i], 'expected a JSON value, got undefined (or a hole)');
    try {
      out += (i === 0 ? '' : ',') + write(item, max, depth);
    } catch (e) {
      if (e instanceof Problem) e.path.unshift(i);
      throw e;
    }
  }
  return `${out}]`;
}

/**
 * The keys of `o` in RFC 8785 §3.2.3 order: by UTF-16 code units, which is how JavaScript compares
 * strings. A small object is sorted in place by insertion: Array#sort copies the array into a work
 * area first, and an event's dozen objects made that a third of what a parse thread allocated
 * (issue 14); objects arrive sorted or nearly so, which insertion sort does in one pass.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (keys.length > SMALL_OBJECT) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** Members above which an object's keys are sorted by Array#sort (n log n, not n²). */
const SMALL_OBJECT = 32;

/** @throws Problem unless `o` is a plain object (or has a null prototype) */
function checkPlainObject(o: object): void {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) {
    throw new Problem(
      [],
      `expected a plain object, got ${o.constructor?.name ?? 'an exotic object'}`,
    );
  }
}

function writeObject(o: object, max: number, depth: number): string {
  checkPlainObject(o);
  const keys = sortedKeys(o);
  const record = o as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    try {
      const member = `${writeString(key)}:${write(item, max, depth)}`;
      out += first ? member : `,${member}`;
      first = false;
    } catch (e) {
      if (e instanceof Problem) e.path.unshift(key);
      throw e;
    }
  }
  return `${out}}`;
}
