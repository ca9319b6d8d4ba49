/**
 * Streaming verification of one log: feed its segments in key order, get every finding. Holds only
 * the previous segment's hash, the compact range and a few counters, so memory does not grow with
 * the log. Each check is reported where the problem is; after a problem the verifier resynchronises
 * on what is stored, so one tampered segment does not hide problems further on.
 */
import { CompactRange } from './compact-range.js';
import { fromBase64, toBase64 } from './encoding.js';
import type { StrictEntryCheck } from './entry-check.js';
import { AuditlockError, ConfigurationError } from './errors.js';
import { type Finding, type FindingCode, type FindingSink, isFindingCode } from './findings.js';
import { bytesEqual, sha256 } from './hash.js';
import { formatNote, type NoteSignature, type TrustedKey } from './note.js';
import type { VersionMetadata } from './ports.js';
import {
  GENESIS_PREV,
  type ParsedSegment,
  parseSegment,
  type SegmentCheckpoint,
  type SegmentHeader,
} from './segment.js';
import {
  checkEntries,
  decodeEntries,
  type RegularEntries,
  type SegmentCheck,
} from './segment-check.js';
import { evaluateSignatures } from './signature-policy.js';
import type { TrustedCheckpoint } from './signed-checkpoint.js';
import { parseTimestamp } from './timestamp.js';

export type LogVerifyOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  /** Expected origin; by default the first segment's origin is taken as the log's. */
  readonly origin?: string | undefined;
  /** The log must have at least this many entries. */
  readonly expectSize?: number | undefined;
  /**
   * Checkpoints the caller already trusts (signatures checked by the caller, with
   * `evaluateCheckpointNote`). Only those with this log's origin apply; each is checked at its
   * tree size, or reported when the stored segments cannot check it.
   */
  readonly trustedCheckpoints?: readonly TrustedCheckpoint[] | undefined;
  /**
   * Sequence number of the first segment expected (an evidence bundle may start mid-log; the
   * caller takes it from bundle.json only when asked to). Default 0. A log whose first stored
   * segment is earlier simply starts there.
   */
  readonly firstSeq?: number | undefined;
  /**
   * Incremental verification: continue after a position an earlier run verified (its own state,
   * checked by the caller). The first segment expected is `start.seq + 1`; it must link to
   * `start.segmentHash` and continue `start.frontier`. Segments up to `start.seq` are not read.
   */
  readonly start?: LogPosition | undefined;
  /** Do not report a log without segments (`LOG_EMPTY`). */
  readonly allowEmpty?: boolean | undefined;
  /**
   * Validate each entry with this full-schema check (slower) instead of the structural one: pass
   * entry.ts's `decodeEntry`. Given rather than imported, as to checkSegment (segment-check.ts),
   * because it is made of zod schemas, which a plain verification does without (issue 14).
   */
  readonly strictEntries?: StrictEntryCheck | undefined;
  /**
   * Versioned stores: every segment version must be under COMPLIANCE retention until at least its
   * seal time plus this many days (default 0: until at least the seal time).
   */
  readonly minRetentionDays?: number | undefined;
};

const DAY_MS = 86_400_000;
/**
 * ENTRY_INVALID findings listed per segment; further invalid entries are counted in one more
 * finding, so a hostile segment of a million bad entries cannot flood the report.
 */
export const MAX_ENTRY_FINDINGS = 100;

/**
 * Where verification of a log stands after a segment: everything an incremental run needs to go
 * on from there without reading what came before (FORMAT.md §10).
 */
export type LogPosition = {
  readonly origin: string;
  /** The last verified segment's sequence number. */
  readonly seq: number;
  /** SHA-256 of its stored bytes: what the next segment's `prev` must be. */
  readonly segmentHash: Uint8Array;
  /** Tree size after it, and the compact range (frontier) of the tree at that size. */
  readonly treeSize: number;
  readonly frontier: readonly Uint8Array[];
  readonly root: Uint8Array;
  /** Newest seal and receive times so far (ms), for the regression checks. */
  readonly lastSealedAt: number;
  readonly lastReceivedAt: number;
  /** The last segment's checkpoint as a C2SP signed note. */
  readonly checkpoint: string;
};

