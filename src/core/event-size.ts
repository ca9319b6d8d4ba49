/**
 * The size rules of an event: `detail` at most 64 KiB canonical and 32 levels deep, the whole event
 * at most 256 KiB canonical (RFC 8785, UTF-8). Measuring by encoding costs ~2 µs per event, so
 * cheap upper bounds settle almost every event and the exact encoding decides the rest.
 */
import { canonicalize } from './canonical-json.js';
import { describeValue } from './describe-value.js';
import { InputError, type InputIssue } from './errors.js';
import { LONE_SURROGATE } from './event-text.js';
import { MAX_DETAIL_BYTES, MAX_DETAIL_DEPTH } from './limits.js';

/**
 * Why `value` is not a valid `detail` (a JSON object, at most {@link MAX_DETAIL_BYTES} canonical
 * bytes and {@link MAX_DETAIL_DEPTH} levels deep): its issues, none when it is valid.
 */
export function checkDetail(value: unknown): InputIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path: '', message: `expected a JSON object, got ${describeValue(value)}` }];
  }
  // Canonicalising only to measure cost ~2 µs per event; a walk that bounds the size settles
  // almost every detail, and the exact encoding decides the rest (and words their issues).
  const bound = detailBound(value, 1);
  if (bound >= 0 && bound <= MAX_DETAIL_BYTES) return [];
  let encoded: string;
  try {
    encoded = canonicalize(value, { maxDepth: MAX_DETAIL_DEPTH });
  } catch (e) {
    if (e instanceof InputError) return [...e.issues];
    throw e;
  }
  const size = utf8Length(encoded);
  if (size <= MAX_DETAIL_BYTES) return [];
  return [
    {
      path: '',
      message: `expected at most ${MAX_DETAIL_BYTES} bytes canonically encoded, got ${size}`,
    },
  ];
}

/**
 * Upper bound on the canonical UTF-8 size of `value` nested `level` deep (`detail` itself is 1),
 * or -1 unless `canonicalize(detail, { maxDepth: MAX_DETAIL_DEPTH })` surely succeeds: only plain
 * JSON values, well-formed text, finite numbers, no holes. A UTF-16 unit takes at most 6 bytes
 * (`\u001f`), a number at most 25 characters (`-0.0000012345678901234567`).
 */
function detailBound(value: unknown, level: number): number {
  switch (typeof value) {
    case 'string':
      return LONE_SURROGATE.test(value) ? -1 : 6 * value.length + 2;
    case 'number':
      return Number.isFinite(value) ? 25 : -1;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (level > MAX_DETAIL_DEPTH) return -1;
      let n = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const b = detailBound(value[i], level + 1);
          if (b < 0) return -1;
          n += b + 1;
        }
        return n;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return -1;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (item === undefined) continue;
        if (LONE_SURROGATE.test(key)) return -1;
        const b = detailBound(item, level + 1);
        if (b < 0) return -1;
        n += 6 * key.length + 4 + b;
      }
      return n;
    }
    default:
      return -1;
  }
}

/**
 * Upper bound on the canonical UTF-8 size of validated event fields (all but `skip`): that text
 * holds no C0 control other than TAB, LF, CR, so each UTF-16 unit takes at most 3 bytes, escaped or
 * not; each member adds at most its ASCII name, two quotes, a colon and a comma.
 */
export function sizeBound(value: unknown, skip?: string): number {
  if (typeof value === 'string') return 3 * value.length + 2;
  if (typeof value !== 'object' || value === null) return 0;
  let n = 2;
  if (Array.isArray(value)) {
    for (const item of value) n += sizeBound(item) + 1;
    return n;
  }
  // for-in, not Object.entries: this runs on every event and the array allocation tripled its cost.
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (key !== skip && item !== undefined) n += key.length + 4 + sizeBound(item);
  }
  return n;
}

/** UTF-8 length of well-formed text, without encoding it. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
