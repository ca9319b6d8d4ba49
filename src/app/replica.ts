/**
 * Verifying a primary store and its replica, then comparing them segment by segment (FORMAT.md
 * §5.2). Each store is verified on its own, with its own findings; the comparison adds the
 * `REPLICA_*` findings. Memory: one small record per segment of each store (the comparison needs
 * both listings), nothing per entry.
 *
 * The order makes every comparison sound while a writer keeps appending to the primary and S3
 * keeps replicating: the primary is verified first, then the replica. A source status read at
 * time t1 is compared with a replica listed later, so COMPLETED means the replica must be there;
 * what the replica has and the primary's listing did not is checked once more on the primary
 * (`exists`) before it is called ahead, since it may have been written after the primary was
 * listed. Pending ages are measured from the start of the run: a lag is reported at most one run
 * late, never early.
 */
import type { Finding } from '../core/findings.js';
import { isVersionedStore, type ObjectStore, type VersionedObjectStore } from '../core/ports.js';
import {
  compareReplica,
  type ReplicaComparison,
  type ReplicaRecord,
} from '../core/replica-compare.js';
import {
  type VerifiedSegment,
  type VerifyStoreOptions,
  type VerifyStoreResult,
  verifyStore,
} from './verify.js';
import type { ReplicaComparison as IncrementalComparison } from './verify-incremental.js';

/** Which side of the comparison a finding or segment belongs to. */
export type ReplicaSide = 'primary' | 'replica';

export type VerifyWithReplicaOptions = Omit<VerifyStoreOptions, 'onFinding' | 'onSegment'> & {
  /** Source of "now" (ms) for pending ages; default: the system clock. */
  readonly now?: (() => number) | undefined;
  /** How long a PENDING object may wait for its replica (default 15 minutes, S3 RTC). */
  readonly rtcWindowMs?: number | undefined;
  /**
   * Every finding as it is found, with where it comes from: the verification of either store,
   * or the comparison (`REPLICA_*` codes only).
   */
  readonly onFinding?: ((f: Finding, from: ReplicaSide | 'comparison') => void) | undefined;
  /**
   * Options for the replica's verification only, over the shared ones. For example no
   * `expectSize` or trusted checkpoints beyond what the replica may hold yet: a replica within its
   * RTC window is legitimately shorter than the primary (the comparison reports that as pending
   * or lag), while its own verification would call it `LOG_TRUNCATED`.
   */
  readonly replicaOptions?:
    | Partial<Omit<VerifyStoreOptions, 'onFinding' | 'onSegment'>>
    | undefined;
  /** Every listed segment of either store, after it is verified (as `verifyStore`'s). */
  readonly onSegment?: ((s: VerifiedSegment, side: ReplicaSide) => void) | undefined;
};

export type VerifyWithReplicaResult = {
  readonly primary: VerifyStoreResult;
  readonly replica: VerifyStoreResult;
  readonly comparison: ReplicaComparison;
  /** No finding in either store nor in the comparison. */
  readonly ok: boolean;
  /**
   * False when `shouldStop` ended either run early: only the segments both runs reached were
   * compared (the rest are neither findings nor agreed).
   */
  readonly complete: boolean;
};

/**
 * Verifies `primary` and `replica` with the same options (the same `starts` too, so an
 * incremental caller compares the same range of each log), then compares them.
 * @throws as {@link verifyStore} does, for either store
 * @throws StorageError / ConfigurationError when the primary cannot answer `exists`
 */
export async function verifyWithReplica(
  primary: ObjectStore,
  replica: ObjectStore,
  opts: VerifyWithReplicaOptions,
): Promise<VerifyWithReplicaResult> {
  const {
    now = () => Date.now(),
    rtcWindowMs,
    onFinding,
    onSegment,
    replicaOptions,
    ...verifyOpts
  } = opts;
  const startedAt = now();
  const run = async (store: ObjectStore, side: ReplicaSide) => {
    const hidden = new Set<string>();
    const records: ReplicaRecord[] = [];
    const result = await verifyStore(watchHidden(store, hidden), {
      ...verifyOpts,
      ...(side === 'replica' ? replicaOptions : {}),
      onFinding: (f) => onFinding?.(f, side),
      onSegment: (s) => {
        records.push(recordOf(s, hidden.has(s.key)));
        onSegment?.(s, side);
      },
    });
    return { result, records };
  };
  const p = await run(primary, 'primary');
  const r = await run(replica, 'replica');
  // A run that `shouldStop` ended early says nothing of what it did not reach: compare only
  // where both runs went.
  const reached = (x: ReplicaRecord) => reach(p)(x) && reach(r)(x);
  const primaryRecords = p.records.filter(reached);
  const replicaRecords = r.records.filter(reached);
  const listed = new Set(primaryRecords.map((x) => x.key));
  const lateInPrimary = new Set<string>();
  for (const x of replicaRecords)
    if (!listed.has(x.key) && (await primary.exists(x.key))) lateInPrimary.add(x.key);
  const comparison = compareReplica(primaryRecords, replicaRecords, {
    now: startedAt,
    rtcWindowMs,
    lateInPrimary,
  });
  for (const f of comparison.findings) onFinding?.(f, 'comparison');
  return {
    primary: p.result,
    replica: r.result,
    comparison,
    ok: p.result.ok && r.result.ok && comparison.findings.length === 0,
    complete: p.result.complete && r.result.complete,
  };
}

