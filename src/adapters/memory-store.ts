/**
 * An in-memory {@link ObjectStore} for fast unit tests, plus the object-key rules every store
 * adapter shares (`assertObjectKey`, `assertListPrefix`, `compareKeys`).
 *
 * The memory store keeps the full write-once contract except durability: it lives and dies with
 * the process. Its `tamper*` methods deliberately break write-once so tests can play an attacker
 * who has write access to the storage underneath.
 */
import { InputError, StorageError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, ReadOptions } from '../core/ports.js';
import { objectTooLarge, readLimitOf } from './read-limit.js';

/** S3's limit on key length; every store enforces it so keys stay portable between stores. */
export const MAX_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls (Unicode general category Cc), and lone UTF-16 surrogates,
// which have no UTF-8 encoding and so cannot be compared or stored byte-exactly.
const FORBIDDEN_CHAR_RE = /[\p{Cc}\p{Cs}\\]/u;

function invalidKey(what: string, value: string, why: string): InputError<'KEY_INVALID'> {
  return new InputError('KEY_INVALID', `invalid ${what} ${JSON.stringify(value)}: ${why}`, {
    location: JSON.stringify(value),
  });
}

/** The reason `text` cannot be part of any key, or `undefined`. Checks only position-free rules. */
function checkCharacters(text: string): string | undefined {
  if (FORBIDDEN_CHAR_RE.test(text))
    return 'contains a control character, backslash or lone surrogate';
  if (Buffer.byteLength(text, 'utf8') > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (text.startsWith('/')) return 'starts with "/"';
  if (text.includes('//')) return 'contains "//"';
  return undefined;
}

/**
 * Checks that `key` is a valid object key and returns its `/`-separated segments. A valid key is
 * non-empty, at most 1,024 UTF-8 bytes, has no control characters, backslashes or lone surrogates,
 * and every segment is non-empty and neither `.` nor `..` (so no leading, trailing or double `/`).
 * Every store adapter MUST call this before touching storage.
 * @throws InputError `KEY_INVALID`
 */
export function assertObjectKey(key: string): string[] {
  if (typeof key !== 'string' || key === '') throw invalidKey('key', String(key), 'empty');
  const why = checkCharacters(key);
  if (why !== undefined) throw invalidKey('key', key, why);
  if (key.endsWith('/')) throw invalidKey('key', key, 'ends with "/"');
  const segments = key.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw invalidKey('key', key, 'has a "." or ".." segment');
  }
  return segments;
}

/**
 * Checks that `prefix` could begin some valid key (the empty prefix matches every key). Only the
 * segments before the last `/` must be whole valid segments; the tail may be any partial segment.
 * @throws InputError `KEY_INVALID`
 */
export function assertListPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw invalidKey('prefix', String(prefix), 'not a string');
  if (prefix === '') return;
  const why = checkCharacters(prefix);
  if (why !== undefined) throw invalidKey('prefix', prefix, why);
  const whole = prefix.split('/').slice(0, -1);
  if (whole.some((s) => s === '.' || s === '..')) {
    throw invalidKey('prefix', prefix, 'has a "." or ".." segment');
  }
}

/**
 * Orders keys by their UTF-8 bytes, the order `ObjectStore.list` promises (and S3 uses). Plain
 * `<` on JS strings compares UTF-16 code units, which differs for characters above U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A write-once {@link ObjectStore} held in a `Map`; bytes are copied in and out. */
export class MemoryStore implements ObjectStore {
  readonly location: string;
  readonly #objects = new Map<string, Uint8Array>();

  constructor(options?: { location?: string }) {
    this.location = options?.location ?? 'memory:';
  }

  /**
   * Creates `key` unless it exists. Atomic: the check and the insert run without an `await`
   * between them, so concurrent calls cannot both create.
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_EXISTS` (not retryable) if `key` holds different bytes.
   */
  async putIfAbsent(key: string, bytes: Uint8Array, _options?: PutOptions): Promise<PutResult> {
    assertObjectKey(key);
    const existing = this.#objects.get(key);
    if (existing === undefined) {
      this.#objects.set(key, bytes.slice());
      return { status: 'created' };
    }
    if (bytesEqual(existing, bytes)) return { status: 'identical' };
    throw new StorageError('OBJECT_EXISTS', `${this.location}${key} already holds other bytes`, {
      retryable: false,
    });
  }

  /**
   * A copy of the object's bytes, or `undefined`; nothing is copied for an object over the limit.
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_TOO_LARGE` (not retryable) over `options.maxBytes`
   * @throws RangeError for a `maxBytes` that is not a non-negative safe integer
   */
  async get(key: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    assertObjectKey(key);
    const limit = readLimitOf(options);
    const bytes = this.#objects.get(key);
    if (bytes !== undefined && bytes.length > limit) {
      throw objectTooLarge(`${this.location}${key}`, bytes.length, limit);
    }
    return bytes?.slice();
  }

  /**
   * Whether `key` exists.
   * @throws InputError `KEY_INVALID`
   */
  async exists(key: string): Promise<boolean> {
    assertObjectKey(key);
    return this.#objects.has(key);
  }

  /**
   * Objects under `prefix` in UTF-8 byte order of the key, from a snapshot taken at the first
   * `next()`; objects created while iterating may or may not appear.
   * @throws InputError `KEY_INVALID` for a prefix no valid key can start with.
   */
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    const after = options?.startAfter;
    const keys = [...this.#objects.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
      .sort(compareKeys);
    for (const key of keys) {
      const bytes = this.#objects.get(key);
      if (bytes !== undefined) yield { key, size: bytes.length };
    }
  }

  /**
   * TEST ONLY: replaces the bytes of `key`, bypassing write-once, to simulate an attacker with
   * write access to the storage. Never call this outside tests.
   * @throws InputError `KEY_INVALID`
   */
  tamperReplace(key: string, bytes: Uint8Array): void {
    assertObjectKey(key);
    this.#objects.set(key, bytes.slice());
  }

  /**
   * TEST ONLY: deletes `key`, bypassing write-once, to simulate an attacker. Returns whether the
   * key existed. Never call this outside tests.
   * @throws InputError `KEY_INVALID`
   */
  tamperDelete(key: string): boolean {
    assertObjectKey(key);
    return this.#objects.delete(key);
  }
}
