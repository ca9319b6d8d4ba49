/**
 * A pool of worker threads that each run one module's job handler (served by {@link serveJobs}).
 * Jobs go to idle workers in the order they are given, and are answered in any order; a caller
 * that needs an order awaits the jobs in its own. Workers start as jobs arrive (never more than
 * jobs in flight) or all at once with {@link WorkerPool.warm}, hold one job each, and keep the
 * process alive only while they have work.
 *
 * A job that throws in a worker (a bug: problems of the input are results) rejects with that
 * error. A worker that dies (an uncaught error, out of memory, `process.exit`) fails the pool:
 * every job in flight or queued rejects, and so does every later one. Nothing is ever passed.
 *
 * Used by ingest (event-parse-pool.ts) and verify (verify-workers.ts).
 */
import {
  type MessagePort,
  type ResourceLimits,
  type Transferable,
  Worker,
} from 'node:worker_threads';

/**
 * Why the pool itself refused or dropped a job (a job's own error is passed on as it is):
 * `WORKER_FAILED`, a worker died or could not start (the pool stays failed); `POOL_CLOSED`,
 * the job came or was still waiting when the pool was closed.
 */
export type WorkerPoolErrorCode = 'WORKER_FAILED' | 'POOL_CLOSED';

/**
 * A failure of the pool, not of the input: not an AuditlockError, so callers that turn coded
 * errors into findings or rejects still throw it.
 */
export class WorkerPoolError extends Error {
  readonly code: WorkerPoolErrorCode;

  constructor(code: WorkerPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerPoolError';
    this.code = code;
  }
}

/** Where a worker module is, and the Node flags its threads start with. */
export type WorkerEntry = {
  /** The worker module; default: the pool's own module (see {@link WorkerPoolOptions.url}). */
  readonly url?: URL | undefined;
  /**
   * Node options for the worker threads (default: this process's). From TypeScript sources they
   * must let Node load `.ts` (e.g. `--import` a loader), as a test runner that transpiles in its
   * own process does not do it for threads.
   */
  readonly execArgv?: readonly string[] | undefined;
};

export type WorkerPoolOptions = {
  /** Most worker threads at once (at least 1). */
  readonly workers: number;
  /** What the pool's threads do, for messages, e.g. `event parse`. */
  readonly name: string;
  /** The worker module, unless `entry.url` names another. */
  readonly url: URL;
  /** The `workerData` its threads start with: the module serves jobs only in such a thread. */
  readonly workerData: string;
  readonly entry?: WorkerEntry | undefined;
  /** V8 heap limits of each thread (default: Node's). */
  readonly resourceLimits?:
    | Readonly<Pick<ResourceLimits, 'maxYoungGenerationSizeMb' | 'maxOldGenerationSizeMb'>>
    | undefined;
};

/** A request on the wire. */
type JobRequest<Req> = { readonly id: number; readonly req: Req };
/** What a worker sends: answers, and once, when its module has loaded, that it is ready. */
type JobMessage<Res> =
  | { readonly id: number; readonly res: Res }
  | { readonly id: number; readonly error: unknown }
  | { readonly ready: true };

type Job<Req, Res> = {
  readonly id: number;
  readonly req: Req;
  readonly transfer: readonly Transferable[];
  readonly resolve: (res: Res) => void;
  readonly reject: (err: unknown) => void;
};

/** A job's answer: its result and the buffers to transfer (not copy) with it. */
export type JobAnswer<Res> = { readonly res: Res; readonly transfer?: readonly Transferable[] };

/**
 * The worker side: answers every request on `port` with `handle`, whose result goes back with
 * the buffers it names transferred (not copied), then says it is ready. `handle` may answer
 * later (a promise), e.g. when a rare job needs a module loaded first: a worker holds one job at
 * a time, so answers still come one per job.
 * A handler that throws or rejects answers its job with the error.
 */
export function serveJobs<Req, Res>(
  port: MessagePort,
  handle: (req: Req) => JobAnswer<Res> | Promise<JobAnswer<Res>>,
): void {
  port.on('message', ({ id, req }: JobRequest<Req>) => {
    const fail = (error: unknown) => port.postMessage({ id, error } satisfies JobMessage<Res>);
    const send = (answer: JobAnswer<Res>) =>
      port.postMessage({ id, res: answer.res } satisfies JobMessage<Res>, [
        ...(answer.transfer ?? []),
      ]);
    let answer: JobAnswer<Res> | Promise<JobAnswer<Res>>;
    try {
      answer = handle(req);
    } catch (error) {
      fail(error);
      return;
    }
    if (answer instanceof Promise) answer.then(send, fail);
    else send(answer);
  });
  port.postMessage({ ready: true } satisfies JobMessage<Res>);
}

