/**
 * Accepting a signed checkpoint that a user hands in (`verify --checkpoint`, the checkpoint inside
 * a `verify-proof` proof): parse the C2SP signed note, read the auditlock segment checkpoint out
 * of its text, and apply the one signature policy (signature-policy.ts) at the checkpoint's own
 * seal time (`auditlock.sealed`, docs/FORMAT.md §4.1), so a key whose validity window does not
 * contain that time is refused here exactly as in the segment verifier.
 */

import type { Checkpoint } from './checkpoint.js';
import { type CosignerKey, isFromCosigner } from './cosignature.js';
import type { TrustedKey } from './note.js';
import { parseNote } from './note.js';
import { parseSegmentCheckpoint, type SegmentCheckpoint } from './segment.js';
import { evaluateSignatures, type SignatureVerdict } from './signature-policy.js';
import { parseTimestamp } from './timestamp.js';

/** What the verifier needs of a trusted checkpoint: which log (origin), which size, which root. */
export type TrustedCheckpoint = Pick<Checkpoint, 'origin' | 'treeSize' | 'root'> & {
  /** Who vouches for it, for messages (default "a trusted checkpoint"). */
  readonly by?: string | undefined;
};

export type CheckpointEvaluation = {
  readonly checkpoint: SegmentCheckpoint;
  /** The note text that was signed. */
  readonly text: string;
  readonly verdict: SignatureVerdict;
};

/**
 * Parses `note` (note text, blank line, signature lines) and applies the signature policy at the
 * checkpoint's seal time. Never accepts anything by itself: the caller reads `verdict.accepted`.
 * Lines from `cosigners` (trusted witness keys) are left out of the policy: a cosigned checkpoint
 * is still the log's checkpoint.
 * @throws IntegrityError `NOTE_MALFORMED`, `CHECKPOINT_MALFORMED` (not an auditlock checkpoint)
 */
export function evaluateCheckpointNote(
  note: string,
  trustedKeys: readonly TrustedKey[],
  cosigners: readonly CosignerKey[] = [],
): CheckpointEvaluation {
  const { text, signatures } = parseNote(note);
  const checkpoint = parseSegmentCheckpoint(text);
  const verdict = evaluateSignatures({
    text,
    // Cosignature lines of known witnesses are theirs to check, not the log's (tlog-cosignature).
    signatures: signatures.filter((s) => !isFromCosigner(s, cosigners)),
    trustedKeys,
    origin: checkpoint.origin,
    // parseSegmentCheckpoint has checked the timestamp already.
    sealedAt: parseTimestamp(checkpoint.sealedAt),
  });
  return { checkpoint, text, verdict };
}
