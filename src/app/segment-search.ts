/**
 * Finding segments by time in O(log n) reads, with no index object: a log's entries are in
 * receive-time order across segments (FORMAT.md §5 step 9, `RECEIVE_TIME_REGRESSION`) and seal
 * times never decrease (§4.1 line 6), so `lastReceivedAt`, `firstReceivedAt` and `auditlock.sealed`
 * are each non-decreasing in the sequence number, and a binary search over segment numbers finds
 * where a time falls. `pull --from/--to`, `events --from/--to` and the report use this module.
 *
 * Which segments a time range selects. A segment's time range is `[firstReceivedAt,
 * lastReceivedAt]` of its header (the archive's receive times, not the events' own `time`, which
 * nothing orders). The range `[from, to)` (inclusive start, exclusive end) selects every segment
 * whose time range meets it: `lastReceivedAt >= from` and `firstReceivedAt < to`. These are
 * contiguous; every entry received in `[from, to)` is in one of them (a selected segment may also
 * hold entries outside the range at its ends; a caller filtering entries drops those).
 *
 * Trust: every segment consulted is read with readTrustedSegment (one version, signed by a trusted
 * key at its seal time, payload hash, root), never taken from stored bytes on their word. A segment
 * that is not trusted (forged, shadowed, missing in a gap) is reported through `onUntrusted` and
 * counts as inside the range at whichever end is being searched, so a hostile segment can only
 * widen the selection (more segments read and then verified), never hide a trusted one.
 *
 * Request costs, for a stored range of n segments (`firstSeq..headSeq`):
 * - {@link findStoredRange}: at most `2·⌈log2(n + 1)⌉ + 1` existence checks (one HEAD each on
 *   S3), plus one more when `firstSeq > 0` (that it exists); none when `headSeq` is given.
 * - each bound of {@link findTimeRange}: at most `⌈log2(n + 1)⌉` segment reads; the two bounds
 *   share a cache, so a range costs at most `2·⌈log2(n + 1)⌉` reads in all and usually fewer.
 * - one segment read: one GET on an unversioned store (folder, memory); on a versioned store (S3)
 *   one ListObjectVersions of the key plus one GetObject of its only version.
 */

import { IntegrityError } from '../core/errors.js';
import { segmentKey } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { parseTimestamp } from '../core/timestamp.js';
import { findFirstSeq, findHeadSeq } from './head.js';
import { readTrustedSegment } from './trusted-segment.js';

/** The times of one trusted segment, in ms since the epoch (from its header and checkpoint). */
export type SegmentTimes = {
  readonly seq: number;
  readonly firstReceivedAt: number;
  readonly lastReceivedAt: number;
  readonly sealedAt: number;
};

export type SegmentSearchOptions = {
  /** Keys a segment must be signed by to be believed. */
  readonly trustedKeys: readonly TrustedKey[];
  /** Told about each segment consulted that is not trusted (it widens the selection). */
  readonly onUntrusted?: ((seq: number, error: IntegrityError) => void) | undefined;
};

/** Sequence numbers of the segments a log holds in a store: `firstSeq..headSeq`. */
export type StoredRange = { readonly firstSeq: number; readonly headSeq: number };

/** A time range; either end may be open. */
export type TimeRange = {
  /** Inclusive start, ms; undefined: from the first stored segment. */
  readonly fromMs?: number | undefined;
  /** Exclusive end, ms; undefined: through the head. */
  readonly toMs?: number | undefined;
};

/** Result of {@link findTimeRange}: `firstSeq > lastSeq` when nothing is selected. */
export type TimeRangeResult = {
  /** First selected segment (`stored.headSeq + 1` when the range starts after the head). */
  readonly firstSeq: number;
  /** Last selected segment (`firstSeq - 1` when nothing is selected). */
  readonly lastSeq: number;
  /** The stored range searched. */
  readonly stored: StoredRange;
  /** Segment reads the search made (each through readTrustedSegment). */
  readonly reads: number;
  /** Whether no segment is selected. */
  readonly empty: boolean;
};

/**
 * Reads segment times through readTrustedSegment, each segment at most once (a cache of times
 * only, never bytes), counting reads.
 */
export class SegmentTimeReader {
  readonly #store: ObjectStore;
  readonly #log: string;
  readonly #options: SegmentSearchOptions;
  readonly #cache = new Map<number, SegmentTimes | undefined>();
  #reads = 0;

  constructor(store: ObjectStore, log: string, options: SegmentSearchOptions) {
    this.#store = store;
    this.#log = log;
    this.#options = options;
  }

  /** Segment reads so far. */
  get reads(): number {
    return this.#reads;
  }

