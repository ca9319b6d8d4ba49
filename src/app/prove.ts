/**
 * Inclusion proofs for single entries: find the segment holding an entry (by leaf index in O(log n)
 * reads, or by event id with a scan), and prove it from that segment alone against the segment's
 * own signed checkpoint. Every segment read on the way is a trusted segment (readTrustedSegment):
 * a proof is never built against, nor a search steered by, a checkpoint no trusted key signed.
 */
import { fromBase64, utf8 } from '../core/encoding.js';
import { decodeEntry } from '../core/entry.js';
import { ConfigurationError, InputError } from '../core/errors.js';
import { entryEventId } from '../core/id-index.js';
import { hashLeaf } from '../core/merkle.js';
import { formatNote, type TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { inclusionProofInSegment } from '../core/proof.js';
import { verifyInclusion } from '../core/proof-verify.js';
import type { ParsedSegment } from '../core/segment.js';
import { formatTlogProof } from '../core/tlog-proof.js';
import { discoverStoredRange, type StoredRange } from './segment-search.js';
import { readTrustedSegment } from './trusted-segment.js';

export type EntryTarget = { readonly index: number } | { readonly id: string };

export type ProvenEntry = {
  readonly index: number;
  readonly seq: number;
  readonly treeSize: number;
  readonly entry: Uint8Array;
  /** C2SP tlog-proof text. */
  readonly proof: string;
};

export type ProveOptions = {
  /** Keys a segment must be signed by (validity windows apply at its seal time). */
  readonly trustedKeys: readonly TrustedKey[];
};

/** The leaf indexes of an event id stored more than once; the user picks one by index. */
export class AmbiguousEntryError extends InputError<'ENTRY_AMBIGUOUS'> {
  readonly matches: readonly number[];
  constructor(message: string, matches: readonly number[]) {
    super('ENTRY_AMBIGUOUS', message);
    this.matches = matches;
  }
}

export type Found = { seg: ParsedSegment; seq: number; index: number; leaves: Uint8Array[] };

/**
 * Finds the entry and builds its proof.
 * @throws InputError `ENTRY_NOT_FOUND`; AmbiguousEntryError (InputError `ENTRY_AMBIGUOUS`) when an
 *   event id is stored more than once, listing the leaf indexes; ConfigurationError `LOG_EMPTY`;
 *   IntegrityError with a TrustedSegmentCode when a segment read is not trusted, or
 *   `ENTRY_INVALID` (run `verify`); StorageError from the store.
 */
export async function proveEntry(
  store: ObjectStore,
  log: string,
  target: EntryTarget,
  options: ProveOptions,
): Promise<ProvenEntry> {
  const stored = await storedRangeOf(store, log);
  const read = async (seq: number) => {
    const t = await readTrustedSegment(store, log, seq, options.trustedKeys);
    return { seg: t.seg, leaves: t.entries, hash: t.hash };
  };
  const found =
    'index' in target
      ? await findByIndex(read, log, stored, target.index)
      : await findById(read, log, stored, target.id);
  const { seg, seq, index, leaves } = found;
  const first = seg.header.firstIndex;
  const leafHashes = leaves.map(hashLeaf);
  const hashes = inclusionProofInSegment({
    frontierBefore: seg.header.frontierBefore.map(fromBase64),
    firstIndex: first,
    leafHashes,
    index,
  });
  const treeSize = seg.checkpoint.treeSize;
  // Refuse to hand out a proof that does not check against the signed root.
  verifyInclusion(
    leafHashes[index - first] as Uint8Array,
    index,
    treeSize,
    hashes,
    seg.checkpoint.root,
  );
  const entry = leaves[index - first] as Uint8Array;
  const proof = formatTlogProof({
    extra: entry,
    index,
    hashes,
    checkpointNote: formatNote(seg.noteText, seg.signatures),
  });
  return { index, seq, treeSize, entry, proof };
}

/** A trusted read of segment `seq`: parsed, its entries, and the hash of its bytes. */
export type Read = (
  seq: number,
) => Promise<{ seg: ParsedSegment; leaves: Uint8Array[]; hash: Uint8Array }>;

/**
 * The stored segments of `log` (a bundle may start mid-log).
 * @throws ConfigurationError `LOG_EMPTY`
 */
export async function storedRangeOf(store: ObjectStore, log: string): Promise<StoredRange> {
  const stored = await discoverStoredRange(store, log);
  if (!stored)
    throw new ConfigurationError('LOG_EMPTY', `log ${log} in ${store.location} has no segments`);
  return stored;
}

/** Binary search over the stored segments' index ranges: O(log n) trusted reads. */
export async function findByIndex(
  read: Read,
  log: string,
  stored: StoredRange,
  index: number,
): Promise<Found> {
  let lo = stored.firstSeq;
  let hi = stored.headSeq;
  let lowest: number | undefined;
  while (lo <= hi) {
    const seq = lo + Math.floor((hi - lo) / 2);
    const { seg, leaves } = await read(seq);
    const { firstIndex, count } = seg.header;
    if (seq === stored.firstSeq) lowest = firstIndex;
    if (index < firstIndex) hi = seq - 1;
    else if (index >= firstIndex + count) lo = seq + 1;
    else return { seg, seq, index, leaves };
  }
  throw new InputError(
    'ENTRY_NOT_FOUND',
    lowest !== undefined && lowest > 0 && index < lowest
      ? `log ${log} has no entry with index ${index} here: its stored segments start at segment ${stored.firstSeq}, leaf ${lowest} (an evidence bundle starting mid-log)`
      : `log ${log} has no entry with index ${index}`,
  );
}

/** Scans the whole log: an id stored twice must be reported, not silently resolved to one. */
async function findById(read: Read, log: string, stored: StoredRange, id: string): Promise<Found> {
  // Canonical JSON (RFC 8785 §3.2.2.2) escapes strings as JSON.stringify does: a cheap byte
  // pre-filter before any entry is decoded.
  const needle = Buffer.from(utf8(JSON.stringify(id)));
  let first: Found | undefined;
  const matches: number[] = [];
  for (let seq = stored.firstSeq; seq <= stored.headSeq; seq++) {
    const { seg, leaves } = await read(seq);
    for (const [i, leaf] of leaves.entries()) {
      if (Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).indexOf(needle) < 0) continue;
      const index = seg.header.firstIndex + i;
      const entry = decodeEntry(leaf, `segment ${seq} leaf ${index}`);
      if (entryEventId(entry) !== id) continue;
      matches.push(index);
      first ??= { seg, seq, index, leaves };
    }
  }
  if (first === undefined)
    throw new InputError(
      'ENTRY_NOT_FOUND',
      `log ${log} has no event with id ${JSON.stringify(id)}`,
    );
  if (matches.length > 1)
    throw new AmbiguousEntryError(
      `log ${log} holds event id ${JSON.stringify(id)} ${matches.length} times, at leaf indexes ${matches.join(', ')}: prove one by its index`,
      matches,
    );
  return first;
}
