/**
 * Recognising redelivered input from the log itself, with no other state: every entry records the
 * transport's record id (`delivery.id`), so a record that may have been delivered before (an SQS
 * message received a second time) is looked up in the segments sealed since a lookback time.
 * Segments are in seal-time order, so the first one to read is found in O(log n) reads.
 */
import { fromUtf8 } from '../core/encoding.js';
import { parseTimestamp } from '../core/entry.js';
import { segmentKey } from '../core/layout.js';
import type { ObjectStore } from '../core/ports.js';
import { parseSegment, segmentEntries } from '../core/segment.js';

/** `source:id` of every entry of a stored segment that has a delivery. */
export function deliveriesIn(bytes: Uint8Array): { source: string; id: string }[] {
  const seg = parseSegment(bytes);
  const out: { source: string; id: string }[] = [];
  for (const e of segmentEntries(seg)) {
    const d = (JSON.parse(fromUtf8(e)) as { delivery?: { source: string; id?: string } }).delivery;
    if (d?.id !== undefined) out.push({ source: d.source, id: d.id });
  }
  return out;
}

async function sealedAt(store: ObjectStore, log: string, seq: number): Promise<number | undefined> {
  const bytes = await store.get(segmentKey(log, seq));
  return bytes ? parseTimestamp(parseSegment(bytes).checkpoint.sealedAt) : undefined;
}

/** The first segment sealed at or after `sinceMs` (binary search; `headSeq + 1` if none). */
export async function firstSegmentSince(
  store: ObjectStore,
  log: string,
  headSeq: number,
  sinceMs: number,
): Promise<number> {
  let lo = 0;
  let hi = headSeq + 1;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const t = await sealedAt(store, log, mid);
    if (t !== undefined && t < sinceMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Which of `ids` (delivery ids of `source`) appear in segments of `log` sealed since `sinceMs`.
 * Reads O(log n) segment heads plus every segment in the window.
 */
export async function findDelivered(
  store: ObjectStore,
  log: string,
  headSeq: number,
  source: string,
  ids: ReadonlySet<string>,
  sinceMs: number,
): Promise<Set<string>> {
  const found = new Set<string>();
  if (headSeq < 0 || ids.size === 0) return found;
  for (let seq = await firstSegmentSince(store, log, headSeq, sinceMs); seq <= headSeq; seq++) {
    const bytes = await store.get(segmentKey(log, seq));
    if (!bytes) continue;
    for (const d of deliveriesIn(bytes)) if (d.source === source && ids.has(d.id)) found.add(d.id);
    if (found.size === ids.size) break;
  }
  return found;
}

/**
 * Which of `ids` appear in `log`, scanning back from the head while `more(deliveries)` says older
 * segments may still hold them (for a Kinesis shard log: while the segment's lowest sequence number
 * is above the lowest one sought, since a shard's records arrive in order).
 */
export async function findDeliveredBackward(
  store: ObjectStore,
  log: string,
  headSeq: number,
  source: string,
  ids: ReadonlySet<string>,
  more: (deliveries: { source: string; id: string }[]) => boolean,
  maxSegments = 256,
): Promise<Set<string>> {
  const found = new Set<string>();
  const stop = Math.max(0, headSeq - maxSegments + 1);
  for (let seq = headSeq; seq >= stop && found.size < ids.size; seq--) {
    const bytes = await store.get(segmentKey(log, seq));
    if (!bytes) continue;
    const deliveries = deliveriesIn(bytes);
    for (const d of deliveries) if (d.source === source && ids.has(d.id)) found.add(d.id);
    if (!more(deliveries)) break;
  }
  return found;
}
