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

/** Whether the walk under way writes strings without looking at them (canonicalizePlain). */
let vouched = false;

/**
 * The RFC 8785 canonical form of `value`.
 * @param options.maxDepth largest number of nested arrays/objects accepted (default 256)
 * @throws InputError `CANONICAL_JSON_INVALID` with one issue naming the offending path
 */
export function canonicalize(value: unknown, options?: { maxDepth?: number }): string {
  return canonical(value, options?.maxDepth ?? DEFAULT_MAX_DEPTH, false);
}

/**
 * {@link canonicalize} of a value whose strings the caller vouches need no escaping: no string of
 * `value`, member name or value, holds a `"`, a `\`, a control character (U+0000-U+001F) or an
 * unpaired surrogate, so each is written between quotes as it is, without being looked at. True
 * of everything JSON.parse makes of a text that has no backslash and came from strict UTF-8
 * decoding: JSON allows those characters in a string only escaped, and UTF-8 cannot encode an
 * unpaired surrogate. Ingest knows it of most lines (one memchr per line) and saves a pattern test
 * per string: ~1.3 µs of ~18 per ~1 KB event on a parse thread (issue 14, docs/PERFORMANCE.md).
 * Wrong, the output is not canonical JSON: not part of the package's interface (core/index.ts).
 * @throws InputError `CANONICAL_JSON_INVALID`
 */
export function canonicalizePlain(value: unknown): string {
  return canonical(value, DEFAULT_MAX_DEPTH, true);
}

function canonical(value: unknown, maxDepth: number, plain: boolean): string {
  vouched = plain;
  try {
    return write(value, maxDepth, 0);
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    const path = e.path.join('.');
    throw new InputError(
      'CANONICAL_JSON_INVALID',
      `cannot canonicalise JSON${path ? ` at ${path}` : ''}: ${e.message}`,
      { issues: [{ path, message: e.message }] },
    );
  } finally {
    vouched = false;
  }
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
  if (vouched || !NOT_PLAIN.test(s)) return `"${s}"`;
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

function writeObject(o: object, max: number, depth: number): string {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) {
    throw new Problem(
      [],
      `expected a plain object, got ${o.constructor?.name ?? 'an exotic object'}`,
    );
  }
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
