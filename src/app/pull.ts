/**
 * Pulling a range of a store's logs into an evidence bundle (FORMAT.md §7.1): a folder in the
 * store layout holding segments byte for byte as stored, the cosigned checkpoints of the range,
 * and `bundle.json` (format 2) with what the source reported per segment. The bundle then
 * verifies with no network and no credentials (`verify --bundle`).
 *
 * - The range: by sequence numbers (inclusive at both ends) or by receive time `[from, to)`
 *   (segment-search.ts says exactly which segments that selects); either way the first and last
 *   segment are found in O(log n) requests, never by listing the log.
 * - Downloads run in parallel, bounded by p-queue (`concurrency`).
 * - Resumable: a segment already in the bundle is skipped (not downloaded again) when it is a
 *   trusted segment there (readTrustedSegment on the bundle: signed by a trusted key, payload and
 *   root) and, on a versioned source, its hash equals the checksum S3 reports for the version.
 *   Segments are written durably (temp file and rename), so a killed pull leaves only whole ones;
 *   the manifest is written last, so a bundle without one is unfinished.
 * - The source's bytes are copied as they are, even a segment that fails verification: a bundle
 *   is evidence, and its verification reports the failure. On a versioned store the oldest
 *   version is pulled (the one §5 verifies) and the others are recorded.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { FolderStore, TEMP_DIR } from '../adapters/folder-store.js';
import { tempFileName } from '../adapters/folder-temp.js';
import { syncDirectory } from '../adapters/fsync.js';
import { canonicalize } from '../core/canonical-json.js';
import { toBase64, utf8 } from '../core/encoding.js';
import { IntegrityError } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import { encodeIdIndex, eventIdsOf } from '../core/id-index.js';
import { ecdsaKeyId } from '../core/key-id.js';
import { classifyKey, idIndexKey, LOG_NAME_RE, segmentKey, witnessPrefix } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import { isVersionedStore, type ObjectStore, type ReadOptions } from '../core/ports.js';
import { MAX_SEGMENT_BYTES, parseSegment, segmentEntries } from '../core/segment.js';
import {
  BUNDLE_FORMAT_V2,
  type BundleKeyRecord,
  type BundleManifestV2,
  type BundleS3Record,
  type BundleSegmentRecord,
  type BundleWitnessRecord,
} from './bundle-manifest.js';
import { findStoredRange, findTimeRange, type StoredRange } from './segment-search.js';
import { readTrustedSegment } from './trusted-segment.js';
import { oldestFirst } from './verify.js';

/** Which segments to pull from each log. */
export type PullSelection =
  /** Segments `fromSeq..toSeq`, both inclusive, clipped to what the log holds. */
  | {
      readonly by: 'seq';
      readonly fromSeq?: number | undefined;
      readonly toSeq?: number | undefined;
    }
  /** Segments whose receive times meet `[fromMs, toMs)` (segment-search.ts). */
  | {
      readonly by: 'time';
      readonly fromMs?: number | undefined;
      readonly toMs?: number | undefined;
    };

export type PullProgress = {
  /** Segments selected in all logs. */
  readonly total: number;
  /** Segments done (downloaded or skipped). */
  readonly done: number;
  /** Of those, already in the bundle and checked. */
  readonly skipped: number;
  /** Bytes downloaded so far. */
  readonly bytes: number;
};

export type PullOptions = {
  readonly source: ObjectStore;
  /** Folder of the bundle; created if missing. */
  readonly out: string;
  /** Keys segments are checked against (time lookup, resume), listed in the manifest. */
  readonly trustedKeys: readonly TrustedKey[];
  /** Only these logs (default: every log of the source). */
  readonly logs?: readonly string[] | undefined;
  readonly selection: PullSelection;
  /** Parallel downloads (default 8). */
  readonly concurrency?: number | undefined;
  /** Aborting stops new downloads; the pull rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: PullProgress) => void) | undefined;
  /** Told about untrusted segments met by the time lookup. */
  readonly onUntrusted?: ((log: string, seq: number, error: IntegrityError) => void) | undefined;
  /** `createdAt` of the manifest (default: now). */
  readonly now?: (() => number) | undefined;
};

/** What was pulled of one log. */
export type PulledLog = {
  readonly log: string;
  readonly origin: string | undefined;
  /** Selected range; `firstSeq > lastSeq` when nothing was selected (then nothing is written). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The log's stored range in the source (undefined: no segment there). */
  readonly stored: StoredRange | undefined;
  readonly downloaded: number;
  readonly skipped: number;
  readonly bytes: number;
  readonly witness: number;
  /** Segment reads of the time lookup (0 for a sequence range). */
  readonly lookupReads: number;
};

