/**
 * Verifying a whole store: every log in it (or the ones asked for), every object under it.
 * Downloads run ahead in parallel (bounded), checks run strictly in log order, and memory stays
 * constant in the length of the logs.
 */
import PQueue from 'p-queue';
import type { Finding, FindingSink } from '../core/findings.js';
import { BUNDLE_MANIFEST_KEY, classifyKey, segmentPrefix } from '../core/layout.js';
import { type LogSummary, LogVerifier, type LogVerifyOptions } from '../core/log-verifier.js';
import type { ObjectInfo, ObjectStore } from '../core/ports.js';
import { readBundleManifest } from './bundle-manifest.js';

export type VerifyStoreOptions = Omit<LogVerifyOptions, 'firstSeq'> & {
  /** Only these logs; by default every log found. */
  readonly logs?: readonly string[] | undefined;
  /** Parallel downloads. */
  readonly concurrency?: number | undefined;
  /** Called for every finding as it is found. */
  readonly onFinding?: FindingSink | undefined;
  /** Called after each segment with running totals. */
  readonly onProgress?: ((p: { segments: number; bytes: number }) => void) | undefined;
};

export type VerifyStoreResult = {
  readonly logs: LogSummary[];
  /** Findings not tied to a log (unexpected objects), plus every log's findings. */
  readonly findings: number;
  readonly ok: boolean;
};

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
  const startLog = (name: string) => {
    const firstSeq = manifest?.logs[name]?.firstSeq ?? 0;
    current = { name, verifier: new LogVerifier(name, { ...opts, firstSeq }, sink) };
  };
  const endLog = () => {
    if (current) summaries.push(current.verifier.finish());
    current = undefined;
  };
  const wanted = opts.logs ? new Set(opts.logs) : undefined;
  const listings: AsyncIterable<ObjectInfo>[] = wanted
    ? [...wanted].sort().map((log) => store.list(segmentPrefix(log)))
    : [store.list('')];
  let segments = 0;
  let bytes = 0;
  for (const listing of listings) {
    for await (const { item, data } of prefetch(store, listing, opts.concurrency ?? 8)) {
      const kind = classifyKey(item.key);
      if (kind.kind === 'bundle-manifest') continue;
      if (kind.kind !== 'segment' || (wanted && !wanted.has(kind.log))) {
        sink({
          code: 'UNEXPECTED_OBJECT',
          key: item.key,
          detail: `${item.key} is not a segment of any log`,
        });
        continue;
      }
      if (current?.name !== kind.log) {
        endLog();
        startLog(kind.log);
      }
      if (data === undefined) {
        sink({
          code: 'OBJECT_UNREADABLE',
          log: kind.log,
          seq: kind.seq,
          key: item.key,
          detail: 'listed but could not be read',
        });
        continue;
      }
      (current as unknown as { verifier: LogVerifier }).verifier.addSegment(
        item.key,
        kind.seq,
        data,
      );
      segments++;
      bytes += data.length;
      opts.onProgress?.({ segments, bytes });
    }
    if (wanted) {
      // A requested log with no segments at all still gets a summary (and a LOG_EMPTY finding).
      const names = [...wanted].sort();
      const name = names[listings.indexOf(listing)] as string;
      if (current?.name !== name) {
        endLog();
        startLog(name);
      }
      endLog();
    }
  }
  endLog();
  return { logs: summaries, findings, ok: findings === 0 };
}

/**
 * Yields listed objects in order with their bytes, fetching up to `concurrency` ahead. Only
 * segment keys are downloaded; other keys come with `data: undefined` and are never read.
 */
async function* prefetch(
  store: ObjectStore,
  listing: AsyncIterable<ObjectInfo>,
  concurrency: number,
): AsyncGenerator<{ item: ObjectInfo; data: Uint8Array | undefined }> {
  const queue = new PQueue({ concurrency });
  const window: { item: ObjectInfo; data: Promise<Uint8Array | undefined> }[] = [];
  const fetchOne = (item: ObjectInfo): Promise<Uint8Array | undefined> => {
    if (classifyKey(item.key).kind !== 'segment') return Promise.resolve(undefined);
    const p = queue.add(() => store.get(item.key)) as Promise<Uint8Array | undefined>;
    p.catch(() => {}); // surfaced when awaited in order
    return p;
  };
  for await (const item of listing) {
    window.push({ item, data: fetchOne(item) });
    while (window.length > concurrency * 2) {
      const next = window.shift() as (typeof window)[number];
      yield { item: next.item, data: await next.data };
    }
  }
  while (window.length > 0) {
    const next = window.shift() as (typeof window)[number];
    yield { item: next.item, data: await next.data };
  }
}

export { BUNDLE_MANIFEST_KEY };
