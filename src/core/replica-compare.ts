/**
 * Comparing a replica with its primary, segment by segment (FORMAT.md §5.2): present in both, same
 * bytes, same lock, and what S3 replication says about each object. Pure: the caller lists and
 * reads both stores (each verified on its own) and passes one small record per segment; this
 * walks both lists of each log once, in step, by sequence number.
 *
 * Memory: the records themselves (about 200 bytes each, with a 32-byte hash), nothing per entry.
 *
 * S3 facts the rules rest on (S3 User Guide, "Replicating objects" and "Getting replication
 * status information"): a source object's `x-amz-replication-status` is PENDING until its replica
 * is written, then COMPLETED (some APIs and older docs spell it COMPLETE), or FAILED; the replica
 * reports REPLICA. Object Lock retention and legal hold travel with the replica. Replication
 * Time Control replicates 99.99% of objects within 15 minutes.
 */
import type { Finding, FindingCode } from './findings.js';
import { bytesEqual } from './hash.js';

/** The Replication Time Control window: 15 minutes (S3 User Guide, "S3 RTC"). */
export const RTC_WINDOW_MS = 15 * 60_000;

/** What is compared of one listed segment of either store. */
export type ReplicaRecord = {
  readonly log: string;
  readonly seq: number;
  readonly key: string;
  /** Version compared (the oldest real one on versioned stores). */
  readonly versionId?: string | undefined;
  /** SHA-256 of the stored bytes; `undefined` when they could not be read. */
  readonly hash: Uint8Array | undefined;
  /** Size the listing reports. */
  readonly size: number;
  /**
   * Whether the store reported lock and replication metadata for the version (S3). Without it
   * (a folder store, or metadata that could not be read) only presence and bytes are compared.
   */
  readonly hasMetadata: boolean;
  readonly lockMode?: string | undefined;
  /** Retain-until, ms since the epoch. */
  readonly retainUntil?: number | undefined;
  readonly legalHold?: boolean | undefined;
  /** `x-amz-replication-status` as the store gives it, if any. */
  readonly replicationStatus?: string | undefined;
  /** When the version was written, ms (S3 LastModified); `undefined` if unknown. */
  readonly lastModified?: number | undefined;
  /** The key's current version is a delete marker: a reader of the store does not see it. */
  readonly hidden?: boolean | undefined;
};

export type ReplicaCompareOptions = {
  /** "Now", ms: pending ages are measured against it. */
  readonly now: number;
  /** How long a PENDING object may wait for its replica (default {@link RTC_WINDOW_MS}). */
  readonly rtcWindowMs?: number | undefined;
  /**
   * Keys the replica has that the primary's listing did not, but that exist in the primary now
   * (written after it was listed): not compared, and not a finding.
   */
  readonly lateInPrimary?: ReadonlySet<string> | undefined;
};

/** The comparison of one log. */
export type ReplicaLogComparison = {
  readonly log: string;
  /** Distinct segments compared (listed in either store). */
  readonly segments: number;
  /**
   * Highest sequence number such that every segment from the first compared one up to it is in
   * both stores, with equal bytes, no comparison finding and nothing pending; `undefined` if the
   * first compared segment already fails. A sequence number missing from both stops it too.
   */
  readonly agreedThrough: number | undefined;
  /** Source objects PENDING within the window and not yet in the replica (not findings). */
  readonly pending: number;
  /** Age (ms) of the oldest source object still PENDING without its replica; 0 if none. */
  readonly maxLagMs: number;
};

export type ReplicaComparison = {
  readonly findings: Finding[];
  /** One per log found in either store, by log name. */
  readonly logs: ReplicaLogComparison[];
};

type ReplicaFindingCode = Extract<FindingCode, `REPLICA_${string}`>;

/** A source status meaning the replica has been written (both spellings S3 uses). */
const DONE = new Set(['COMPLETED', 'COMPLETE']);

/**
 * Compares `replica` with `primary`. Within each log, records MUST come in ascending sequence
 * number (as a store listing yields them); logs may come in any order.
 * @throws RangeError when the records of a log are not strictly ascending
 */
