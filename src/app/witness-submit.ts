/**
 * Getting a log's head witnessed: send the newest checkpoint with a consistency proof from the
 * size the witness last cosigned (first guess: the newest cosignature already stored for that
 * witness, else 0; then whatever its 409 answer says), check the cosignature it returns, and
 * store the cosigned checkpoint write-once under `<log>/witness/` (src/core/witness-check.ts).
 *
 * Works with any tlog-witness (https://c2sp.org/tlog-witness): our own server, the in-process
 * witness, or transparency-dev's omniwitness, which answers 500 where the spec says 403 or 404, so
 * every non-200 answer other than a usable 409 is a refusal.
 */
import { type CosignerKey, readCosignature, verifyCosignature } from '../core/cosignature.js';
import { utf8 } from '../core/encoding.js';
import { AuditlockError, hasCode } from '../core/errors.js';
import { formatNote, type NoteSignature, type TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { cosignedCheckpointKey, parseCosignedCheckpointKey } from '../core/witness-check.js';
import {
  formatAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
  type WitnessClient,
} from '../core/witness-protocol.js';
import { findHeadSeq } from './head.js';
import { readTrustedSegment, type TrustedSegment } from './trusted-segment.js';
import { describeResponse } from './witness.js';
import { consistencyProofFromStore } from './witness-proof.js';

/** Why a submission did not end in a stored cosignature. Never rename one. */
export const SUBMIT_REFUSAL_CODES = [
  /** The log has no segments. */
  'LOG_EMPTY',
  /** The witness answered with a refusal (any non-200 but a 409 that can be followed). */
  'WITNESS_REFUSED',
  /** The witness cosigned a larger tree than the store holds: the log was rolled back. */
  'WITNESS_AHEAD',
  /** At the size the witness holds, it holds a different root: the log forked. */
  'WITNESS_FORKED',
  /** 200, but no valid cosignature by the expected witness key. */
  'COSIGNATURE_MISSING',
  /** The witness kept answering 409 with new sizes. */
  'WITNESS_UNSTABLE',
] as const;
export type SubmitRefusalCode = (typeof SUBMIT_REFUSAL_CODES)[number];

export type SubmitOptions = {
  /** The log's store; cosigned checkpoints are stored here too unless `cosignatures` is given. */
  readonly store: ObjectStore;
  readonly log: string;
  /** Keys trusted for the log's own signatures (the head is read through them). */
  readonly trustedKeys: readonly TrustedKey[];
  readonly client: WitnessClient;
  readonly witnessKey: CosignerKey;
  /** How a segment is read; default `readTrustedSegment` on `store`. */
  readonly readSegment?: ((seq: number) => Promise<TrustedSegment>) | undefined;
  /**
   * Submit this segment's checkpoint instead of the newest one: the head a verifier has just
   * verified (the log may have grown since, beyond what it checked).
   */
  readonly headSeq?: number | undefined;
  /**
   * Where cosigned checkpoints are stored and looked up (default `store`): the scheduled verifier
   * keeps them in its own store, with read-only access to the log's.
   */
  readonly cosignatures?: ObjectStore | undefined;
};

export type SubmitResult =
  | {
      readonly ok: true;
      readonly log: string;
      readonly treeSize: number;
      /** Key of the stored cosigned checkpoint. */
      readonly key: string;
      /** `created`; `identical` (a retry); `kept`: a cosignature for this size was stored before. */
      readonly stored: 'created' | 'identical' | 'kept';
      readonly timestamp: number;
      /** The cosigned checkpoint note. */
      readonly note: string;
    }
  | {
      readonly ok: false;
      readonly log: string;
      readonly code: SubmitRefusalCode;
      readonly detail: string;
      /** The witness's HTTP status, when it answered. */
      readonly status?: number | undefined;
    };

/** Rounds of 409 to follow (one is normal: the first guess of the old size was stale). */
const MAX_ROUNDS = 4;

/**
 * Submits the log's head to one witness.
 * @throws StorageError (store, or no answer from the witness); IntegrityError with a
 *   TRUSTED_SEGMENT_CODES code if a segment needed for the head or the proof does not check out.
 */
export async function submitToWitness(opts: SubmitOptions): Promise<SubmitResult> {
  const { store, log, client, witnessKey } = opts;
  const read =
    opts.readSegment ?? ((seq: number) => readTrustedSegment(store, log, seq, opts.trustedKeys));
  const headSeq = opts.headSeq ?? (await findHeadSeq(store, log));
  const refuse = (code: SubmitRefusalCode, detail: string, status?: number): SubmitResult => ({
    ok: false,
    log,
    code,
    detail,
    ...(status !== undefined ? { status } : {}),
  });
  if (headSeq < 0) return refuse('LOG_EMPTY', `log ${log} in ${store.location} has no segments`);
  const head = await read(headSeq);
  const { noteText, signatures, checkpoint } = head.seg;
  const note = formatNote(noteText, signatures);
  const cosignatures = opts.cosignatures ?? store;
  let oldSize = Math.min(
    await lastCosignedSize(cosignatures, log, witnessKey),
    checkpoint.treeSize,
  );
  const tried = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    tried.add(oldSize);
    let proof: Uint8Array[];
    try {
      ({ proof } = await consistencyProofFromStore(read, head, headSeq, oldSize));
    } catch (err) {
      if (hasCode(err, 'WITNESS_AHEAD'))
        return refuse(
          'WITNESS_AHEAD',
          `${client.description} has cosigned tree size ${oldSize} of ${log}, the store's head is at ${checkpoint.treeSize}: segments were removed or hidden`,
        );
      throw err;
    }
    const res = await client.addCheckpoint(
      formatAddCheckpoint({ oldSize, proof, checkpoint: note }),
    );
    if (res.status === 200) return acceptCosignature(opts, head, res.body, refuse);
    const size = res.status === 409 ? parseTlogSize(res) : undefined;
    if (size === undefined)
      return refuse(
        'WITNESS_REFUSED',
        `${client.description} answered ${describeResponse(res)}`,
        res.status,
      );
    if (size === oldSize)
      return refuse(
        'WITNESS_FORKED',
        `${client.description} holds another root for ${log} at tree size ${size}`,
        409,
      );
    if (tried.has(size) && size !== oldSize) break;
    oldSize = size;
  }
  return refuse(
    'WITNESS_UNSTABLE',
    `${client.description} kept changing its size (${[...tried].join(', ')})`,
    409,
  );
}

