/**
 * Building a segment object in one buffer (issue 14). The object is the head (magic line, note,
 * signature lines) and then the payload (segment.ts), but the payload is known first and the head
 * only once the payload hash is signed. So the payload is written behind room kept for the head,
 * and the head goes in front of it at the end: one segment-sized allocation instead of three (the
 * joined entries, the payload and the object), which took ingest peak RSS at 4,096-event segments
 * from 206-221 to 192-203 MiB (docs/PERFORMANCE.md).
 */
import { utf8 } from './encoding.js';
import { formatSignatureLine, type NoteSignature } from './note.js';
import { assembleSegment, encodeSegmentHead, SEGMENT_MAGIC } from './segment.js';

/** A segment being built: the payload at the end of `buffer`, `headRoom` bytes free before it. */
export type SegmentDraft = {
  readonly buffer: Uint8Array;
  readonly headRoom: number;
  /** `buffer` after `headRoom`: the header line, then `body`. */
  readonly payload: Uint8Array;
  /** Where the caller writes the stored body, `bodyLength` bytes. */
  readonly body: Uint8Array;
};

/**
 * A {@link SegmentDraft} holding `headerLine` (from {@link encodeHeaderLine}), body not yet
 * written: in the start of `scratch` when it is large enough (its bytes are overwritten), else in a
 * new buffer.
 */
export function draftSegment(
  headRoom: number,
  headerLine: Uint8Array,
  bodyLength: number,
  scratch?: Uint8Array,
): SegmentDraft {
  const size = headRoom + headerLine.length + bodyLength;
  const buffer =
    scratch !== undefined && scratch.length >= size
      ? scratch.subarray(0, size)
      : new Uint8Array(size);
  buffer.set(headerLine, headRoom);
  return {
    buffer,
    headRoom,
    payload: buffer.subarray(headRoom),
    body: buffer.subarray(headRoom + headerLine.length),
  };
}

/**
 * The most bytes {@link encodeSegmentHead} takes for note text of `noteTextLength` UTF-8 bytes and
 * one signature by `keyName`: a canonical P-256 signature is at most 72 bytes of DER (ecdsa.ts).
 */
export function segmentHeadRoom(noteTextLength: number, keyName: string): number {
  const longest = formatSignatureLine({
    keyName,
    keyId: new Uint8Array(4),
    signature: new Uint8Array(72),
  });
  return utf8(SEGMENT_MAGIC).length + noteTextLength + 1 + utf8(longest).length + 2;
}

/**
 * Writes the head in front of the draft's payload and returns the stored object: the end of
 * `draft.buffer` when the head fits in the room kept for it (the usual case; the bytes before it
 * are not part of it), else a new buffer holding head and payload. Byte for byte what
 * {@link assembleSegment} returns for the same arguments.
 * @throws IntegrityError `NOTE_MALFORMED` if two signatures are for one (key name, key ID).
 */
export function completeSegment(
  draft: SegmentDraft,
  noteText: string,
  signatures: readonly NoteSignature[],
): Uint8Array {
  const head = encodeSegmentHead(noteText, signatures);
  if (head.length > draft.headRoom) return assembleSegment(noteText, signatures, draft.payload);
  const start = draft.headRoom - head.length;
  draft.buffer.set(head, start);
  return draft.buffer.subarray(start);
}