/**
 * Which segments a run covered: all of them when it completed; else those of the logs it
 * finished and, in the log it stopped in, those up to the last one it verified.
 */
function reach(side: {
  result: VerifyStoreResult;
  records: readonly ReplicaRecord[];
}): (x: ReplicaRecord) => boolean {
  if (side.result.complete) return () => true;
  const last = side.records[side.records.length - 1];
  const finished = new Set(side.records.map((x) => x.log));
  if (last) finished.delete(last.log);
  return (x) => finished.has(x.log) || (x.log === last?.log && x.seq <= last.seq);
}

/** What the comparison needs of one verified segment. */
export function recordOf(s: VerifiedSegment, hidden: boolean): ReplicaRecord {
  return {
    log: s.log,
    seq: s.seq,
    key: s.key,
    versionId: s.versionId,
    hash: s.hash,
    size: s.size,
    hasMetadata: s.meta !== undefined,
    lockMode: s.meta?.lockMode,
    retainUntil: s.meta?.retainUntil?.getTime(),
    legalHold: s.meta?.legalHold,
    replicationStatus: s.meta?.replicationStatus,
    lastModified: s.lastModified?.getTime(),
    hidden,
  };
}

/**
 * `store` as it is, except that the version listing the verifier makes anyway also notes each
 * key whose current version is a delete marker (hidden from readers): `VerifiedSegment` does not
 * say so, and listing again would cost a second pass over the store.
 */
function watchHidden(store: ObjectStore, hidden: Set<string>): ObjectStore {
  if (!isVersionedStore(store)) return store;
  const vs: VersionedObjectStore = store;
  const watched: VersionedObjectStore = {
    location: vs.location,
    putIfAbsent: (key, bytes, options) => vs.putIfAbsent(key, bytes, options),
    get: (key, options) => vs.get(key, options),
    exists: (key) => vs.exists(key),
    list: (prefix, options) => vs.list(prefix, options),
    getVersion: (key, versionId, options) => vs.getVersion(key, versionId, options),
    describeVersion: (key, versionId) => vs.describeVersion(key, versionId),
    async *listVersions(prefix, options) {
      for await (const v of vs.listVersions(prefix, options)) {
        if (v.isLatest && v.isDeleteMarker) hidden.add(v.key);
        yield v;
      }
    },
  };
  const top = vs.listTopFolders?.bind(vs);
  return top ? { ...watched, listTopFolders: top } : watched;
}

/**
 * Replica comparison for the incremental runner: the primary and the replica are verified over
 * the same range and compared; then the primary's segments are handed on in order, but only up to
 * where the two agree (`agreedThrough`), after every finding: so the state never advances past a
 * segment that is missing, different or still pending in the replica.
 */
export function replicaComparison(
  replica: ObjectStore,
  o: { readonly now: () => number; readonly rtcWindowMs: number | undefined },
): { comparison: IncrementalComparison; last: () => ReplicaComparison | undefined } {
  let last: ReplicaComparison | undefined;
  const comparison: IncrementalComparison = {
    replica: replica.location,
    verify: async (store: ObjectStore, opts: VerifyStoreOptions) => {
      const { onFinding, onSegment, ...rest } = opts;
      const primarySegments: VerifiedSegment[] = [];
      const reached = new Map<string, number>();
      const r = await verifyWithReplica(store, replica, {
        ...rest,
        now: o.now,
        rtcWindowMs: o.rtcWindowMs,
        // The replica may legitimately lag: its own size checks are the comparison's to make. It
        // is verified over the range the primary reached in this run, however far that was.
        replicaOptions: {
          expectSize: undefined,
          trustedCheckpoints: [],
          witness: undefined,
          shouldStop: undefined,
          stopAfter: reached,
        },
        onFinding: (f, side) =>
          onFinding?.(
            side === 'replica' ? { ...f, detail: `replica ${replica.location}: ${f.detail}` } : f,
          ),
        onSegment: (s, side) => {
          if (side !== 'primary') return;
          primarySegments.push(s);
          reached.set(s.log, s.seq);
        },
      });
      last = r.comparison;
      const agreed = new Map(r.comparison.logs.map((l) => [l.log, l.agreedThrough]));
      for (const s of primarySegments) {
        const through = agreed.get(s.log);
        if (through !== undefined && s.seq <= through) onSegment?.(s);
      }
      const findings = r.primary.findings + r.replica.findings + r.comparison.findings.length;
      return { ...r.primary, findings, ok: r.ok };
    },
  };
  return { comparison, last: () => last };
}
