/**
 * Per-event receipts (docs/FORMAT.md §6.1): a C2SP tlog-proof that carries the entry as `extra`,
 * its inclusion proof, and the log's signed checkpoint with the cosignatures of trusted witnesses.
 *
 * Which checkpoint a receipt proves against: tlog-proof has room for one checkpoint and one
 * inclusion proof, nothing else, so a receipt never carries a consistency proof. Without witness
 * keys it is the checkpoint of the segment holding the entry (as `prove`). With witness keys it is
 * the smallest checkpoint at or after that segment that enough trusted witnesses cosigned: the
 * segment's own when one is cosigned at exactly its size, otherwise a later segment's, and the
 * inclusion proof is then computed in the larger tree from the segments in between.
 *
 * Everything read from the store is hostile. A receipt is built only from trusted segments
 * (readTrustedSegment); a cosignature goes in only if it verifies, under a given witness key, over
 * the note text of the trusted segment of that size (never over the stored object's own text);
 * and the proof is checked against the checkpoint's root before it is handed out.
 */

import PQueue from 'p-queue';
import { decodeBody } from '../core/body-codec.js';
import {
  type CosignerKey,
  isFromCosigner,
  readCosignature,
  verifyCosignature,
} from '../core/cosignature.js';
import { fromBase64, fromUtf8, toHex, utf8 } from '../core/encoding.js';
import { decodeEntry, type Entry } from '../core/entry.js';
import { AuditlockError, InputError, IntegrityError, isLastingError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import {
  encodeIdIndex,
  entryEventId,
  eventIdsOf,
  hasTag,
  type IdIndex,
  idTag,
  MAX_ID_INDEX_BYTES,
  parseIdIndex,
} from '../core/id-index.js';
import { idIndexKey, segmentKey } from '../core/layout.js';
import { hashLeaf } from '../core/merkle.js';
import { formatNote, type NoteSignature, parseNote, type TrustedKey } from '../core/note.js';
import type { ObjectStore, ReadOptions } from '../core/ports.js';
import { inclusionProofInSegment } from '../core/proof.js';
import { verifyInclusion } from '../core/proof-verify.js';
import { MAX_SEGMENT_BYTES, type ParsedSegment, parseSegment } from '../core/segment.js';
import { evaluateCheckpointNote } from '../core/signed-checkpoint.js';
import { formatTlogProof, parseTlogProof } from '../core/tlog-proof.js';
import { parseCosignedCheckpointKey } from '../core/witness-check.js';
import {
  AmbiguousEntryError,
  type EntryTarget,
  type Found,
  findByIndex,
  type Read,
  storedRangeOf,
} from './prove.js';
import type { StoredRange } from './segment-search.js';
import { readTrustedSegment } from './trusted-segment.js';
import { readCosignedObjects } from './witness-objects.js';

export type ReceiptOptions = {
  /** Keys a segment must be signed by (validity windows apply at its seal time). */
  readonly trustedKeys: readonly TrustedKey[];
  /** Trusted witness keys: their cosignatures go into the receipt. */
  readonly witnessKeys?: readonly CosignerKey[] | undefined;
  /** Distinct trusted witnesses a checkpoint needs to be used (default 1). */
  readonly quorum?: number | undefined;
  /** Segment reads in flight while searching for an event id (default 8). */
  readonly concurrency?: number | undefined;
};

export type ReceiptWitness = {
  readonly name: string;
  /** 8 lowercase hex digits. */
  readonly keyId: string;
  /** POSIX seconds of the cosignature. */
  readonly timestamp: number;
};

export type Receipt = {
  readonly index: number;
  /** The segment holding the entry. */
  readonly seq: number;
  /** Tree size of the checkpoint the receipt proves against, and the segment it belongs to. */
  readonly treeSize: number;
  readonly checkpointSeq: number;
  readonly entry: Uint8Array;
  readonly witnesses: readonly ReceiptWitness[];
  /** The receipt: C2SP tlog-proof text. */
  readonly text: string;
  /** Segments read and fully checked (one GET each, plus a version listing on S3). */
  readonly trustedReads: number;
  /** Segments scanned for an event id before any check (one GET each). */
  readonly scanned: number;
  /** Event-id index files read to choose the segments to look at (bundles, FORMAT.md §7.2). */
  readonly indexed: number;
  /** Cosigned checkpoints looked at and not used, with the reason. */
  readonly notUsed: readonly string[];
};

const SCAN_READ: ReadOptions = { maxBytes: MAX_SEGMENT_BYTES };
/** A canonical gzip segment header holds exactly this member (FORMAT.md §4.3). */
const GZIP_MARK = Buffer.from('"encoding":"gzip"');

/**
 * Finds the entry and writes its receipt.
 * @throws InputError `ENTRY_NOT_FOUND`; AmbiguousEntryError (`ENTRY_AMBIGUOUS`) when an event id is
 *   stored more than once; ConfigurationError `LOG_EMPTY`; IntegrityError with a TrustedSegmentCode
 *   when a segment the receipt needs (or one that may hold the id) is not trusted, `ENTRY_INVALID`,
 *   `SEGMENT_MISSING` for a gap below the head; StorageError from the store.
 */
export async function makeReceipt(
  store: ObjectStore,
  log: string,
  target: EntryTarget,
  options: ReceiptOptions,
): Promise<Receipt> {
  const stored = await storedRangeOf(store, log);
  let trustedReads = 0;
  const read: Read = async (seq) => {
    trustedReads++;
    const t = await readTrustedSegment(store, log, seq, options.trustedKeys);
    return { seg: t.seg, leaves: t.entries, hash: t.hash };
  };
  let scanned = 0;
  let indexed = 0;
  let found: Found;
  if ('index' in target) found = await findByIndex(read, log, stored, target.index);
  else {
    const r = await findById(store, read, log, stored, target.id, options.concurrency ?? 8);
    found = r.found;
    scanned = r.scanned;
    indexed = r.indexed;
  }
  const witnessKeys = options.witnessKeys ?? [];
  const chosen =
    witnessKeys.length > 0
      ? await chooseWitnessed(store, read, log, stored, found, witnessKeys, options.quorum ?? 1)
      : { notUsed: [] };
  const at = chosen.at ?? { seg: found.seg, seq: found.seq, lines: [], witnesses: [] };

  // The leaves from the entry's segment to the checkpoint's: the tree of that size, from one
  // frontier and those leaves (inclusionProofInSegment needs nothing else).
  const leafHashes = found.leaves.map(hashLeaf);
  for (let seq = found.seq + 1; seq <= at.seq; seq++) {
    const { seg, leaves } = await read(seq);
    if (seg.header.firstIndex !== found.seg.header.firstIndex + leafHashes.length)
      throw new IntegrityError(
        'SEGMENT_ROOT_MISMATCH',
        `segment ${seq} of ${log} starts at leaf ${seg.header.firstIndex}, not where segment ${seq - 1} ends`,
      );
    for (const leaf of leaves) leafHashes.push(hashLeaf(leaf));
  }
  const { index } = found;
  const first = found.seg.header.firstIndex;
  const hashes = inclusionProofInSegment({
    frontierBefore: found.seg.header.frontierBefore.map(fromBase64),
    firstIndex: first,
    leafHashes,
    index,
  });
  const cp = at.seg.checkpoint;
  // Refuse to hand out a receipt that does not check against the signed root (a fork between
  // two trusted segments would end here).
  verifyInclusion(leafHashes[index - first] as Uint8Array, index, cp.treeSize, hashes, cp.root);
  const entry = found.leaves[index - first] as Uint8Array;
  const text = formatTlogProof({
    extra: entry,
    index,
    hashes,
    checkpointNote: formatNote(at.seg.noteText, [...at.seg.signatures, ...at.lines]),
  });
  return {
    index,
    seq: found.seq,
    treeSize: cp.treeSize,
    checkpointSeq: at.seq,
    entry,
    witnesses: at.witnesses,
    text,
    trustedReads,
    scanned,
    indexed,
    notUsed: chosen.notUsed,
  };
}

/**
 * Finds the one entry with event id `id`. In an evidence bundle with event-id index files
 * (FORMAT.md §7.2) only the segments whose index holds the id's tag, and those without a usable
 * index, are looked at; otherwise every segment's bytes are scanned for the id (a gzip body is
 * inflated first: canonical JSON, RFC 8785 §3.2.2.2, writes a string as JSON.stringify does, so
 * an entry holding the id holds these bytes). Either way only segments that may hold the id are
 * fully checked. The index is never trusted: each segment found through it has its index
 * recomputed, and one that differs, or a lookup that finds nothing, falls back to the full scan,
 * so a doctored index can slow a lookup, never change its answer. An id stored twice is reported,
 * not resolved to one; a segment that may hold the id and is not trusted fails the search (the
 * event may be in a tampered segment, and that must be said, not skipped).
 */
async function findById(
  store: ObjectStore,
  read: Read,
  log: string,
  stored: StoredRange,
  id: string,
  concurrency: number,
): Promise<{ found: Found; scanned: number; indexed: number }> {
  const needle = Buffer.from(utf8(JSON.stringify(id)));
  const all: number[] = [];
  for (let seq = stored.firstSeq; seq <= stored.headSeq; seq++) all.push(seq);
  const indexes = await readIdIndexes(store, log, all, concurrency);
  if (indexes) {
    const tag = idTag(id);
    // A segment without a usable index is scanned instead.
    const picked = all.filter((seq) => {
      const parsed = indexes.get(seq)?.parsed;
      return parsed === undefined || hasTag(parsed, tag);
    });
    const r = await search(store, read, log, picked, needle, id, concurrency, indexes);
    if (r.consistent && r.first)
      return { ...checkUnique(r, log, id), scanned: r.scanned, indexed: indexes.size };
  }
  const r = await search(store, read, log, all, needle, id, concurrency, undefined);
  if (!r.first)
    throw new InputError(
      'ENTRY_NOT_FOUND',
      `log ${log} has no event with id ${JSON.stringify(id)}`,
    );
  return { ...checkUnique(r, log, id), scanned: r.scanned, indexed: 0 };
}

type Searched = {
  readonly first: Found | undefined;
  readonly matches: readonly number[];
  readonly scanned: number;
  /** False when a segment's index file was not the one made from its bytes. */
  readonly consistent: boolean;
};

/** An index file as stored, and parsed when it is well formed. */
type StoredIndex = { readonly bytes: Uint8Array; readonly parsed: IdIndex | undefined };

/**
 * Looks for `id` in segments `seqs`, in order. A segment with an index file (in `indexes`) that
 * names the tag is read at once; one without is first scanned for the id's bytes. With
 * `indexes`, each segment read has its index recomputed; the first that differs stops the search
 * (`consistent: false`).
 */
async function search(
  store: ObjectStore,
  read: Read,
  log: string,
  seqs: readonly number[],
  needle: Buffer,
  id: string,
  concurrency: number,
  indexes: ReadonlyMap<number, StoredIndex> | undefined,
): Promise<Searched> {
  let first: Found | undefined;
  const matches: number[] = [];
  let scanned = 0;
  for (let start = 0; start < seqs.length; start += concurrency) {
    const batch = seqs.slice(start, start + concurrency);
    const hits = await Promise.all(
      batch.map((seq) => {
        if (indexes?.get(seq)?.parsed) return true;
        scanned++;
        return mayHold(store, log, seq, needle);
      }),
    );
    for (const [i, seq] of batch.entries()) {
      if (!hits[i]) continue;
      const { seg, leaves, hash } = await read(seq);
      const index = indexes?.get(seq);
      if (
        index?.parsed !== undefined &&
        !bytesEqual(
          index.bytes,
          encodeIdIndex(hash, eventIdsOf(leaves, `segment ${seq} of ${log}`)),
        )
      )
        return { first, matches, scanned, consistent: false };
      for (const [j, leaf] of leaves.entries()) {
        if (Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).indexOf(needle) < 0)
          continue;
        const at = seg.header.firstIndex + j;
        const entry = decodeEntry(leaf, `segment ${seq} leaf ${at}`);
        if (entryEventId(entry) !== id) continue;
        matches.push(at);
        first ??= { seg, seq, index: at, leaves };
      }
    }
  }
  return { first, matches, scanned, consistent: true };
}

