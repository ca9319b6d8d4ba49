/**
 * Sealing: turning a run of encoded entries into a signed segment that continues a log.
 */
import {
  type BodyEncoding,
  encodeBody,
  joinEntries,
  joinedLength,
  writeEntries,
} from './body-codec.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, toBase64, utf8 } from './encoding.js';
import { ConfigurationError } from './errors.js';
import { sha256 } from './hash.js';
import { hashLeaf } from './merkle.js';
import { signNoteText } from './note.js';
import type { Signer } from './ports.js';
import {
  encodeHeaderLine,
  formatSegmentCheckpoint,
  GENESIS_PREV,
  type SegmentHeader,
} from './segment.js';
import { completeSegment, draftSegment, segmentHeadRoom } from './segment-draft.js';
import { formatTimestamp } from './timestamp.js';

/** Everything needed to append the next segment to a log: derived from its head segment. */
export type LogHead = {
  readonly origin: string;
  /** Sequence number the next segment gets. */
  readonly nextSeq: number;
  /** SHA-256 of the head segment object, or {@link GENESIS_PREV} for an empty log. */
  readonly prevHash: Uint8Array;
  /** Compact range of all leaves so far. */
  readonly frontier: CompactRange;
  /** Receive and seal times of the head (ms), 0 for an empty log; new times never go below. */
  readonly lastReceivedAt: number;
  readonly lastSealedAt: number;
};

/** The head of a log that has no segments yet. */
export function emptyHead(origin: string): LogHead {
  return {
    origin,
    nextSeq: 0,
    prevHash: GENESIS_PREV,
    frontier: new CompactRange(),
    lastReceivedAt: 0,
    lastSealedAt: 0,
  };
}

export type SealInput = {
  readonly head: LogHead;
  /** Canonical entry bytes, in order; their receive times are `receivedAt` (ms), non-decreasing. */
  readonly entries: readonly Uint8Array[];
  /**
   * Entry `i`'s RFC 9162 leaf hash where already computed (e.g. on the thread that made the
   * entry, core/event-batch.ts), else hashed here. MUST be `hashLeaf(entries[i])`: the segment's
   * tree is built from these, and a verifier recomputes them from the entries. Neither these nor
   * `entries` are referenced by the result: a caller may free or reuse their buffers afterwards.
   */
  readonly leaves?: readonly (Uint8Array | undefined)[];
  readonly firstReceivedAt: number;
  readonly lastReceivedAt: number;
  /** Seal time (ms); raised to keep seal times monotonic and >= the last receive time. */
  readonly sealedAt: number;
  readonly encoding: BodyEncoding;
  readonly signer: Signer;
  /** signed-note key name; defaults to the origin (tlog-checkpoint: SHOULD match it). */
  readonly keyName?: string;
  /**
   * A buffer to build the object in when it is large enough (else a new one is made): a writer
   * that seals one segment after another reuses one buffer instead of allocating a segment-sized
   * one per segment. Its bytes are overwritten, and the result's `bytes` are a view of it: the
   * caller MUST NOT pass it again while it still needs those bytes.
   */
  readonly scratch?: Uint8Array | undefined;
};

export type SealedSegment = {
  readonly seq: number;
  /** The stored object: a view into a larger buffer (`byteOffset` > 0), `scratch`'s if it fit. */
  readonly bytes: Uint8Array;
  /** The head after this segment. */
  readonly head: LogHead;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly sealedAt: string;
};

/**
 * Builds and signs the segment that follows `head`. Pure apart from the signer call.
 * @throws ConfigurationError `SEAL_EMPTY` for no entries; whatever the signer throws.
 */
export async function sealSegment(input: SealInput): Promise<SealedSegment> {
  const { head, entries } = input;
  if (entries.length === 0)
    throw new ConfigurationError('SEAL_EMPTY', 'cannot seal an empty segment');
  const frontierBefore = head.frontier.hashes().map(toBase64);
  const firstIndex = head.frontier.size;
  const range = head.frontier.clone();
  for (let i = 0; i < entries.length; i++)
    range.append(input.leaves?.[i] ?? hashLeaf(entries[i] as Uint8Array));
  const rawLength = joinedLength(entries);
  // identity: the entries go straight into the object's buffer. gzip: DEFLATE needs them joined,
  // and the joined copy is dropped as soon as it is compressed.
  const compressed =
    input.encoding === 'identity' ? undefined : encodeBody(joinEntries(entries), input.encoding);
  const bodyLength = compressed?.length ?? rawLength;
  const sealedMs = Math.max(input.sealedAt, input.lastReceivedAt, head.lastSealedAt);
  const header: SegmentHeader = {
    count: entries.length,
    encoding: input.encoding,
    firstIndex,
    firstReceivedAt: formatTimestamp(input.firstReceivedAt),
    frontierAfter: range.hashes().map(toBase64),
    frontierBefore,
    lastReceivedAt: formatTimestamp(input.lastReceivedAt),
    length: bodyLength,
    rawLength,
  };
  const root = range.root();
  const sealedAt = formatTimestamp(sealedMs);
  const keyName = input.keyName ?? head.origin;
  const checkpoint = (payloadHash: Uint8Array): string =>
    formatSegmentCheckpoint({
      origin: head.origin,
      treeSize: range.size,
      root,
      seq: head.nextSeq,
      prev: head.prevHash,
      sealedAt,
      payloadHash,
    });
  // The note text's length does not depend on the payload hash (always 44 base64 characters), so
  // the room for the head is known before the payload is written and hashed.
  const headRoom = segmentHeadRoom(utf8(checkpoint(GENESIS_PREV)).length, keyName);
  const draft = draftSegment(headRoom, encodeHeaderLine(header), bodyLength, input.scratch);
  if (compressed) draft.body.set(compressed);
  else writeEntries(entries, draft.body);
  const noteText = checkpoint(sha256(draft.payload));
  const signature = await signNoteText(noteText, keyName, input.signer);
  const bytes = completeSegment(draft, noteText, [signature]);
  return {
    seq: head.nextSeq,
    bytes,
    treeSize: range.size,
    root,
    sealedAt,
    head: {
      origin: head.origin,
      nextSeq: head.nextSeq + 1,
      prevHash: sha256(bytes),
      // Its own copies: `range` holds the caller's leaf hashes by reference (CompactRange#append).
      frontier: new CompactRange(range.size, range.hashes()),
      lastReceivedAt: input.lastReceivedAt,
      lastSealedAt: sealedMs,
    },
  };
}

/** Decodes a frontier stored as base64 strings. */
export function frontierFromBase64(size: number, hashes: readonly string[]): CompactRange {
  return new CompactRange(size, hashes.map(fromBase64));
}
