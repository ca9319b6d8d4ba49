/**
 * Consistency proofs for a witness, from stored segments: from the size the witness last cosigned
 * to the log's head. Reads the segments from the one holding the old size's boundary up to the
 * head, each checked by `readTrustedSegment` (signature, payload hash, root), and checks the proof
 * against the head's signed root before returning it, so a damaged store yields an error, never a
 * proof the witness would refuse.
 */
import { CompactRange } from '../core/compact-range.js';
import { fromBase64, toBase64 } from '../core/encoding.js';
import { InputError, IntegrityError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import { EMPTY_ROOT, hashLeaf } from '../core/merkle.js';
import { verifyConsistency } from '../core/proof-verify.js';
import { consistencyProofFromFrontier, extendFrontier } from '../core/witness-consistency.js';
import type { TrustedSegment } from './trusted-segment.js';

/** Reads segment `seq` of the log, checked (see `readTrustedSegment`). */
export type TrustedSegmentReader = (seq: number) => Promise<TrustedSegment>;

export type ConsistencyFromStore = {
  readonly proof: Uint8Array[];
  /** Root of the log at the old size (what the witness must hold). */
  readonly oldRoot: Uint8Array;
};

/**
 * The proof from `oldSize` to the head segment `head` (number `headSeq`).
 * @throws InputError `WITNESS_AHEAD` if `oldSize` is larger than the head's tree size (the
 *   witness cosigned more than the store holds: a rolled-back or truncated log).
 * @throws IntegrityError `PROOF_INVALID` if the stored segments do not give the head's root;
 *   whatever `read` throws (IntegrityError with a TRUSTED_SEGMENT_CODES code, StorageError).
 */
export async function consistencyProofFromStore(
  read: TrustedSegmentReader,
  head: TrustedSegment,
  headSeq: number,
  oldSize: number,
): Promise<ConsistencyFromStore> {
  const size = head.seg.checkpoint.treeSize;
  const headRoot = head.seg.checkpoint.root;
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > size)
    throw new InputError(
      'WITNESS_AHEAD',
      `the witness has cosigned tree size ${oldSize}, but the log's head is at ${size}`,
    );
  if (oldSize === size) return { proof: [], oldRoot: headRoot };
  // tlog-witness: the proof is empty from size 0 (every tree extends the empty one).
  if (oldSize === 0) return { proof: [], oldRoot: EMPTY_ROOT.slice() };
  // Walk back to the segment whose range [firstIndex, treeSize] contains the old size.
  const segments: TrustedSegment[] = [head];
  let seq = headSeq;
  while ((segments[0] as TrustedSegment).seg.header.firstIndex > oldSize) {
    seq -= 1;
    if (seq < 0) throw new IntegrityError('PROOF_INVALID', 'segment 0 does not start at leaf 0');
    segments.unshift(await read(seq));
  }
  const first = (segments[0] as TrustedSegment).seg.header;
  const old = new CompactRange(first.firstIndex, first.frontierBefore.map(fromBase64));
  const newLeaves: Uint8Array[] = [];
  for (const s of segments)
    for (const entry of s.entries) {
      if (old.size < oldSize) old.append(hashLeaf(entry));
      else newLeaves.push(hashLeaf(entry));
    }
  const oldRoot = old.root();
  const proof = consistencyProofFromFrontier(old, newLeaves);
  // The segments were each checked alone; together they must give the head's signed root.
  const computed = extendFrontier(old, newLeaves);
  if (computed.size !== size || !bytesEqual(computed.root(), headRoot))
    throw new IntegrityError(
      'PROOF_INVALID',
      `segments ${seq}..${headSeq} give root ${toBase64(computed.root())} at ${computed.size}, the head says ${toBase64(headRoot)} at ${size}`,
    );
  verifyConsistency(oldSize, size, proof, oldRoot, headRoot);
  return { proof, oldRoot };
}
