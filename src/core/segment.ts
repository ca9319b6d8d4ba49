/**
 * The segment object: one write-once object per sealed run of entries.
 *
 * ```
 * auditlock-segment v1\n              magic line
 * <checkpoint note text>              origin, tree size, root, 4 extension lines (each ends \n)
 * \n                                  blank line
 * — <key name> <base64 sig>\n         one or more signature lines
 * \n                                  blank line
 * <header JSON>\n                     canonical JSON, one line   ┐ the "payload", whose SHA-256
 * <body>                              header.length bytes        ┘ is the `auditlock.payload` line
 * ```
 *
 * Every byte is covered: the signature covers the checkpoint text, the checkpoint binds the payload
 * hash, signatures are canonical, and the next segment's `auditlock.prev` line is the SHA-256 of
 * this whole object. docs/FORMAT.md is the normative description.
 */
import { decodeBody, entryViews, splitEntries } from './body-codec.js';
import { canonicalize } from './canonical-json.js';
import { type Checkpoint, formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { HASH_SIZE, sha256 } from './hash.js';
import {
  formatSignatureLine,
  MAX_SIGNATURES,
  type NoteSignature,
  parseSignatureLine,
  signatureOrderProblem,
  sortSignatures,
} from './note.js';
import { MAX_SEGMENT_BYTES, parseSegmentHeader, type SegmentHeader } from './segment-header.js';
import { parseTimestamp } from './timestamp.js';

export const SEGMENT_MAGIC = 'auditlock-segment v1\n';
export {
  MAX_SEGMENT_BYTES,
  MAX_SEGMENT_ENTRIES,
  type SegmentHeader,
} from './segment-header.js';

const MAX_NOTE_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
/** Previous-segment hash of segment 0. */
export const GENESIS_PREV: Uint8Array = new Uint8Array(HASH_SIZE);

const EXT = {
  segment: 'auditlock.segment ',
  prev: 'auditlock.prev ',
  sealed: 'auditlock.sealed ',
  payload: 'auditlock.payload ',
} as const;

/** What the signature covers, beyond the tree head. */
export type SegmentCheckpoint = {
  readonly origin: string;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly seq: number;
  readonly prev: Uint8Array;
  /** RFC 3339 UTC, millisecond precision. */
  readonly sealedAt: string;
  readonly payloadHash: Uint8Array;
};

/** A segment split into its parts. Nothing here has been verified beyond syntax. */
export type ParsedSegment = {
  /** SHA-256 of the whole object: what the next segment's `auditlock.prev` must equal. */
  readonly hash: Uint8Array;
  readonly noteText: string;
  readonly checkpoint: SegmentCheckpoint;
  readonly signatures: readonly NoteSignature[];
  readonly payload: Uint8Array;
  readonly header: SegmentHeader;
  /** Stored (possibly compressed) body. */
  readonly body: Uint8Array;
};

/** Checkpoint note text for a segment. */
export function formatSegmentCheckpoint(cp: SegmentCheckpoint): string {
  return formatCheckpoint(toCheckpoint(cp));
}

function toCheckpoint(cp: SegmentCheckpoint): Checkpoint {
  return {
    origin: cp.origin,
    treeSize: cp.treeSize,
    root: cp.root,
    extensions: [
      `${EXT.segment}${cp.seq}`,
      `${EXT.prev}${toBase64(cp.prev)}`,
      `${EXT.sealed}${cp.sealedAt}`,
      `${EXT.payload}${toBase64(cp.payloadHash)}`,
    ],
  };
}

/**
 * Reads the segment fields out of checkpoint note text.
 * @throws IntegrityError `CHECKPOINT_MALFORMED`
 */
export function parseSegmentCheckpoint(text: string): SegmentCheckpoint {
  const cp = parseCheckpoint(text);
  const bad = (why: string): never => {
    throw new IntegrityError('CHECKPOINT_MALFORMED', `segment checkpoint ${why}`);
  };
  if (cp.extensions.length !== 4) bad(`has ${cp.extensions.length} extension lines, expected 4`);
  const [seqLine, prevLine, sealedLine, payloadLine] = cp.extensions as [
    string,
    string,
    string,
    string,
  ];
  const field = (line: string, prefix: string): string =>
    line.startsWith(prefix)
      ? line.slice(prefix.length)
      : bad(`line ${JSON.stringify(line)} is not ${prefix.trim()}`);
  const seqText = field(seqLine, EXT.segment);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(seqText) || !Number.isSafeInteger(Number(seqText)))
    bad('has a bad sequence number');
  const hash = (text: string, what: string): Uint8Array => {
    try {
      const h = fromBase64(text);
      if (h.length === HASH_SIZE) return h;
    } catch {}
    return bad(`has a bad ${what} hash`);
  };
  const sealedAt = field(sealedLine, EXT.sealed);
  try {
    parseTimestamp(sealedAt);
  } catch {
    bad('has a bad seal time');
  }
  return {
    origin: cp.origin,
    treeSize: cp.treeSize,
    root: cp.root,
    seq: Number(seqText),
    prev: hash(field(prevLine, EXT.prev), 'previous-segment'),
    sealedAt,
    payloadHash: hash(field(payloadLine, EXT.payload), 'payload'),
  };
}

/** The payload's first line: the canonical header JSON and a newline. */
export function encodeHeaderLine(header: SegmentHeader): Uint8Array {
  return utf8(`${canonicalize(header)}\n`);
}

