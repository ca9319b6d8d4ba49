/**
 * The witness's decision for one C2SP tlog-witness `add-checkpoint` request, as a pure function
 * of the request, the configured logs and the latest checkpoint the witness cosigned for the
 * origin. Persisting the new state atomically and signing are the caller's (src/app/witness.ts).
 *
 * The checks, in the spec's order (https://c2sp.org/tlog-witness, add-checkpoint):
 * 1. the body parses, else 400 (`REQUEST_MALFORMED`), and the checkpoint is a checkpoint, else
 *    400 (`CHECKPOINT_MALFORMED`);
 * 2. the origin is configured, else 404 (`UNKNOWN_LOG`);
 * 3. some signature verifies against a key configured for the origin, else 403
 *    (`SIGNATURE_UNTRUSTED`); signature lines from unknown keys are ignored, as the spec says;
 * 4. old size <= checkpoint size, else 400 (`OLD_SIZE_TOO_LARGE`);
 * 5. old size = the size the witness last cosigned (0 if never), else 409 with that size
 *    (`OLD_SIZE_MISMATCH`);
 * 6. at equal sizes the roots are identical, else 409 (`ROOT_MISMATCH`);
 * 7. the proof is an RFC 6962 consistency proof from the old checkpoint to the new one (empty
 *    when the old size is 0 or equal), else 422 (`PROOF_INVALID`).
 * Then 200: cosign, after persisting the new head when it is larger (`advance`). Re-submitting
 * the witnessed head itself is re-cosigned with a fresh timestamp (freshness) without a write.
 */
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { AuditlockError } from './errors.js';
import { bytesEqual } from './hash.js';
import { type NoteSignature, parseNote, type TrustedKey } from './note.js';
import { verifyConsistency } from './proof-verify.js';
import { evaluateSignatures } from './signature-policy.js';
import { type AddCheckpointRequest, parseAddCheckpoint } from './witness-protocol.js';

/** Why a witness refuses a checkpoint. Part of the public interface: never rename one. */
export const WITNESS_REFUSAL_CODES = [
  'REQUEST_MALFORMED',
  'CHECKPOINT_MALFORMED',
  'UNKNOWN_LOG',
  'SIGNATURE_UNTRUSTED',
  'OLD_SIZE_TOO_LARGE',
  'OLD_SIZE_MISMATCH',
  'ROOT_MISMATCH',
  'PROOF_INVALID',
] as const;
export type WitnessRefusalCode = (typeof WITNESS_REFUSAL_CODES)[number];

/** The HTTP status tlog-witness prescribes for each refusal. */
export const REFUSAL_STATUS: Record<WitnessRefusalCode, 400 | 403 | 404 | 409 | 422> = {
  REQUEST_MALFORMED: 400,
  CHECKPOINT_MALFORMED: 400,
  UNKNOWN_LOG: 404,
  SIGNATURE_UNTRUSTED: 403,
  OLD_SIZE_TOO_LARGE: 400,
  OLD_SIZE_MISMATCH: 409,
  ROOT_MISMATCH: 409,
  PROOF_INVALID: 422,
};

/** A log the witness accepts: its origin and the keys that sign its checkpoints. */
export type WitnessedLog = {
  readonly origin: string;
  readonly keys: readonly TrustedKey[];
};

/** The latest checkpoint the witness cosigned for one origin. */
export type WitnessHead = {
  readonly size: number;
  readonly root: Uint8Array;
};

/** A checkpoint whose log signature the witness accepted (steps 1-3). */
export type OpenedCheckpoint = {
  readonly request: AddCheckpointRequest;
  readonly checkpoint: Checkpoint;
  /** The note text: what the cosignature signs. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
};

export type Refusal = {
  readonly ok: false;
  readonly status: 400 | 403 | 404 | 409 | 422;
  readonly code: WitnessRefusalCode;
  readonly detail: string;
  /** For 409: the size the witness last cosigned (the `text/x.tlog.size` body). */
  readonly currentSize?: number;
};