export type LogSummary = {
  readonly log: string;
  readonly origin: string | undefined;
  /** Sequence numbers of the first and last segment listed (the range verified). */
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  /** Tree size before the first segment (0 unless the range starts mid-log). */
  readonly startTreeSize: number | undefined;
  /** SHA-256 (base64) of the last segment: what its successor must link to. */
  readonly lastSegmentHash: string | undefined;
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
  /** Where verification ended (see {@link LogVerifier.position}); undefined when it lost track. */
  readonly end: LogPosition | undefined;
  /** True when the run continued an earlier one's position (`start`). */
  readonly incremental: boolean;
  /** False when the run stopped before the log's end (its time budget): the rest is unverified. */
  readonly complete: boolean;
};

/** What the checks of one segment read of its parsed form. */
type SegmentParts = {
  readonly hash: Uint8Array;
  readonly noteText: string;
  readonly checkpoint: SegmentCheckpoint;
  readonly signatures: readonly NoteSignature[];
  readonly header: SegmentHeader;
};

/**
 * How the checks of one segment get at its entries: the work a {@link SegmentCheck} did, if any,
 * and the entries themselves for everything else.
 */
type EntrySource = {
  readonly regular: RegularEntries | undefined;
  /**
   * The decoded entries section (segment-check.ts `decodeEntries`).
   * @throws IntegrityError `BODY_INVALID` (or another parse code) when the body does not decode
   */
  readonly entries: () => Uint8Array;
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
  #firstSeq: number | undefined;
  #lastSeq: number | undefined;
  #startTreeSize: number | undefined;
  /** Tree size the newest parsed segment signed: the log's size when the range is lost. */
  #signedSize = 0;
  /** See {@link LogVerifier.position}. */
  #position: LogPosition | undefined;
  /** Trusted checkpoints of this log's origin not yet checked, by tree size; set with the origin. */
  #pendingCheckpoints: TrustedCheckpoint[] = [];

  /**
   * @throws ConfigurationError `STRICT_ENTRIES_INVALID` when `opts.strictEntries` is set but is
   *   not a function (`true`, as before it took the check)
   */
  constructor(log: string, opts: LogVerifyOptions, sink: FindingSink) {
    if (opts.strictEntries && typeof opts.strictEntries !== 'function')
      throw new ConfigurationError(
        'STRICT_ENTRIES_INVALID',
        'strictEntries takes the strict check (decodeEntry of core/entry.js), not a flag',
      );
    this.#log = log;
    this.#opts = opts;
    this.#sink = sink;
    const start = opts.start;
    if (start) {
      this.#nextSeq = start.seq + 1;
      this.#prevHash = start.segmentHash;
      this.#range = new CompactRange(start.treeSize, start.frontier);
      this.#signedSize = start.treeSize;
      this.#lastSealed = start.lastSealedAt;
      this.#lastReceived = start.lastReceivedAt;
      this.#latestCheckpoint = start.checkpoint;
      this.#startTreeSize = start.treeSize;
      this.#position = start;
      this.#setOrigin(opts.origin ?? start.origin);
      // A trusted checkpoint at exactly the start's size is checked against its root; earlier
      // ones were the earlier run's to check.
      this.#checkTrustedCheckpoints(this.#range, {});
      this.#pendingCheckpoints = this.#pendingCheckpoints.filter(
        (c) => c.treeSize > start.treeSize,
      );
      return;
    }
    this.#nextSeq = opts.firstSeq ?? 0;
    if (this.#nextSeq === 0) this.#startAtGenesis();
    if (opts.origin !== undefined) this.#setOrigin(opts.origin);
  }

  /** Findings reported for this log so far. */
  get findings(): number {
    return this.#findings;
  }

  /**
   * The position after the last segment added, when it is fully known: the segment parsed, its
   * tree checked from a known frontier, its origin the log's. Undefined after a segment that was
   * unreadable, malformed or whose tree could not be followed.
   */
  position(): LogPosition | undefined {
    return this.#position;
  }

  #startAtGenesis(): void {
    this.#prevHash = GENESIS_PREV;
    this.#range = new CompactRange();
  }

  /** The log's origin is known: from now on only trusted checkpoints of that origin apply. */
  #setOrigin(origin: string): void {
    this.#origin = origin;
    this.#pendingCheckpoints = (this.#opts.trustedCheckpoints ?? [])
      .filter((c) => c.origin === origin)
      .sort((a, b) => a.treeSize - b.treeSize);
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
   * Reports a finding the caller made about this log's storage (versions, metadata), so it is
   * counted in the log's summary.
   */
  report(
    code: FindingCode,
    detail: string,
    at: { seq?: number; key?: string | undefined } = {},
  ): void {
    this.#report(code, detail, at);
  }

  /**
   * Records that segment `seq` is listed but was not read: too large to be a segment
   * (`OBJECT_TOO_LARGE`) or unreadable (`OBJECT_UNREADABLE`). A gap before it is still a gap; the
   * next segment is not reported as one, but its link and tree cannot be checked.
   */
  skipSegment(
    key: string,
    seq: number,
    code: 'OBJECT_UNREADABLE' | 'OBJECT_TOO_LARGE',
    detail: string,
  ): void {
    const at = { seq, key };
    this.#advance(at);
    this.#report(code, detail, at);
    this.#segments++;
    this.#prevHash = undefined;
    this.#range = undefined;
    this.#position = undefined;
  }

  /** Sequence bookkeeping for the segment at `at`: gaps and order. */
  #advance(at: { seq: number; key: string }): void {
    const { seq } = at;
    if (this.#firstSeq === undefined) {
      this.#firstSeq = seq;
      // A bundle that holds more than its manifest says starts where its segments start.
      if (seq < this.#nextSeq && !this.#opts.start) {
        this.#nextSeq = seq;
        if (seq === 0) this.#startAtGenesis();
      }
    }
    this.#lastSeq = seq;
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
  }

  /**
   * Checks the segment stored under `key` (sequence number `seq` by its name). `meta`, from a
   * versioned store, adds the retention and stored-checksum checks.
   * @returns the SHA-256 of `bytes` (the segment's hash, whether or not it parses)
   * @throws only for programming errors (anything but an AuditlockError from the parsers):
   *   problems of the stored bytes are findings.
   */
  addSegment(key: string, seq: number, bytes: Uint8Array, meta?: VersionMetadata): Uint8Array {
    return this.#add(key, seq, bytes, meta, undefined);
  }

  /**
   * {@link addSegment} with the work that needs only the segment's bytes already done by
   * `checkSegment(bytes)` (segment-check.ts), e.g. on a worker thread: the same findings in the
   * same order. The bytes are read again only for what the check left to this verifier: a
   * segment that does not parse (`check` undefined), entries that are not regular, a tree that
   * does not continue from the stored frontier, a trusted checkpoint inside the segment.
   * @returns the SHA-256 of `bytes`
   * @throws as {@link addSegment}
   */
  addCheckedSegment(
    key: string,
    seq: number,
    bytes: Uint8Array,
    check: SegmentCheck | undefined,
    meta?: VersionMetadata,
  ): Uint8Array {
    return this.#add(key, seq, bytes, meta, check);
  }

  #add(
    key: string,
    seq: number,
    bytes: Uint8Array,
    meta: VersionMetadata | undefined,
    check: SegmentCheck | undefined,
  ): Uint8Array {
    const at = { seq, key };
    const first = this.#firstSeq === undefined;
    this.#position = undefined;
    this.#advance(at);
    this.#segments++;
    this.#bytes += bytes.length;
    let parsed: SegmentParts;
    let source: EntrySource;
    try {
      if (check) {
        parsed = check;
        source = {
          regular: check.entries,
          entries: () => decodeEntries(parseSegment(bytes)),
        };
      } else {
        const p = parseSegment(bytes);
        parsed = p;
        source = { regular: undefined, entries: () => decodeEntries(p) };
      }
    } catch (err) {
      const code = codeOf(err, 'SEGMENT_MALFORMED');
      // The object's hash is still what the next segment links to, and what S3's checksum covers.
      const hash = sha256(bytes);
      this.#checkChecksum(hash, meta, at);
      this.#report(code, messageOf(err), at);
      this.#prevHash = hash;
      this.#range = undefined;
      return hash;
    }
    if (first) this.#startTreeSize = parsed.header.firstIndex;
    this.#checkChecksum(parsed.hash, meta, at);
    this.#checkSignatures(parsed, check, at);
    const cp = parsed.checkpoint;
    if (this.#origin === undefined) this.#setOrigin(cp.origin);
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
    const payloadHash = check ? check.payloadHash : sha256((parsed as ParsedSegment).payload);
    if (!bytesEqual(payloadHash, cp.payloadHash))
      this.#report(
        'PAYLOAD_HASH_MISMATCH',
        `payload hashes to ${toBase64(payloadHash)}, checkpoint says ${toBase64(cp.payloadHash)}`,
        at,
      );
    const treeFollowed = this.#checkTree(parsed, source, at);
    this.#signedSize = cp.treeSize;
    this.#checkSealTime(parsed, at);
    if (meta) this.#checkStorage(parsed, meta, at);
    this.#prevHash = parsed.hash;
    this.#firstSealedAt ??= cp.sealedAt;
    this.#lastSealedAt = cp.sealedAt;
    this.#latestCheckpoint = formatNote(parsed.noteText, parsed.signatures);
    const range = this.#range;
    if (treeFollowed && range && this.#origin !== undefined && cp.origin === this.#origin)
      this.#position = {
        origin: this.#origin,
        seq,
        segmentHash: parsed.hash,
        treeSize: range.size,
        frontier: range.hashes(),
        root: range.root(),
        lastSealedAt: this.#lastSealed,
        lastReceivedAt: this.#lastReceived,
        checkpoint: this.#latestCheckpoint,
      };
    return parsed.hash;
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

  /**
   * The one signature policy (signature-policy.ts, FORMAT.md §4.2), at the seal time; a
   * segment check applied it with the same trusted keys.
   */
  #checkSignatures(
    parsed: SegmentParts,
    check: SegmentCheck | undefined,
    at: { seq: number; key: string },
  ): void {
    const problems =
      check?.signatureProblems ??
      evaluateSignatures({
        text: parsed.noteText,
        signatures: parsed.signatures,
        trustedKeys: this.#opts.trustedKeys,
        origin: parsed.checkpoint.origin,
        sealedAt: parseTimestamp(parsed.checkpoint.sealedAt),
      }).problems;
    for (const p of problems) this.#report(p.code, p.detail, at);
  }

  /** Checks the segment's tree; true when it was followed from a known frontier to its root. */
  #checkTree(parsed: SegmentParts, source: EntrySource, at: { seq: number; key: string }): boolean {
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
      return false;
    }
    const known = this.#range !== undefined;
    const continuesStored = stored !== undefined && sameFrontier(stored, range);
    range = range.clone();
    this.#checkTrustedCheckpoints(range, at);
    const regular = source.regular;
    const walked =
      regular && continuesStored && this.#canTake(regular)
        ? this.#takeRegular(regular, at)
        : this.#walkEntries(range, header.firstIndex, source, at);
    if (!walked) {
      this.#range = decodeFrontier(cp.treeSize, header.frontierAfter);
      return false;
    }
    const { first, last } = walked;
    range = walked.range;
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
    return known && rootOk;
  }

  /**
   * Whether a segment check's summary of regular entries says all this verifier would find going
   * through them: no trusted checkpoint falls inside the segment (the root at that size is not in
   * the summary), and its first receive time is not before the log's newest so far.
   */
  #canTake(regular: RegularEntries): boolean {
    const next = this.#pendingCheckpoints[0];
    return (
      (next === undefined || next.treeSize >= regular.treeSize) &&
      regular.firstReceivedAt >= this.#lastReceived
    );
  }

  /** Takes regular entries as summarised (see {@link #canTake}); nothing in them is a finding. */
  #takeRegular(
    regular: RegularEntries,
    at: { seq: number; key: string },
  ): { range: CompactRange; first: number; last: number } {
    const range = new CompactRange(regular.treeSize, regular.frontier);
    this.#checkTrustedCheckpoints(range, at);
    this.#entries += regular.count;
    this.#quarantined += regular.quarantined;
    this.#lastReceived = regular.lastReceivedAt;
    return { range, first: regular.firstReceivedAt, last: regular.lastReceivedAt };
  }

  /**
   * Goes through the entries, appending each to `range` (from index `firstIndex`) and reporting
   * every invalid entry, receive-time regression and trusted checkpoint where it is.
   * @returns the first and last valid receive times, or undefined when the body does not decode
   *   (reported)
   */
  #walkEntries(
    range: CompactRange,
    firstIndex: number,
    source: EntrySource,
    at: { seq: number; key: string },
  ): { range: CompactRange; first: number | undefined; last: number } | undefined {
    let raw: Uint8Array;
    try {
      // Decodes the body and checks its framing and entry count before looking at any entry, so
      // a bomb body costs no per-line allocation (FORMAT.md §4.4).
      raw = source.entries();
    } catch (err) {
      this.#report(codeOf(err, 'BODY_INVALID'), messageOf(err), at);
      return undefined;
    }
    let first: number | undefined;
    let last = 0;
    let i = 0;
    let invalid = 0;
    checkEntries(raw, this.#opts.strictEntries, (leaf, check) => {
      const index = firstIndex + i++;
      range.append(leaf);
      this.#checkTrustedCheckpoints(range, at);
      if (!check.ok) {
        if (++invalid <= MAX_ENTRY_FINDINGS)
          this.#report('ENTRY_INVALID', check.detail, { ...at, index });
        return true;
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
      return true;
    });
    if (invalid > MAX_ENTRY_FINDINGS)
      this.#report(
        'ENTRY_INVALID',
        `${invalid - MAX_ENTRY_FINDINGS} more invalid entries in this segment (${invalid} in all; only the first ${MAX_ENTRY_FINDINGS} are listed)`,
        at,
      );
    return { range, first, last };
  }

  /**
   * Compares the trusted checkpoints at `range`'s size with its root. One whose size the range has
   * already passed was never reached (it lies before the first stored segment, or in a stretch
   * lost to a gap or an unreadable segment): it is reported, never silently dropped.
   */
  #checkTrustedCheckpoints(range: CompactRange, at: { seq?: number; key?: string }): void {
    while (
      this.#pendingCheckpoints.length > 0 &&
      (this.#pendingCheckpoints[0] as TrustedCheckpoint).treeSize <= range.size
    ) {
      const cp = this.#pendingCheckpoints.shift() as TrustedCheckpoint;
      if (cp.treeSize < range.size)
        this.#report(
          'CHECKPOINT_NOT_COVERED',
          `${describe(cp)} at tree size ${cp.treeSize} cannot be checked: the stored segments reach that size from ${range.size} on only`,
          at,
        );
      else if (!bytesEqual(cp.root, range.root()))
        this.#report(
          'CHECKPOINT_MISMATCH',
          `at tree size ${cp.treeSize} the log's root is ${toBase64(range.root())}, ${describe(cp)} says ${toBase64(cp.root)}`,
          at,
        );
    }
  }

  #checkSealTime(parsed: SegmentParts, at: { seq: number; key: string }): void {
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
    parsed: SegmentParts,
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
    // S3 (and LocalStack) keep retain-until in whole seconds; writers round up to the next second.
    // Compare against the required time floored to its second, so a date that S3 truncated is
    // not short by the milliseconds it dropped, and logs written with ms precision stay valid.
    const requiredSecond = Math.floor(required / 1000) * 1000;
    const until = meta.retainUntil?.getTime();
    if (until === undefined || Number.isNaN(until) || until < requiredSecond)
      this.#report(
        'RETENTION_TOO_SHORT',
        `retained until ${meta.retainUntil?.toISOString() ?? '(none)'}, required at least ${new Date(required).toISOString()}`,
        at,
      );
  }

  /**
   * Ends the log: size checks against trusted sizes and checkpoints, and the summary. `stopped`:
   * the caller stopped before the end of the log (its time budget), so nothing is said about the
   * log's size: what lies beyond is simply not verified yet.
   */
  finish(stopped = false): LogSummary {
    const size = this.#range?.size ?? this.#signedSize;
    if (stopped) this.#pendingCheckpoints = [];
    if (!stopped && this.#opts.expectSize !== undefined && size < this.#opts.expectSize)
      this.#report(
        'LOG_TRUNCATED',
        `log has ${size} entries, expected at least ${this.#opts.expectSize}`,
      );
    for (const cp of this.#pendingCheckpoints)
      if (cp.treeSize > size)
        this.#report(
          'LOG_TRUNCATED',
          `log has ${size} entries, ${describe(cp)} has ${cp.treeSize}`,
        );
      else
        this.#report(
          'CHECKPOINT_NOT_COVERED',
          `${describe(cp)} at tree size ${cp.treeSize} cannot be checked: the segments that reach it are unreadable or malformed`,
        );
    this.#pendingCheckpoints = [];
    if (
      !stopped &&
      this.#segments === 0 &&
      (this.#opts.expectSize ?? 0) === 0 &&
      !this.#opts.allowEmpty &&
      !this.#opts.start
    )
      this.#report('LOG_EMPTY', 'no segments found');
    return {
      log: this.#log,
      origin: this.#origin,
      firstSeq: this.#firstSeq,
      lastSeq: this.#lastSeq,
      startTreeSize: this.#startTreeSize,
      lastSegmentHash:
        this.#prevHash && (this.#segments > 0 || this.#opts.start)
          ? toBase64(this.#prevHash)
          : undefined,
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
      end: this.#position,
      incremental: this.#opts.start !== undefined,
      complete: !stopped,
    };
  }
}

