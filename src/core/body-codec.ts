/**
 * The entries section of a segment: each entry's canonical JSON bytes followed by `\n` (JSON
 * Lines), stored as is (`identity`) or as exactly one gzip member (`gzip`, RFC 1952) with one
 * fixed 10-byte header. What is hashed into the Merkle tree is always the uncompressed entry bytes.
 *
 * Decoding is for hostile bytes (docs/FORMAT.md §4.4): the output size is checked against what
 * DEFLATE can produce before inflating, inflating stops one byte past the declared size, and
 * splitting counts lines before it makes a single view, stopping at one past the declared count.
 */
import type { Buffer } from 'node:buffer';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { indexOfByte } from './encoding.js';
import { IntegrityError } from './errors.js';

export type BodyEncoding = 'identity' | 'gzip';
export const BODY_ENCODINGS: readonly BodyEncoding[] = ['identity', 'gzip'];

const NEWLINE = 0x0a;
// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown) (RFC 1952 §2.3): fixed, so one body
// has one header, and readers require exactly these bytes.
const GZIP_HEADER = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** CRC-32 and ISIZE after the DEFLATE stream (RFC 1952 §2.3.1). */
const GZIP_TRAILER_BYTES = 8;
/**
 * Most output bytes one byte of DEFLATE stream can produce: a match copies at most 258 bytes
 * (RFC 1951 §3.2.5) and takes at least two bits (a 1-bit length code and a 1-bit distance code),
 * so 258 / 2 * 8 = 1032. Literals and block headers produce less per bit.
 */
export const MAX_DEFLATE_RATIO = 1032;

/**
 * The most bytes a DEFLATE stream of `streamBytes` bytes can inflate to. A stored body whose
 * header claims more cannot be valid, and is refused before anything is inflated.
 */
export function maxInflatedLength(streamBytes: number): number {
  return Math.max(0, streamBytes) * MAX_DEFLATE_RATIO;
}

/** Joins encoded entries into JSON Lines. */
export function joinEntries(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(joinedLength(entries));
  writeEntries(entries, out);
  return out;
}

/** The length of {@link joinEntries}`(entries)`: each entry and its newline. */
export function joinedLength(entries: readonly Uint8Array[]): number {
  let total = 0;
  for (const e of entries) total += e.length + 1;
  return total;
}

/**
 * Writes the JSON Lines of `entries` into `out`, which is exactly {@link joinedLength} bytes: lets
 * a writer put the entries straight into the buffer of the stored object instead of a copy.
 * @throws RangeError if `out` has another length
 */
export function writeEntries(entries: readonly Uint8Array[], out: Uint8Array): void {
  const total = joinedLength(entries);
  if (out.length !== total)
    throw new RangeError(`entries take ${total} bytes, the target has ${out.length}`);
  let pos = 0;
  for (const e of entries) {
    out.set(e, pos);
    pos += e.length;
    out[pos++] = NEWLINE;
  }
}

/**
 * Checks the JSON Lines framing of `raw` without allocating: it ends in a newline, has no empty
 * line, and holds exactly `count` entries when `count` is given (the scan stops at entry
 * `count + 1`). Returns the number of entries.
 * @throws IntegrityError `BODY_INVALID`
 */
export function countEntries(raw: Uint8Array, count?: number): number {
  const bad = (why: string): never => {
    throw new IntegrityError('BODY_INVALID', `entries ${why}`);
  };
  const max = count ?? Number.POSITIVE_INFINITY;
  if (raw.length > 0 && raw[raw.length - 1] !== NEWLINE) bad('do not end in a newline');
  let n = 0;
  for (let start = 0; start < raw.length; n++) {
    if (n === max) bad(`are more than the ${max} the header says`);
    const end = indexOfByte.call(raw, NEWLINE, start);
    if (end === start) bad(`have an empty line at entry ${n}`);
    start = end + 1;
  }
  if (count !== undefined && n !== count) bad(`are ${n}, the header says ${count}`);
  return n;
}

