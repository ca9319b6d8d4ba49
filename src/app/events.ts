/**
 * Searching a store or evidence bundle for entries (`auditlock events`), streaming every hit with
 * its log, leaf index and segment so a receipt can be made for it.
 *
 * Trust. Every segment is read with readTrustedSegment (one version, signed by a trusted key at
 * its seal time, payload hash, root) before any of its entries is handed out, and a segment that
 * fails stops the search with its IntegrityError, which names it: hits already handed out came
 * from trusted segments, nothing after the failure is handed out. A segment the time search
 * consults that is not trusted stops it the same way. Consecutive segments read are also checked
 * against each other (one origin, `prev` is the hash of the segment before, leaf indexes and
 * frontiers continue), and receive times must not go back nor disagree with the signed header the
 * time search steered by. This reads only the selected range: the full check of a log is `verify`.
 *
 * Cost, for a log of n stored segments of which k meet the receive-time bounds: at most
 * 2·⌈log2(n + 1)⌉ + 1 existence checks to find the stored range (segment-search.ts), then without
 * bounds n segment reads; with `from`/`to`, at most 2·⌈log2(n + 1)⌉ segment reads to find the k
 * segments, then k reads. One segment read is one GET on a folder store, one ListObjectVersions
 * and one GetObject on S3. Memory: one segment at a time (at most MAX_SEGMENT_BYTES).
 */
import { toBase64 } from '../core/encoding.js';
import { decodeEntry } from '../core/entry.js';
import { checkEntryBytes } from '../core/entry-check.js';
import { ConfigurationError, IntegrityError } from '../core/errors.js';
import {
  boundsInMs,
  byteNeedles,
  type EventFilter,
  type EventHit,
  matchesEntry,
  withinBounds,
} from '../core/event-filter.js';
import type { Finding } from '../core/findings.js';
import { bytesEqual } from '../core/hash.js';
import { classifyKey, LOG_NAME_RE, segmentKey } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { parseTimestamp } from '../core/timestamp.js';
import { readBundleManifest } from './bundle-manifest.js';
import { findTimeRange } from './segment-search.js';
import { readTrustedSegment, type TrustedSegment } from './trusted-segment.js';

export type SearchEventsOptions = {
  /** Keys every segment read must be signed by (validity windows apply at its seal time). */
  readonly trustedKeys: readonly TrustedKey[];
  /** Only these logs (each must have segments); by default every log of the store or bundle. */
  readonly logs?: readonly string[] | undefined;
  /** The store is an evidence bundle: each log starts at its `bundle.json` `firstSeq`. */
  readonly bundle?: boolean | undefined;
  readonly filter: EventFilter;
  /**
   * Per log, the trusted segment an earlier read ended with (incremental export): the search
   * starts after it, and the first segment read must chain to it as to the segment before.
   */
  readonly resume?: ReadonlyMap<string, ResumePoint> | undefined;
  /** Called after the hits of each segment read have been handed out, in log order. */
  readonly onSegment?:
    | ((log: string, seq: number, segment: TrustedSegment) => void | Promise<void>)
    | undefined;
};

/** Where a search resumes: segment `seq` of the log, read and trusted by the caller. */
export type ResumePoint = { readonly seq: number; readonly segment: TrustedSegment };

/** What a hit was read from, for callers that link it back to its proof (export). */
export type HitSource = { readonly leaf: Uint8Array; readonly segment: TrustedSegment };

/** What was searched in one log. */
export type LogSearchSummary = {
  readonly log: string;
  /** Stored segments `firstSeq..headSeq` (a bundle's range); undefined if the log has none. */
  readonly stored: { readonly firstSeq: number; readonly headSeq: number } | undefined;
  /** Segments selected by the receive-time bounds (`firstSeq > lastSeq`: none). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Segment reads the time search made (0 without bounds). */
  readonly searchReads: number;
  /** Segments read and checked to produce hits. */
  readonly segmentsRead: number;
  /** Entries in those segments, and how many matched. */
  readonly entries: number;
  readonly hits: number;
};

/** Called for each hit, in log order; awaited, so a slow consumer slows the search (bounded memory). */
export type HitSink = (hit: EventHit, source: HitSource) => void | Promise<void>;

