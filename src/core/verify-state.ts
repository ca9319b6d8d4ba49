/**
 * The incremental verifier's own state (docs/FORMAT.md §10): per log, a chain of write-once
 * records, one per position a run reached with no finding. The newest record is the state; the
 * next run continues after its segment.
 *
 * Key: `verify-state/<log>/<n, 20 digits>.json`. Content: RFC 8785 canonical JSON of a
 * {@link VerifyState}. Records are read from a store, so they are hostile: {@link decodeVerifyState}
 * checks everything that can be checked without the archive (form, key, the log's signature on
 * the checkpoint, the frontier against the signed root); the caller then confirms the record
 * against the archive's segment `seq`.
 */
import * as z from 'zod';
import { canonicalize, canonicalizeToBytes } from './canonical-json.js';
import { isValidOrigin } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, fromUtf8, toBase64 } from './encoding.js';
import { AuditlockError, IntegrityError } from './errors.js';
import { bytesEqual } from './hash.js';
import { LOG_NAME_RE } from './layout.js';
import type { LogPosition } from './log-verifier.js';
import { formatNote, parseNote, type TrustedKey } from './note.js';
import { evaluateCheckpointNote } from './signed-checkpoint.js';
import { parseJsonStrict } from './strict-json.js';
import { formatTimestamp, parseTimestamp } from './timestamp.js';

export const VERIFY_STATE_PREFIX = 'verify-state/';
/** Largest record accepted when reading (a checkpoint note is at most ~130 KiB). */
export const MAX_VERIFY_STATE_BYTES = 1024 * 1024;
const SEQ_DIGITS = 20;
const RECORD_KEY_RE = /^verify-state\/([a-z0-9][a-z0-9._-]{0,62})\/([0-9]{20})\.json$/;
/** Sorts after every digit: `verify-state/<log>/:` is past all of the log's records. */
const AFTER_DIGITS = ':';

/** One record: where verification of `log` stood when a run wrote it. */
export type VerifyState = {
  readonly log: string;
  /** The record's number: 0 for the first, the newest is the state. */
  readonly n: number;
  readonly position: LogPosition;
  /** When the run that wrote it began (ms). */
  readonly verifiedAt: number;
  /** Location of the replica store compared through `position.seq`, if one was. */
  readonly replica?: string | undefined;
};

const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Base64 of 32 bytes is 44 characters; canonical form is checked when decoding. */
const hash = z.string().length(44);
/** `YYYY-MM-DDTHH:MM:SS.sssZ`; the exact form is checked with parseTimestamp. */
const timestamp = z.string().length(24);

const recordSchema = z.strictObject({
  checkpoint: z.string().max(MAX_VERIFY_STATE_BYTES),
  frontier: z.array(hash).max(64),
  lastReceivedAt: timestamp,
  lastSealedAt: timestamp,
  log: z.string().regex(LOG_NAME_RE),
  n: uint,
  origin: z.string().max(1024),
  replica: z.string().min(1).max(2048).optional(),
  segmentHash: hash,
  seq: uint,
  treeSize: uint,
  v: z.literal(1),
  verifiedAt: timestamp,
});

/** Folder (key prefix) of one log's records. */
export function verifyStateLogPrefix(log: string): string {
  return `${VERIFY_STATE_PREFIX}${log}/`;
}

/** Key of record `n` of `log`. */
export function verifyStateKey(log: string, n: number): string {
  return `${verifyStateLogPrefix(log)}${String(n).padStart(SEQ_DIGITS, '0')}.json`;
}

/** The log and record number a key names, or undefined for any other key. */
export function parseVerifyStateKey(key: string): { log: string; n: number } | undefined {
  const m = RECORD_KEY_RE.exec(key);
  const n = Number(m?.[2]);
  return m && Number.isSafeInteger(n) ? { log: m[1] as string, n } : undefined;
}

/** A `startAfter` that skips every record of `log` (and nothing of any other log). */
export function afterVerifyStateLog(log: string): string {
  return `${verifyStateLogPrefix(log)}${AFTER_DIGITS}`;
}

/**
 * The bytes of a record.
 * @throws InputError `TIMESTAMP_INVALID` / `CANONICAL_JSON_INVALID` for values no record can hold
 */
export function encodeVerifyState(s: VerifyState): Uint8Array {
  const p = s.position;
  return canonicalizeToBytes({
    checkpoint: p.checkpoint,
    frontier: p.frontier.map(toBase64),
    lastReceivedAt: formatTimestamp(p.lastReceivedAt),
    lastSealedAt: formatTimestamp(p.lastSealedAt),
    log: s.log,
    n: s.n,
    origin: p.origin,
    replica: s.replica,
    segmentHash: toBase64(p.segmentHash),
    seq: p.seq,
    treeSize: p.treeSize,
    v: 1,
    verifiedAt: formatTimestamp(s.verifiedAt),
  });
}