export type PullResult = {
  readonly logs: PulledLog[];
  /** Logs that had segments selected (and are in the manifest). */
  readonly pulled: number;
  readonly manifest: BundleManifestV2 | undefined;
};

const READ: ReadOptions = { maxBytes: MAX_SEGMENT_BYTES };
/** A cosigned checkpoint is a signed note of a few hundred bytes (§9.2). */
const MAX_WITNESS_BYTES = 64 * 1024;
const WITNESS_SIZE_RE = /\/witness\/([0-9]{20})-[0-9a-f]{8}\.cosigned$/;

type Planned = { readonly log: string; readonly seq: number };

/**
 * Pulls the selected segments of each log into the bundle at `options.out` and writes its
 * manifest; a log with nothing selected is reported in the result and left out. When no log has
 * anything selected, no manifest is written (`manifest: undefined`).
 * @throws StorageError / ConfigurationError from either store (a bundle already holding other
 *   bytes at a key is StorageError `OBJECT_EXISTS`: pull into a fresh folder); the abort reason
 */
export async function pullBundle(options: PullOptions): Promise<PullResult> {
  const { source } = options;
  const dest = new FolderStore(options.out);
  await dest.openForWriting();
  const names = options.logs ? [...new Set(options.logs)].sort() : await logNamesOf(source);
  const selected: {
    log: string;
    first: number;
    last: number;
    stored?: StoredRange;
    reads: number;
  }[] = [];
  for (const log of names) {
    options.signal?.throwIfAborted();
    selected.push({ log, ...(await selectRange(source, log, options)) });
  }
  const plan: Planned[] = selected.flatMap((s) =>
    Array.from({ length: Math.max(0, s.last - s.first + 1) }, (_, i) => ({
      log: s.log,
      seq: s.first + i,
    })),
  );
  const records = new Map<string, BundleSegmentRecord>();
  const counts = new Map<string, { downloaded: number; skipped: number; bytes: number }>();
  const progress = { total: plan.length, done: 0, skipped: 0, bytes: 0 };
  options.onProgress?.({ ...progress });
  const queue = new PQueue({ concurrency: options.concurrency ?? 8 });
  try {
    await Promise.all(
      plan.map((p) =>
        queue.add(async () => {
          options.signal?.throwIfAborted();
          const r = await pullSegment(source, dest, p, options.trustedKeys);
          records.set(segmentKey(p.log, p.seq), r.record);
          const c = counts.get(p.log) ?? { downloaded: 0, skipped: 0, bytes: 0 };
          counts.set(p.log, c);
          progress.done++;
          if (r.skipped) {
            c.skipped++;
            progress.skipped++;
          } else {
            c.downloaded++;
            c.bytes += r.record.size;
            progress.bytes += r.record.size;
          }
          options.onProgress?.({ ...progress });
        }, signalOf(options)),
      ),
    );
  } catch (err) {
    // Stop starting new downloads; let the running ones finish writing before rejecting.
    queue.clear();
    await queue.onIdle();
    throw err;
  }
  options.signal?.throwIfAborted();

  const logs: PulledLog[] = [];
  const manifestLogs: BundleManifestV2['logs'] = {};
  for (const s of selected) {
    const c = counts.get(s.log) ?? { downloaded: 0, skipped: 0, bytes: 0 };
    let origin: string | undefined;
    let witness: BundleWitnessRecord[] = [];
    if (s.first <= s.last) {
      const first = parseSegment((await dest.get(segmentKey(s.log, s.first), READ)) as Uint8Array);
      const last = parseSegment((await dest.get(segmentKey(s.log, s.last), READ)) as Uint8Array);
      origin = first.checkpoint.origin;
      witness = await pullWitness(
        source,
        dest,
        s.log,
        first.header.firstIndex,
        last.checkpoint.treeSize,
      );
      manifestLogs[s.log] = {
        origin,
        firstSeq: s.first,
        lastSeq: s.last,
        segments: Array.from(
          { length: s.last - s.first + 1 },
          (_, i) => records.get(segmentKey(s.log, s.first + i)) as BundleSegmentRecord,
        ),
        witness,
      };
    }
    logs.push({
      log: s.log,
      origin,
      firstSeq: s.first,
      lastSeq: s.last,
      stored: s.stored,
      ...c,
      witness: witness.length,
      lookupReads: s.reads,
    });
  }
  if (Object.keys(manifestLogs).length === 0) return { logs, pulled: 0, manifest: undefined };
  const manifest: BundleManifestV2 = {
    format: BUNDLE_FORMAT_V2,
    createdAt: new Date((options.now ?? Date.now)()).toISOString(),
    source: source.location.slice(0, 2048),
    keys: options.trustedKeys.map(keyRecord),
    logs: manifestLogs,
  };
  await writeManifest(options.out, manifest);
  return { logs, pulled: Object.keys(manifestLogs).length, manifest };
}