function checkUnique(r: Searched, log: string, id: string): { found: Found } {
  if (r.matches.length > 1)
    throw new AmbiguousEntryError(
      `log ${log} holds event id ${JSON.stringify(id)} ${r.matches.length} times, at leaf indexes ${r.matches.join(', ')}: write a receipt for one by its index`,
      r.matches,
    );
  return { found: r.first as Found };
}

/**
 * The event-id index files of segments `seqs` (a malformed one kept unparsed), or undefined when
 * the store has none: one existence probe first, so a store without them (S3) pays one request.
 */
async function readIdIndexes(
  store: ObjectStore,
  log: string,
  seqs: readonly number[],
  concurrency: number,
): Promise<Map<number, StoredIndex> | undefined> {
  const firstSeq = seqs[0];
  if (firstSeq === undefined || !(await store.exists(idIndexKey(log, firstSeq)))) return undefined;
  const out = new Map<number, StoredIndex>();
  const queue = new PQueue({ concurrency });
  await Promise.all(
    seqs.map((seq) =>
      queue.add(async () => {
        const bytes = await store
          .get(idIndexKey(log, seq), { maxBytes: MAX_ID_INDEX_BYTES })
          .catch((err: unknown) => {
            // Oversized or unreadable: that segment is read instead. Transient failures propagate.
            if (isLastingError(err)) return undefined;
            throw err;
          });
        if (bytes === undefined) return;
        let parsed: IdIndex | undefined;
        try {
          parsed = parseIdIndex(bytes);
        } catch {
          parsed = undefined; // that segment is scanned instead
        }
        out.set(seq, { bytes, parsed });
      }),
    ),
  );
  return out;
}