/** The stored frontier, or undefined when it is not a valid one (stored bytes: no throw). */
function decodeFrontier(size: number, hashes: readonly string[]): CompactRange | undefined {
  try {
    return new CompactRange(size, hashes.map(fromBase64));
  } catch (err) {
    if (err instanceof AuditlockError) return undefined;
    throw err;
  }
}

function describe(cp: TrustedCheckpoint): string {
  return cp.by ?? 'a trusted checkpoint';
}

function sameFrontier(a: CompactRange, b: CompactRange): boolean {
  if (a.size !== b.size) return false;
  const ha = a.hashes();
  const hb = b.hashes();
  return ha.length === hb.length && ha.every((h, i) => bytesEqual(h, hb[i] as Uint8Array));
}

/**
 * The finding for an error a parser raised on stored bytes: its own code when that is a finding
 * code, else `fallback` (e.g. `NOTE_MALFORMED` is a malformed segment). Only AuditlockErrors come
 * from the bytes; anything else (a TypeError, a RangeError) is a bug in this program, and is
 * rethrown rather than reported as tampering.
 * @throws the error itself if it is not an AuditlockError
 */
function codeOf(err: unknown, fallback: FindingCode): FindingCode {
  if (!(err instanceof AuditlockError)) throw err;
  return isFindingCode(err.code) && PARSE_FINDINGS.has(err.code) ? err.code : fallback;
}

/** Codes a parser of stored bytes may report as they are. */
const PARSE_FINDINGS: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'SEGMENT_MALFORMED',
  'CHECKPOINT_MALFORMED',
  'HEADER_INVALID',
  'BODY_INVALID',
]);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