/** Encodes the payload: canonical header JSON, newline, stored body. */
export function encodePayload(header: SegmentHeader, body: Uint8Array): Uint8Array {
  const head = encodeHeaderLine(header);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * What comes before the payload: the magic line, the note text, a blank line, the signature lines
 * in canonical order (§4.2) and a blank line.
 * @throws IntegrityError `NOTE_MALFORMED` if two signatures are for one (key name, key ID).
 */
export function encodeSegmentHead(
  noteText: string,
  signatures: readonly NoteSignature[],
): Uint8Array {
  const sigLines = sortSignatures(signatures)
    .map((s) => `${formatSignatureLine(s)}\n`)
    .join('');
  return utf8(`${SEGMENT_MAGIC}${noteText}\n${sigLines}\n`);
}

/**
 * Assembles the stored object from signed checkpoint text, its signatures (written in canonical
 * order, §4.2) and the payload.
 * @throws IntegrityError `NOTE_MALFORMED` if two signatures are for one (key name, key ID).
 */
export function assembleSegment(
  noteText: string,
  signatures: readonly NoteSignature[],
  payload: Uint8Array,
): Uint8Array {
  const head = encodeSegmentHead(noteText, signatures);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

const NL = 0x0a;

/**
 * Splits stored bytes into a {@link ParsedSegment}. Attacker-controlled input: every failure is an
 * IntegrityError, never an exception of another kind. Only the one byte form of a segment parses
 * (docs/FORMAT.md §4): signature lines in canonical order, at most one per (key name, key ID), and
 * a header that is exactly the canonical JSON of its value. The gzip member is checked when the
 * body is decoded ({@link segmentEntries}).
 * @throws IntegrityError `SEGMENT_MALFORMED` (structure), `CHECKPOINT_MALFORMED`, `HEADER_INVALID`
 */
export function parseSegment(bytes: Uint8Array): ParsedSegment {
  const bad = (why: string, cause?: unknown): never => {
    throw new IntegrityError('SEGMENT_MALFORMED', `segment ${why}`, { cause });
  };
  if (bytes.length > MAX_SEGMENT_BYTES) bad(`is larger than ${MAX_SEGMENT_BYTES} bytes`);
  const magic = utf8(SEGMENT_MAGIC);
  for (let i = 0; i < magic.length; i++)
    if (bytes[i] !== magic[i]) bad('does not start with the magic line');
  // Note text: non-empty lines up to the first blank line.
  const textEnd = indexOfBlankLine(bytes, magic.length, MAX_NOTE_BYTES);
  if (textEnd < 0) bad('has no blank line after its checkpoint');
  const sigStart = textEnd + 2;
  if (bytes[sigStart] === NL) bad('has no signature lines');
  const sigEnd = indexOfBlankLine(bytes, sigStart, MAX_NOTE_BYTES);
  if (sigEnd < 0) bad('has no blank line after its signatures');
  let noteText = '';
  let sigText = '';
  try {
    noteText = fromUtf8(bytes.subarray(magic.length, textEnd + 1));
    sigText = fromUtf8(bytes.subarray(sigStart, sigEnd + 1));
  } catch (cause) {
    bad('has a checkpoint or signature that is not UTF-8', cause);
  }
  const checkpoint = parseSegmentCheckpoint(noteText);
  const sigLines = sigText.slice(0, -1).split('\n');
  if (sigLines.length < 1 || sigLines.length > MAX_SIGNATURES || sigLines.some((l) => l === ''))
    bad(`has ${sigLines.length} signature lines`);
  const signatures = sigLines.map(parseSignatureLine);
  // Signature lines are the one part no signature covers: without a fixed order and no repeats,
  // anyone could copy or swap lines and change the newest segment's hash without a key.
  const orderProblem = signatureOrderProblem(signatures);
  if (orderProblem) bad(orderProblem);
  const payloadStart = sigEnd + 2;
  const payload = bytes.subarray(payloadStart);
  const headerEnd = payload.subarray(0, MAX_HEADER_BYTES + 1).indexOf(NL);
  if (headerEnd < 0 || headerEnd > MAX_HEADER_BYTES) bad('has no header line');
  const header = parseSegmentHeader(payload.subarray(0, headerEnd));
  const body = payload.subarray(headerEnd + 1);
  if (body.length !== header.length)
    bad(`body is ${body.length} bytes but its header says ${header.length}`);
  return { hash: sha256(bytes), noteText, checkpoint, signatures, payload, header, body };
}

/** Index of the `\n` that ends the line before a blank line, searching from `from`. */
function indexOfBlankLine(bytes: Uint8Array, from: number, limit: number): number {
  const end = Math.min(bytes.length - 1, from + limit);
  for (let i = from; i < end; i++) if (bytes[i] === NL && bytes[i + 1] === NL) return i;
  return -1;
}

/**
 * The segment's entries (the leaf data, views into the decoded body), after decompressing and
 * splitting the body as its header says. The body must hold exactly `header.count` entries; the
 * count is checked before any entry is materialised, so a body of millions of tiny lines costs
 * one scan, not one view per line.
 * @throws IntegrityError `BODY_INVALID`
 */
export function segmentEntries(seg: ParsedSegment): Uint8Array[] {
  return splitEntries(
    decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    seg.header.count,
  );
}

/**
 * Like {@link segmentEntries}, but yields the entries one at a time, so a caller that looks at
 * each entry once holds one view instead of `count` of them (about 120 bytes of heap each). Every
 * check is done before the first entry is yielded: iterating never throws.
 * @throws IntegrityError `BODY_INVALID`
 */
export function iterateSegmentEntries(seg: ParsedSegment): IterableIterator<Uint8Array> {
  return entryViews(
    decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    seg.header.count,
  );
}