/** Whether segment `seq` may hold `needle`: false only when its bytes certainly do not. */
async function mayHold(
  store: ObjectStore,
  log: string,
  seq: number,
  needle: Buffer,
): Promise<boolean> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await store.get(segmentKey(log, seq), SCAN_READ);
  } catch (err) {
    // Oversized or unreadable: the trusted read names it. Transient failures propagate.
    if (isLastingError(err)) return true;
    throw err;
  }
  if (bytes === undefined)
    throw new IntegrityError(
      'SEGMENT_MISSING',
      `segment ${seq} of ${log} is missing below the head`,
    );
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.indexOf(needle) >= 0) return true;
  // Every trusted gzip segment's header holds GZIP_MARK; an identity one without it is done.
  if (b.indexOf(GZIP_MARK) < 0) return false;
  let seg: ParsedSegment;
  try {
    seg = parseSegment(bytes);
    if (seg.header.encoding !== 'gzip') return false;
    const raw = decodeBody(seg.body, 'gzip', seg.header.rawLength);
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(needle) >= 0;
  } catch {
    return true; // malformed: let the trusted read say why
  }
}

type Chosen = {
  readonly at?: {
    readonly seg: ParsedSegment;
    readonly seq: number;
    readonly lines: readonly NoteSignature[];
    readonly witnesses: readonly ReceiptWitness[];
  };
  readonly notUsed: string[];
};

