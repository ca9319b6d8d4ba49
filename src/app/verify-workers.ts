/**
 * A pool of worker threads that check segments (core/segment-check.ts) for verifyStore, so a
 * store is verified on every core: distinct segments are independent (each carries the frontier
 * before it), and what depends on the order of a log stays with the LogVerifier on the calling
 * thread. A WorkerPool (worker-pool.ts: job order, start-up, readiness and failures are its)
 * running verify-worker.ts, with the limits and the byte handling that segment checks need.
 */
import { availableParallelism } from 'node:os';
import {
  type CheckedSegment,
  type CheckJobOptions,
  type CheckRequest,
  VERIFY_WORKER_DATA,
} from './verify-worker.js';
import { type WorkerEntry, WorkerPool } from './worker-pool.js';

export type { CheckedSegment, CheckJobOptions } from './verify-worker.js';
export type { WorkerEntry } from './worker-pool.js';

export type SegmentCheckPoolOptions = {
  /** Most worker threads at once (at least 1). */
  readonly workers: number;
  /**
   * The worker module (default: verify-worker beside this module, `.js` in the built tree, `.ts`
   * when this module itself runs from TypeScript sources) and its threads' Node flags.
   */
  readonly entry?: WorkerEntry | undefined;
};

/**
 * Old-generation limit of a worker thread's heap (MiB): the loaded core takes about 10 MiB, the
 * rest leaves room for the largest entry's JSON.parse and schema check many times over.
 */
export const OLD_GENERATION_MB = 64;

/**
 * Worker threads to start for `workers` asked for: no more than the cores Node may use
 * (`os.availableParallelism()`), since segment checks are CPU work and each further thread
 * only adds its heap and a segment in flight (about 19 MiB each at 1,000,000 events;
 * docs/PERFORMANCE.md, verify-workers). 1 means: check on the calling thread.
 */
export function workerThreads(workers: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(workers, cores));
}

/** The worker module beside this one (see {@link SegmentCheckPoolOptions.entry}). */
export function defaultWorkerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./verify-worker.${ext}`, import.meta.url);
}

/** Segment checks on worker threads: a WorkerPool of verify-worker.ts, jobs given by `check`. */
export class SegmentCheckPool extends WorkerPool<CheckRequest, CheckedSegment> {
  /** @throws RangeError if `workers` is not a positive integer */
  constructor(opts: SegmentCheckPoolOptions) {
    super({
      workers: opts.workers,
      name: 'segment check',
      url: defaultWorkerUrl(),
      workerData: VERIFY_WORKER_DATA,
      entry: opts.entry,
      // Entries, views and hashes die young: a small young generation is collected more often
      // and holds less (measured on 200,000 events: about 10 MiB less peak RSS per worker, no
      // CPU cost seen above the noise of a loaded machine; docs/PERFORMANCE.md).
      // A worker holds one segment's parse and entry checks, never more than a few MiB of heap
      // (an entry is at most MAX_ENTRY_BYTES, a header 64 KiB); without a limit V8 let each
      // worker's heap grow to 17-37 MiB before collecting (1,000,000 events, 8 workers: 394 ->
      // 346 MiB peak RSS with 32 MiB; docs/PERFORMANCE.md).
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: OLD_GENERATION_MB },
    });
  }

  /**
   * `checkSegment(bytes, opts)` on a worker thread (with `opts.strictEntries`, the full schema
   * check of entry.ts's `decodeEntry`, which the worker loads). `bytes` are moved there and back with their
   * buffer (transferred, not copied) when it is {@link detachable}, else copied; use the
   * returned bytes afterwards.
   * @throws (rejects) the worker's error for a job that threw, as it is; WorkerPoolError
   *   `WORKER_FAILED` (the pool's failure) or `POOL_CLOSED`
   */
  check(bytes: Uint8Array, opts: CheckJobOptions): Promise<CheckedSegment> {
    const own = owned(bytes);
    return this.run({ bytes: own, opts: checkOptions(opts) }, [own.buffer as ArrayBuffer]);
  }
}

/** Only what checkSegment reads: a caller's options object may hold functions (not clonable). */
function checkOptions(opts: CheckJobOptions): CheckJobOptions {
  return { trustedKeys: opts.trustedKeys, strictEntries: opts.strictEntries };
}

/**
 * Whether the memory under `bytes` may be detached (transferred, or freed early) with them. A
 * store's caller owns the bytes it returns (ports.ts), in a buffer of their own that may be a
 * little larger (a folder store reads one byte more than the size, to see a file that grew);
 * only small ones may come from Buffer's shared pool (allocations under 4 KiB), so a view is
 * detachable when it starts its buffer and is larger than 64 KiB, or when it is the whole buffer.
 */
export function detachable(bytes: Uint8Array): boolean {
  const buf = bytes.buffer;
  return (
    buf instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    (bytes.byteLength === buf.byteLength || bytes.byteLength > 64 * 1024)
  );
}

/** `bytes`, or a copy of them in a buffer of its own when theirs cannot be transferred. */
function owned(bytes: Uint8Array): Uint8Array {
  // A copy: Buffer#slice would be a view of the same memory.
  return detachable(bytes) ? bytes : new Uint8Array(bytes);
}