/**
 * Streams every entry of the chosen logs that `options.filter` selects to `onHit`, log by log in
 * name order, each log in leaf order.
 * @throws IntegrityError naming the segment: a TrustedSegmentCode from readTrustedSegment,
 *   `ORIGIN_MISMATCH`, `PREV_HASH_MISMATCH`, `LEAF_INDEX_MISMATCH`, `FRONTIER_MISMATCH`,
 *   `RECEIVE_TIME_REGRESSION`, `RECEIVE_TIME_MISMATCH`, `ENTRY_INVALID`; IntegrityError
 *   `BUNDLE_MANIFEST_INVALID` (with `bundle`); ConfigurationError `LOG_EMPTY` for a requested log
 *   without segments, `LOG_NAME_INVALID`; StorageError from the store.
 */
export async function searchEvents(
  store: ObjectStore,
  options: SearchEventsOptions,
  onHit: HitSink,
): Promise<LogSearchSummary[]> {
  const starts = options.bundle ? await bundleStarts(store) : undefined;
  const logs = await chooseLogs(store, options.logs, starts);
  const summaries: LogSearchSummary[] = [];
  for (const log of logs)
    summaries.push(await searchLog(store, log, starts?.get(log) ?? 0, options, onHit));
  return summaries;
}

async function searchLog(
  store: ObjectStore,
  log: string,
  firstSeq: number,
  options: SearchEventsOptions,
  onHit: HitSink,
): Promise<LogSearchSummary> {
  const { trustedKeys, filter } = options;
  const resume = options.resume?.get(log);
  if (resume) firstSeq = Math.max(firstSeq, resume.seq + 1);
  const range = await findTimeRange(store, log, boundsInMs(filter.received), {
    trustedKeys,
    firstSeq,
    // A consulted segment that is not trusted is an error at once, wherever it lies.
    onUntrusted: (_seq, err) => {
      throw err;
    },
  });
  if (range === undefined) {
    // Nothing after the resume point is no error: nothing new was sealed.
    if (options.logs?.includes(log) && !resume)
      throw new ConfigurationError(
        'LOG_EMPTY',
        firstSeq > 0
          ? `log ${log} in ${store.location} has no segment ${firstSeq}, where bundle.json says it starts`
          : `log ${log} in ${store.location} has no segments${options.bundle ? '' : ' (an evidence bundle? add --bundle)'}`,
      );
    return {
      log,
      stored: undefined,
      firstSeq,
      lastSeq: firstSeq - 1,
      searchReads: 0,
      segmentsRead: 0,
      entries: 0,
      hits: 0,
    };
  }
  const chain = new ChainCheck(store, log);
  if (resume) chain.prime(resume.seq, resume.segment);
  const needles = byteNeedles(filter);
  let entries = 0;
  let hits = 0;
  for (let seq = range.firstSeq; seq <= range.lastSeq; seq++) {
    const t = await readTrustedSegment(store, log, seq, trustedKeys);
    const times = chain.check(seq, t);
    const first = t.seg.header.firstIndex;
    const key = segmentKey(log, seq);
    for (const [i, leaf] of t.entries.entries()) {
      const receivedAt = times[i] as number;
      entries++;
      if (!mayMatch(leaf, receivedAt, filter, needles)) continue;
      const index = first + i;
      const entry = decodeEntry(leaf, `${chain.where(seq)} leaf ${index}`);
      if (!matchesEntry(entry, receivedAt, filter)) continue;
      hits++;
      const origin = t.seg.checkpoint.origin;
      await onHit(
        { log, index, seq, key, versionId: t.versionId, entry, origin },
        { leaf, segment: t },
      );
    }
    await options.onSegment?.(log, seq, t);
  }
  return {
    log,
    stored: range.stored,
    firstSeq: range.firstSeq,
    lastSeq: range.lastSeq,
    searchReads: range.reads,
    segmentsRead: Math.max(0, range.lastSeq - range.firstSeq + 1),
    entries,
    hits,
  };
}

/** Cheap tests before an entry is decoded: receive-time bounds and the filter's byte needles. */
function mayMatch(
  leaf: Uint8Array,
  receivedAt: number,
  filter: EventFilter,
  needles: string[][] | undefined,
): boolean {
  if (!withinBounds({ ms: receivedAt, ns: 0 }, filter.received)) return false;
  if (!needles) return true;
  const bytes = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  return needles.every((group) => group.some((n) => bytes.includes(n)));
}

/**
 * What readTrustedSegment leaves to the verifier and a search relies on: consecutive segments
 * read form one chain, and receive times are in order and as the signed header says.
 */
class ChainCheck {
  readonly #store: ObjectStore;
  readonly #log: string;
  #prev: { seq: number; origin: string; t: TrustedSegment; lastReceivedAt: number } | undefined;

  constructor(store: ObjectStore, log: string) {
    this.#store = store;
    this.#log = log;
  }

