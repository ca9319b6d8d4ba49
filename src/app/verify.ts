/**
 * Verifying a whole store: every log in it (or the ones asked for), every object under it.
 * Downloads run ahead in parallel (bounded by p-queue), checks run strictly in log order, and
 * memory stays constant in the length of the logs. On a versioned store (S3) every version of
 * every key is listed: a key with a second version (shadowing) or a delete marker (hiding) is
 * reported, the original (oldest) version is the one verified, and its retention and stored
 * checksum are checked too.
 */
import PQueue from 'p-queue';
import type { Finding, FindingSink } from '../core/findings.js';
import { classifyKey, segmentPrefix } from '../core/layout.js';
import { type LogSummary, LogVerifier, type LogVerifyOptions } from '../core/log-verifier.js';
import {
  isVersionedStore,
  type ObjectStore,
  type ObjectVersion,
  type VersionedObjectStore,
  type VersionMetadata,
} from '../core/ports.js';
import { readBundleManifest } from './bundle-manifest.js';

export type VerifyStoreOptions = Omit<LogVerifyOptions, 'firstSeq'> & {
  /** Only these logs; by default every log found. */
  readonly logs?: readonly string[] | undefined;
  /** Parallel downloads (default 8). */
  readonly concurrency?: number | undefined;
  /** Called for every finding as it is found. */
  readonly onFinding?: FindingSink | undefined;
  /** Called after each segment with running totals. */
  readonly onProgress?: ((p: { segments: number; bytes: number }) => void) | undefined;
};

export type VerifyStoreResult = {
  readonly logs: LogSummary[];
  /** Number of findings, store-level ones (unexpected objects) included. */
  readonly findings: number;
  readonly ok: boolean;
};

/** One key as listed, with what is to be verified of it. */
type Listed = {
  readonly key: string;
  /** Version to read; undefined on stores without versions. */
  readonly versionId?: string | undefined;
  /** Findings about the key's versions, reported before its content. */
  readonly versionFindings: readonly Omit<Finding, 'log' | 'seq'>[];
  /** False if nothing readable is there (only delete markers). */
  readonly readable: boolean;
};

type Fetched = { bytes: Uint8Array | undefined; meta: VersionMetadata | undefined };

/**
 * Verifies every object in `store`. Findings go to `onFinding`; nothing throws for bad data.
 * @throws StorageError / ConfigurationError when the store itself cannot be listed or read.
 */
export async function verifyStore(
  store: ObjectStore,
  opts: VerifyStoreOptions,
): Promise<VerifyStoreResult> {
  let findings = 0;
  const sink: FindingSink = (f: Finding) => {
    findings++;
    opts.onFinding?.(f);
  };
  const manifest = await readBundleManifest(store, sink);
  const summaries: LogSummary[] = [];
  let current: { name: string; verifier: LogVerifier } | undefined;
  const switchTo = (name: string | undefined): LogVerifier | undefined => {
    if (current?.name === name) return current?.verifier;
    if (current) summaries.push(current.verifier.finish());
    current = undefined;
    if (name === undefined) return undefined;
    const firstSeq = manifest?.logs[name]?.firstSeq ?? 0;
    current = { name, verifier: new LogVerifier(name, { ...opts, firstSeq }, sink) };
    return current.verifier;
  };
  const wanted = opts.logs ? [...new Set(opts.logs)].sort() : undefined;
  const prefixes = wanted ? wanted.map(segmentPrefix) : [''];
  let segments = 0;
  let bytes = 0;
  for (const [i, prefix] of prefixes.entries()) {
    // A requested log gets a summary (and LOG_EMPTY) even when it has no segments at all.
    if (wanted) switchTo(wanted[i]);
    for await (const { listed, fetched } of prefetch(
      store,
      list(store, prefix),
      opts.concurrency ?? 8,
    )) {
      const kind = classifyKey(listed.key);
      if (kind.kind === 'bundle-manifest') continue;
      if (kind.kind !== 'segment') {
        sink({
          code: 'UNEXPECTED_OBJECT',
          key: listed.key,
          detail: `${listed.key} is not a segment of any log`,
        });
        continue;
      }
      const verifier = switchTo(kind.log) as LogVerifier;
      for (const f of listed.versionFindings) sink({ ...f, log: kind.log, seq: kind.seq });
      if (!listed.readable) {
        verifier.skipSegment(listed.key, kind.seq, 'no readable version (only delete markers)');
        continue;
      }
      const data = (await fetched) as Fetched;
      if (data.bytes === undefined) {
        verifier.skipSegment(listed.key, kind.seq, 'listed but could not be read');
        continue;
      }
      verifier.addSegment(listed.key, kind.seq, data.bytes, data.meta);
      segments++;
      bytes += data.bytes.length;
      release(data.bytes);
      opts.onProgress?.({ segments, bytes });
    }
  }
  switchTo(undefined);
  return { logs: summaries, findings, ok: findings === 0 };
}

/**
 * Frees a segment's memory now instead of at V8's next full collection. Segment buffers outlive
 * the young generation while they wait in the prefetch window, and freed ones then pile up to
 * hundreds of MB before a major GC (measured: 558 MiB peak RSS verifying 1M events, 179 MiB with
 * this). Transferring the ArrayBuffer detaches it and drops its backing store. Only done when the
 * view owns its whole buffer (stores return bytes the caller owns; pooled small Buffers are not).
 */
function release(bytes: Uint8Array): void {
  const buf = bytes.buffer;
  if (
    buf instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === buf.byteLength &&
    buf.byteLength > 64 * 1024
  )
    structuredClone(buf, { transfer: [buf] });
}

/** Every key under `prefix`, once, in order; on versioned stores with its version findings. */
async function* list(store: ObjectStore, prefix: string): AsyncGenerator<Listed> {
  if (!isVersionedStore(store)) {
    for await (const o of store.list(prefix))
      yield { key: o.key, versionFindings: [], readable: true };
    return;
  }
  let group: ObjectVersion[] = [];
  for await (const v of store.listVersions(prefix)) {
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
    versionId: original?.versionId,
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

async function fetchOne(store: ObjectStore, listed: Listed): Promise<Fetched> {
  if (listed.versionId !== undefined && isVersionedStore(store)) {
    const vs: VersionedObjectStore = store;
    const [bytes, meta] = await Promise.all([
      vs.getVersion(listed.key, listed.versionId),
      vs.describeVersion(listed.key, listed.versionId),
    ]);
    return { bytes, meta };
  }
  return { bytes: await store.get(listed.key), meta: undefined };
}

/**
 * Yields listed keys in order with a promise of their content, fetching up to `concurrency`
 * segments in parallel and at most twice that far ahead. Keys that are not segments, or have no
 * readable version, are never downloaded.
 */
async function* prefetch(
  store: ObjectStore,
  listing: AsyncIterable<Listed>,
  concurrency: number,
): AsyncGenerator<{ listed: Listed; fetched: Promise<Fetched> | undefined }> {
  const queue = new PQueue({ concurrency });
  const window: { listed: Listed; fetched: Promise<Fetched> | undefined }[] = [];
  for await (const listed of listing) {
    let fetched: Promise<Fetched> | undefined;
    if (listed.readable && classifyKey(listed.key).kind === 'segment') {
      fetched = queue.add(() => fetchOne(store, listed)) as Promise<Fetched>;
      fetched.catch(() => {}); // surfaced when awaited, in order
    }
    window.push({ listed, fetched });
    while (window.length > concurrency * 2) yield window.shift() as (typeof window)[number];
  }
  while (window.length > 0) yield window.shift() as (typeof window)[number];
}
