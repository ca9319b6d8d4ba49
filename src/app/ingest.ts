/**
 * Ingesting JSON Lines: read the input as bytes, validate each line, archive the valid ones,
 * report every invalid one with its line number (and, optionally, archive it as a quarantined
 * entry so nothing is lost).
 *
 * Exactly once across crashes: each entry's delivery id records the input's name, the line number
 * and the input chain through that line (src/core/input-delivery.ts). Given the resume point found
 * in the log (src/app/resume.ts), the lines through it are read and hashed but not archived
 * again, and the chain at that line must equal the recorded one, else nothing is written
 * (`INPUT_MISMATCH`).
 *
 * Lines are parsed in batches (core/event-batch.ts), on worker threads when a pool is given
 * (event-parse-pool.ts), and their results are archived in line order: the log's order is the
 * input's, whichever thread parsed what.
 */
import { checkDelivery } from '../core/delivery.js';
import { fromUtf8 } from '../core/encoding.js';
import type { Delivery } from '../core/entry.js';
import { AuditlockError, ConfigurationError, InputError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import {
  type EntryStamp,
  type LineBatch,
  lineAt,
  parsedBatchSize,
  rejectError,
} from '../core/event-batch.js';
import { bytesEqual, HASH_SIZE } from '../core/hash.js';
import {
  formatInputDeliveryId,
  INPUT_CHAIN_START,
  INPUT_DELIVERY_SOURCE,
  nextInputChain,
} from '../core/input-delivery.js';
import type { Archiver, PreparedEntries, Receipt } from './archiver.js';
import { BufferPool } from './buffer-pool.js';
import { readByteLines } from './byte-lines.js';
import {
  type EventParsePool,
  lazySchemaParser,
  type ParsedLines,
  parseOnPool,
} from './event-parse-pool.js';
import { freeNow } from './free-buffers.js';
import type { ResumePoint } from './resume.js';
import type { SealingSubmit } from './seal-submit.js';

export type IngestOptions = {
  readonly archiver: Archiver;
  /** The input's bytes, in chunks (a file or stdin stream). */
  readonly input: AsyncIterable<Uint8Array | string>;
  /**
   * Name recorded in delivery ids (inputNameOf), e.g. `events.jsonl` or `stdin`; one no delivery
   * id may hold is refused before anything is read (InputError `DELIVERY_INVALID`).
   */
  readonly inputName: string;
  /** Continue after this point (found by findResumePoint); lines through it are checked only. */
  readonly resume?: ResumePoint | undefined;
  /** Archive invalid lines as quarantined entries (besides reporting them). */
  readonly quarantine?: boolean;
  /**
   * Seals each event's personal fields before it is enqueued (src/app/seal-submit.ts). An event
   * it refuses (InputError: no subject id) is rejected like an invalid line. Excludes
   * `quarantine`: a quarantined line keeps its raw bytes, which would be plaintext.
   */
  readonly seal?: SealingSubmit | undefined;
  /**
   * Threads that parse the lines (the caller closes the pool). Its workers start once the input
   * fills a whole batch, so a short input never waits for them; until one is ready, batches are
   * parsed on this thread. Without a pool every line is parsed on this thread.
   */
  readonly parsePool?: EventParsePool | undefined;
  /** Every invalid line, as soon as it is read; `raw` is the line's content bytes. */
  readonly onReject?: (reject: { line: number; error: InputError; raw: Uint8Array }) => void;
  /** Stops reading (e.g. on SIGTERM); what was read is still stored. */
  readonly signal?: AbortSignal;
};

export type IngestResult = {
  readonly lines: number;
  /** Lines skipped because the log already held them (resume). */
  readonly skipped: number;
  readonly archived: number;
  readonly rejected: number;
  readonly quarantined: number;
  readonly lastReceipt: Receipt | undefined;
  /** True if `signal` stopped the reading before the end of the input. */
  readonly interrupted: boolean;
};

/** Lines per batch at most, and content bytes after which a batch is full. */
export const BATCH_LINES = 256;
export const BATCH_BYTES = 256 * 1024;

/**
 * Spare entry buffers kept at most: as many as the archiver holds at 4,096 events per segment
 * (two segments' batches) and the batches in flight, so that a steady run allocates none.
 */
const ENTRY_BUFFERS_KEPT = 48;

/** JSON whitespace other than LF (RFC 8259 §2): a line of only these is blank and skipped. */
function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/** Lines gathered for one batch: their content copied into one buffer of the batch's own. */
class BatchBuilder {
  readonly #pool: BufferPool;
  #bytes: Uint8Array;
  #at = 0;
  #ends: number[] = [];
  #numbers: number[] = [];
  #chains = new Uint8Array(HASH_SIZE * BATCH_LINES);

  /** Takes the buffers of its batches from `pool` (they may be given back once a batch is done). */
  constructor(pool: BufferPool) {
    this.#pool = pool;
    this.#bytes = pool.take(BATCH_BYTES);
  }

  get size(): number {
    return this.#ends.length;
  }

  get full(): boolean {
    return this.#ends.length >= BATCH_LINES || this.#at >= BATCH_BYTES;
  }

  /** Line `number`'s content and its input chain H_n. */
  add(number: number, content: Uint8Array, chain: Uint8Array): void {
    if (this.#at + content.length > this.#bytes.length) {
      const grown = new Uint8Array(this.#at + content.length);
      grown.set(this.#bytes.subarray(0, this.#at));
      this.#bytes = grown;
    }
    this.#bytes.set(content, this.#at);
    this.#at += content.length;
    const n = this.#ends.length;
    if (HASH_SIZE * (n + 1) > this.#chains.length) {
      const grown = new Uint8Array(2 * this.#chains.length);
      grown.set(this.#chains);
      this.#chains = grown;
    }
    this.#chains.set(chain, HASH_SIZE * n);
    this.#ends.push(this.#at);
    this.#numbers.push(number);
  }

  /**
   * The batch so far (its buffers are its own: they may be moved to a worker), and a new one.
   * `stamp` without its chains: given, the batch carries the lines' chains in it, to make entries.
   */
  take(stamp?: Omit<EntryStamp, 'chains'>): { lines: LineBatch; chains: Uint8Array } {
    const chains = this.#chains.slice(0, HASH_SIZE * this.#ends.length);
    const lines: LineBatch = {
      bytes: this.#bytes.subarray(0, this.#at),
      ends: Uint32Array.from(this.#ends),
      numbers: Float64Array.from(this.#numbers),
      stamp: stamp && { ...stamp, chains },
    };
    this.#bytes = this.#pool.take(BATCH_BYTES);
    this.#at = 0;
    this.#ends = [];
    this.#numbers = [];
    return { lines, chains };
  }
}

/**
 * Refuses an input name that some delivery id of the input could not hold (FORMAT.md §3): the
 * id of the largest line number is the longest. Checked once here, on the thread that stamps
 * batches, rather than for each entry on the parse threads.
 * @throws InputError `DELIVERY_INVALID`
 */
export function checkInputName(inputName: string): void {
  const id = formatInputDeliveryId(inputName, Number.MAX_SAFE_INTEGER, INPUT_CHAIN_START);
  checkDelivery({ source: INPUT_DELIVERY_SOURCE, id });
}

/**
 * Reads and archives every line. Resolves after everything accepted is stored.
 * @throws ConfigurationError `INPUT_MISMATCH` (before anything is written); InputError
 *   `DELIVERY_INVALID` (before anything is read, see {@link checkInputName}),
 *   `INPUT_LINE_TOO_LONG`; whatever the input, the parse pool or the archiver throws.
 */
export async function ingestJsonLines(opts: IngestOptions): Promise<IngestResult> {
  const { archiver, resume, parsePool: pool } = opts;
  if (opts.seal && opts.quarantine)
    throw new ConfigurationError(
      'SEAL_QUARANTINE_CONFLICT',
      'quarantine keeps rejected input as it was read, personal fields in clear: it cannot be combined with sealing',
    );
  checkInputName(opts.inputName);
  let lines = 0;
  let archived = 0;
  let rejected = 0;
  let quarantined = 0;
  let lastReceipt: Receipt | undefined;
  let failure: unknown;
  let chain = INPUT_CHAIN_START;
  // One pair of handlers for every entry's promise, not two new closures per entry.
  const onStored = (r: Receipt) => {
    if (!lastReceipt || r.index > lastReceipt.index) lastReceipt = r;
  };
  const onFailed = (err: unknown) => {
    failure ??= err;
  };
  const track = (stored: Promise<Receipt>) => {
    stored.then(onStored, onFailed);
  };

  /**
   * Archives one parsed batch in line order; stops at the first failure. `kept` is the batch's
   * chains as taken (a stamped batch's went to the pool and came back in `batch`). A stamped
   * batch's entries are submitted as runs, each run of events between two rejected lines at once.
   * Its large buffers go back to their pools (the small ones are freed, freeNow) as soon as nothing
   * holds them: the lines' once the batch is archived (unless a reject's `raw` was handed out),
   * the entries' once the archiver has released every run.
   */
  const archiveBatch = async ({ lines: batch, parsed }: ParsedLines, kept: Uint8Array) => {
    const chains = batch.stamp?.chains ?? kept;
    const receivedAt = batch.stamp?.receivedAt;
    const deliveryOf = (i: number): Delivery => ({
      source: INPUT_DELIVERY_SOURCE,
      id: formatInputDeliveryId(
        opts.inputName,
        batch.numbers[i] as number,
        chains.subarray(HASH_SIZE * i, HASH_SIZE * (i + 1)),
      ),
    });
    // Without sealing every batch is stamped: its events are whole entries, with their leaf hashes.
    const prepared: PreparedEntries | undefined =
      receivedAt !== undefined && parsed.leaves
        ? { bytes: parsed.bytes, ends: parsed.ends, leaves: parsed.leaves }
        : undefined;
    let runStart = 0;
    const held: Promise<void>[] = [];
    /** Submits the events of lines `runStart` to `end` (exclusive) of a stamped batch. */
    const submitRun = async (end: number) => {
      if (!prepared || receivedAt === undefined || end <= runStart || failure !== undefined) return;
      const submitted = await archiver.submitPrepared(prepared, receivedAt, runStart, end);
      archived += end - runStart;
      track(submitted.stored);
      held.push(submitted.released);
    };
    let nextReject = 0;
    for (let i = 0; i < batch.ends.length && failure === undefined; i++) {
      const number = batch.numbers[i] as number;
      const reject = parsed.rejects[nextReject];
      if (reject?.index === i) {
        nextReject++;
        await submitRun(i);
        runStart = i + 1;
        const error = rejectError(reject);
        const content = lineAt(batch, i);
        rejected++;
        opts.onReject?.({ line: number, error, raw: content });
        if (opts.quarantine && failure === undefined) {
          quarantined++;
          const q = await archiver.submitQuarantine(content, error, deliveryOf(i), receivedAt);
          track(q.stored);
        }
        continue;
      }
      if (prepared) continue; // submitted with its run
      // dispatch leaves a batch unstamped only when sealing, which makes the entries here.
      if (!opts.seal) throw new Error('bug: an unstamped batch without sealing');
      try {
        track((await opts.seal(eventOf(lineAt(parsed, i)), deliveryOf(i))).stored);
        archived++;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        rejected++;
        opts.onReject?.({ line: number, error: err, raw: lineAt(batch, i) });
      }
    }
    await submitRun(batch.ends.length);
    if (!prepared) return;
    if (parsed.rejects.length === 0) {
      linePool.give(batch.bytes.buffer);
      const small = [batch.ends, batch.numbers, kept, ...(batch.stamp ? [batch.stamp.chains] : [])];
      freeNow(small.map((a) => a.buffer));
    }
    const spare = batch.spare?.buffer;
    void Promise.all(held).then(() => {
      entryPool.give(parsed.bytes.buffer);
      if (spare !== undefined && spare !== parsed.bytes.buffer) entryPool.give(spare);
      freeNow([parsed.ends.buffer, ...(parsed.leaves ? [parsed.leaves.buffer] : [])]);
    });
  };

  // Batches are parsed as they fill (on the pool, or here until a worker is ready) and archived
  // one after another in this chain, while reading goes on; at most `maxInFlight` at a time.
  let archiving: Promise<void> = Promise.resolve();
  let inFlight = 0;
  const maxInFlight = pool ? 2 * pool.size + 1 : 1;
  let slotFree: (() => void) | undefined;
  // Buffers for the batches' lines and for the entries made of them, reused from batch to batch.
  const linePool = new BufferPool(BATCH_BYTES, 2 * maxInFlight + 2);
  const entryPool = new BufferPool(BATCH_BYTES, ENTRY_BUFFERS_KEPT);
  const builder = new BatchBuilder(linePool);
  // Batches parsed on this thread (until a worker is ready, or all without a pool).
  const parseHere = lazySchemaParser();
  const dispatch = () => {
    if (builder.size === 0) return;
    // The workers start with the first full batch (a pool that fails reports it on its jobs).
    if (pool && !pool.ready && builder.full) void pool.warm().catch(() => undefined);
    // Entries are made where the lines are parsed, stamped with the time they were read; sealing
    // needs the events themselves, so they are made here from those.
    const taken = builder.take(
      opts.seal ? undefined : { receivedAt: archiver.nextReceivedAt(), inputName: opts.inputName },
    );
    const { chains } = taken;
    // A stamped batch's entries are written into a reused buffer (sealing makes its own).
    const batch: LineBatch = taken.lines.stamp
      ? { ...taken.lines, spare: entryPool.take(parsedBatchSize(taken.lines)) }
      : taken.lines;
    const parsed: Promise<ParsedLines> | ParsedLines =
      pool?.ready === true
        ? parseOnPool(pool, batch)
        : parseHere(batch).then((parsed) => ({ lines: batch, parsed }));
    // A rejected pool job is a failure like any other; the chain itself never rejects.
    if (parsed instanceof Promise) parsed.catch(() => undefined);
    inFlight++;
    archiving = archiving
      .then(async () => {
        if (failure === undefined) await archiveBatch(await parsed, chains);
      })
      .catch((err) => {
        failure ??= err;
      })
      .then(() => {
        inFlight--;
        slotFree?.();
      });
  };

  let interrupted = Boolean(opts.signal?.aborted);
  try {
    for await (const { number, raw, content, endOfChunk } of interrupted
      ? []
      : readByteLines(opts.input)) {
      lines = number;
      chain = nextInputChain(chain, raw);
      if (resume && number <= resume.line) {
        if (number === resume.line && !bytesEqual(chain, resume.chain))
          throw mismatch(opts, resume);
        continue;
      }
      if (failure !== undefined || opts.signal?.aborted) break;
      if (!isBlank(content)) builder.add(number, content, chain);
      if (builder.full || endOfChunk) dispatch();
      while (inFlight >= maxInFlight) {
        await new Promise<void>((r) => {
          slotFree = r;
        });
        slotFree = undefined;
      }
    }
  } catch (err) {
    // A stream destroyed by the abort signal ends its iteration with an AbortError.
    if (!opts.signal?.aborted || err instanceof AuditlockError) {
      // The lines before the one that failed (e.g. a line too long) are archived, as on a stop.
      dispatch();
      await archiving;
      throw err;
    }
  }
  // What was read is archived, also when the reading was stopped.
  dispatch();
  await archiving;
  if (opts.signal?.aborted) interrupted = true;
  if (resume && lines < resume.line && !interrupted) throw mismatch(opts, resume, lines);
  await archiver.flush();
  if (failure) throw failure;
  const skipped = resume ? Math.min(lines, resume.line) : 0;
  return { lines, skipped, archived, rejected, quarantined, lastReceipt, interrupted };
}

/**
 * The event whose canonical bytes these are, for sealing: canonical JSON of a valid event parses
 * back to an equal event (exact numbers, no duplicate members), which sealing canonicalises again.
 */
function eventOf(bytes: Uint8Array): AuditEvent {
  return JSON.parse(fromUtf8(bytes)) as AuditEvent;
}

function mismatch(opts: IngestOptions, resume: ResumePoint, endedAt?: number): ConfigurationError {
  const held = `the log holds lines 1-${resume.line} of an input named ${JSON.stringify(opts.inputName)} (through segment ${resume.seq})`;
  return new ConfigurationError(
    'INPUT_MISMATCH',
    endedAt === undefined
      ? `${held}, but this input's bytes through line ${resume.line} differ from them; refusing to mix two inputs (give another --input-name for a different input)`
      : `${held}, but this input ends at line ${endedAt}; refusing to mix two inputs (give another --input-name for a different input)`,
  );
}