  /** Starts the chain at a segment read earlier (a resume point). */
  prime(seq: number, t: TrustedSegment): void {
    const cp = t.seg.checkpoint;
    this.#prev = {
      seq,
      origin: cp.origin,
      t,
      lastReceivedAt: parseTimestamp(t.seg.header.lastReceivedAt),
    };
  }

  where(seq: number): string {
    return `segment ${this.#store.location}/${segmentKey(this.#log, seq)}`;
  }

  /**
   * Checks segment `seq` against the one before it (when that was read) and returns its entries'
   * receive times (ms).
   * @throws IntegrityError as listed on searchEvents
   */
  check(seq: number, t: TrustedSegment): number[] {
    const fail = (code: string, why: string): never => {
      throw new IntegrityError(code, `${this.where(seq)} ${why}; run auditlock verify`);
    };
    const { checkpoint: cp, header } = t.seg;
    const prev = this.#prev;
    if (prev) {
      if (cp.origin !== prev.origin)
        fail(
          'ORIGIN_MISMATCH',
          `has origin ${JSON.stringify(cp.origin)}, segment ${prev.seq} ${JSON.stringify(prev.origin)}`,
        );
      if (!bytesEqual(cp.prev, prev.t.hash))
        fail(
          'PREV_HASH_MISMATCH',
          `does not chain to segment ${prev.seq} (prev ${toBase64(cp.prev)})`,
        );
      if (header.firstIndex !== prev.t.frontier.size)
        fail(
          'LEAF_INDEX_MISMATCH',
          `starts at leaf ${header.firstIndex}, segment ${prev.seq} ends at ${prev.t.frontier.size}`,
        );
      const before = prev.t.frontier.hashes().map(toBase64);
      if (before.join() !== header.frontierBefore.join())
        fail('FRONTIER_MISMATCH', `has a frontierBefore other than segment ${prev.seq}'s tree`);
    }
    let last = prev?.lastReceivedAt ?? 0;
    const times: number[] = new Array(t.entries.length);
    for (const [i, leaf] of t.entries.entries()) {
      const check = checkEntryBytes(leaf);
      if (!check.ok) fail('ENTRY_INVALID', `leaf ${header.firstIndex + i}: ${check.detail}`);
      const at = (check as { receivedAt: number }).receivedAt;
      if (at < last)
        fail(
          'RECEIVE_TIME_REGRESSION',
          `leaf ${header.firstIndex + i} was received before the entry before it`,
        );
      times[i] = last = at;
    }
    if (
      new Date(times[0] as number).toISOString() !== header.firstReceivedAt ||
      new Date(last).toISOString() !== header.lastReceivedAt
    )
      fail(
        'RECEIVE_TIME_MISMATCH',
        `header says received ${header.firstReceivedAt}..${header.lastReceivedAt}, its entries differ`,
      );
    this.#prev = { seq, origin: cp.origin, t, lastReceivedAt: last };
    return times;
  }
}

/**
 * Where each log of a bundle starts, from `bundle.json` (not trusted: it only says where to start;
 * every segment read is still checked).
 * @throws IntegrityError `BUNDLE_MANIFEST_INVALID`
 */
async function bundleStarts(store: ObjectStore): Promise<Map<string, number>> {
  const problems: Finding[] = [];
  const manifest = await readBundleManifest(store, (f) => problems.push(f));
  if (!manifest)
    throw new IntegrityError(
      'BUNDLE_MANIFEST_INVALID',
      `${store.location}: ${problems.map((p) => p.detail).join('; ') || 'bundle.json is not valid'}`,
    );
  return new Map(Object.entries(manifest.logs).map(([log, m]) => [log, m.firstSeq]));
}

/** The requested logs (checked names, sorted), or every log of the bundle or store. */
async function chooseLogs(
  store: ObjectStore,
  requested: readonly string[] | undefined,
  starts: ReadonlyMap<string, number> | undefined,
): Promise<string[]> {
  if (requested && requested.length > 0) {
    for (const log of requested) {
      if (!LOG_NAME_RE.test(log))
        throw new ConfigurationError(
          'LOG_NAME_INVALID',
          `log name ${JSON.stringify(log)} must match ${LOG_NAME_RE.source}`,
        );
      if (starts && !starts.has(log))
        throw new IntegrityError(
          'BUNDLE_MANIFEST_INVALID',
          `bundle.json in ${store.location} does not list log ${log}`,
        );
    }
    return [...new Set(requested)].sort();
  }
  if (starts) return [...starts.keys()].sort();
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