/**
 * Reads record `n` of `log` and checks it (FORMAT.md §10, checks 1–3): form, key, the log's
 * signature on its checkpoint with `trustedKeys`, and that its frontier gives the signed root.
 * The archive is not consulted: the caller must still confirm segment `seq` (check 4).
 * @throws IntegrityError `VERIFY_STATE_INVALID`, its message naming the failed check
 */
export function decodeVerifyState(
  bytes: Uint8Array,
  log: string,
  n: number,
  trustedKeys: readonly TrustedKey[],
): VerifyState {
  const where = `verify state record ${n} of ${log}`;
  const invalid = (why: string, cause?: unknown): never => {
    throw new IntegrityError('VERIFY_STATE_INVALID', `${where} ${why}`, { cause });
  };
  if (bytes.length > MAX_VERIFY_STATE_BYTES)
    invalid(`is ${bytes.length} bytes, over the ${MAX_VERIFY_STATE_BYTES}-byte limit`);
  let text = '';
  let raw: unknown;
  let r: z.infer<typeof recordSchema> | undefined;
  try {
    text = fromUtf8(bytes);
    raw = parseJsonStrict(text, where);
    r = recordSchema.parse(raw);
  } catch (cause) {
    return invalid(`is not a record of FORMAT.md §10 (${describe(cause)})`, cause);
  }
  if (canonicalize(raw) !== text) invalid('is not in RFC 8785 canonical form');
  if (r.log !== log || r.n !== n) invalid(`says it is record ${r.n} of ${r.log}`);
  if (!isValidOrigin(r.origin)) invalid(`has an invalid origin ${JSON.stringify(r.origin)}`);
  let segmentHash: Uint8Array;
  let range: CompactRange;
  let lastSealedAt: number;
  let lastReceivedAt: number;
  let verifiedAt: number;
  try {
    segmentHash = fromBase64(r.segmentHash);
    range = new CompactRange(r.treeSize, r.frontier.map(fromBase64));
    lastSealedAt = parseTimestamp(r.lastSealedAt);
    lastReceivedAt = parseTimestamp(r.lastReceivedAt);
    verifiedAt = parseTimestamp(r.verifiedAt);
  } catch (cause) {
    return invalid(`has an invalid hash, frontier or timestamp (${describe(cause)})`, cause);
  }
  const cp = checkpointOf(r.checkpoint, trustedKeys, invalid);
  if (cp.origin !== r.origin || cp.treeSize !== r.treeSize || cp.seq !== r.seq)
    invalid(
      `has checkpoint (origin ${JSON.stringify(cp.origin)}, size ${cp.treeSize}, segment ${cp.seq}) for (origin ${JSON.stringify(r.origin)}, size ${r.treeSize}, segment ${r.seq})`,
    );
  if (parseTimestamp(cp.sealedAt) !== lastSealedAt)
    invalid(`has lastSealedAt ${r.lastSealedAt}, its checkpoint was sealed ${cp.sealedAt}`);
  // FORMAT.md §4.1: a segment is never sealed before its last receive time. The exact value is
  // confirmed against the archive's segment.
  if (lastReceivedAt > lastSealedAt)
    invalid(`has lastReceivedAt ${r.lastReceivedAt} after lastSealedAt ${r.lastSealedAt}`);
  const root = range.root();
  if (!bytesEqual(root, cp.root))
    invalid(`has a frontier with root ${toBase64(root)}, its checkpoint's is ${toBase64(cp.root)}`);
  return {
    log,
    n,
    position: {
      origin: r.origin,
      seq: r.seq,
      segmentHash,
      treeSize: r.treeSize,
      frontier: range.hashes(),
      root,
      lastSealedAt,
      lastReceivedAt,
      checkpoint: r.checkpoint,
    },
    verifiedAt,
    ...(r.replica !== undefined ? { replica: r.replica } : {}),
  };
}

/**
 * The record's checkpoint, when it is a canonical signed note accepted by the signature policy.
 * @throws through `invalid` otherwise
 */
function checkpointOf(
  note: string,
  trustedKeys: readonly TrustedKey[],
  invalid: (why: string, cause?: unknown) => never,
) {
  let evaluation: ReturnType<typeof evaluateCheckpointNote>;
  try {
    evaluation = evaluateCheckpointNote(note, trustedKeys);
  } catch (cause) {
    return invalid(`holds no auditlock checkpoint (${describe(cause)})`, cause);
  }
  const { verdict, checkpoint, text } = evaluation;
  if (!verdict.accepted)
    invalid(
      `holds a checkpoint the signature policy refuses (${verdict.problems.map((p) => `${p.code}: ${p.detail}`).join('; ') || 'no signature'})`,
    );
  if (formatNote(text, parseNote(note).signatures) !== note)
    invalid('holds a checkpoint note that is not in canonical form');
  return checkpoint;
}

function describe(err: unknown): string {
  if (err instanceof z.ZodError)
    return err.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
  if (err instanceof AuditlockError) return `${err.code}: ${err.message}`;
  throw err;
}