export function compareReplica(
  primary: readonly ReplicaRecord[],
  replica: readonly ReplicaRecord[],
  opts: ReplicaCompareOptions,
): ReplicaComparison {
  const byLog = new Map<string, { p: ReplicaRecord[]; r: ReplicaRecord[] }>();
  const add = (rec: ReplicaRecord, side: 'p' | 'r') => {
    let both = byLog.get(rec.log);
    if (both === undefined) {
      both = { p: [], r: [] };
      byLog.set(rec.log, both);
    }
    const list = both[side];
    const last = list[list.length - 1];
    if (last !== undefined && last.seq >= rec.seq)
      throw new RangeError(`${rec.key} comes after segment ${last.seq} of its log`);
    list.push(rec);
  };
  for (const rec of primary) add(rec, 'p');
  for (const rec of replica) add(rec, 'r');
  const findings: Finding[] = [];
  const logs = [...byLog.keys()]
    .sort()
    .map((log) => compareLog(log, byLog.get(log) as { p: ReplicaRecord[]; r: ReplicaRecord[] }));
  return { findings, logs };

  function compareLog(
    log: string,
    { p, r }: { p: ReplicaRecord[]; r: ReplicaRecord[] },
  ): ReplicaLogComparison {
    const window = opts.rtcWindowMs ?? RTC_WINDOW_MS;
    let agreedThrough: number | undefined;
    let agreeing = true;
    let expectSeq: number | undefined;
    let pending = 0;
    let maxLagMs = 0;
    let segments = 0;
    let i = 0;
    let j = 0;
    while (i < p.length || j < r.length) {
      const a = p[i];
      const b = r[j];
      const seq = Math.min(a?.seq ?? Number.POSITIVE_INFINITY, b?.seq ?? Number.POSITIVE_INFINITY);
      const src = a?.seq === seq ? a : undefined;
      const dst = b?.seq === seq ? b : undefined;
      if (src) i++;
      if (dst) j++;
      segments++;
      const before = findings.length;
      const report = (code: ReplicaFindingCode, detail: string) =>
        findings.push({ code, log, seq, key: (src ?? dst)?.key, detail });
      let agreed = false;
      if (src && dst) agreed = compareBoth(src, dst, report);
      else if (src) {
        const age = missing(src, report);
        if (age !== undefined) {
          pending++;
          maxLagMs = Math.max(maxLagMs, age);
        }
      } else if (dst && !opts.lateInPrimary?.has(dst.key))
        report(
          'REPLICA_AHEAD',
          `the replica has ${dst.key} and the primary has no such segment${statusNote(dst)}`,
        );
      agreeing &&= agreed && findings.length === before && (expectSeq ?? seq) === seq;
      if (agreeing) agreedThrough = seq;
      expectSeq = seq + 1;
    }
    return { log, segments, agreedThrough, pending, maxLagMs };

    /** A source object with no replica: the finding, or its age if it is still in time. */
    function missing(src: ReplicaRecord, report: (c: ReplicaFindingCode, d: string) => void) {
      const status = src.hasMetadata ? src.replicationStatus?.toUpperCase() : undefined;
      if (status === 'FAILED') {
        report('REPLICA_FAILED', `replication of ${src.key} failed (source status FAILED)`);
        return undefined;
      }
      if (status === 'PENDING') {
        const age = src.lastModified === undefined ? undefined : opts.now - src.lastModified;
        if (age !== undefined && age <= window) return Math.max(0, age);
        report(
          'REPLICA_LAG',
          `${src.key} is PENDING and not in the replica ${age === undefined ? '(written at an unknown time)' : `${Math.round(age / 1000)} s after it was written`}, over the ${window / 1000} s window`,
        );
        return undefined;
      }
      if (status !== undefined && !DONE.has(status)) statusInvalid(src, 'primary', report);
      report(
        'REPLICA_MISSING',
        `${src.key} is not in the replica${src.hasMetadata ? ` (source status ${src.replicationStatus ?? 'none'})` : ''}`,
      );
      return undefined;
    }
  }

  /** Both stores list the segment. Whether it agrees (findings aside). */
  function compareBoth(
    src: ReplicaRecord,
    dst: ReplicaRecord,
    report: (c: ReplicaFindingCode, d: string) => void,
  ): boolean {
    const bytesKnown = src.hash !== undefined && dst.hash !== undefined;
    if (src.size !== dst.size)
      report('REPLICA_MISMATCH', `the replica holds ${dst.size} bytes, the primary ${src.size}`);
    else if (bytesKnown && !bytesEqual(src.hash as Uint8Array, dst.hash as Uint8Array))
      report('REPLICA_MISMATCH', 'the replica holds other bytes (SHA-256 differs)');
    if (src.hidden && !dst.hidden)
      report(
        'REPLICA_AHEAD',
        'a delete marker hides the segment in the primary, not in the replica',
      );
    if (dst.hidden && !src.hidden)
      report('REPLICA_MISSING', 'a delete marker hides the segment in the replica');
    if (src.hasMetadata && dst.hasMetadata) {
      compareLock(src, dst, report);
      const status = src.replicationStatus?.toUpperCase();
      if (status === 'FAILED')
        report('REPLICA_FAILED', 'the source status is FAILED although the replica holds it');
      else if (status !== 'PENDING' && !DONE.has(status ?? '') && status !== undefined)
        statusInvalid(src, 'primary', report);
      if (dst.replicationStatus?.toUpperCase() !== 'REPLICA') statusInvalid(dst, 'replica', report);
    }
    return bytesKnown;
  }
}

/** Lock mode, retain-until (compared at whole seconds, as S3 keeps them) and legal hold. */
function compareLock(
  src: ReplicaRecord,
  dst: ReplicaRecord,
  report: (c: ReplicaFindingCode, d: string) => void,
): void {
  if (src.lockMode !== dst.lockMode)
    report(
      'REPLICA_RETENTION_MISMATCH',
      `lock mode ${dst.lockMode ?? 'none'} in the replica, ${src.lockMode ?? 'none'} in the primary`,
    );
  const second = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));
  const want = second(src.retainUntil);
  const got = second(dst.retainUntil);
  if (want !== undefined && (got === undefined || got < want))
    report(
      'REPLICA_RETENTION_MISMATCH',
      `the replica is retained until ${iso(dst.retainUntil)}, before the primary's ${iso(src.retainUntil)}`,
    );
  if (src.legalHold && !dst.legalHold)
    report('REPLICA_RETENTION_MISMATCH', 'the primary has a legal hold, the replica none');
}

function statusInvalid(
  rec: ReplicaRecord,
  side: 'primary' | 'replica',
  report: (c: ReplicaFindingCode, d: string) => void,
): void {
  const want = side === 'replica' ? 'REPLICA' : 'PENDING, COMPLETED, COMPLETE or FAILED';
  report(
    'REPLICA_STATUS_INVALID',
    `the ${side}'s version has replication status ${rec.replicationStatus ?? 'none'}, expected ${want}`,
  );
}

function statusNote(rec: ReplicaRecord): string {
  return rec.hasMetadata ? ` (replica status ${rec.replicationStatus ?? 'none'})` : '';
}

function iso(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toISOString();
}
