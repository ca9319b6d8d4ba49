/**
 * Verifying a whole store: every log in it (or the ones asked for), every object under it.
 * Downloads run ahead in parallel (bounded by p-queue), checks run strictly in log order, and
 * memory stays constant in the length of the logs. On a versioned store (S3) every version of
 * every key is listed: a key with a second version (shadowing) or a delete marker (hiding) is
 * reported, the original (oldest) version is the one verified, and its retention and stored
 * checksum are checked too.
 */
import PQueue from 'p-queue';
import type { CosignerKey } from '../core/cosignature.js';
import { AuditlockError, ConfigurationError } from '../core/errors.js';
import type { Finding, FindingSink } from '../core/findings.js';
import { classifyKey, LOG_NAME_RE, segmentKey, segmentPrefix } from '../core/layout.js';
import {
  type LogPosition,
  type LogSummary,
  LogVerifier,
  type LogVerifyOptions,
} from '../core/log-verifier.js';
import {
  isVersionedStore,
  type ObjectStore,
  type ObjectVersion,
  type ReadOptions,
  type VersionedObjectStore,
  type VersionMetadata,
} from '../core/ports.js';
import { MAX_SEGMENT_BYTES } from '../core/segment.js';
import type { SegmentCheck } from '../core/segment-check.js';
import type { TrustedCheckpoint } from '../core/signed-checkpoint.js';
import { BundleIndexCheck } from './bundle-index-check.js';
import {
  type BundleManifest,
  type BundleS3Record,
  bundleSegmentRecord,
  checkBundleManifest,
  checkBundleSegment,
  readBundleManifest,
  recordedVersionMetadata,
} from './bundle-manifest.js';
import { freeNow } from './free-buffers.js';
import {
  type CheckJobOptions,
  detachable,
  SegmentCheckPool,
  workerThreads,
} from './verify-workers.js';
import { witnessedCheckpointsOf } from './witness-objects.js';

/** What the verifier saw of one listed segment, for callers that compare stores (replicas). */
export type VerifiedSegment = {
  readonly log: string;
  readonly seq: number;
  readonly key: string;
  /** Version verified (the oldest that is not a delete marker); undefined without versions. */
  readonly versionId: string | undefined;
  /** Size the listing reports. */
  readonly size: number;
  readonly lastModified: Date | undefined;
  /** SHA-256 of the bytes read; undefined when nothing could be read. */
  readonly hash: Uint8Array | undefined;
  /** Lock, checksum and replication metadata of the version (versioned stores). */
  readonly meta: VersionMetadata | undefined;
  /** The log's verification position after this segment (see LogVerifier.position). */
  readonly position: LogPosition | undefined;
  /** Findings of this log so far, this segment's included. */
  readonly logFindings: number;
};

/** Checking the log against checkpoints cosigned by trusted witnesses (FORMAT.md §9.2). */
export type WitnessCheckOptions = {
  readonly keys: readonly CosignerKey[];
  /** Distinct trusted witnesses a checkpoint needs (default 1). */
  readonly quorum?: number | undefined;
  /** Further stores holding `<log>/witness/` objects (`--cosignatures`), besides the store. */
  readonly stores?: readonly ObjectStore[] | undefined;
  /**
   * Report a log no checkpoint of which reaches the quorum (`WITNESS_QUORUM_NOT_MET`; default
   * true). The scheduled verifier, whose own witness has not cosigned a new log yet, checks only
   * what was cosigned: its witness's state refuses a rolled-back head by itself.
   */
  readonly requireQuorum?: boolean | undefined;
};