export class WorkerPool<Req, Res> {
  readonly #opts: WorkerPoolOptions;
  readonly #idle: Worker[] = [];
  /** Every live worker, and the job it holds. */
  readonly #running = new Map<Worker, Job<Req, Res> | undefined>();
  readonly #queue: Job<Req, Res>[] = [];
  readonly #threadIds = new WeakMap<Worker, number>();
  #nextId = 0;
  #failure: WorkerPoolError | undefined;
  #closed = false;
  /** Settled when the first worker has loaded its module (or the pool failed first). */
  #ready: Promise<void> | undefined;
  #markReady: (() => void) | undefined;
  #isReady = false;

  /** @throws RangeError if `workers` is not a positive integer */
  constructor(opts: WorkerPoolOptions) {
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
  get failure(): WorkerPoolError | undefined {
    return this.#failure;
  }

  /**
   * Starts every worker now, not as jobs arrive. Resolves when the first is ready.
   * @throws (rejects) the pool's failure (WorkerPoolError `WORKER_FAILED`) if it fails first
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
   * Runs `req` on a worker thread; the buffers in `transfer` move there (the caller must not
   * use them afterwards).
   * @throws (rejects) the worker's error for a job that threw, as it is; WorkerPoolError
   *   `WORKER_FAILED` (the pool's failure) or `POOL_CLOSED`
   */
  run(req: Req, transfer: readonly Transferable[] = []): Promise<Res> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed)
      return Promise.reject(
        new WorkerPoolError('POOL_CLOSED', `${this.#opts.name} pool is closed`),
      );
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, req, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops every worker; jobs still queued or in flight reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#markReady?.();
    this.#failAll(
      new WorkerPoolError('POOL_CLOSED', `${this.#opts.name} pool closed before the job was done`),
    );
    await Promise.all([...this.#running.keys()].map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      if (this.#idle.length === 0) this.#spawn();
      const worker = this.#idle.pop();
      if (!worker) return;
      const job = this.#queue.shift() as Job<Req, Res>;
      this.#running.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, req: job.req } satisfies JobRequest<Req>, [...job.transfer]);
    }
  }

  /** A new idle worker, or undefined when there are already as many as allowed. */
  #spawn(): Worker | undefined {
    if (this.#closed || this.#running.size >= this.#opts.workers) return undefined;
    const { entry, resourceLimits } = this.#opts;
    const worker = new Worker(entry?.url ?? this.#opts.url, {
      workerData: this.#opts.workerData,
      ...(resourceLimits ? { resourceLimits: { ...resourceLimits } } : {}),
      ...(entry?.execArgv ? { execArgv: [...entry.execArgv] } : {}),
    });
    this.#running.set(worker, undefined);
    this.#idle.push(worker);
    worker.unref();
    // Kept for messages: a thread that has exited has threadId -1.
    this.#threadIds.set(worker, worker.threadId);
    worker.on('message', (msg: JobMessage<Res>) => {
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
      // Also when idle: a worker never exits by itself while the pool is open.
      if (!this.#closed) this.#fail(worker, `exited (code ${code}) before the pool was closed`);
      this.#running.delete(worker);
    });
    return worker;
  }

  #answer(worker: Worker, msg: Exclude<JobMessage<Res>, { ready: true }>): void {
    const job = this.#running.get(worker);
    if (!job || job.id !== msg.id) {
      this.#fail(worker, `answered job ${msg.id}, which it does not hold`);
      return;
    }
    this.#running.set(worker, undefined);
    this.#idle.push(worker);
    worker.unref();
    if ('error' in msg) job.reject(msg.error);
    else job.resolve(msg.res);
    this.#dispatch();
  }

  /** A worker is broken: nothing it or the pool holds can be trusted to finish. */
  #fail(worker: Worker, what: string, cause?: unknown): void {
    if (this.#closed) return;
    const id = this.#threadIds.get(worker);
    this.#failure ??= new WorkerPoolError(
      'WORKER_FAILED',
      `${this.#opts.name} worker thread ${id} ${what}`,
      { cause },
    );
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

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
