/**
 * Event-id index files of evidence bundles (docs/FORMAT.md §7.2): per segment, the segment's
 * hash and one 8-byte tag per event entry (the first 8 bytes of SHA-256 of the id's UTF-8
 * bytes), sorted. A lookup aid only: it says which segments to read for an id, and a reader
 * checks every segment it reads and recomputes the index of each, so a doctored file can slow a
 * lookup down but never make it prove something the log does not hold.
 */

import { fromUtf8, utf8 } from './encoding.js';
import type { Entry } from './entry.js';
import { IntegrityError } from './errors.js';
import { HASH_SIZE, sha256 } from './hash.js';

const MAGIC = utf8('auditlock-ids/1\n');
const TAG_SIZE = 8;
const HEADER_SIZE = MAGIC.length + HASH_SIZE + 4;
/** Largest index file a reader accepts: far above the tags of the largest segment. */
export const MAX_ID_INDEX_BYTES = 4 * 1024 * 1024;

export type IdIndex = {
  /** SHA-256 of the segment object the index was made from. */
  readonly segmentHash: Uint8Array;
  /** `count` tags of 8 bytes, ascending. */
  readonly tags: Uint8Array;
  readonly count: number;
};

/** The tag of an event id. */
export function idTag(id: string): Uint8Array {
  return sha256(utf8(id)).subarray(0, TAG_SIZE);
}

/**
 * The ids of a segment's event entries (leaf data), in leaf order. Only a lookup aid is made from
 * them, so entries are read with `JSON.parse`, not the strict entry decoder (the verifier checks
 * entries): for a valid entry both give the same id, and this costs a fifth as much.
 * @throws IntegrityError `ENTRY_INVALID` for a leaf that is not JSON (`where` names the segment)
 */
export function eventIdsOf(leaves: readonly Uint8Array[], where: string): string[] {
  const ids: string[] = [];
  for (const [i, leaf] of leaves.entries()) {
    let entry: unknown;
    try {
      entry = JSON.parse(fromUtf8(leaf));
    } catch {
      throw new IntegrityError('ENTRY_INVALID', `${where} leaf ${i} is not JSON`);
    }
    const e = entry as { kind?: unknown; event?: { id?: unknown } } | null;
    if ((e?.kind === 'event' || e?.kind === 'sealed-event') && typeof e.event?.id === 'string')
      ids.push(e.event.id);
  }
  return ids;
}

/**
 * The event id of a decoded entry: an event's `id`, or a sealed event's when it is in clear
 * (FORMAT.md §11); undefined for other entries and events without one.
 */
export function entryEventId(entry: Entry): string | undefined {
  if (entry.kind === 'event') return entry.event.id;
  if (entry.kind === 'sealed-event') {
    const id = (entry.event as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  }
  return undefined;
}

/** The §7.2 bytes of the index of a segment with hash `segmentHash` holding events `ids`. */
export function encodeIdIndex(segmentHash: Uint8Array, ids: readonly string[]): Uint8Array {
  if (segmentHash.length !== HASH_SIZE) throw new RangeError('segment hash must be 32 bytes');
  const tags = ids.map(idTag).sort((a, b) => compareTags(a, 0, b, 0));
  const out = new Uint8Array(HEADER_SIZE + TAG_SIZE * tags.length);
  out.set(MAGIC, 0);
  out.set(segmentHash, MAGIC.length);
  new DataView(out.buffer).setUint32(MAGIC.length + HASH_SIZE, tags.length);
  for (const [i, tag] of tags.entries()) out.set(tag, HEADER_SIZE + i * TAG_SIZE);
  return out;
}

/**
 * Parses an index file strictly: magic, length `52 + 8n`, tags ascending.
 * @throws IntegrityError `ID_INDEX_MALFORMED` saying what is wrong
 */
export function parseIdIndex(bytes: Uint8Array): IdIndex {
  const bad = (why: string) => new IntegrityError('ID_INDEX_MALFORMED', why);
  if (bytes.length > MAX_ID_INDEX_BYTES)
    throw bad(`${bytes.length} bytes, more than ${MAX_ID_INDEX_BYTES}`);
  if (bytes.length < HEADER_SIZE || !startsWith(bytes, MAGIC))
    throw bad('does not start with the auditlock-ids/1 header');
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    MAGIC.length + HASH_SIZE,
  );
  if (bytes.length !== HEADER_SIZE + TAG_SIZE * count)
    throw bad(`says ${count} tags, holds ${bytes.length - HEADER_SIZE} bytes of tags`);
  const tags = bytes.subarray(HEADER_SIZE);
  for (let i = 1; i < count; i++)
    if (compareTags(tags, (i - 1) * TAG_SIZE, tags, i * TAG_SIZE) > 0)
      throw bad(`tag ${i} is smaller than tag ${i - 1}: tags must ascend`);
  return {
    segmentHash: bytes.slice(MAGIC.length, MAGIC.length + HASH_SIZE),
    tags,
    count,
  };
}

/** Whether the index holds `tag` (binary search). */
export function hasTag(index: IdIndex, tag: Uint8Array): boolean {
  let lo = 0;
  let hi = index.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareTags(index.tags, mid * TAG_SIZE, tag, 0);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Compares the 8-byte tags at `a[ai..]` and `b[bi..]` as unsigned bytes. */
function compareTags(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let k = 0; k < TAG_SIZE; k++) {
    const d = (a[ai + k] as number) - (b[bi + k] as number);
    if (d !== 0) return d;
  }
  return 0;
}