export type VerifyStoreOptions = Omit<LogVerifyOptions, 'firstSeq' | 'start' | 'strictEntries'> & {
  /**
   * Validate each entry against the full schema (slower) instead of the structural check. Its
   * schemas (entry.ts's `decodeEntry`, zod) are loaded only then.
   */
  readonly strictEntries?: boolean | undefined;
  /** Only these logs; by default every log found. */
  readonly logs?: readonly string[] | undefined;
  /**
   * The store is an evidence bundle: read `bundle.json` (FORMAT.md §7) for where each log's range
   * starts, and check the stored ranges against it. Without this, `bundle.json` is an unexpected
   * object and a log missing its first segments has a gap.
   */
  readonly bundle?: boolean | undefined;
  /** Parallel downloads (default 8). */
  readonly concurrency?: number | undefined;
  /**
   * Threads that check segments (default 1: this one). With N > 1, up to N worker threads, and
   * no more than the cores (`workerThreads`, verify-workers.ts), started for this run and stopped at its end, do the work that needs
   * only a segment's bytes (parse, signatures, body, entries, Merkle root); the log's order
   * checks stay on this thread, and the segments in flight are bounded as downloads are. A
   * SegmentCheckPool is used as it is and left open (one pool for many runs). The findings are
   * the same whatever the number of threads.
   */
  readonly workers?: number | SegmentCheckPool | undefined;
  /** Called for every finding as it is found. */
  readonly onFinding?: FindingSink | undefined;
  /** Called after each segment with running totals. */
  readonly onProgress?: ((p: { segments: number; bytes: number }) => void) | undefined;
  /**
   * Incremental verification: for each log with a position here (an earlier run's, already
   * checked by the caller), only the segments after it are listed and read. Every log named in
   * `logs`, or else every log of the store (found cheaply where the store can list its top-level
   * folders), is verified; logs without a position from their first segment. Objects that are
   * not segments of a verified log are not listed in this mode.
   */
  readonly starts?: ReadonlyMap<string, LogPosition> | undefined;
  /** Called for every listed segment of a log, in order, after it is verified. */
  readonly onSegment?: ((s: VerifiedSegment) => void) | undefined;
  /** Check each log against its witnessed checkpoints. */
  readonly witness?: WitnessCheckOptions | undefined;
  /**
   * Asked before each segment: true stops the run there (a time budget). The log being verified
   * ends incomplete (`complete: false`, no size findings), later logs are not started.
   */
  readonly shouldStop?: (() => boolean) | undefined;
  /**
   * Per log, the last sequence number to verify: later segments are not read, and the log ends
   * incomplete as with `shouldStop` (a replica verified over the range its primary reached).
   */
  readonly stopAfter?: ReadonlyMap<string, number> | undefined;
};

export type VerifyStoreResult = {
  readonly logs: LogSummary[];
  /** Number of findings, store-level ones (unexpected objects) included. */
  readonly findings: number;
  readonly ok: boolean;
  /** Objects under `<log>/witness/` seen in the listing (checked only with `witness`). */
  readonly witnessObjects: number;
  /** False when `shouldStop` ended the run early. */
  readonly complete: boolean;
};

/** One key as listed, with what is to be verified of it. */
type Listed = {
  readonly key: string;
  /** Size the listing reports (of the version to read, on versioned stores). */
  readonly size: number;
  /** Version to read; undefined on stores without versions. */
  readonly versionId?: string | undefined;
  readonly lastModified?: Date | undefined;
  /** Findings about the key's versions, reported before its content. */
  readonly versionFindings: readonly Omit<Finding, 'log' | 'seq'>[];
  /** False if nothing readable is there (only delete markers). */
  readonly readable: boolean;
};

/**
 * What one download gave: bytes (or why not), on versioned stores the version's metadata, and
 * with workers what a worker found of the bytes.
 */
type Fetched = {
  readonly bytes: Uint8Array | undefined;
  /** Set when a worker checked the bytes (undefined inside: they do not parse). */
  readonly checked?: { readonly check: SegmentCheck | undefined } | undefined;
  readonly error?: AuditlockError | undefined;
  readonly versioned: boolean;
  readonly meta: VersionMetadata | undefined;
  readonly metaError?: AuditlockError | undefined;
};