/** p-queue rejects queued tasks when the signal aborts (running ones check it when they start). */
function signalOf(options: PullOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

/** The selected range of one log, found in O(log n) requests. */
async function selectRange(
  source: ObjectStore,
  log: string,
  options: PullOptions,
): Promise<{ first: number; last: number; stored?: StoredRange; reads: number }> {
  const stored = await findStoredRange(source, log);
  if (!stored) return { first: 0, last: -1, reads: 0 };
  const sel = options.selection;
  if (sel.by === 'seq') {
    const first = Math.max(sel.fromSeq ?? 0, stored.firstSeq);
    const last = Math.min(sel.toSeq ?? stored.headSeq, stored.headSeq);
    return { first, last: Math.max(last, first - 1), stored, reads: 0 };
  }
  const found = await findTimeRange(
    source,
    log,
    { fromMs: sel.fromMs, toMs: sel.toMs },
    {
      trustedKeys: options.trustedKeys,
      stored,
      onUntrusted: (seq, err) => options.onUntrusted?.(log, seq, err),
    },
  );
  if (!found) return { first: 0, last: -1, stored, reads: 0 };
  return { first: found.firstSeq, last: found.lastSeq, stored, reads: found.reads };
}

/**
 * One segment: skipped if the bundle already holds it checked (module comment), else downloaded
 * and written durably. Returns its manifest record.
 */
async function pullSegment(
  source: ObjectStore,
  dest: FolderStore,
  { log, seq }: Planned,
  trustedKeys: readonly TrustedKey[],
): Promise<{ record: BundleSegmentRecord; skipped: boolean }> {
  const key = segmentKey(log, seq);
  const s3 = await describeSource(source, key);
  const local = await trustedLocal(dest, log, seq, trustedKeys);
  if (local && (s3 === undefined || s3.checksumSha256 === toBase64(local.hash))) {
    await writeIdIndex(dest, log, seq, local.hash, () => local.entries);
    return { record: record(seq, local.hash, local.size, s3), skipped: true };
  }
  const bytes =
    s3 !== undefined && isVersionedStore(source)
      ? await source.getVersion(key, s3.versionId, READ)
      : await source.get(key, READ);
  if (!bytes)
    throw new IntegrityError(
      'SEGMENT_MISSING',
      `segment ${source.location}/${key} is gone (it was probed a moment ago)`,
    );
  await dest.putIfAbsent(key, bytes);
  const hash = sha256(bytes);
  await writeIdIndex(dest, log, seq, hash, () => segmentEntries(parseSegment(bytes)));
  return { record: record(seq, hash, bytes.length, s3), skipped: false };
}

/**
 * Writes the event-id index file of a pulled segment (FORMAT.md §7.2), a lookup aid for `receipt`.
 * A segment that does not parse gets none (the bundle's verification reports it); one already
 * there from an earlier run is left as it is (the verification checks it names this segment).
 */
async function writeIdIndex(
  dest: FolderStore,
  log: string,
  seq: number,
  hash: Uint8Array,
  entries: () => Uint8Array[],
): Promise<void> {
  let index: Uint8Array;
  try {
    index = encodeIdIndex(hash, eventIdsOf(entries(), `segment ${seq} of ${log}`));
  } catch (err) {
    if (err instanceof IntegrityError) return;
    throw err;
  }
  await dest.putIfAbsent(idIndexKey(log, seq), index);
}

function record(
  seq: number,
  hash: Uint8Array,
  size: number,
  s3: BundleS3Record | undefined,
): BundleSegmentRecord {
  return { seq, sha256: toBase64(hash), size, ...(s3 ? { s3 } : {}) };
}

/** The segment in the bundle, if it is there and trusted; anything else means "pull it". */
async function trustedLocal(
  dest: FolderStore,
  log: string,
  seq: number,
  trustedKeys: readonly TrustedKey[],
): Promise<{ hash: Uint8Array; size: number; entries: Uint8Array[] } | undefined> {
  if (!(await dest.exists(segmentKey(log, seq)))) return undefined;
  try {
    const key = segmentKey(log, seq);
    const t = await readTrustedSegment(dest, log, seq, trustedKeys);
    let size = 0;
    for await (const o of dest.list(key)) if (o.key === key) size = o.size;
    return { hash: t.hash, size, entries: t.entries };
  } catch (err) {
    if (err instanceof IntegrityError) return undefined;
    throw err;
  }
}

/**
 * On a versioned store: the versions at `key` (the oldest is the one pulled) and what S3 reports
 * for it (HeadObject). `undefined` on other stores.
 */
async function describeSource(
  source: ObjectStore,
  key: string,
): Promise<BundleS3Record | undefined> {
  if (!isVersionedStore(source)) return undefined;
  const all = [];
  for await (const v of source.listVersions(key)) if (v.key === key) all.push(v);
  const real = oldestFirst(all.filter((v) => !v.isDeleteMarker));
  const pulled = real[0];
  if (!pulled)
    throw new IntegrityError(
      'SEGMENT_MISSING',
      `segment ${source.location}/${key} has no readable version`,
    );
  const meta = await source.describeVersion(key, pulled.versionId);
  const lastModified = pulled.lastModified ?? undefined;
  return {
    versionId: pulled.versionId,
    ...(meta?.lockMode !== undefined ? { lockMode: meta.lockMode } : {}),
    ...(meta?.retainUntil !== undefined ? { retainUntil: meta.retainUntil.toISOString() } : {}),
    legalHold: meta?.legalHold ?? false,
    ...(meta?.checksumSha256 !== undefined ? { checksumSha256: meta.checksumSha256 } : {}),
    ...(lastModified ? { lastModified: lastModified.toISOString() } : {}),
    ...(meta?.replicationStatus !== undefined ? { replicationStatus: meta.replicationStatus } : {}),
    otherVersions: real.slice(1).map((v) => v.versionId),
    deleteMarkers: all.filter((v) => v.isDeleteMarker).map((v) => v.versionId),
  };
}

/**
 * Copies the cosigned checkpoints of `log` whose tree size lies in `[fromSize, toSize]`, and
 * those whose key is not of the §9.2 form (a verifier with `--witness-key` reports them).
 */
async function pullWitness(
  source: ObjectStore,
  dest: FolderStore,
  log: string,
  fromSize: number,
  toSize: number,
): Promise<BundleWitnessRecord[]> {
  const out: BundleWitnessRecord[] = [];
  for await (const o of source.list(witnessPrefix(log))) {
    const m = WITNESS_SIZE_RE.exec(o.key);
    const size = m ? Number(m[1]) : undefined;
    if (size !== undefined && (size < fromSize || size > toSize)) continue;
    const bytes = await source.get(o.key, { maxBytes: MAX_WITNESS_BYTES });
    if (!bytes) continue;
    await dest.putIfAbsent(o.key, bytes);
    out.push({ key: o.key, sha256: toBase64(sha256(bytes)), size: bytes.length });
  }
  return out;
}

/** Every log name in the store: its top-level folders (cheaply where it can), else a listing. */
async function logNamesOf(store: ObjectStore): Promise<string[]> {
  const names = new Set<string>();
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

function keyRecord(k: TrustedKey): BundleKeyRecord {
  return {
    keyId: Buffer.from(ecdsaKeyId(k.spki)).toString('hex'),
    spki: toBase64(k.spki),
    ...(k.label !== undefined ? { label: k.label.slice(0, 1024) } : {}),
    ...(k.notBefore !== undefined ? { notBefore: new Date(k.notBefore).toISOString() } : {}),
    ...(k.notAfter !== undefined ? { notAfter: new Date(k.notAfter).toISOString() } : {}),
  };
}

/**
 * Writes `bundle.json` (canonical JSON) in place of any earlier one: a temp file in the folder
 * store's temp area, fsynced, renamed over, the folder fsynced. A re-run replaces it.
 */
async function writeManifest(out: string, manifest: BundleManifestV2): Promise<void> {
  const temp = join(out, TEMP_DIR, tempFileName());
  await writeFile(temp, utf8(`${canonicalize(manifest)}\n`), { flush: true });
  await rename(temp, join(out, 'bundle.json'));
  await syncDirectory(out);
}
