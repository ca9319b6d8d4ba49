/**
 * The entries section of a segment: each entry's canonical JSON bytes followed by `\n` (JSON
 * Lines), stored as is (`identity`) or as exactly one gzip member (`gzip`, RFC 1952) with a
 * plain 10-byte header. What is hashed into the Merkle tree is always the uncompressed entry bytes.
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { IntegrityError } from './errors.js';

export type BodyEncoding = 'identity' | 'gzip';
export const BODY_ENCODINGS: readonly BodyEncoding[] = ['identity', 'gzip'];

const NEWLINE = 0x0a;
// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): fixed, so output is reproducible.
const GZIP_HEADER = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** Joins encoded entries into JSON Lines. */
export function joinEntries(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) total += e.length + 1;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const e of entries) {
    out.set(e, pos);
    pos += e.length;
    out[pos++] = NEWLINE;
  }
  return out;
}

/**
 * Splits JSON Lines into entries (views into `raw`, no copies).
 * @throws IntegrityError `BODY_INVALID` if the body does not end in a newline or has an empty line.
 */
export function splitEntries(raw: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (raw.length === 0) return out;
  if (raw[raw.length - 1] !== NEWLINE)
    throw new IntegrityError('BODY_INVALID', 'entries do not end in a newline');
  let start = 0;
  for (;;) {
    const end = raw.indexOf(NEWLINE, start);
    if (end < 0) break;
    if (end === start)
      throw new IntegrityError('BODY_INVALID', `empty line at entry ${out.length}`);
    out.push(raw.subarray(start, end));
    start = end + 1;
  }
  return out;
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
  if (stored.length < 18 || stored[0] !== 0x1f || stored[1] !== 0x8b || stored[2] !== 8)
    bad('has no gzip header');
  if (stored[3] !== 0) bad('has gzip header flags set (FEXTRA/FNAME/FCOMMENT are not allowed)');
  let result: { buffer: Buffer; engine: { bytesWritten: number } } | undefined;
  try {
    // maxOutputLength bounds memory against decompression bombs.
    result = inflateRawSync(stored.subarray(10), {
      info: true,
      maxOutputLength: Math.max(1, rawLength + 1),
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (cause) {
    bad('does not inflate', cause);
  }
  const { buffer, engine } = result as { buffer: Buffer; engine: { bytesWritten: number } };
  if (10 + engine.bytesWritten + 8 !== stored.length)
    bad('has trailing bytes after the gzip member');
  if (buffer.length !== rawLength)
    bad(`inflates to ${buffer.length} bytes, header says ${rawLength}`);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  if (view.getUint32(stored.length - 8, true) !== crc32(buffer)) bad('has a wrong CRC-32');
  if (view.getUint32(stored.length - 4, true) !== rawLength >>> 0) bad('has a wrong ISIZE');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