  /**
   * The times of segment `seq`, or `undefined` if it is not trusted (reported to `onUntrusted`).
   * @throws StorageError from the store (transient failures stay retryable)
   */
  async times(seq: number): Promise<SegmentTimes | undefined> {
    if (this.#cache.has(seq)) return this.#cache.get(seq);
    this.#reads++;
    let times: SegmentTimes | undefined;
    try {
      const t = await readTrustedSegment(this.#store, this.#log, seq, this.#options.trustedKeys);
      // All three were checked by the segment parser.
      times = {
        seq,
        firstReceivedAt: parseTimestamp(t.seg.header.firstReceivedAt),
        lastReceivedAt: parseTimestamp(t.seg.header.lastReceivedAt),
        sealedAt: parseTimestamp(t.seg.checkpoint.sealedAt),
      };
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      this.#options.onUntrusted?.(seq, err);
    }
    this.#cache.set(seq, times);
    return times;
  }
}

/**
 * The segments `log` holds in `store`: from `firstSeq` (default 0; a bundle's first segment
 * otherwise) to the head, found by existence probes (findHeadSeq). `undefined` when segment
 * `firstSeq` does not exist. Costs are in the module comment.
 * @throws StorageError from the store
 */
export async function findStoredRange(
  store: ObjectStore,
  log: string,
  firstSeq = 0,
): Promise<StoredRange | undefined> {
  if (firstSeq === 0) {
    const headSeq = await findHeadSeq(store, log);
    return headSeq < 0 ? undefined : { firstSeq: 0, headSeq };
  }
  if (!(await store.exists(segmentKey(log, firstSeq)))) return undefined;
  return { firstSeq, headSeq: await findHeadSeq(store, log, firstSeq) };
}

/**
 * The segments `log` holds, wherever they start (a whole log, or a bundle whose manifest is not
 * consulted): the first found by {@link findFirstSeq}, then {@link findStoredRange} from it.
 * @throws StorageError from the store
 */
export async function discoverStoredRange(
  store: ObjectStore,
  log: string,
): Promise<StoredRange | undefined> {
  const first = await findFirstSeq(store, log);
  return first < 0 ? undefined : findStoredRange(store, log, first);
}

/**
 * The first `seq` in `lo..hi` for which `test` holds, `hi + 1` if none; `test` must be monotone
 * (false, then true). An untrusted segment counts as `untrusted`. At most ⌈log2(n + 1)⌉ reads.
 */
async function firstWhere(
  reader: SegmentTimeReader,
  lo: number,
  hi: number,
  test: (t: SegmentTimes) => boolean,
  untrusted: boolean,
): Promise<number> {
  let a = lo;
  let b = hi + 1;
  while (a < b) {
    const mid = a + Math.floor((b - a) / 2);
    const t = await reader.times(mid);
    if (t === undefined ? untrusted : test(t)) b = mid;
    else a = mid + 1;
  }
  return a;
}

/**
 * The first segment in `range` whose time range reaches `timeMs` (`lastReceivedAt >= timeMs`),
 * or `range.headSeq + 1` if none. An untrusted segment counts as reaching it (the start moves
 * earlier, never later).
 * @throws StorageError from the store
 */
export function firstSegmentReaching(
  reader: SegmentTimeReader,
  range: StoredRange,
  timeMs: number,
): Promise<number> {
  return firstWhere(reader, range.firstSeq, range.headSeq, (t) => t.lastReceivedAt >= timeMs, true);
}

/**
 * The first segment in `range` that starts at or after `timeMs` (`firstReceivedAt >= timeMs`),
 * or `range.headSeq + 1` if none: the exclusive end of a range ending at `timeMs`. An untrusted
 * segment counts as starting before it (the end moves later, never earlier).
 * @throws StorageError from the store
 */
export function firstSegmentStartingAtOrAfter(
  reader: SegmentTimeReader,
  range: StoredRange,
  timeMs: number,
): Promise<number> {
  return firstWhere(
    reader,
    range.firstSeq,
    range.headSeq,
    (t) => t.firstReceivedAt >= timeMs,
    false,
  );
}

/**
 * The segments of `log` whose time range meets `[fromMs, toMs)` (module comment), within the
 * stored range (`options.stored`, else found by {@link findStoredRange} from `options.firstSeq`).
 * `undefined` when the log has no segment (at `firstSeq`). Both ends are found by binary search;
 * costs are in the module comment.
 * @throws StorageError from the store
 */
export async function findTimeRange(
  store: ObjectStore,
  log: string,
  time: TimeRange,
  options: SegmentSearchOptions & {
    readonly stored?: StoredRange | undefined;
    readonly firstSeq?: number | undefined;
  },
): Promise<TimeRangeResult | undefined> {
  const stored = options.stored ?? (await findStoredRange(store, log, options.firstSeq ?? 0));
  if (!stored) return undefined;
  const reader = new SegmentTimeReader(store, log, options);
  const empty = (time.fromMs ?? 0) >= (time.toMs ?? Number.POSITIVE_INFINITY);
  const firstSeq = empty
    ? stored.headSeq + 1
    : time.fromMs === undefined
      ? stored.firstSeq
      : await firstSegmentReaching(reader, stored, time.fromMs);
  const end =
    empty || firstSeq > stored.headSeq
      ? firstSeq
      : time.toMs === undefined
        ? stored.headSeq + 1
        : await firstSegmentStartingAtOrAfter(
            reader,
            { firstSeq, headSeq: stored.headSeq },
            time.toMs,
          );
  const lastSeq = end - 1;
  return { firstSeq, lastSeq, stored, reads: reader.reads, empty: firstSeq > lastSeq };
}
