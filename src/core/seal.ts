/**
 * Sealing: turning a run of encoded entries into a signed segment that continues a log.
 */
import { type BodyEncoding, encodeBody, joinedLength, writeEntries } from './body-codec.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, toBase64, utf8 } from './encoding.js';
import { ConfigurationError } from './errors.js';
import { lineAt, sizeAt } from './event-batch.js';
import { HASH_SIZE, sha256 } from './hash.js';
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

/**
 * Entries `from` to `to` (exclusive) of a batch laid out as core/event-batch.ts lays them out:
 * entry `i` is `bytes[ends[i-1] .. ends[i])` (from 0 for `i = 0`), and its RFC 9162 leaf hash, when
 * `leaves` is given, `leaves[32 i .. 32 i + 32)`; it MUST be `hashLeaf` of the entry.
 */
export type EntrySpan = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly leaves?: Uint8Array | undefined;
  readonly from: number;
  readonly to: number;
};

export type SealInput = {
  readonly head: LogHead;
  /**
   * Canonical entry bytes, in order; their receive times are `receivedAt` (ms), non-decreasing.
   * Either one array per entry, or spans of batches (`{ spans }`): a writer holding thousands of
   * entries in a few batches then makes no object per entry that lives through the seal (views
   * kept for a whole 4,096-entry segment outlived minor collections and grew the writer's young
   * generation; issue 14).
   */
  readonly entries: readonly Uint8Array[] | { readonly spans: readonly EntrySpan[] };
  /**
   * With `entries` as arrays: entry `i`'s RFC 9162 leaf hash where already computed (e.g. on the
   * thread that made the entry, core/event-batch.ts), else hashed here. MUST be
   * `hashLeaf(entries[i])`: the segment's tree is built from these, and a verifier recomputes them
   * from the entries. Neither these nor the entries are referenced by the result: a caller may
   * free or reuse their buffers afterwards.
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
  const { head } = input;
  const entries = entryList(input);
  if (entries.count === 0)
    throw new ConfigurationError('SEAL_EMPTY', 'cannot seal an empty segment');
  const frontierBefore = head.frontier.hashes().map(toBase64);
  const firstIndex = head.frontier.size;
  const range = head.frontier.clone();
  entries.forEachLeaf((leaf) => range.append(leaf));
  const rawLength = entries.rawLength;
  // identity: the entries go straight into the object's buffer. gzip: DEFLATE needs them joined,
  // and the joined copy is dropped as soon as it is compressed.
  const compressed =
    input.encoding === 'identity'
      ? undefined
      : encodeBody(entries.write(new Uint8Array(rawLength)), input.encoding);
  const bodyLength = compressed?.length ?? rawLength;
  const sealedMs = Math.max(input.sealedAt, input.lastReceivedAt, head.lastSealedAt);
  const header: SegmentHeader = {
    count: entries.count,
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
  else entries.write(draft.body);
  const noteText = checkpoint(sha256(draft.payload));
  // Nothing of `input` is used after the signer's await, so neither it nor its entries (thousands
  // of views) are kept alive while the signer works: kept, they outlived minor collections and
  // grew the caller's young generation (issue 14).
  const { lastReceivedAt } = input;
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
      lastReceivedAt,
      lastSealedAt: sealedMs,
    },
  };
}

/** A seal's entries, however they were given: one loop over them for each use. */
type EntryList = {
  readonly count: number;
  /** The length of their JSON Lines: each entry and its newline. */
  readonly rawLength: number;
  /** Calls `visit` with each entry's leaf hash, in order (given, or hashed here). */
  forEachLeaf(visit: (leaf: Uint8Array) => void): void;
  /** Writes their JSON Lines into `out`, exactly `rawLength` bytes, and returns it. */
  write(out: Uint8Array): Uint8Array;
};

function entryList(input: SealInput): EntryList {
  const given = input.entries;
  if (!('spans' in given)) {
    const { leaves } = input;
    return {
      count: given.length,
      rawLength: joinedLength(given),
      forEachLeaf: (visit) => {
        for (let i = 0; i < given.length; i++)
          visit(leaves?.[i] ?? hashLeaf(given[i] as Uint8Array));
      },
      write: (out) => {
        writeEntries(given, out);
        return out;
      },
    };
  }
  const { spans } = given;
  let count = 0;
  let rawLength = 0;
  for (const span of spans) {
    const { ends, from, to } = span;
    if (!(Number.isInteger(from) && from >= 0 && from <= to && to <= ends.length))
      throw new RangeError(`expected 0 <= from <= to <= ${ends.length}, got ${from}, ${to}`);
    count += to - from;
    for (let i = from; i < to; i++) rawLength += sizeAt(span, i) + 1;
  }
  return {
    count,
    rawLength,
    forEachLeaf: (visit) => {
      for (const span of spans)
        for (let i = span.from; i < span.to; i++)
          visit(
            span.leaves
              ? span.leaves.subarray(HASH_SIZE * i, HASH_SIZE * (i + 1))
              : hashLeaf(lineAt(span, i)),
          );
    },
    write: (out) => {
      if (out.length !== rawLength)
        throw new RangeError(`entries take ${rawLength} bytes, the target has ${out.length}`);
      let pos = 0;
      for (const span of spans)
        for (let i = span.from; i < span.to; i++) {
          const entry = lineAt(span, i);
          out.set(entry, pos);
          pos += entry.length;
          out[pos++] = NEWLINE;
        }
      return out;
    },
  };
}

const NEWLINE = 0x0a;

/** Decodes a frontier stored as base64 strings. */
export function frontierFromBase64(size: number, hashes: readonly string[]): CompactRange {
  return new CompactRange(size, hashes.map(fromBase64));
}
