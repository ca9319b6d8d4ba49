/**
 * The witness's own state: for each origin, a chain of write-once records, one per witnessed size.
 * Record `n` holds the checkpoint that became the witnessed head after record `n - 1`'s.
 *
 * Key: `witness-state/<hex SHA-256 of the origin>/<n, 20 digits>.json`. Creating record `n + 1`
 * with put-if-absent is the atomic check-and-persist tlog-witness demands: of two concurrent
 * requests that both extend record `n`'s size, exactly one creates record `n + 1`; the other finds
 * it taken, re-reads the head and is answered 409. So no two successors of one witnessed size are
 * ever cosigned, by one process or by several sharing the store.
 *
 * Content: RFC 8785 canonical JSON `{"note": <the checkpoint as a signed note, as submitted>,
 * "prevSize": <size of record n-1, 0 for n = 0>, "seq": n, "v": 1}`. The origin, size and root are
 * read from the note; the record's key must match its origin and `seq`.
 */
import * as z from 'zod';
import { canonicalizeToBytes } from './canonical-json.js';
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { fromUtf8, utf8 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { sha256 } from './hash.js';
import { parseNote } from './note.js';

export const WITNESS_STATE_PREFIX = 'witness-state/';
/** Largest record accepted when reading (a note is at most 16 KiB on the wire). */
export const MAX_WITNESS_RECORD_BYTES = 64 * 1024;

export type WitnessRecord = {
  readonly seq: number;
  readonly prevSize: number;
  /** The signed note as the log submitted it. */
  readonly note: string;
  readonly checkpoint: Checkpoint;
};

const recordSchema = z.strictObject({
  note: z.string().max(MAX_WITNESS_RECORD_BYTES),
  prevSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  v: z.literal(1),
});

/** Folder (key prefix) of one origin's records. */
export function witnessOriginPrefix(origin: string): string {
  const id = Array.from(sha256(utf8(origin)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${WITNESS_STATE_PREFIX}${id}/`;
}

/** Key of record `seq` of `origin`. */
export function witnessRecordKey(origin: string, seq: number): string {
  return `${witnessOriginPrefix(origin)}${String(seq).padStart(20, '0')}.json`;
}

/** The bytes of a record. */
export function encodeWitnessRecord(r: Omit<WitnessRecord, 'checkpoint'>): Uint8Array {
  return canonicalizeToBytes({ note: r.note, prevSize: r.prevSize, seq: r.seq, v: 1 });
}

/**
 * Reads a record and checks it against where it was stored.
 * @throws IntegrityError `WITNESS_STATE_CORRUPT` if it is not a record, not of `origin`, not
 *   number `seq`, or does not grow from `prevSize`.
 */
export function decodeWitnessRecord(bytes: Uint8Array, origin: string, seq: number): WitnessRecord {
  const corrupt = (why: string, cause?: unknown): never => {
    throw new IntegrityError('WITNESS_STATE_CORRUPT', `witness record ${seq} of ${origin} ${why}`, {
      cause,
    });
  };
  let parsed: z.infer<typeof recordSchema> | undefined;
  try {
    parsed = recordSchema.parse(JSON.parse(fromUtf8(bytes)));
  } catch (cause) {
    return corrupt('is not a witness record', cause);
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(parseNote(parsed.note).text);
  } catch (cause) {
    return corrupt('holds no valid checkpoint', cause);
  }
  if (checkpoint.origin !== origin) corrupt(`is for origin ${JSON.stringify(checkpoint.origin)}`);
  if (parsed.seq !== seq) corrupt(`says it is record ${parsed.seq}`);
  if (seq > 0 && checkpoint.treeSize <= parsed.prevSize)
    corrupt(`does not grow the tree (${parsed.prevSize} -> ${checkpoint.treeSize})`);
  return { seq, prevSize: parsed.prevSize, note: parsed.note, checkpoint };
}