type Refuse = (code: SubmitRefusalCode, detail: string, status?: number) => SubmitResult;

/** Checks the 200 answer and stores the cosigned checkpoint write-once. */
async function acceptCosignature(
  opts: SubmitOptions,
  head: TrustedSegment,
  body: Uint8Array,
  refuse: Refuse,
): Promise<SubmitResult> {
  const { log, witnessKey } = opts;
  const store = opts.cosignatures ?? opts.store;
  let lines: NoteSignature[];
  try {
    lines = parseCosignatureLines(body);
  } catch (err) {
    return refuse('COSIGNATURE_MISSING', `the answer is not signature lines (${codeOf(err)})`, 200);
  }
  const text = head.seg.noteText;
  // tlog-witness: the client MUST ignore cosignatures from unknown keys.
  const sig = lines.find((l) => verifyCosignature(text, l, witnessKey));
  if (!sig)
    return refuse(
      'COSIGNATURE_MISSING',
      `no valid cosignature by ${witnessKey.name} among ${lines.length} line(s)`,
      200,
    );
  const treeSize = head.seg.checkpoint.treeSize;
  const key = cosignedCheckpointKey(log, treeSize, witnessKey.keyId);
  const note = formatNote(text, [...head.seg.signatures, sig]);
  let stored: 'created' | 'identical' | 'kept';
  try {
    stored = (await store.putIfAbsent(key, utf8(note))).status;
  } catch (err) {
    // Write-once: an earlier cosignature of this size by this witness stays; it says as much.
    if (!hasCode(err, 'OBJECT_EXISTS')) throw err;
    stored = 'kept';
  }
  return { ok: true, log, treeSize, key, stored, timestamp: readCosignature(sig).timestamp, note };
}

function codeOf(err: unknown): string {
  return err instanceof AuditlockError ? err.code : String(err);
}

/**
 * The stored cosigned checkpoint of `log` by `key` with the largest tree size, by its key alone
 * (the object is not read: callers that use its content must check it). One LIST per 1,000.
 */
export async function newestCosignedKey(
  store: ObjectStore,
  log: string,
  key: CosignerKey,
): Promise<{ readonly key: string; readonly treeSize: number } | undefined> {
  const id = Array.from(key.keyId, (b) => b.toString(16).padStart(2, '0')).join('');
  let newest: { key: string; treeSize: number } | undefined;
  for await (const o of store.list(`${log}/witness/`)) {
    const parsed = parseCosignedCheckpointKey(o.key);
    if (parsed?.keyId === id && (newest === undefined || parsed.treeSize > newest.treeSize))
      newest = { key: o.key, treeSize: parsed.treeSize };
  }
  return newest;
}

/** The largest tree size with a stored cosignature by `key`, or 0 (a first guess only). */
async function lastCosignedSize(
  store: ObjectStore,
  log: string,
  key: CosignerKey,
): Promise<number> {
  return (await newestCosignedKey(store, log, key))?.treeSize ?? 0;
}
