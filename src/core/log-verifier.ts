/**
 * Streaming verification of one log: feed its segments in key order, get every finding. Holds only
 * the previous segment's hash, the compact range and a few counters, so memory does not grow with
 * the log. Each check is reported where the problem is; after a problem the verifier resynchronises
 * on what is stored, so one tampered segment does not hide problems further on.
 */
import type { Checkpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, toBase64 } from './encoding.js';
import { parseTimestamp } from './entry.js';
import { checkEntryBytes } from './entry-check.js';
import { AuditlockError } from './errors.js';
import type { Finding, FindingCode, FindingSink } from './findings.js';
import { bytesEqual, sha256 } from './hash.js';
import { ecdsaKeyId } from './key-id.js';
import { hashLeaf } from './merkle.js';
import { checkSignature, formatNote, type TrustedKey } from './note.js';
import type { VersionMetadata } from './ports.js';
import { GENESIS_PREV, type ParsedSegment, parseSegment, segmentEntries } from './segment.js';

export type LogVerifyOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  /** Expected origin; by default the first segment's origin is taken as the log's. */
  readonly origin?: string | undefined;
  /** The log must have at least this many entries. */
  readonly expectSize?: number | undefined;
  /** Checkpoints the caller already trusts (signatures checked by the caller). */
  readonly trustedCheckpoints?: readonly Checkpoint[] | undefined;
  /** Sequence number of the first segment expected (bundles may start mid-log). Default 0. */
  readonly firstSeq?: number | undefined;
  /** Validate each entry against the full schema (slower) instead of the structural check. */
  readonly strictEntries?: boolean | undefined;
  /**
   * Versioned stores: every segment version must be under COMPLIANCE retention until at least its
   * seal time plus this many days (default 0: until at least the seal time).
   */
  readonly minRetentionDays?: number | undefined;
};

const DAY_MS = 86_400_000;

export type LogSummary = {
  readonly log: string;
  readonly origin: string | undefined;
  readonly segments: number;
  readonly entries: number;
  readonly quarantined: number;
  readonly bytes: number;
  readonly treeSize: number;
  readonly root: string | undefined;
  readonly firstSealedAt: string | undefined;
  readonly lastSealedAt: string | undefined;
  /** The newest segment's checkpoint as a C2SP signed note, for use as a trusted checkpoint. */
  readonly latestCheckpoint: string | undefined;
  readonly findings: number;
};

export class LogVerifier {
  readonly #log: string;
  readonly #opts: LogVerifyOptions;
  readonly #sink: FindingSink;
  #origin: string | undefined;
  #nextSeq: number;
  #prevHash: Uint8Array | undefined;
  #range: CompactRange | undefined;
  #lastReceived = 0;
  #lastSealed = 0;
  #segments = 0;
  #entries = 0;
  #quarantined = 0;
  #bytes = 0;
  #findings = 0;
  #firstSealedAt: string | undefined;
  #lastSealedAt: string | undefined;
  #latestCheckpoint: string | undefined;
  #pendingCheckpoints: Checkpoint[];

