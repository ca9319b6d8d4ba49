/**
 * A pool of worker threads that check segments (core/segment-check.ts) for verifyStore, so a
 * store is verified on every core: distinct segments are independent (each carries the frontier
 * before it), and what depends on the order of a log stays with the LogVerifier on the calling
 * thread. Jobs are answered in any order; the caller awaits them in its own. Workers start as
 * jobs arrive (never more than jobs in flight), hold one job each, and keep the process alive
 * only while they have work.
 *
 * A job that throws in a worker (a bug: problems of the bytes are results) rejects with that
 * error. A worker that dies (an uncaught error, out of memory, `process.exit`) fails the pool:
 * every job in flight or queued rejects, and so does every later one. Nothing is ever passed.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SegmentCheck, SegmentCheckOptions } from '../core/segment-check.js';
import {
  type CheckRequest,
  type CheckResponse,
  VERIFY_WORKER_DATA,
  type WorkerMessage,
} from './verify-worker.js';

/** Where the worker module is, and the Node flags its threads start with. */
export type WorkerEntry = {
  /**
   * The worker module. Default: verify-worker beside this module, `.js` in the built tree, `.ts`
   * when this module itself runs from TypeScript sources.
   */
  readonly url?: URL | undefined;
  /**
   * Node options for the worker threads (default: this process's). From TypeScript sources they
   * must let Node load `.ts` (e.g. `--import` a loader), as a test runner that transpiles in its
   * own process does not do it for threads.
   */
  readonly execArgv?: readonly string[] | undefined;
};

export type SegmentCheckPoolOptions = {
  /** Most worker threads at once (at least 1). */
  readonly workers: number;
  readonly entry?: WorkerEntry | undefined;
};

/** A checked segment: the bytes back (moved to the worker and back) and the result. */
export type CheckedSegment = {
  readonly bytes: Uint8Array;
  readonly check: SegmentCheck | undefined;
};

