/**
 * The verifier's side of witnessing: the cosigned checkpoints stored under `<log>/witness/`, which
 * of them a quorum of trusted witnesses vouches for, and whether the verified log agrees with them.
 *
 * Stored objects (docs/FORMAT.md §9): key `<log>/witness/<tree size, 20 digits>-<witness key ID,
 * 8 hex>.cosigned`, content the log's checkpoint as a C2SP signed note: the segment's checkpoint
 * text, a blank line, the log's signature line(s) as in the segment, and the witness's
 * `cosignature/v1` line. Written once by `auditlock witness submit|cosign`.
 *
 * A checkpoint counts when its log signature is accepted by the one signature policy and at least
 * `quorum` distinct trusted witnesses cosigned that same (size, root). The log must then be at
 * least that large (`LOG_TRUNCATED`) and have that root at that size (`CHECKPOINT_MISMATCH`, a fork).
 */
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import {
  type CosignerKey,
  isFromCosigner,
  readCosignature,
  verifyCosignature,
} from './cosignature.js';
import { fromUtf8, toBase64, toHex } from './encoding.js';
import { AuditlockError } from './errors.js';
import { type NoteSignature, parseNote, type TrustedKey } from './note.js';
import { parseSegmentCheckpoint } from './segment.js';
import { evaluateSignatures } from './signature-policy.js';
import { parseTimestamp } from './timestamp.js';

/** Codes this check reports. Part of the public interface: never rename one. */
export const WITNESS_CHECK_CODES = [
  /** An object under `<log>/witness/` is not a cosigned checkpoint of this log. */
  'WITNESS_OBJECT_MALFORMED',
  /** A cosigned checkpoint does not carry an accepted signature of the log's key. */
  'WITNESS_LOG_SIGNATURE_INVALID',
  /** A cosignature line from a trusted witness key does not verify. */
  'WITNESS_COSIGNATURE_INVALID',
  /** No checkpoint is cosigned by the required number of trusted witnesses. */
  'WITNESS_QUORUM_NOT_MET',
  /** The log is smaller than a witnessed checkpoint: newest segments removed or hidden. */
  'LOG_TRUNCATED',
  /** The log's root at a witnessed size differs from the witnessed root: a fork. */
  'CHECKPOINT_MISMATCH',
] as const;
export type WitnessCheckCode = (typeof WITNESS_CHECK_CODES)[number];

export type WitnessCheckFinding = {
  readonly code: WitnessCheckCode;
  readonly log: string;
  /** Store key of the object concerned, if any. */
  readonly key?: string | undefined;
  readonly detail: string;
};

/** One (size, root) of the log and the trusted witnesses that cosigned it. */
export type WitnessedCheckpoint = {
  readonly checkpoint: Checkpoint;
  readonly witnesses: readonly {
    readonly key: CosignerKey;
    /** POSIX seconds of the newest valid cosignature by this witness. */
    readonly timestamp: number;
    readonly objectKey: string;
  }[];
};

const KEY_RE = /^([a-z0-9][a-z0-9._-]{0,62})\/witness\/([0-9]{20})-([0-9a-f]{8})\.cosigned$/;

/** Where a cosigned checkpoint of `log` at `treeSize` by the witness `keyId` is stored. */
export function cosignedCheckpointKey(log: string, treeSize: number, keyId: Uint8Array): string {
  return `${log}/witness/${String(treeSize).padStart(20, '0')}-${toHex(keyId)}.cosigned`;
}

/** The parts of a cosigned-checkpoint key, or undefined if `key` is not one. */
export function parseCosignedCheckpointKey(
  key: string,
): { log: string; treeSize: number; keyId: string } | undefined {
  const m = KEY_RE.exec(key);
  const size = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(size)) return undefined;
  return { log: m[1] as string, treeSize: size, keyId: m[3] as string };
}

export type CollectInput = {
  readonly log: string;
  /** The log's origin, when known (from its verified segments); otherwise taken from objects. */
  readonly origin?: string | undefined;
  /** Every object found under `<log>/witness/` (in the store, or in a `--cosignatures` store). */
  readonly objects: readonly { readonly key: string; readonly bytes: Uint8Array }[];
  /** The keys trusted for the log's own signatures (the verifier's). */
  readonly logKeys: readonly TrustedKey[];
  /** Trusted witness keys. Cosignatures by other keys are ignored (tlog-cosignature). */
  readonly witnessKeys: readonly CosignerKey[];
};