/**
 * The smallest checkpoint at or after the entry's segment that `quorum` distinct trusted
 * witnesses cosigned, with the newest valid cosignature of each. Stored cosigned objects only say
 * where to look: their lines are checked against the trusted segment of that size.
 */
async function chooseWitnessed(
  store: ObjectStore,
  read: Read,
  log: string,
  stored: StoredRange,
  found: Found,
  witnessKeys: readonly CosignerKey[],
  quorum: number,
): Promise<Chosen> {
  const notUsed: string[] = [];
  const fromSize = found.seg.checkpoint.treeSize;
  const { objects, findings } = await readCosignedObjects(store, log, fromSize);
  for (const f of findings) notUsed.push(`${f.key ?? log}: ${f.code}: ${f.detail}`);
  const bySize = new Map<number, NoteSignature[]>();
  for (const object of objects) {
    const where = parseCosignedCheckpointKey(object.key);
    if (!where || where.log !== log || where.treeSize < fromSize) continue;
    let signatures: NoteSignature[];
    try {
      signatures = parseNote(fromUtf8(object.bytes)).signatures;
    } catch (err) {
      notUsed.push(
        `${object.key}: not a signed note (${err instanceof AuditlockError ? err.code : 'unexpected error'})`,
      );
      continue;
    }
    const lines = signatures.filter((s) => isFromCosigner(s, witnessKeys));
    if (lines.length > 0)
      bySize.set(where.treeSize, [...(bySize.get(where.treeSize) ?? []), ...lines]);
  }
  for (const size of [...bySize.keys()].sort((a, b) => a - b)) {
    const at =
      size === fromSize
        ? { seg: found.seg, seq: found.seq }
        : await findByIndex(read, log, stored, size - 1).catch((err: unknown) => {
            if (err instanceof InputError && err.code === 'ENTRY_NOT_FOUND') return undefined;
            throw err;
          });
    if (!at || at.seg.checkpoint.treeSize !== size) {
      notUsed.push(`tree size ${size}: no segment of ${log} ends there`);
      continue;
    }
    const newest = new Map<string, { sig: NoteSignature; witness: ReceiptWitness }>();
    for (const sig of bySize.get(size) ?? []) {
      const key = witnessKeys.find((k) => verifyCosignature(at.seg.noteText, sig, k));
      if (!key) {
        notUsed.push(
          `tree size ${size}: a cosignature by ${sig.keyName} does not verify over segment ${at.seq}'s checkpoint`,
        );
        continue;
      }
      const keyId = toHex(key.keyId);
      const timestamp = readCosignature(sig).timestamp;
      const before = newest.get(keyId);
      if (!before || before.witness.timestamp < timestamp)
        newest.set(keyId, { sig, witness: { name: key.name, keyId, timestamp } });
    }
    if (newest.size >= quorum) {
      const chosen = [...newest.values()];
      return {
        at: {
          seg: at.seg,
          seq: at.seq,
          lines: chosen.map((c) => c.sig),
          witnesses: chosen.map((c) => c.witness),
        },
        notUsed,
      };
    }
    if (newest.size > 0)
      notUsed.push(
        `tree size ${size}: cosigned by ${newest.size} trusted witness(es), ${quorum} needed`,
      );
  }
  return { notUsed };
}