type Job = {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly opts: SegmentCheckOptions;
  readonly resolve: (c: CheckedSegment) => void;
  readonly reject: (err: unknown) => void;
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

/** The worker module beside this one (see {@link WorkerEntry.url}). */
export function defaultWorkerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./verify-worker.${ext}`, import.meta.url);
}

export class SegmentCheckPool {
  readonly #opts: SegmentCheckPoolOptions;
  readonly #idle: Worker[] = [];
  /** Every live worker, and the job it holds. */
  readonly #running = new Map<Worker, Job | undefined>();
  readonly #queue: Job[] = [];
  readonly #threadIds = new WeakMap<Worker, number>();
  #nextId = 0;
  #failure: Error | undefined;
  #closed = false;
  /** Settled when the first worker has loaded its module (or the pool failed first). */
  #ready: Promise<void> | undefined;
  #markReady: (() => void) | undefined;
  #isReady = false;

  /** @throws RangeError if `workers` is not a positive integer */
  constructor(opts: SegmentCheckPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new RangeError(`workers must be a positive integer, got ${opts.workers}`);
    this.#opts = opts;
  }

  /** Most worker threads at once. */
  get size(): number {
    return this.#opts.workers;
  }

  /** True once a worker has loaded its module and can take jobs without a start-up wait. */
  get ready(): boolean {
    return this.#isReady;
  }

  /** Why the pool failed (a worker died or could not start), if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Starts every worker now, not as jobs arrive. Resolves when the first is ready.
   * @throws (rejects) the pool's failure if it fails first
   */
  warm(): Promise<void> {
    if (!this.#ready) {
      this.#ready = new Promise<void>((resolve) => {
        this.#markReady = resolve;
      });
      while (this.#spawn());
    }
    if (this.#failure) return Promise.reject(this.#failure);
    return this.#ready.then(() => {
      if (!this.#isReady) throw this.#failure;
    });
  }

  /**
   * `checkSegment(bytes, opts)` on a worker thread. `bytes` are moved there and back with their
   * buffer (transferred, not copied) when it is {@link detachable}, else copied; use the
   * returned bytes afterwards.
   * @throws (rejects) the worker's error for a job that threw, or the pool's failure
   */
  check(bytes: Uint8Array, opts: SegmentCheckOptions): Promise<CheckedSegment> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new Error('segment check pool is closed'));
    return new Promise<CheckedSegment>((resolve, reject) => {
      const job = { id: this.#nextId++, bytes: owned(bytes), opts: checkOptions(opts) };
      this.#queue.push({ ...job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops every worker; jobs still queued or in flight reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#markReady?.();
    this.#failAll(new Error('segment check pool closed before the job was done'));
    await Promise.all([...this.#running.keys()].map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      if (this.#idle.length === 0) this.#spawn();
      const worker = this.#idle.pop();
      if (!worker) return;
      const job = this.#queue.shift() as Job;
      this.#running.set(worker, job);
      worker.ref();
      const req: CheckRequest = { id: job.id, bytes: job.bytes, opts: job.opts };
      worker.postMessage(req, [job.bytes.buffer as ArrayBuffer]);
    }
  }

  /** A new idle worker, or undefined when there are already as many as allowed. */
  #spawn(): Worker | undefined {
    if (this.#closed || this.#running.size >= this.#opts.workers) return undefined;
    const entry = this.#opts.entry;
    const worker = new Worker(entry?.url ?? defaultWorkerUrl(), {
      // Entries, views and hashes die young: a small young generation is collected more often
      // and holds less (measured on 200,000 events: about 10 MiB less peak RSS per worker, no
      // CPU cost seen above the noise of a loaded machine; docs/PERFORMANCE.md).
      // A worker holds one segment's parse and entry checks, never more than a few MiB of heap
      // (an entry is at most MAX_ENTRY_BYTES, a header 64 KiB); without a limit V8 let each
      // worker's heap grow to 17-37 MiB before collecting (1,000,000 events, 8 workers: 394 ->
      // 346 MiB peak RSS with 32 MiB; docs/PERFORMANCE.md).
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: OLD_GENERATION_MB },
      workerData: VERIFY_WORKER_DATA,
      ...(entry?.execArgv ? { execArgv: [...entry.execArgv] } : {}),
    });
    this.#running.set(worker, undefined);
    this.#idle.push(worker);
    worker.unref();
    // Kept for messages: a thread that has exited has threadId -1.
    this.#threadIds.set(worker, worker.threadId);
    worker.on('message', (msg: WorkerMessage) => {
      if ('ready' in msg) {
        this.#isReady = true;
        this.#markReady?.();
      } else this.#answer(worker, msg);
    });
    worker.on('error', (err) => this.#fail(worker, `failed: ${describe(err)}`, err));
    worker.on('messageerror', (err) =>
      this.#fail(worker, `sent a message that cannot be read: ${describe(err)}`, err),
    );
    worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(worker, `exited (code ${code}) while checking segments`);
      this.#running.delete(worker);
    });
    return worker;
  }

  #answer(worker: Worker, res: CheckResponse): void {
    const job = this.#running.get(worker);
    if (!job || job.id !== res.id) {
      this.#fail(worker, `answered job ${res.id}, which it does not hold`);
      return;
    }
    this.#running.set(worker, undefined);
    this.#idle.push(worker);
    worker.unref();
    if ('error' in res) job.reject(res.error);
    else job.resolve({ bytes: res.bytes, check: res.check });
    this.#dispatch();
  }

  /** A worker is broken: nothing it or the pool holds can be trusted to finish. */
  #fail(worker: Worker, what: string, cause?: unknown): void {
    if (this.#closed) return;
    const id = this.#threadIds.get(worker);
    this.#failure ??= new Error(`segment check worker thread ${id} ${what}`, { cause });
    this.#closed = true;
    this.#failAll(this.#failure);
    this.#markReady?.();
    for (const w of this.#running.keys()) void w.terminate();
  }

  #failAll(err: Error): void {
    for (const job of this.#queue.splice(0)) job.reject(err);
    for (const [w, job] of this.#running) {
      this.#running.set(w, undefined);
      job?.reject(err);
    }
  }
}

/** Only what checkSegment reads: a caller's options object may hold functions (not clonable). */
function checkOptions(opts: SegmentCheckOptions): SegmentCheckOptions {
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

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
