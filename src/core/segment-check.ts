/**
 * The part of checking a segment that needs nothing but its bytes: parsing, its hash, the
 * signature policy, the payload hash, decoding the body, and hashing and checking every entry
 * into the Merkle tree that grows from the frontier the segment stores (FORMAT.md §4–5). Each
 * segment carries the frontier before it, so this can run for many segments at once (on worker
 * threads); {@link LogVerifier} then does what depends on the segments before it (sequence,
 * hash chain, frontier, receive and seal order, trusted checkpoints), in log order.
 *
 * The result is made of plain values and byte arrays, so it can be posted between threads.
 */
import { countEntries, decodeBody } from './body-codec.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, indexOfByte } from './encoding.js';
import { checkEntryBytes, type EntryCheck, type StrictEntryCheck } from './entry-check.js';
import { AuditlockError, IntegrityError } from './errors.js';
import { sha256 } from './hash.js';
import { hashLeaf } from './merkle.js';
import type { NoteSignature, TrustedKey } from './note.js';
import {
  type ParsedSegment,
  parseSegment,
  type SegmentCheckpoint,
  type SegmentHeader,
} from './segment.js';
import { evaluateSignatures, type SignatureProblem } from './signature-policy.js';
import { parseTimestamp } from './timestamp.js';

export type SegmentCheckOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  /**
   * Validate each entry with this full schema check (entry.ts's `decodeEntry`) instead of the
   * structural check. A function, not a flag: this module loads no zod (entry-check.ts).
   */
  readonly strictEntries?: StrictEntryCheck | undefined;
};

/** A segment that parsed, with what was found of it that does not depend on other segments. */
export type SegmentCheck = {
  /** SHA-256 of the whole object. */
  readonly hash: Uint8Array;
  readonly noteText: string;
  readonly checkpoint: SegmentCheckpoint;
  readonly signatures: readonly NoteSignature[];
  readonly header: SegmentHeader;
  /** The signature policy's problems at the seal time (signature-policy.ts). */
  readonly signatureProblems: readonly SignatureProblem[];
  /** SHA-256 of the payload as stored. */
  readonly payloadHash: Uint8Array;
  /**
   * The entries, when they are regular: the body decodes, every entry passes the entry check,
   * receive times never go back within the segment, and the stored frontier before it is valid.
   * Undefined otherwise: the verifier then goes through the entries itself, to report each
   * problem where it is, exactly as it does without this check.
   */
  readonly entries: RegularEntries | undefined;
};

/** A summary of regular entries: all the verifier needs of them when nothing is wrong. */
export type RegularEntries = {
  readonly count: number;
  readonly quarantined: number;
  /** Receive times (ms) of the first and last entry. */
  readonly firstReceivedAt: number;
  readonly lastReceivedAt: number;
  /** Tree size and frontier after the entries, grown from the stored `frontierBefore`. */
  readonly treeSize: number;
  readonly frontier: readonly Uint8Array[];
};

/**
 * Checks what can be checked of `bytes` alone.
 * @returns undefined when the bytes do not parse as a segment (the verifier reports why)
 * @throws anything that is not an AuditlockError (a bug): problems of the bytes never throw
 */
export function checkSegment(
  bytes: Uint8Array,
  opts: SegmentCheckOptions,
): SegmentCheck | undefined {
  let parsed: ParsedSegment;
  try {
    parsed = parseSegment(bytes);
  } catch (err) {
    if (err instanceof AuditlockError) return undefined;
    throw err;
  }
  const cp = parsed.checkpoint;
  const verdict = evaluateSignatures({
    text: parsed.noteText,
    signatures: parsed.signatures,
    trustedKeys: opts.trustedKeys,
    origin: cp.origin,
    sealedAt: parseTimestamp(cp.sealedAt),
  });
  return {
    hash: parsed.hash,
    noteText: parsed.noteText,
    checkpoint: cp,
    signatures: parsed.signatures,
    header: parsed.header,
    signatureProblems: verdict.problems,
    payloadHash: sha256(parsed.payload),
    entries: regularEntries(parsed, opts.strictEntries),
  };
}