export type Acceptance = {
  readonly ok: true;
  readonly status: 200;
  readonly opened: OpenedCheckpoint;
  /** True when the checkpoint is larger than the witnessed head: persist it before cosigning. */
  readonly advance: boolean;
};

/**
 * Steps 1-3: parse the body and accept the log's signature.
 * @param now ms; signature validity windows of the configured keys are checked against it.
 */
export function openAddCheckpoint(
  body: Uint8Array,
  logs: ReadonlyMap<string, WitnessedLog>,
  now: number,
): OpenedCheckpoint | Refusal {
  let request: AddCheckpointRequest;
  let note: ReturnType<typeof parseNote>;
  let checkpoint: Checkpoint;
  try {
    request = parseAddCheckpoint(body);
  } catch (err) {
    return refuse('REQUEST_MALFORMED', messageOf(err));
  }
  try {
    note = parseNote(request.checkpoint);
    checkpoint = parseCheckpoint(note.text);
  } catch (err) {
    return refuse('CHECKPOINT_MALFORMED', messageOf(err));
  }
  const log = logs.get(checkpoint.origin);
  if (!log) return refuse('UNKNOWN_LOG', `origin ${JSON.stringify(checkpoint.origin)} is unknown`);
  const verdict = evaluateSignatures({
    text: note.text,
    signatures: note.signatures,
    trustedKeys: log.keys,
    origin: checkpoint.origin,
    sealedAt: now,
  });
  // tlog-witness: lines from unknown keys (e.g. other witnesses' cosignatures) are ignored; one
  // valid signature by a configured key is what counts.
  if (verdict.signedBy.length === 0)
    return refuse(
      'SIGNATURE_UNTRUSTED',
      `no signature verifies against the keys of ${checkpoint.origin}: ${verdict.problems.map((p) => p.code).join(', ')}`,
    );
  return { request, checkpoint, text: note.text, signatures: note.signatures };
}

/**
 * Steps 4-7 against the latest cosigned head of the origin (`undefined`: never cosigned, so the
 * checkpoint is trusted on first use when the old size is 0).
 */
export function decideAddCheckpoint(
  opened: OpenedCheckpoint,
  head: WitnessHead | undefined,
): Acceptance | Refusal {
  const { oldSize, proof } = opened.request;
  const { treeSize: size, root } = opened.checkpoint;
  const current = head?.size ?? 0;
  if (oldSize > size)
    return refuse(
      'OLD_SIZE_TOO_LARGE',
      `old size ${oldSize} is larger than the checkpoint ${size}`,
    );
  if (oldSize !== current)
    return refuse(
      'OLD_SIZE_MISMATCH',
      `old size ${oldSize} is not the witnessed size ${current}`,
      current,
    );
  if (head !== undefined && size === head.size) {
    if (!bytesEqual(root, head.root))
      return refuse('ROOT_MISMATCH', `a different root for the witnessed size ${size}`, current);
    if (proof.length !== 0) return refuse('PROOF_INVALID', 'equal sizes need an empty proof');
    return { ok: true, status: 200, opened, advance: false };
  }
  if (head === undefined || head.size === 0) {
    if (proof.length !== 0)
      return refuse('PROOF_INVALID', 'the proof must be empty when the old size is 0');
    return { ok: true, status: 200, opened, advance: true };
  }
  try {
    verifyConsistency(head.size, size, proof, head.root, root);
  } catch (err) {
    return refuse('PROOF_INVALID', messageOf(err));
  }
  return { ok: true, status: 200, opened, advance: true };
}

/** Whether a step returned a refusal. */
export function isRefusal(x: OpenedCheckpoint | Acceptance | Refusal): x is Refusal {
  return 'ok' in x && x.ok === false;
}

function refuse(code: WitnessRefusalCode, detail: string, currentSize?: number): Refusal {
  return {
    ok: false,
    status: REFUSAL_STATUS[code],
    code,
    detail,
    ...(currentSize !== undefined ? { currentSize } : {}),
  };
}

function messageOf(err: unknown): string {
  return err instanceof AuditlockError ? `${err.code}: ${err.message}` : String(err);
}
