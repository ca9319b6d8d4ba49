/**
 * Inclusion proofs for single entries: find the segment holding an entry (by leaf index in O(log n)
 * reads, or by event id with a scan), and prove it from that segment alone against the segment's
 * own signed checkpoint.
 */
import { fromBase64, fromUtf8 } from '../core/encoding.js';
import { ConfigurationError, InputError, IntegrityError } from '../core/errors.js';
import { segmentKey } from '../core/layout.js';
import { hashLeaf } from '../core/merkle.js';
import { formatNote } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { inclusionProofInSegment } from '../core/proof.js';
import { verifyInclusion } from '../core/proof-verify.js';
import { type ParsedSegment, parseSegment, segmentEntries } from '../core/segment.js';
import { formatTlogProof } from '../core/tlog-proof.js';
import { findHeadSeq } from './head.js';

export type EntryTarget = { readonly index: number } | { readonly id: string };

export type ProvenEntry = {
  readonly index: number;
  readonly seq: number;
  readonly treeSize: number;
  readonly entry: Uint8Array;
  /** C2SP tlog-proof text. */
  readonly proof: string;
};

async function readSegment(store: ObjectStore, log: string, seq: number): Promise<ParsedSegment> {
  const key = segmentKey(log, seq);
  const bytes = await store.get(key);
  if (!bytes) throw new IntegrityError('SEGMENT_MISSING', `${store.location}/${key} is missing`);
  return parseSegment(bytes);
}

function leavesOf(seg: ParsedSegment): Uint8Array[] {
  return segmentEntries(seg);
}

/**
 * Finds the entry and builds its proof.
 * @throws InputError `ENTRY_NOT_FOUND`; ConfigurationError `LOG_EMPTY`; IntegrityError when the
 *   stored segment is damaged (run `verify`).
 */
export async function proveEntry(
  store: ObjectStore,
  log: string,
  target: EntryTarget,
): Promise<ProvenEntry> {
  const head = await findHeadSeq(store, log);
  if (head < 0)
    throw new ConfigurationError('LOG_EMPTY', `log ${log} in ${store.location} has no segments`);
  const found =
    'index' in target
      ? await findByIndex(store, log, head, target.index)
      : await findById(store, log, head, target.id);
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

async function findByIndex(store: ObjectStore, log: string, head: number, index: number) {
  let lo = 0;
  let hi = head;
  while (lo <= hi) {
    const seq = lo + Math.floor((hi - lo) / 2);
    const seg = await readSegment(store, log, seq);
    const { firstIndex, count } = seg.header;
    if (index < firstIndex) hi = seq - 1;
    else if (index >= firstIndex + count) lo = seq + 1;
    else return { seg, seq, index, leaves: leavesOf(seg) };
  }
  throw new InputError('ENTRY_NOT_FOUND', `log ${log} has no entry with index ${index}`);
}

async function findById(store: ObjectStore, log: string, head: number, id: string) {
  for (let seq = 0; seq <= head; seq++) {
    const seg = await readSegment(store, log, seq);
    const leaves = leavesOf(seg);
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i] as Uint8Array;
      // Cheap pre-filter before parsing: the id must appear in the bytes.
      if (!fromUtf8(leaf).includes(JSON.stringify(id))) continue;
      const entry = JSON.parse(fromUtf8(leaf)) as { event?: { id?: unknown } };
      if (entry.event?.id === id) return { seg, seq, index: seg.header.firstIndex + i, leaves };
    }
  }
  throw new InputError('ENTRY_NOT_FOUND', `log ${log} has no event with id ${JSON.stringify(id)}`);
}
