/**
 * Parsing events on worker threads (issue 14): ingest's per-event work, parsing, validating and
 * canonicalising each line (core/event-batch.ts), runs on a pool of threads while the main thread
 * reads, keeps the order, seals and stores. A batch's buffers move to a worker and back
 * (transferred, not copied).
 *
 * This module is also the workers' own: started with {@link EVENT_PARSE_WORKER_DATA} as its
 * `workerData`, it serves batches; imported anywhere else it only defines the pool.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type LineBatch, type ParsedBatch, parseEventBatch } from '../core/event-batch.js';
import { serveJobs, type WorkerEntry, WorkerPool } from './worker-pool.js';

/** The `workerData` of the pool's threads (a test runner's thread that imports this does nothing). */
export const EVENT_PARSE_WORKER_DATA = 'auditlock-event-parse-worker';

/** A parsed batch, with the lines it came from (moved back, for rejects and quarantine). */
export type ParsedLines = { readonly lines: LineBatch; readonly parsed: ParsedBatch };

export type EventParsePool = WorkerPool<LineBatch, ParsedLines>;

/** This module, `.js` in the built tree, `.ts` when it runs from TypeScript sources. */
function ownUrl(): URL {
  return new URL(import.meta.url);
}

/** A pool of at most `workers` event-parsing threads (started as batches arrive, or by `warm`). */
export function eventParsePool(workers: number, entry?: WorkerEntry): EventParsePool {
  return new WorkerPool<LineBatch, ParsedLines>({
    workers,
    name: 'event parse',
    url: ownUrl(),
    workerData: EVENT_PARSE_WORKER_DATA,
    entry,
    // Parsed events die young: a small young generation holds less (as for verify's workers).
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
}

/** `parseEventBatch(lines)` on the pool; `lines`' buffers move there and come back in the answer. */
export function parseOnPool(pool: EventParsePool, lines: LineBatch): Promise<ParsedLines> {
  return pool.run(lines, buffersOf(lines));
}

function buffersOf(b: LineBatch | ParsedBatch): ArrayBuffer[] {
  const out = [b.bytes.buffer as ArrayBuffer, b.ends.buffer as ArrayBuffer];
  if ('numbers' in b) {
    out.push(b.numbers.buffer as ArrayBuffer);
    if (b.stamp) out.push(b.stamp.chains.buffer as ArrayBuffer);
  } else if (b.leaves) out.push(b.leaves.buffer as ArrayBuffer);
  return out;
}

if (parentPort && workerData === EVENT_PARSE_WORKER_DATA) {
  serveJobs<LineBatch, ParsedLines>(parentPort, (lines) => {
    const parsed = parseEventBatch(lines);
    return { res: { lines, parsed }, transfer: [...buffersOf(lines), ...buffersOf(parsed)] };
  });
}