function regularEntries(
  parsed: ParsedSegment,
  strict: StrictEntryCheck | undefined,
): RegularEntries | undefined {
  const { header } = parsed;
  let range: CompactRange;
  let raw: Uint8Array;
  try {
    range = new CompactRange(header.firstIndex, header.frontierBefore.map(fromBase64));
    raw = decodeEntries(parsed);
  } catch (err) {
    if (err instanceof AuditlockError) return undefined;
    throw err;
  }
  let regular = true;
  let quarantined = 0;
  let first: number | undefined;
  let last = 0;
  checkEntries(raw, strict, (leaf, check) => {
    range.append(leaf);
    if (!check.ok || (first !== undefined && check.receivedAt < last)) {
      regular = false;
      return false;
    }
    if (check.kind === 'quarantine') quarantined++;
    first ??= check.receivedAt;
    last = check.receivedAt;
    return true;
  });
  if (!regular || first === undefined) return undefined;
  return {
    count: header.count,
    quarantined,
    firstReceivedAt: first,
    lastReceivedAt: last,
    treeSize: range.size,
    frontier: range.hashes(),
  };
}

/**
 * The entries section of `seg` decoded as its header says, with its JSON Lines framing and entry
 * count checked (body-codec.ts) before any entry is looked at (FORMAT.md §4.4): the input of
 * {@link checkEntries}.
 * @throws IntegrityError `BODY_INVALID`
 */
export function decodeEntries(seg: ParsedSegment): Uint8Array {
  const { header } = seg;
  const raw = decodeBody(seg.body, header.encoding, header.rawLength);
  countEntries(raw, header.count); // searches with memchr on any Uint8Array (body-codec.ts)
  return raw;
}

const NEWLINE = 0x0a;

/**
 * Calls `visit` with the leaf hash and the check of each entry of `raw` (from
 * {@link decodeEntries}; {@link checkEntryBytes}, with `strict` when given), in order, until it
 * returns false. Equal consecutive entries (legal:
 * they may share a receive time) hash and check alike, so their results are reused, the leaf
 * hash as the same object (which CompactRange merges without hashing): a highly compressible
 * body (up to ~1032:1 under deflate) then costs work in proportion to its distinct content, not
 * its inflated length. A loop and a callback rather than a generator of per-entry objects: the
 * generator and its objects cost about 0.5 µs per entry (docs/PERFORMANCE.md).
 * @throws IntegrityError `BODY_INVALID` if `raw` does not end in a newline (not from decodeEntries)
 */
export function checkEntries(
  raw: Uint8Array,
  strict: StrictEntryCheck | undefined,
  visit: (leaf: Uint8Array, check: EntryCheck) => boolean,
): void {
  let prevStart = 0;
  let prevEnd = -1;
  let leaf: Uint8Array | undefined;
  let check: EntryCheck | undefined;
  for (let start = 0; start < raw.length; ) {
    const end = indexOfByte.call(raw, NEWLINE, start);
    if (end < 0) throw new IntegrityError('BODY_INVALID', 'entries do not end in a newline');
    if (leaf === undefined || !sameBytes(raw, prevStart, prevEnd, start, end)) {
      const entry = raw.subarray(start, end);
      leaf = hashLeaf(entry);
      check = checkEntryBytes(entry, strict);
    }
    if (!visit(leaf, check as EntryCheck)) return;
    prevStart = start;
    prevEnd = end;
    start = end + 1;
  }
}

/** Whether bytes `[a, aEnd)` and `[b, bEnd)` of `raw` are equal. */
function sameBytes(raw: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) if (raw[a + i] !== raw[b + i]) return false;
  return true;
}
