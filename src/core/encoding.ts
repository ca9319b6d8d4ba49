/**
 * Base64 (RFC 4648 §4, padded, strict), hex and UTF-8 helpers, and a byte search, shared by the
 * format code.
 */
import { AuditlockError } from './errors.js';

/**
 * Buffer's indexOf (memchr) called on any Uint8Array, the same memory without a copy: a plain
 * Uint8Array's own indexOf (what a worker thread receives) is a loop about 5x slower, ~0.7 µs per
 * 1 KB entry (docs/PERFORMANCE.md, verify-workers). Call it as
 * `indexOfByte.call(bytes, byte, from)`.
 */
export const indexOfByte = Buffer.prototype.indexOf as (
  this: Uint8Array,
  value: number,
  byteOffset: number,
) => number;

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The base64 alphabet (RFC 4648 §4) as byte values. */
const B64_DIGITS = new TextEncoder().encode(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
);
const PAD = 0x3d;

/**
 * Writes {@link toBase64}`(bytes.subarray(from, to))` as ASCII bytes into `out` at `at`, without
 * making the string (ingest writes one delivery id per event this way, event-batch.ts).
 * @returns the index after the last byte written
 * @throws RangeError if `out` has less than `4 * ceil((to - from) / 3)` bytes from `at`
 */
export function writeBase64(
  bytes: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): number {
  const size = 4 * Math.ceil((to - from) / 3);
  if (from < 0 || to > bytes.length || from > to || at < 0 || at + size > out.length)
    throw new RangeError(
      `writeBase64: [${from}, ${to}) of ${bytes.length} into ${at} of ${out.length}`,
    );
  let w = at;
  let i = from;
  for (; i + 2 < to; i += 3) {
    const v =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[w++] = B64_DIGITS[v >>> 18] as number;
    out[w++] = B64_DIGITS[(v >>> 12) & 63] as number;
    out[w++] = B64_DIGITS[(v >>> 6) & 63] as number;
    out[w++] = B64_DIGITS[v & 63] as number;
  }
  if (i < to) {
    const two = i + 1 < to;
    const v = ((bytes[i] as number) << 16) | (two ? (bytes[i + 1] as number) << 8 : 0);
    out[w++] = B64_DIGITS[v >>> 18] as number;
    out[w++] = B64_DIGITS[(v >>> 12) & 63] as number;
    out[w++] = two ? (B64_DIGITS[(v >>> 6) & 63] as number) : PAD;
    out[w++] = PAD;
  }
  return w;
}

/**
 * Decodes canonical padded base64. Rejects whitespace, URL-safe letters and non-zero padding bits,
 * so every byte string has exactly one accepted encoding.
 * @throws AuditlockError `BASE64_INVALID`
 */
export function fromBase64(text: string): Uint8Array {
  if (!B64_RE.test(text)) throw new AuditlockError('BASE64_INVALID', 'not canonical base64');
  const buf = Buffer.from(text, 'base64');
  const out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (toBase64(out) !== text) throw new AuditlockError('BASE64_INVALID', 'not canonical base64');
  return out;
}

/** Lowercase hex, two digits per byte (key IDs in text). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8, rejecting invalid sequences (no U+FFFD substitution).
 * @throws AuditlockError `UTF8_INVALID`
 */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new AuditlockError('UTF8_INVALID', 'not valid UTF-8', { cause });
  }
}