/**
 * Reads every stored cosigned checkpoint and groups the valid cosignatures by (size, root).
 * Never throws for hostile objects: each problem is a finding.
 */
export function collectWitnessedCheckpoints(input: CollectInput): {
  checkpoints: WitnessedCheckpoint[];
  findings: WitnessCheckFinding[];
} {
  const findings: WitnessCheckFinding[] = [];
  const groups = new Map<string, { checkpoint: Checkpoint; witnesses: Map<string, Witness> }>();
  type Witness = WitnessedCheckpoint['witnesses'][number];
  for (const object of input.objects) {
    const report = (code: WitnessCheckCode, detail: string) =>
      findings.push({ code, log: input.log, key: object.key, detail });
    const opened = openCosigned(object, input, report);
    if (!opened) continue;
    const { checkpoint, text, cosignatures } = opened;
    for (const sig of cosignatures) {
      const key = input.witnessKeys.find((k) => verifyCosignature(text, sig, k));
      if (!key) {
        report('WITNESS_COSIGNATURE_INVALID', `cosignature by ${sig.keyName} does not verify`);
        continue;
      }
      const id = `${toBase64(checkpoint.root)} ${checkpoint.treeSize}`;
      const group = groups.get(id) ?? { checkpoint, witnesses: new Map() };
      groups.set(id, group);
      const timestamp = readCosignature(sig).timestamp;
      const name = `${key.name}+${toHex(key.keyId)}`;
      const before = group.witnesses.get(name);
      if (!before || before.timestamp < timestamp)
        group.witnesses.set(name, { key, timestamp, objectKey: object.key });
    }
  }
  const checkpoints = [...groups.values()]
    .map((g) => ({ checkpoint: g.checkpoint, witnesses: [...g.witnesses.values()] }))
    .sort((a, b) => a.checkpoint.treeSize - b.checkpoint.treeSize);
  return { checkpoints, findings };
}

/** Parses one stored object and checks its log signature; reports and returns undefined if bad. */
function openCosigned(
  object: { key: string; bytes: Uint8Array },
  input: CollectInput,
  report: (code: WitnessCheckCode, detail: string) => void,
): { checkpoint: Checkpoint; text: string; cosignatures: NoteSignature[] } | undefined {
  const where = parseCosignedCheckpointKey(object.key);
  if (!where || where.log !== input.log) {
    report(
      'WITNESS_OBJECT_MALFORMED',
      `${object.key} is not a cosigned-checkpoint key of ${input.log}`,
    );
    return undefined;
  }
  let text: string;
  let signatures: NoteSignature[];
  let checkpoint: Checkpoint;
  let sealedAt: number;
  try {
    ({ text, signatures } = parseNote(fromUtf8(object.bytes)));
    checkpoint = parseCheckpoint(text);
    sealedAt = parseTimestamp(parseSegmentCheckpoint(text).sealedAt);
  } catch (err) {
    report('WITNESS_OBJECT_MALFORMED', `not an auditlock checkpoint note (${codeOf(err)})`);
    return undefined;
  }
  const origin = input.origin ?? checkpoint.origin;
  if (checkpoint.origin !== origin || checkpoint.treeSize !== where.treeSize) {
    report(
      'WITNESS_OBJECT_MALFORMED',
      `holds ${checkpoint.origin} at ${checkpoint.treeSize}, expected ${origin} at ${where.treeSize}`,
    );
    return undefined;
  }
  const cosignatures = signatures.filter((s) => isFromCosigner(s, input.witnessKeys));
  const verdict = evaluateSignatures({
    text,
    signatures: signatures.filter((s) => !isFromCosigner(s, input.witnessKeys)),
    trustedKeys: input.logKeys,
    origin,
    sealedAt,
  });
  // Lines from witnesses we do not trust are ignored (tlog-cosignature), not a problem.
  const problems = verdict.problems.filter((p) => p.code !== 'SIGNATURE_UNEXPECTED');
  if (verdict.signedBy.length === 0 || problems.length > 0) {
    report(
      'WITNESS_LOG_SIGNATURE_INVALID',
      `the checkpoint is not signed by the log's key (${problems.map((p) => p.code).join(', ') || 'no accepted signature'})`,
    );
    return undefined;
  }
  return { checkpoint, text, cosignatures };
}

function codeOf(err: unknown): string {
  return err instanceof AuditlockError ? err.code : 'unexpected error';
}