export type VerifyReceiptOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  readonly witnessKeys?: readonly CosignerKey[] | undefined;
  /** Distinct trusted witnesses that must have cosigned (default 1 with witness keys, else 0). */
  readonly quorum?: number | undefined;
  /** Require this checkpoint origin. */
  readonly origin?: string | undefined;
};

export type VerifiedReceipt = {
  readonly origin: string;
  readonly index: number;
  readonly treeSize: number;
  /** The segment whose checkpoint the receipt carries. */
  readonly checkpointSeq: number;
  readonly sealedAt: string;
  readonly entry: Entry;
  /** The entry's bytes as text (canonical JSON). */
  readonly entryText: string;
  /** Trusted witnesses whose cosignatures verified. */
  readonly witnesses: readonly ReceiptWitness[];
  /** Signature lines from keys that were not given (neither the log's nor a witness's). */
  readonly unchecked: number;
};

/**
 * Checks a receipt offline: the log's signature under the trusted keys at the checkpoint's seal
 * time (one signature policy), every line from a given witness key, the quorum, the inclusion
 * proof of `extra` against the checkpoint's size and root, and the entry's strict form. Lines
 * from keys not given are ignored (tlog-cosignature) and counted.
 * @throws IntegrityError `PROOF_MALFORMED`, `NOTE_MALFORMED`, `CHECKPOINT_MALFORMED`, a signature
 *   problem code (`SIGNATURE_INVALID`, `SIGNATURE_UNTRUSTED`, `KEY_NOT_VALID_AT_SEAL_TIME`),
 *   `ORIGIN_MISMATCH`, `WITNESS_COSIGNATURE_INVALID`, `WITNESS_QUORUM_NOT_MET`, `PROOF_INVALID`,
 *   `ENTRY_INVALID`
 */