/**
 * Verifies every object in `store`. Findings go to `onFinding`; nothing throws for bad data: an
 * object too large to be a segment or that cannot be read is a finding, and the run goes on.
 * @throws StorageError / ConfigurationError when the store itself cannot be listed.
 * @throws programming errors (anything but an AuditlockError) as they are, never as findings.
 */
export async function verifyStore(
  store: ObjectStore,
  opts: VerifyStoreOptions,
): Promise<VerifyStoreResult> {
  const workers = opts.workers ?? 1;
  if (workers instanceof SegmentCheckPool) return verifyOn(store, opts, workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new ConfigurationError(
      'WORKERS_INVALID',
      `workers must be a positive integer, got ${workers}`,
    );
  const threads = workerThreads(workers);
  if (threads === 1) return verifyAll(store, opts, undefined);
  const pool = new SegmentCheckPool({ workers: threads });
  try {
    return await verifyOn(store, opts, pool);
  } finally {
    await pool.close();
  }
}

/** verifyAll on `pool`; a worker that failed at any time during the run fails the run. */
async function verifyOn(
  store: ObjectStore,
  opts: VerifyStoreOptions,
  pool: SegmentCheckPool,
): Promise<VerifyStoreResult> {
  // Started now, while the store is listed and the first segments read (a failure surfaces below).
  pool.warm().catch(() => {});
  const result = await verifyAll(store, opts, pool);
  if (pool.failure) throw pool.failure;
  return result;
}

async function verifyAll(
  store: ObjectStore,
  opts: VerifyStoreOptions,
  pool: SegmentCheckPool | undefined,
): Promise<VerifyStoreResult> {
  let findings = 0;
  const sink: FindingSink = (f: Finding) => {
    findings++;
    opts.onFinding?.(f);
  };
  const manifest: BundleManifest | undefined = opts.bundle
    ? await readBundleManifest(store, sink)
    : undefined;
  const strictEntries = opts.strictEntries
    ? (await import('../core/entry.js')).decodeEntry
    : undefined;
  const summaries: LogSummary[] = [];
  let current: { name: string; verifier: LogVerifier; witnessed: TrustedCheckpoint[] } | undefined;
  let stopped = false;
  /** Logs whose segments beyond `stopAfter` were left unread. */
  const cut = new Set<string>();
  const finishCurrent = (): void => {
    if (!current) return;
    const summary = current.verifier.finish(stopped || cut.has(current.name));
    summaries.push(summary);
    for (const w of current.witnessed)
      if (summary.origin !== undefined && w.origin !== summary.origin)
        current.verifier.report(
          'WITNESS_OBJECT_MALFORMED',
          `${w.by} has origin ${JSON.stringify(w.origin)}, the log's is ${JSON.stringify(summary.origin)}`,
          {},
        );
    current = undefined;
  };
  const switchTo = async (name: string | undefined): Promise<LogVerifier | undefined> => {
    if (current?.name === name) return current?.verifier;
    finishCurrent();
    if (name === undefined) return undefined;
    const start = opts.starts?.get(name);
    const firstSeq = manifest?.logs[name]?.firstSeq ?? 0;
    const witness = opts.witness ? await witnessedOf(store, name, start, opts) : undefined;
    const trustedCheckpoints = [...(opts.trustedCheckpoints ?? []), ...(witness?.counted ?? [])];
    const verifier = new LogVerifier(
      name,
      { ...opts, firstSeq, start, trustedCheckpoints, strictEntries },
      sink,
    );
    for (const f of witness?.findings ?? []) verifier.report(f.code, f.detail, { key: f.key });
    current = { name, verifier, witnessed: witness?.counted ?? [] };
    return verifier;
  };
  const incremental = opts.starts !== undefined;
  const wanted = opts.logs
    ? [...new Set(opts.logs)].sort()
    : incremental
      ? await logNamesOf(store, (opts.starts as ReadonlyMap<string, LogPosition>).keys())
      : undefined;
  const prefixes = wanted ? wanted.map(segmentPrefix) : [''];
  let segments = 0;
  let bytes = 0;
  let witnessObjects = 0;
  const idIndexes = new BundleIndexCheck();
  for (const [i, prefix] of prefixes.entries()) {
    if (opts.shouldStop?.()) {
      stopped = true;
      break;
    }
    // A requested log gets a summary (and LOG_EMPTY) even when it has no segments at all.
    if (wanted) await switchTo(wanted[i]);
    const start = wanted ? opts.starts?.get(wanted[i] as string) : undefined;
    const startAfter = start ? segmentKey(wanted?.[i] as string, start.seq) : undefined;
    for await (const { listed, fetched, claim } of prefetch(
      store,
      list(store, prefix, startAfter),
      opts.concurrency ?? 8,
      pool,
      opts,
    )) {
      claim();
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
      const kind = classifyKey(listed.key);
      if (kind.kind === 'bundle-manifest' && opts.bundle) continue;
      if (kind.kind === 'id-index' && opts.bundle) {
        for (const f of await idIndexes.see(store, listed.key, kind.log, kind.seq)) sink(f);
        continue;
      }
      if (kind.kind === 'witness') {
        witnessObjects++;
        continue;
      }
      if (kind.kind !== 'segment') {
        sink({
          code: 'UNEXPECTED_OBJECT',
          key: listed.key,
          detail:
            kind.kind === 'bundle-manifest' || kind.kind === 'id-index'
              ? `${listed.key} (part of an evidence bundle) is ignored unless the store is verified as a bundle (--bundle)`
              : `${listed.key} is not a segment of any log`,
        });
        continue;
      }
      const limit = opts.stopAfter?.get(kind.log);
      if (limit !== undefined && kind.seq > limit) {
        cut.add(kind.log);
        continue;
      }
      const verifier = (await switchTo(kind.log)) as LogVerifier;
      // A format-2 bundle (FORMAT.md §7.1): S3's metadata as recorded at pull time is checked as
      // S3's own would be, and the bytes against the recorded hash.
      const s3 = bundleSegmentRecord(manifest, kind.log, kind.seq)?.s3;
      const hash = await verifyListed(verifier, listed, kind.seq, withRecorded(fetched, s3));
      const read =
        hash.hash && hash.bytes !== undefined ? { hash: hash.hash, size: hash.bytes } : undefined;
      for (const f of checkBundleSegment(manifest, kind.log, kind.seq, read))
        verifier.report(f.code, f.detail, { key: listed.key, seq: kind.seq });
      for (const f of idIndexes.segment(kind.log, kind.seq, hash.hash)) sink(f);
      if (hash.bytes !== undefined) {
        segments++;
        bytes += hash.bytes;
        opts.onProgress?.({ segments, bytes });
      }
      opts.onSegment?.({
        log: kind.log,
        seq: kind.seq,
        key: listed.key,
        versionId: listed.versionId,
        size: listed.size,
        lastModified: listed.lastModified,
        hash: hash.hash,
        meta: hash.meta,
        position: verifier.position(),
        logFindings: verifier.findings,
      });
    }
    if (stopped) break;
  }
  finishCurrent();
  if (!stopped) {
    for (const f of idIndexes.leftovers()) sink(f);
    checkStore(summaries, opts, manifest, wanted, sink);
  }
  return { logs: summaries, findings, ok: findings === 0, witnessObjects, complete: !stopped };
}

/**
 * Verifies one listed segment with `verifier`: its version findings, then its bytes (or why they
 * could not be read). Returns what was read, for the caller's totals and `onSegment`.
 */
async function verifyListed(
  verifier: LogVerifier,
  listed: Listed,
  seq: number,
  fetched: Promise<Fetched> | undefined,
): Promise<{ bytes?: number; hash?: Uint8Array; meta?: VersionMetadata }> {
  const at = { key: listed.key, seq };
  for (const f of listed.versionFindings) verifier.report(f.code, f.detail, at);
  if (!listed.readable) {
    verifier.skipSegment(
      listed.key,
      seq,
      'OBJECT_UNREADABLE',
      'no readable version (only delete markers)',
    );
    return {};
  }
  if (fetched === undefined) {
    verifier.skipSegment(listed.key, seq, 'OBJECT_TOO_LARGE', tooLarge(listed.size));
    return {};
  }
  const data = await fetched;
  if (data.bytes === undefined) {
    const err = data.error;
    if (err?.code === 'OBJECT_TOO_LARGE')
      verifier.skipSegment(listed.key, seq, 'OBJECT_TOO_LARGE', err.message);
    else
      verifier.skipSegment(
        listed.key,
        seq,
        'OBJECT_UNREADABLE',
        err ? `${err.code}: ${err.message}` : 'listed but gone when read',
      );
    return {};
  }
  if (data.versioned && data.meta === undefined)
    verifier.report(
      'VERSION_METADATA_MISSING',
      `no lock mode, retain-until or checksum for version ${listed.versionId}${data.metaError ? ` (${data.metaError.code}: ${data.metaError.message})` : ''}: retention and checksum are not checked`,
      at,
    );
  const hash = data.checked
    ? verifier.addCheckedSegment(listed.key, seq, data.bytes, data.checked.check, data.meta)
    : verifier.addSegment(listed.key, seq, data.bytes, data.meta);
  const size = data.bytes.length;
  release(data.bytes);
  return { bytes: size, hash, ...(data.meta ? { meta: data.meta } : {}) };
}

/**
 * The witnessed checkpoints of `log` that reach the quorum, as trusted checkpoints for its
 * verifier, and the findings about the stored cosignatures. An incremental run reads only those
 * at or after its start's tree size (older ones were checked by the run that produced it).
 */
async function witnessedOf(
  store: ObjectStore,
  log: string,
  start: LogPosition | undefined,
  opts: VerifyStoreOptions,
): Promise<{
  counted: TrustedCheckpoint[];
  findings: { code: WitnessFindingCode; key?: string | undefined; detail: string }[];
}> {
  const witness = opts.witness as WitnessCheckOptions;
  const quorum = witness.quorum ?? 1;
  const found = await witnessedCheckpointsOf([store, ...(witness.stores ?? [])], {
    log,
    origin: start?.origin ?? opts.origin,
    logKeys: opts.trustedKeys,
    witnessKeys: witness.keys,
    ...(start ? { fromSize: start.treeSize } : {}),
  });
  const findings: { code: WitnessFindingCode; key?: string | undefined; detail: string }[] =
    found.findings.map((f) => ({ code: f.code, key: f.key, detail: f.detail }));
  const counted = found.checkpoints
    .filter((w) => w.witnesses.length >= quorum)
    .map((w) => ({
      origin: w.checkpoint.origin,
      treeSize: w.checkpoint.treeSize,
      root: w.checkpoint.root,
      by: `the checkpoint cosigned by ${w.witnesses.map((x) => x.key.name).join(', ')}`,
    }));
  if (counted.length === 0 && witness.requireQuorum !== false)
    findings.push({
      code: 'WITNESS_QUORUM_NOT_MET',
      detail: `no checkpoint of ${log}${start ? ` at or after tree size ${start.treeSize}` : ''} is cosigned by ${quorum} trusted witness(es) (best: ${Math.max(0, ...found.checkpoints.map((w) => w.witnesses.length))})`,
    });
  return { counted, findings };
}

type WitnessFindingCode =
  | 'WITNESS_OBJECT_MALFORMED'
  | 'WITNESS_LOG_SIGNATURE_INVALID'
  | 'WITNESS_COSIGNATURE_INVALID'
  | 'WITNESS_QUORUM_NOT_MET'
  | 'LOG_TRUNCATED'
  | 'CHECKPOINT_MISMATCH';

/**
 * The logs an incremental run verifies: `known` ones (those with a start or a stored state), and
 * every log name in the store (its top-level folders, listed cheaply when the store can; else
 * from a full listing), in order.
 */
export async function logNamesOf(
  store: ObjectStore,
  known: Iterable<string> | AsyncIterable<string>,
): Promise<string[]> {
  const names = new Set<string>();
  for await (const name of known) names.add(name);
  if (store.listTopFolders) {
    for await (const name of store.listTopFolders()) if (LOG_NAME_RE.test(name)) names.add(name);
  } else {
    for await (const o of store.list('')) {
      const kind = classifyKey(o.key);
      if (kind.kind === 'segment') names.add(kind.log);
    }
  }
  return [...names].sort();
}

/** Store-level findings once every log is done: emptiness, origins, checkpoints, the manifest. */
function checkStore(
  logs: readonly LogSummary[],
  opts: VerifyStoreOptions,
  manifest: BundleManifest | undefined,
  wanted: readonly string[] | undefined,
  sink: FindingSink,
): void {
  if (logs.length === 0 && !opts.allowEmpty)
    sink({ code: 'LOG_EMPTY', detail: 'the store holds no segment of any log' });
  const owner = new Map<string, string>();
  for (const l of logs) {
    if (l.origin === undefined) continue;
    const first = owner.get(l.origin);
    if (first === undefined) owner.set(l.origin, l.log);
    else
      sink({
        code: 'ORIGIN_DUPLICATE',
        log: l.log,
        detail: `origin ${JSON.stringify(l.origin)} is also the origin of log ${first}`,
      });
  }
  for (const cp of opts.trustedCheckpoints ?? [])
    if (!owner.has(cp.origin))
      sink({
        code: 'CHECKPOINT_UNMATCHED',
        detail: `a trusted checkpoint (tree size ${cp.treeSize}) has origin ${JSON.stringify(cp.origin)}, the origin of no verified log`,
      });
  if (manifest) checkBundleManifest(manifest, logs, wanted, sink);
}

/** A bundle's segment download with the S3 metadata its manifest recorded, if any. */
function withRecorded(
  fetched: Promise<Fetched> | undefined,
  s3: BundleS3Record | undefined,
): Promise<Fetched> | undefined {
  if (!fetched || !s3) return fetched;
  return fetched.then((f) => ({ ...f, versioned: true, meta: recordedVersionMetadata(s3) }));
}

function tooLarge(size: number): string {
  return `listed at ${size} bytes, over the ${MAX_SEGMENT_BYTES}-byte segment limit; not downloaded`;
}

/**
 * Frees a segment's memory now instead of at V8's next full collection. Segment buffers outlive
 * the young generation while they wait in the prefetch window, and freed ones then pile up to
 * hundreds of MB before a major GC (measured: 558 MiB peak RSS verifying 1M events, 179 MiB with
 * this; free-buffers.ts says how). Only done when the memory is the caller's ({@link detachable}:
 * a folder store's buffer is one byte larger than the object, which an exact-size test missed).
 */
function release(bytes: Uint8Array): void {
  const buf = bytes.buffer;
  if (buf.byteLength > 64 * 1024 && detachable(bytes)) freeNow([buf]);
}

/** Every key under `prefix`, once, in order; on versioned stores with its version findings. */
async function* list(
  store: ObjectStore,
  prefix: string,
  startAfter: string | undefined,
): AsyncGenerator<Listed> {
  const from = startAfter === undefined ? undefined : { startAfter };
  if (!isVersionedStore(store)) {
    for await (const o of store.list(prefix, from))
      yield { key: o.key, size: o.size, versionFindings: [], readable: true };
    return;
  }
  let group: ObjectVersion[] = [];
  for await (const v of store.listVersions(prefix, from)) {
    if (group.length > 0 && group[0]?.key !== v.key) {
      yield describeVersions(group);
      group = [];
    }
    group.push(v);
  }
  if (group.length > 0) yield describeVersions(group);
}

/** What the versions of one key say: the original version, and any shadowing or hiding. */
function describeVersions(versions: ObjectVersion[]): Listed {
  const key = (versions[0] as ObjectVersion).key;
  const real = oldestFirst(versions.filter((v) => !v.isDeleteMarker));
  const markers = versions.filter((v) => v.isDeleteMarker);
  const findings: Omit<Finding, 'log' | 'seq'>[] = [];
  if (markers.length > 0)
    findings.push({
      code: 'OBJECT_DELETE_MARKER',
      key,
      detail: `${markers.length} delete marker(s) (${markers.map((m) => m.versionId).join(', ')}) hide the segment`,
    });
  if (real.length > 1)
    findings.push({
      code: 'OBJECT_SHADOWED',
      key,
      detail: `${real.length} versions (${real.map((v) => v.versionId).join(', ')}); the oldest is verified`,
    });
  const original = real[0];
  return {
    key,
    size: original?.size ?? 0,
    versionId: original?.versionId,
    lastModified: original?.lastModified,
    versionFindings: findings,
    readable: original !== undefined,
  };
}

/**
 * Versions oldest first. LastModified has one-second precision, so ties are broken by listing
 * position: S3 lists a key's versions newest first.
 */
export function oldestFirst(versions: readonly ObjectVersion[]): ObjectVersion[] {
  return versions
    .map((v, i) => ({ v, i, t: v.lastModified?.getTime() ?? 0 }))
    .sort((a, b) => a.t - b.t || b.i - a.i)
    .map((x) => x.v);
}

/**
 * Downloads one listed segment, at most {@link MAX_SEGMENT_BYTES}. A coded failure (the store's
 * StorageError, ConfigurationError…) becomes part of the result, to be reported as a finding for
 * that object; anything else is a bug and rejects.
 */
async function fetchOne(store: ObjectStore, listed: Listed): Promise<Fetched> {
  const bound: ReadOptions = { maxBytes: MAX_SEGMENT_BYTES };
  if (listed.versionId !== undefined && isVersionedStore(store)) {
    const vs: VersionedObjectStore = store;
    const [read, described] = await Promise.all([
      coded(vs.getVersion(listed.key, listed.versionId, bound)),
      coded(vs.describeVersion(listed.key, listed.versionId)),
    ]);
    return {
      bytes: read.value,
      error: read.error,
      versioned: true,
      meta: described.value,
      metaError: described.error,
    };
  }
  const read = await coded(store.get(listed.key, bound));
  return { bytes: read.value, error: read.error, versioned: false, meta: undefined };
}

/**
 * The consumer's hold on one download: `claim()` when it is that segment's turn. A download
 * that waits for the pool to be ready is then handed over to be checked on this thread.
 */
type Turn = { claimed: boolean; release: (() => void) | undefined };

/**
 * `f` with its bytes checked by a worker (when there are bytes), as `opts` say. Until a worker
 * has loaded the core (tens of ms), a download waits for one unless its turn has come: then this
 * thread checks it itself. So a small store is done before threads could help, and a large one
 * does not leave this thread checking the backlog of downloads that finished before the workers
 * were ready while they run too (on 2 cores with 2 workers, three busy threads: measured 20-25%
 * of the segments checked here, docs/PERFORMANCE.md).
 * @throws (rejects) the pool's failure when it fails before a waiting download got a worker
 */
function checkFetched(
  pool: SegmentCheckPool,
  f: Fetched,
  opts: CheckJobOptions,
  turn: Turn,
): Promise<Fetched> {
  if (f.bytes === undefined) return Promise.resolve(f);
  if (pool.failure) return Promise.reject(pool.failure);
  if (pool.ready) return checkOnPool(pool, f, opts);
  const ready = pool.warm();
  if (turn.claimed) {
    ready.catch(() => {}); // a failure is thrown at the end of the run
    return Promise.resolve(f);
  }
  return new Promise<Fetched>((resolve, reject) => {
    turn.release = () => resolve(f);
    ready.then(
      () => {
        if (!turn.release) return;
        turn.release = undefined;
        resolve(checkOnPool(pool, f, opts));
      },
      (err: unknown) => {
        if (!turn.release) return;
        turn.release = undefined;
        reject(err);
      },
    );
  });
}

async function checkOnPool(
  pool: SegmentCheckPool,
  f: Fetched,
  opts: CheckJobOptions,
): Promise<Fetched> {
  const { bytes, check } = await pool.check(f.bytes as Uint8Array, opts);
  return { ...f, bytes, checked: { check } };
}

/** Settles `p`, keeping a coded error as a value. @throws anything that is not an AuditlockError */
async function coded<T>(p: Promise<T>): Promise<{ value?: T; error?: AuditlockError }> {
  try {
    return { value: await p };
  } catch (err) {
    if (err instanceof AuditlockError) return { error: err };
    throw err;
  }
}

/**
 * Listed bytes the look-ahead window may hold beyond the fewest segments that keep every worker
 * busy: with the default 4,096-event segments (~4.8 MB) about 7 of them, where 8 downloads and
 * 8 workers would hold 16 (77 MB at 1,000,000 events; docs/PERFORMANCE.md, verify-workers).
 * Small segments are bounded by the count, large ones by this. 48 MiB peaked at 239-257 MiB of
 * RSS verifying 1,000,000 events with 2 workers, 32 MiB at 192-228, in the same time.
 */
const WINDOW_BYTES = 32 * 1024 * 1024;

/** A listed key with the promise of its content; `claim()` when its turn comes (see Turn). */
type Prefetched = {
  readonly listed: Listed;
  readonly fetched: Promise<Fetched> | undefined;
  readonly claim: () => void;
};

/**
 * Yields listed keys in order with a promise of their content, fetching up to `concurrency`
 * segments in parallel and at most twice that far ahead (with a pool, downloads plus workers), and
 * never more than {@link WINDOW_BYTES} of listed segments ahead beyond the fewest that keep every
 * worker busy. Keys that are not segments, have no
 * readable version, or are listed larger than any segment can be, are never downloaded. With a
 * `pool`, each download goes on to a worker's check as soon as it is done, within the same
 * window: the segments in flight stay bounded whatever the number of workers.
 */
async function* prefetch(
  store: ObjectStore,
  listing: AsyncIterable<Listed>,
  concurrency: number,
  pool: SegmentCheckPool | undefined,
  opts: CheckJobOptions,
): AsyncGenerator<Prefetched> {
  const queue = new PQueue({ concurrency });
  // With workers, the calling thread allocates little, so its collector runs rarely and frees
  // segment buffers later than it does when it checks entries itself: looking as far ahead as
  // the downloads and the workers can use, not twice the downloads, keeps the peak down.
  const ahead = pool ? concurrency + pool.size : concurrency * 2;
  const fewest = (pool?.size ?? 1) + 1;
  const window: Prefetched[] = [];
  let windowBytes = 0;
  const next = (): Prefetched => {
    const item = window.shift() as Prefetched;
    windowBytes -= item.listed.size;
    return item;
  };
  for await (const listed of listing) {
    let fetched: Promise<Fetched> | undefined;
    const turn: Turn = { claimed: false, release: undefined };
    if (
      listed.readable &&
      listed.size <= MAX_SEGMENT_BYTES &&
      classifyKey(listed.key).kind === 'segment'
    ) {
      fetched = queue.add(() => fetchOne(store, listed)) as Promise<Fetched>;
      if (pool) fetched = fetched.then((f) => checkFetched(pool, f, opts, turn));
      fetched.catch(() => {}); // surfaced when awaited, in order
    }
    const claim = (): void => {
      turn.claimed = true;
      const release = turn.release;
      turn.release = undefined;
      release?.();
    };
    window.push({ listed, fetched, claim });
    windowBytes += listed.size;
    while (window.length > ahead || (window.length > fewest && windowBytes > WINDOW_BYTES))
      yield next();
  }
  while (window.length > 0) yield next();
}
