/**
 * Reading one stored segment so that what it says may steer a decision: which head a writer
 * extends, which records count as already archived, what a proof is built against. Everything in
 * a store is hostile (anyone with `s3:PutObject` alone can add a version on top of a segment), so
 * a segment is trusted only when all of these hold (docs/FORMAT.md §4):
 *
 * 1. on a versioned store the key has exactly one version and no delete marker, and that version
 *    is the one read (AWS-NOTES: a PUT to a locked key adds a version, a DELETE adds a marker);
 * 2. the object is at most MAX_SEGMENT_BYTES and parses as a segment;
 * 3. its checkpoint is accepted by the one signature policy (src/core/signature-policy.ts) for the
 *    given trusted keys at the checkpoint's seal time;
 * 4. the signed sequence number is the one the key says;
 * 5. header and body hash to the signed payload hash;
 * 6. the entries, appended to `frontierBefore`, give the signed tree size and root, and their
 *    number is the header's count.
 *
 * The chain to earlier segments is not checked here: that is the verifier's job. A segment that
 * passes was signed by a trusted key, so its frontier is as good as that key's word.
 */
import { CompactRange } from '../core/compact-range.js';
import { fromBase64 } from '../core/encoding.js';
import { AuditlockError, IntegrityError, StorageError } from '../core/errors.js';
import { bytesEqual, sha256 } from '../core/hash.js';
import { segmentKey } from '../core/layout.js';
import { hashLeaf } from '../core/merkle.js';
import type { TrustedKey } from '../core/note.js';
import { isVersionedStore, type ObjectStore, type ReadOptions } from '../core/ports.js';
import {
  MAX_SEGMENT_BYTES,
  type ParsedSegment,
  parseSegment,
  segmentEntries,
} from '../core/segment.js';
import { describeKey, evaluateSignatures } from '../core/signature-policy.js';
import { parseTimestamp } from '../core/timestamp.js';

/** Why a stored segment is not trusted. Part of the public interface: never rename one. */
export const TRUSTED_SEGMENT_CODES = [
  /** No object (no version at all) at the segment's key. */
  'SEGMENT_MISSING',
  /** A versioned store holds more than one version, or a delete marker, at the key. */
  'SEGMENT_SHADOWED',
  /** Too large, or not a well-formed segment (the cause carries the parser's code). */
  'SEGMENT_MALFORMED',
  /** Not readable as an object: on a folder store a symlink, FIFO or device at the key. */
  'SEGMENT_UNREADABLE',
  /** The signature policy does not accept the checkpoint (message: the policy's problems). */
  'SEGMENT_UNTRUSTED',
  /** The signed sequence number is not the key's. */
  'SEGMENT_MISNUMBERED',
  /** Header and body do not hash to the signed payload hash. */
  'SEGMENT_PAYLOAD_MISMATCH',
  /** The entries do not give the signed tree size and root, or not the header's count. */
  'SEGMENT_ROOT_MISMATCH',
] as const;
export type TrustedSegmentCode = (typeof TRUSTED_SEGMENT_CODES)[number];

/** A segment that passed every check above. */
export type TrustedSegment = {
  readonly seg: ParsedSegment;
  /** The leaf data, in order (views into the decoded body). */
  readonly entries: Uint8Array[];
  /** SHA-256 of the whole object (what the next segment's `auditlock.prev` must be). */
  readonly hash: Uint8Array;
  /** The version read, on a versioned store. */
  readonly versionId?: string;
  /** The trusted keys whose signatures were accepted. */
  readonly signedBy: readonly TrustedKey[];
  /** The frontier after this segment, recomputed from its entries. */
  readonly frontier: CompactRange;
};

const READ: ReadOptions = { maxBytes: MAX_SEGMENT_BYTES };

/**
 * Reads segment `seq` of `log` and checks it as described in the module comment.
 * @throws IntegrityError with a {@link TrustedSegmentCode}; StorageError from the store for
 *   anything but an oversized or unreadable object (transient failures stay retryable).
 */