export function verifyReceipt(text: string, options: VerifyReceiptOptions): VerifiedReceipt {
  const proof = parseTlogProof(text);
  if (!proof.extra)
    throw new IntegrityError('PROOF_MALFORMED', 'the receipt carries no entry (extra line)');
  const witnessKeys = options.witnessKeys ?? [];
  const {
    checkpoint: cp,
    text: noteText,
    verdict,
  } = evaluateCheckpointNote(proof.checkpointNote, options.trustedKeys, witnessKeys);
  // Lines of witnesses we were not told to trust are not the log's problem (tlog-cosignature).
  const problems = verdict.problems.filter((p) => p.code !== 'SIGNATURE_UNEXPECTED');
  if (verdict.signedBy.length === 0 || problems.length > 0) {
    const code = problems[0]?.code ?? 'SIGNATURE_UNTRUSTED';
    throw new IntegrityError(
      code,
      problems.map((p) => p.detail).join('; ') || 'the checkpoint is not signed by a trusted key',
    );
  }
  if (options.origin !== undefined && cp.origin !== options.origin)
    throw new IntegrityError(
      'ORIGIN_MISMATCH',
      `checkpoint origin is ${JSON.stringify(cp.origin)}`,
    );
  const { signatures } = parseNote(proof.checkpointNote);
  const witnesses = new Map<string, ReceiptWitness>();
  for (const sig of signatures) {
    if (!isFromCosigner(sig, witnessKeys)) continue;
    const key = witnessKeys.find((k) => verifyCosignature(noteText, sig, k));
    if (!key)
      throw new IntegrityError(
        'WITNESS_COSIGNATURE_INVALID',
        `the cosignature by ${sig.keyName} does not verify over this checkpoint`,
      );
    const keyId = toHex(key.keyId);
    witnesses.set(keyId, { name: key.name, keyId, timestamp: readCosignature(sig).timestamp });
  }
  const quorum = options.quorum ?? (witnessKeys.length > 0 ? 1 : 0);
  if (witnesses.size < quorum)
    throw new IntegrityError(
      'WITNESS_QUORUM_NOT_MET',
      `the checkpoint is cosigned by ${witnesses.size} trusted witness(es), ${quorum} required`,
    );
  verifyInclusion(hashLeaf(proof.extra), proof.index, cp.treeSize, proof.hashes, cp.root);
  const entry = decodeEntry(proof.extra, `entry ${proof.index}`);
  return {
    origin: cp.origin,
    index: proof.index,
    treeSize: cp.treeSize,
    checkpointSeq: cp.seq,
    sealedAt: cp.sealedAt,
    entry,
    entryText: fromUtf8(proof.extra),
    witnesses: [...witnesses.values()],
    unchecked: signatures.length - witnesses.size - verdict.signedBy.length,
  };
}
