/**
 * Recognising redelivered input from the log itself, with no other state: every entry records the
 * transport's record id (`delivery.id`), so a record that may have been delivered before (an SQS
 * message received a second time) is looked up in the segments sealed since a lookback time.
 * Segments are in seal-time order, so the first one to read is found in O(log n) reads.
 *
 * Only trusted segments (readTrustedSegment) count: a segment someone forged or shadowed must never
 * make a real record look archived, which would drop it. An untrusted segment counts as holding
 * nothing, so at worst a record is archived a second time (the verifier reports the segment);
 * the caller hears of it through `onUntrusted`. Store failures still throw.
 */
import { fromUtf8 } from '../core/encoding.js';
import { IntegrityError } from '../core/errors.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { parseTimestamp } from '../core/timestamp.js';
import { readTrustedSegment } from './trusted-segment.js';

/** A delivery as recorded in an entry. */
export type DeliveryRef = { readonly source: string; readonly id: string };

export type LookupOptions = {
  /** Keys a segment must be signed by to count (the writer's trusted set). */
  readonly trustedKeys: readonly TrustedKey[];
  /** Told about each segment that was skipped because it is not trusted. */
  readonly onUntrusted?: (seq: number, error: IntegrityError) => void;
};

/**
 * `source:id` of every entry that has a delivery id.
 * @param location for messages, e.g. `segment 7`
 * @throws IntegrityError `ENTRY_INVALID` for an entry that is not JSON or whose delivery is not
 *   `{source: string, id?: string}`
 */
export function deliveriesIn(entries: readonly Uint8Array[], location: string): DeliveryRef[] {
  const out: DeliveryRef[] = [];
  for (const [i, e] of entries.entries()) {
    // The segment is trusted, so a full decodeEntry per entry buys nothing here; the parse and the
    // shape check still turn anything unexpected into a coded error.
    let delivery: unknown;
    try {
      delivery = (JSON.parse(fromUtf8(e)) as { delivery?: unknown } | null)?.delivery;
    } catch (cause) {
      throw new IntegrityError('ENTRY_INVALID', `${location} leaf ${i}: not UTF-8 JSON`, { cause });
    }
    if (delivery === undefined) continue;
    const d = delivery as { source?: unknown; id?: unknown };
    if (
      typeof delivery !== 'object' ||
      delivery === null ||
      typeof d.source !== 'string' ||
      (d.id !== undefined && typeof d.id !== 'string')
    )
      throw new IntegrityError('ENTRY_INVALID', `${location} leaf ${i}: malformed delivery`);
    if (typeof d.id === 'string') out.push({ source: d.source, id: d.id });
  }
  return out;
}

/** The deliveries of trusted segment `seq`, or `undefined` (reported) if it is not trusted. */
async function trustedDeliveries(
  store: ObjectStore,
  log: string,
  seq: number,
  options: LookupOptions,
): Promise<{ sealedAt: number; deliveries: () => DeliveryRef[] } | undefined> {
  try {
    const t = await readTrustedSegment(store, log, seq, options.trustedKeys);
    return {
      sealedAt: parseTimestamp(t.seg.checkpoint.sealedAt),
      deliveries: () => deliveriesIn(t.entries, `segment ${seq} of ${log}`),
    };
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    options.onUntrusted?.(seq, err);
    return undefined;
  }
}

/**
 * The first segment sealed at or after `sinceMs` (binary search; `headSeq + 1` if none). An
 * untrusted segment counts as sealed late, which only moves the start earlier: more segments are
 * read, never fewer.
 */
export async function firstSegmentSince(
  store: ObjectStore,
  log: string,
  headSeq: number,
  sinceMs: number,
  options: LookupOptions,
): Promise<number> {
  let lo = 0;
  let hi = headSeq + 1;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const t = (await trustedDeliveries(store, log, mid, options))?.sealedAt;
    if (t !== undefined && t < sinceMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Which of `ids` (delivery ids of `source`) appear in trusted segments of `log` sealed since
 * `sinceMs`. Reads O(log n) segments plus every segment in the window.
 * @throws StorageError from the store; IntegrityError `ENTRY_INVALID` from a trusted segment
 */
export async function findDelivered(
  store: ObjectStore,
  log: string,
  headSeq: number,
  source: string,
  ids: ReadonlySet<string>,
  sinceMs: number,
  options: LookupOptions,
): Promise<Set<string>> {
  const found = new Set<string>();
  if (headSeq < 0 || ids.size === 0) return found;
  const first = await firstSegmentSince(store, log, headSeq, sinceMs, options);
  for (let seq = first; seq <= headSeq; seq++) {
    const t = await trustedDeliveries(store, log, seq, options);
    for (const d of t?.deliveries() ?? [])
      if (d.source === source && ids.has(d.id)) found.add(d.id);
    if (found.size === ids.size) break;
  }
  return found;
}

/**
 * Which of `ids` appear in trusted segments of `log`, scanning back from the head while
 * `more(deliveries)` says older segments may still hold them (for a Kinesis shard log: while the
 * segment's lowest sequence number is above the lowest one sought, since a shard's records arrive
 * in order). An untrusted segment is passed over as if empty.
 * @throws StorageError from the store; IntegrityError `ENTRY_INVALID` from a trusted segment
 */
export async function findDeliveredBackward(
  store: ObjectStore,
  log: string,
  headSeq: number,
  source: string,
  ids: ReadonlySet<string>,
  more: (deliveries: DeliveryRef[]) => boolean,
  options: LookupOptions & { readonly maxSegments?: number },
): Promise<Set<string>> {
  const found = new Set<string>();
  const stop = Math.max(0, headSeq - (options.maxSegments ?? 256) + 1);
  for (let seq = headSeq; seq >= stop && found.size < ids.size; seq--) {
    const t = await trustedDeliveries(store, log, seq, options);
    if (!t) continue;
    const deliveries = t.deliveries();
    for (const d of deliveries) if (d.source === source && ids.has(d.id)) found.add(d.id);
    if (!more(deliveries)) break;
  }
  return found;
}