  constructor(log: string, opts: LogVerifyOptions, sink: FindingSink) {
    this.#log = log;
    this.#opts = opts;
    this.#sink = sink;
    this.#origin = opts.origin;
    this.#nextSeq = opts.firstSeq ?? 0;
    if (this.#nextSeq === 0) {
      this.#prevHash = GENESIS_PREV;
      this.#range = new CompactRange();
    }
    this.#pendingCheckpoints = [...(opts.trustedCheckpoints ?? [])].sort(
      (a, b) => a.treeSize - b.treeSize,
    );
  }

  #report(
    code: FindingCode,
    detail: string,
    at: { seq?: number; key?: string; index?: number } = {},
  ): void {
    this.#findings++;
    const finding: Finding = { code, log: this.#log, ...at, detail };
    this.#sink(finding);
  }

  /**
   * Records that segment `seq` is listed but could not be read (the caller reports why): the next
   * segment is not reported as a gap, but its link and tree cannot be checked.
   */
  skipSegment(key: string, seq: number, detail: string): void {
    this.#report('OBJECT_UNREADABLE', detail, { seq, key });
    this.#segments++;
    this.#nextSeq = seq + 1;
    this.#prevHash = undefined;
    this.#range = undefined;
  }

  /**
   * Checks the segment stored under `key` (sequence number `seq` by its name). `meta`, from a
   * versioned store, adds the retention and stored-checksum checks.
   */
  addSegment(key: string, seq: number, bytes: Uint8Array, meta?: VersionMetadata): void {
    const at = { seq, key };
    this.#segments++;
    this.#bytes += bytes.length;
    if (seq > this.#nextSeq) {
      const missing =
        seq - this.#nextSeq === 1 ? `${this.#nextSeq}` : `${this.#nextSeq}..${seq - 1}`;
      this.#report('SEQUENCE_GAP', `segment(s) ${missing} missing before ${seq}`, at);
      this.#prevHash = undefined;
      this.#range = undefined;
    } else if (seq < this.#nextSeq) {
      this.#report('SEQUENCE_GAP', `segment ${seq} arrives after ${this.#nextSeq - 1}`, at);
    }
    this.#nextSeq = seq + 1;
    let parsed: ParsedSegment;
    try {
      parsed = parseSegment(bytes);
    } catch (err) {
      // The object's hash is still what the next segment links to, and what S3's checksum covers.
      const hash = sha256(bytes);
      this.#checkChecksum(hash, meta, at);
      this.#report(codeOf(err, 'SEGMENT_MALFORMED'), messageOf(err), at);
      this.#prevHash = hash;
      this.#range = undefined;
      return;
    }
    this.#checkChecksum(parsed.hash, meta, at);
    this.#checkSignatures(parsed, at);
    const cp = parsed.checkpoint;
    if (this.#origin === undefined) this.#origin = cp.origin;
    else if (cp.origin !== this.#origin)
      this.#report(
        'ORIGIN_MISMATCH',
        `origin ${JSON.stringify(cp.origin)}, log is ${JSON.stringify(this.#origin)}`,
        at,
      );
    if (cp.seq !== seq)
      this.#report('SEQUENCE_MISMATCH', `checkpoint says segment ${cp.seq}, key says ${seq}`, at);
    if (this.#prevHash && !bytesEqual(cp.prev, this.#prevHash))
      this.#report(
        'PREV_HASH_MISMATCH',
        `prev ${toBase64(cp.prev)}, previous segment hashes to ${toBase64(this.#prevHash)}`,
        at,
      );
    if (!bytesEqual(sha256(parsed.payload), cp.payloadHash))
      this.#report(
        'PAYLOAD_HASH_MISMATCH',
        `payload hashes to ${toBase64(sha256(parsed.payload))}, checkpoint says ${toBase64(cp.payloadHash)}`,
        at,
      );
    this.#checkTree(parsed, at);
    this.#checkSealTime(parsed, at);
    if (meta) this.#checkStorage(parsed, meta, at);
    this.#prevHash = parsed.hash;
    this.#firstSealedAt ??= cp.sealedAt;
    this.#lastSealedAt = cp.sealedAt;
    this.#latestCheckpoint = formatNote(parsed.noteText, parsed.signatures);
  }

  /** A versioned store's own SHA-256 of the object must be the hash of the bytes read. */
  #checkChecksum(
    hash: Uint8Array,
    meta: VersionMetadata | undefined,
    at: { seq: number; key: string },
  ): void {
    if (meta && meta.checksumSha256 !== toBase64(hash))
      this.#report(
        'CHECKSUM_MISMATCH',
        `stored checksum ${meta.checksumSha256 ?? '(none)'}, bytes hash to ${toBase64(hash)}`,
        at,
      );
  }

  #checkSignatures(parsed: ParsedSegment, at: { seq: number; key: string }): void {
    let valid = 0;
    let unknown = 0;
    const sealedMs = parseTimestamp(parsed.checkpoint.sealedAt);
    for (const sig of parsed.signatures) {
      const check = checkSignature(
        parsed.noteText,
        sig,
        this.#opts.trustedKeys,
        parsed.checkpoint.origin,
      );
      if (check.status === 'unknown-key') unknown++;
      else if (check.status === 'invalid')
        this.#report(
          'SIGNATURE_INVALID',
          `signature by ${sig.keyName} (${hex(sig.keyId)}) does not verify`,
          at,
        );
      else {
        valid++;
        const { notBefore, notAfter } = check.key;
        if (
          (notBefore !== undefined && sealedMs < notBefore) ||
          (notAfter !== undefined && sealedMs > notAfter)
        )
          this.#report(
            'KEY_NOT_VALID_AT_SEAL_TIME',
            `key ${check.key.label ?? hex(sig.keyId)} not valid at ${parsed.checkpoint.sealedAt}`,
            at,
          );
      }
    }
    if (valid === 0 && unknown > 0)
      this.#report(
        'SIGNATURE_UNTRUSTED',
        `signed only by unknown key(s): ${parsed.signatures.map((s) => `${s.keyName}+${hex(s.keyId)}`).join(', ')}${this.#nameHint(parsed)}`,
        at,
      );
    else if (valid > 0 && unknown > 0)
      this.#report('SIGNATURE_UNEXPECTED', `${unknown} signature line(s) from unknown keys`, at);
  }

  /** Explains the common mistake of a vkey whose name is not the log's origin. */
  #nameHint(parsed: ParsedSegment): string {
    for (const sig of parsed.signatures)
      for (const k of this.#opts.trustedKeys)
        if (
          k.name !== undefined &&
          k.name !== sig.keyName &&
          bytesEqual(ecdsaKeyId(k.spki), sig.keyId)
        )
          return `; a trusted key with this key ID is named ${JSON.stringify(k.name)}, but auditlock signs under the origin ${JSON.stringify(sig.keyName)} (use the PEM public key, or a vkey with that name)`;
    return '';
  }

  #checkTree(parsed: ParsedSegment, at: { seq: number; key: string }): void {
    const { header, checkpoint: cp } = parsed;
    if (header.firstIndex + header.count !== cp.treeSize) {
      this.#report(
        'HEADER_INCONSISTENT',
        `firstIndex ${header.firstIndex} + count ${header.count} != tree size ${cp.treeSize}`,
        at,
      );
    }
    let range = this.#range;
    if (range && header.firstIndex !== range.size)
      this.#report(
        'LEAF_INDEX_MISMATCH',
        `first leaf index ${header.firstIndex}, previous tree size ${range.size}`,
        at,
      );
    const stored = decodeFrontier(header.firstIndex, header.frontierBefore);
    if (range && (!stored || !sameFrontier(stored, range)))
      this.#report(
        'FRONTIER_MISMATCH',
        'frontierBefore differs from the frontier computed from earlier segments',
        at,
      );
    if (!range) range = stored;
    if (!range) {
      this.#report(
        'HEADER_INCONSISTENT',
        `frontierBefore has the wrong number of hashes for size ${header.firstIndex}`,
        at,
      );
      this.#range = decodeFrontier(cp.treeSize, header.frontierAfter);
      return;
    }
    range = range.clone();
    let entries: Uint8Array[];
    try {
      entries = segmentEntries(parsed);
      if (entries.length !== header.count)
        throw new AuditlockError(
          'BODY_INVALID',
          `body has ${entries.length} entries, header says ${header.count}`,
        );
    } catch (err) {
      this.#report(codeOf(err, 'BODY_INVALID'), messageOf(err), at);
      this.#range = decodeFrontier(cp.treeSize, header.frontierAfter);
      return;
    }
    let first: number | undefined;
    let last = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Uint8Array;
      const index = header.firstIndex + i;
      range.append(hashLeaf(entry));
      this.#checkTrustedCheckpoints(range, at);
      const check = checkEntryBytes(entry, this.#opts.strictEntries ?? false);
      if (!check.ok) {
        this.#report('ENTRY_INVALID', check.detail, { ...at, index });
        continue;
      }
      this.#entries++;
      if (check.kind === 'quarantine') this.#quarantined++;
      if (check.receivedAt < this.#lastReceived)
        this.#report(
          'RECEIVE_TIME_REGRESSION',
          `received ${new Date(check.receivedAt).toISOString()} after ${new Date(this.#lastReceived).toISOString()}`,
          { ...at, index },
        );
      this.#lastReceived = Math.max(this.#lastReceived, check.receivedAt);
      first ??= check.receivedAt;
      last = check.receivedAt;
    }
    if (
      first !== undefined &&
      (parseTimestamp(header.firstReceivedAt) !== first ||
        parseTimestamp(header.lastReceivedAt) !== last)
    )
      this.#report(
        'RECEIVE_TIME_MISMATCH',
        `header says ${header.firstReceivedAt}..${header.lastReceivedAt}, entries say ${new Date(first).toISOString()}..${new Date(last).toISOString()}`,
        at,
      );
    const rootOk = bytesEqual(range.root(), cp.root);
    if (!rootOk)
      this.#report(
        'ROOT_MISMATCH',
        `entries hash to root ${toBase64(range.root())}, checkpoint says ${toBase64(cp.root)}`,
        at,
      );
    const after = decodeFrontier(range.size, header.frontierAfter);
    if (!after || !sameFrontier(after, range))
      this.#report(
        'FRONTIER_MISMATCH',
        'frontierAfter differs from the frontier computed from the entries',
        at,
      );
    // The signed root vouches for the computed frontier; if the entries were changed, continue
    // from what the segment stored, so the damage is reported here and not on every later segment.
    this.#range = rootOk ? range : (decodeFrontier(cp.treeSize, header.frontierAfter) ?? range);
  }

  #checkTrustedCheckpoints(range: CompactRange, at: { seq: number; key: string }): void {
    while (
      this.#pendingCheckpoints.length > 0 &&
      (this.#pendingCheckpoints[0] as Checkpoint).treeSize <= range.size
    ) {
      const cp = this.#pendingCheckpoints.shift() as Checkpoint;
      if (cp.treeSize === range.size && !bytesEqual(cp.root, range.root()))
        this.#report(
          'CHECKPOINT_MISMATCH',
          `at tree size ${cp.treeSize} the log's root is ${toBase64(range.root())}, the trusted checkpoint says ${toBase64(cp.root)}`,
          at,
        );
    }
  }

  #checkSealTime(parsed: ParsedSegment, at: { seq: number; key: string }): void {
    const sealed = parseTimestamp(parsed.checkpoint.sealedAt);
    const lastReceived = parseTimestamp(parsed.header.lastReceivedAt);
    if (sealed < this.#lastSealed || sealed < lastReceived)
      this.#report(
        'SEAL_TIME_REGRESSION',
        `sealed ${parsed.checkpoint.sealedAt}, before the previous seal or last receive time`,
        at,
      );
    this.#lastSealed = Math.max(this.#lastSealed, sealed);
  }

  #checkStorage(
    parsed: ParsedSegment,
    meta: VersionMetadata,
    at: { seq: number; key: string },
  ): void {
    if (meta.lockMode !== 'COMPLIANCE') {
      this.#report(
        'RETENTION_MISSING',
        `lock mode is ${meta.lockMode ?? 'none'}, expected COMPLIANCE`,
        at,
      );
      return;
    }
    const required =
      parseTimestamp(parsed.checkpoint.sealedAt) + (this.#opts.minRetentionDays ?? 0) * DAY_MS;
    const until = meta.retainUntil?.getTime();
    if (until === undefined || until < required)
      this.#report(
        'RETENTION_TOO_SHORT',
        `retained until ${meta.retainUntil?.toISOString() ?? '(none)'}, required at least ${new Date(required).toISOString()}`,
        at,
      );
  }

  /** Ends the log: size checks against trusted sizes and checkpoints, and the summary. */
  finish(): LogSummary {
    const size = this.#range?.size ?? 0;
    if (this.#opts.expectSize !== undefined && size < this.#opts.expectSize)
      this.#report(
        'LOG_TRUNCATED',
        `log has ${size} entries, expected at least ${this.#opts.expectSize}`,
      );
    for (const cp of this.#pendingCheckpoints)
      this.#report(
        'LOG_TRUNCATED',
        `log has ${size} entries, a trusted checkpoint has ${cp.treeSize}`,
      );
    this.#pendingCheckpoints = [];
    if (this.#segments === 0 && (this.#opts.expectSize ?? 0) === 0)
      this.#report('LOG_EMPTY', 'no segments found');
    return {
      log: this.#log,
      origin: this.#origin,
      segments: this.#segments,
      entries: this.#entries,
      quarantined: this.#quarantined,
      bytes: this.#bytes,
      treeSize: size,
      root: this.#range ? toBase64(this.#range.root()) : undefined,
      firstSealedAt: this.#firstSealedAt,
      lastSealedAt: this.#lastSealedAt,
      latestCheckpoint: this.#latestCheckpoint,
      findings: this.#findings,
    };
  }
}

function decodeFrontier(size: number, hashes: readonly string[]): CompactRange | undefined {
  try {
    return new CompactRange(size, hashes.map(fromBase64));
  } catch {
    return undefined;
  }
}

function sameFrontier(a: CompactRange, b: CompactRange): boolean {
  if (a.size !== b.size) return false;
  const ha = a.hashes();
  const hb = b.hashes();
  return ha.length === hb.length && ha.every((h, i) => bytesEqual(h, hb[i] as Uint8Array));
}

function codeOf(err: unknown, fallback: FindingCode): FindingCode {
  if (err instanceof AuditlockError) {
    const c = err.code as string;
    if (
      c === 'CHECKPOINT_MALFORMED' ||
      c === 'HEADER_INVALID' ||
      c === 'BODY_INVALID' ||
      c === 'SEGMENT_MALFORMED'
    )
      return c;
    if (c === 'NOTE_MALFORMED') return 'SEGMENT_MALFORMED';
  }
  return fallback;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
