/**
 * Parsing events on worker threads (issue 14): ingest's per-event work, parsing, validating and
 * canonicalising each line (core/event-batch.ts), runs on a pool of threads while the main thread
 * reads, keeps the order, seals and stores. A batch's buffers move to a worker and back
 * (transferred, not copied).
 *
 * This module is also the workers' own: started with {@link EVENT_PARSE_WORKER_DATA} as its
 * `workerData`, it serves batches; imported anywhere else it only defines the pool.
 *
 * A worker starts without the event schema (zod and its compiled schemas cost ~20 MiB of RSS per
 * thread, issue 14): it validates with the accept-only fast path, which takes almost every valid
 * event. The first batch with a line the fast path cannot decide (an invalid event, whose issues
 * zod words, or a valid one near a size limit) makes the worker load the schema, parse that batch
 * again with it, and keep it. The results are the same either way (test/core/event-batch.test.ts).
 * test/app/event-parse-worker-imports.test.ts keeps zod out of this module's static imports.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { acceptOnlyEvent, type EventValidator, SchemaNeededError } from '../core/event-accept.js';
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

/**
 * Old-generation limit of a parse thread's heap (MiB). Without one, V8 let each thread's old
 * generation grow with garbage over a long ingest: 1,000,000 events peaked at 258-280 MiB RSS,
 * against 226-241 with a limit of 32-64 (docs/PERFORMANCE.md). The largest batch, 256 KiB of lines
 * plus one line of at most 512 KiB, parses in far less (test/app/ingest-pool.test.ts).
 */
export const PARSE_OLD_GENERATION_MB = 64;

/** A pool of at most `workers` event-parsing threads (started as batches arrive, or by `warm`). */
export function eventParsePool(workers: number, entry?: WorkerEntry): EventParsePool {
  return new WorkerPool<LineBatch, ParsedLines>({
    workers,
    name: 'event parse',
    url: ownUrl(),
    workerData: EVENT_PARSE_WORKER_DATA,
    entry,
    // Parsed events die young: a small young generation holds less (as for verify's workers).
    resourceLimits: {
      maxYoungGenerationSizeMb: 4,
      maxOldGenerationSizeMb: PARSE_OLD_GENERATION_MB,
    },
  });
}

/** `parseEventBatch(lines)` on the pool; `lines`' buffers move there and come back in the answer. */
export function parseOnPool(pool: EventParsePool, lines: LineBatch): Promise<ParsedLines> {
  return pool.run(lines, batchBuffers(lines));
}

/** The buffers a batch's data is in (all its own: moved between threads, freed once used). */
function batchBuffers(b: LineBatch | ParsedBatch): ArrayBuffer[] {
  const out = [b.bytes.buffer as ArrayBuffer, b.ends.buffer as ArrayBuffer];
  if ('numbers' in b) {
    out.push(b.numbers.buffer as ArrayBuffer);
    if (b.stamp) out.push(b.stamp.chains.buffer as ArrayBuffer);
    if (b.spare) out.push(b.spare.buffer as ArrayBuffer);
  } else if (b.leaves) out.push(b.leaves.buffer as ArrayBuffer);
  return out;
}

/**
 * The worker's parser of batches: accept-only until a batch needs the schema, then (loaded once,
 * with `import()`, so that it stays out of the static graph) the full `parseEvent`.
 */
export function lazySchemaParser(): (lines: LineBatch) => Promise<ParsedBatch> {
  let full: EventValidator | undefined;
  return async (lines) => {
    if (full === undefined) {
      try {
        return parseEventBatch(lines, acceptOnlyEvent);
      } catch (err) {
        if (!(err instanceof SchemaNeededError)) throw err;
      }
      full = (await import('../core/event.js')).parseEvent;
    }
    return parseEventBatch(lines, full);
  };
}

if (parentPort && workerData === EVENT_PARSE_WORKER_DATA) {
  const parse = lazySchemaParser();
  serveJobs<LineBatch, ParsedLines>(parentPort, async (lines) => {
    const parsed = await parse(lines);
    // The spare buffer, if the entries were written into it, moves back once, as theirs.
    const transfer = new Set([...batchBuffers(lines), ...batchBuffers(parsed)]);
    return { res: { lines, parsed }, transfer: [...transfer] };
  });
}