export async function readTrustedSegment(
  store: ObjectStore,
  log: string,
  seq: number,
  trustedKeys: readonly TrustedKey[],
): Promise<TrustedSegment> {
  const key = segmentKey(log, seq);
  const where = `${store.location.replace(/\/+$/, '')}/${key}`;
  const fail = (code: TrustedSegmentCode, why: string, cause?: unknown): never => {
    throw new IntegrityError(code, `segment ${where} ${why}`, { cause });
  };
  const { bytes, versionId } = await readSingleVersion(store, key, fail);
  if (!bytes) return fail('SEGMENT_MISSING', 'does not exist');

  let seg: ParsedSegment;
  try {
    seg = parseSegment(bytes);
  } catch (cause) {
    return fail('SEGMENT_MALFORMED', `is malformed (${codeOf(cause)})`, cause);
  }
  const cp = seg.checkpoint;
  const verdict = evaluateSignatures({
    text: seg.noteText,
    signatures: seg.signatures,
    trustedKeys,
    origin: cp.origin,
    sealedAt: parseTimestamp(cp.sealedAt), // checked by parseSegmentCheckpoint
  });
  if (!verdict.accepted) {
    // SIGNATURE_UNTRUSTED's detail already names the segment's keys and the trusted ones.
    const problems = verdict.problems.map((p) => `${p.code}: ${p.detail}`);
    if (!verdict.problems.some((p) => p.code === 'SIGNATURE_UNTRUSTED'))
      problems.push(`trusted: ${trustedKeys.map(describeKey).join(', ') || '(none)'}`);
    fail('SEGMENT_UNTRUSTED', `is not signed by a trusted key (${problems.join('; ')})`);
  }
  if (cp.seq !== seq) fail('SEGMENT_MISNUMBERED', `says it is segment ${cp.seq}`);
  if (!bytesEqual(sha256(seg.payload), cp.payloadHash))
    fail('SEGMENT_PAYLOAD_MISMATCH', 'does not match its signed payload hash');

  let entries: Uint8Array[];
  let frontier: CompactRange;
  try {
    entries = segmentEntries(seg);
    frontier = new CompactRange(seg.header.firstIndex, seg.header.frontierBefore.map(fromBase64));
    for (const e of entries) frontier.append(hashLeaf(e));
  } catch (cause) {
    return fail(
      'SEGMENT_MALFORMED',
      `has an undecodable body or frontier (${codeOf(cause)})`,
      cause,
    );
  }
  if (
    entries.length !== seg.header.count ||
    frontier.size !== cp.treeSize ||
    !bytesEqual(frontier.root(), cp.root)
  )
    fail('SEGMENT_ROOT_MISMATCH', 'does not hash to its signed tree root');

  return {
    seg,
    entries,
    hash: seg.hash,
    signedBy: verdict.signedBy,
    frontier,
    ...(versionId !== undefined ? { versionId } : {}),
  };
}

/**
 * The bytes of the key's only version. On a versioned store a second version or a delete marker
 * means someone wrote beside the writer: refuse instead of guessing which version is real.
 */
async function readSingleVersion(
  store: ObjectStore,
  key: string,
  fail: (code: TrustedSegmentCode, why: string, cause?: unknown) => never,
): Promise<{ bytes: Uint8Array | undefined; versionId?: string }> {
  try {
    if (!isVersionedStore(store)) return { bytes: await store.get(key, READ) };
    const versions = [];
    for await (const v of store.listVersions(key)) if (v.key === key) versions.push(v);
    if (versions.length === 0) return { bytes: undefined };
    const markers = versions.filter((v) => v.isDeleteMarker).length;
    if (markers > 0 || versions.length > 1)
      fail(
        'SEGMENT_SHADOWED',
        `has ${versions.length - markers} version(s) and ${markers} delete marker(s) (${versions.map((v) => v.versionId).join(', ')}); exactly one version is expected`,
      );
    const only = versions[0] as (typeof versions)[number];
    const bytes = await store.getVersion(key, only.versionId, READ);
    return { bytes, versionId: only.versionId };
  } catch (cause) {
    // Both are what someone put at the key, not a failure of the store: never retried.
    if (cause instanceof StorageError && cause.code === 'OBJECT_TOO_LARGE')
      fail('SEGMENT_MALFORMED', `is larger than ${MAX_SEGMENT_BYTES} bytes`, cause);
    if (cause instanceof StorageError && cause.code === 'OBJECT_UNREADABLE')
      fail('SEGMENT_UNREADABLE', `is not a readable object (${cause.message})`, cause);
    throw cause;
  }
}

function codeOf(err: unknown): string {
  return err instanceof AuditlockError ? err.code : 'unexpected error';
}