/**
 * Splits JSON Lines into entries (views into `raw`, no copies), after {@link countEntries}.
 * @param count the number of entries there must be; hostile input MUST pass it.
 * @throws IntegrityError `BODY_INVALID`
 */
export function splitEntries(raw: Uint8Array, count?: number): Uint8Array[] {
  const out = new Array<Uint8Array>(countEntries(raw, count));
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    const end = indexOfByte.call(raw, NEWLINE, start);
    out[i] = raw.subarray(start, end);
    start = end + 1;
  }
  return out;
}

/**
 * The entries of `raw` one at a time, after {@link countEntries} has checked them all: the
 * iterator itself never throws.
 * @throws IntegrityError `BODY_INVALID` (at the call, not during iteration)
 */
export function entryViews(raw: Uint8Array, count?: number): IterableIterator<Uint8Array> {
  const n = countEntries(raw, count);
  return (function* views(): Generator<Uint8Array, undefined, undefined> {
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = indexOfByte.call(raw, NEWLINE, start);
      yield raw.subarray(start, end);
      start = end + 1;
    }
    return undefined;
  })();
}

/** Encodes raw JSON Lines for storage. */
export function encodeBody(raw: Uint8Array, encoding: BodyEncoding): Uint8Array {
  if (encoding === 'identity') return raw;
  const deflated = deflateRawSync(raw, { level: 6 });
  const out = new Uint8Array(GZIP_HEADER.length + deflated.length + 8);
  out.set(GZIP_HEADER, 0);
  out.set(deflated, GZIP_HEADER.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(out.length - 8, crc32(raw), true);
  view.setUint32(out.length - 4, raw.length >>> 0, true);
  return out;
}

/**
 * Decodes a stored body, insisting on exactly `rawLength` output bytes and, for gzip, exactly one
 * member with a correct CRC-32 and size and nothing after it.
 * @throws IntegrityError `BODY_INVALID`
 */
export function decodeBody(
  stored: Uint8Array,
  encoding: BodyEncoding,
  rawLength: number,
): Uint8Array {
  const bad = (why: string, cause?: unknown): never => {
    throw new IntegrityError('BODY_INVALID', `${encoding} body ${why}`, { cause });
  };
  if (encoding === 'identity') {
    if (stored.length !== rawLength) bad(`is ${stored.length} bytes, header says ${rawLength}`);
    return stored;
  }
  const overhead = GZIP_HEADER.length + GZIP_TRAILER_BYTES;
  if (stored.length < overhead) bad('is too short for a gzip member');
  // §4.4: exactly one header. FLG, MTIME, XFL and OS are free in RFC 1952; fixing them leaves the
  // DEFLATE stream as the only part with a choice, and the payload hash binds that.
  for (let i = 0; i < GZIP_HEADER.length; i++)
    if (stored[i] !== GZIP_HEADER[i])
      bad(`has gzip header byte ${i} = ${stored[i]}, expected ${GZIP_HEADER[i]}`);
  // A declared size DEFLATE cannot reach from this many bytes is refused before inflating.
  if (rawLength > maxInflatedLength(stored.length - overhead))
    bad(`cannot inflate to ${rawLength} bytes from ${stored.length} stored bytes`);
  let result: { buffer: Buffer; engine: { bytesWritten: number } } | undefined;
  try {
    // maxOutputLength bounds memory against decompression bombs.
    result = inflateRawSync(stored.subarray(GZIP_HEADER.length), {
      info: true,
      maxOutputLength: Math.max(1, rawLength + 1),
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (cause) {
    bad('does not inflate', cause);
  }
  const { buffer, engine } = result as { buffer: Buffer; engine: { bytesWritten: number } };
  if (GZIP_HEADER.length + engine.bytesWritten + GZIP_TRAILER_BYTES !== stored.length)
    bad('has trailing bytes after the gzip member');
  if (buffer.length !== rawLength)
    bad(`inflates to ${buffer.length} bytes, header says ${rawLength}`);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  if (view.getUint32(stored.length - 8, true) !== crc32(buffer)) bad('has a wrong CRC-32');
  if (view.getUint32(stored.length - 4, true) !== rawLength >>> 0) bad('has a wrong ISIZE');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
