/**
 * The segment header (docs/FORMAT.md §4.3) checked by hand, without loading zod: parseSegment
 * (segment.ts) reads every header with it. zod is most of what a verification worker thread
 * would otherwise load (issue 14): about 85 ms of start-up CPU and 6 MiB of heap per thread on
 * this machine (docs/PERFORMANCE.md, "zod in the workers"). It accepts exactly what the zod
 * schema that checked headers before it (now test/helpers/segment-header-schema.ts) accepts
 * followed by its canonical-form check: `test/core/segment-header.test.ts` proves the two accept
 * the same lines, with the same value.
 */
import { BODY_ENCODINGS, type BodyEncoding } from './body-codec.js';
import { canonicalize } from './canonical-json.js';
import { fromBase64, fromUtf8 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { parseTimestamp } from './timestamp.js';

/** Upper bounds a verifier enforces before allocating anything large (segment.ts exports them). */
export const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
export const MAX_SEGMENT_ENTRIES = 1_000_000;
/** Most hashes a stored frontier may list. */
const MAX_FRONTIER_HASHES = 64;

/** The header's value. */
export type SegmentHeader = {
  count: number;
  encoding: BodyEncoding;
  firstIndex: number;
  firstReceivedAt: string;
  frontierAfter: string[];
  frontierBefore: string[];
  lastReceivedAt: string;
  length: number;
  rawLength: number;
};

const KEYS: readonly (keyof SegmentHeader)[] = [
  'count',
  'encoding',
  'firstIndex',
  'firstReceivedAt',
  'frontierAfter',
  'frontierBefore',
  'lastReceivedAt',
  'length',
  'rawLength',
];
const B64_HASH = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Parses the header line (its bytes, without the `\n`).
 * @throws IntegrityError `HEADER_INVALID`: not UTF-8 JSON, not a header, or not the RFC 8785
 *   canonical JSON of its value
 */
export function parseSegmentHeader(line: Uint8Array): SegmentHeader {
  let text: string;
  let json: unknown;
  try {
    text = fromUtf8(line);
    json = JSON.parse(text);
  } catch (cause) {
    throw new IntegrityError('HEADER_INVALID', 'segment header is not UTF-8 JSON', { cause });
  }
  const problem = headerProblem(json);
  if (problem !== undefined)
    throw new IntegrityError('HEADER_INVALID', `segment header invalid: ${problem}`);
  // §4.3: one byte form per value (member order, whitespace, escapes, number spellings).
  if (canonicalize(json as SegmentHeader) !== text)
    throw new IntegrityError(
      'HEADER_INVALID',
      'segment header is not the RFC 8785 canonical JSON of its value',
    );
  return json as SegmentHeader;
}

/** Why `v` (a JSON.parse result) is not a header, or undefined when it is one. */
export function headerProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return '(root): not an object';
  const h = v as Record<string, unknown>;
  for (const key of Object.keys(h))
    if (!(KEYS as readonly string[]).includes(key)) return `(root): unknown key ${key}`;
  return (
    intProblem(h, 'count', 1, MAX_SEGMENT_ENTRIES) ??
    ((BODY_ENCODINGS as readonly unknown[]).includes(h.encoding)
      ? undefined
      : `encoding: not one of ${BODY_ENCODINGS.join(', ')}`) ??
    intProblem(h, 'firstIndex', 0, Number.MAX_SAFE_INTEGER) ??
    timestampProblem(h, 'firstReceivedAt') ??
    frontierProblem(h, 'frontierAfter') ??
    frontierProblem(h, 'frontierBefore') ??
    timestampProblem(h, 'lastReceivedAt') ??
    intProblem(h, 'length', 0, MAX_SEGMENT_BYTES) ??
    intProblem(h, 'rawLength', 0, MAX_SEGMENT_BYTES)
  );
}

function intProblem(
  h: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): string | undefined {
  const n = h[key];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
    return `${key}: not an integer in [${min}, ${max}]`;
  return undefined;
}

function timestampProblem(h: Record<string, unknown>, key: string): string | undefined {
  const t = h[key];
  if (typeof t !== 'string') return `${key}: not a string`;
  try {
    parseTimestamp(t);
    return undefined;
  } catch {
    return `${key}: not an RFC 3339 UTC millisecond timestamp`;
  }
}

function frontierProblem(h: Record<string, unknown>, key: string): string | undefined {
  const a = h[key];
  if (!Array.isArray(a) || a.length > MAX_FRONTIER_HASHES)
    return `${key}: not an array of at most ${MAX_FRONTIER_HASHES} hashes`;
  for (const [i, s] of a.entries()) {
    if (typeof s !== 'string' || !B64_HASH.test(s) || !isHash(s))
      return `${key}.${i}: not a canonical base64 SHA-256 hash`;
  }
  return undefined;
}

function isHash(s: string): boolean {
  try {
    return fromBase64(s).length === HASH_SIZE;
  } catch {
    return false;
  }
}
