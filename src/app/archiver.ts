/**
 * The archiver: gathers entries into segments and stores them write-once.
 *
 * - `append` resolves only after the segment holding the entry is durably stored, and rejects if
 *   it could not be; an entry is never reported stored when it is not.
 * - Segments are sealed when `maxEvents` or `maxBytes` is reached, `maxAgeMs` after the oldest
 *   buffered entry arrived, on `flush()` and on `close()`.
 * - Memory is bounded: once `maxBufferedBytes` are waiting, or a full segment waits behind the one
 *   being stored, `append` waits for room (backpressure).
 * - Exactly one segment per sequence number: a writer that loses the put-if-absent race rereads
 *   the head (O(log n) probes) and reseals its entries after the winner's.
 * - A put whose outcome is unknown (transient error) is retried with the *same bytes*, so if the
 *   first attempt landed the retry sees `identical` instead of sealing the entries twice.
 * - It only extends a head it has verified (head.ts loadHead), on open and after every lost race:
 *   signed by a trusted key (its own signing key, plus `trustedKeys`), so nobody who can merely
 *   write to the store can make it sign a tree holding their entries.
 */
import type { BodyEncoding } from '../core/body-codec.js';
import { assertOrigin } from '../core/checkpoint.js';
import { fromUtf8 } from '../core/encoding.js';
import type { Delivery, Entry } from '../core/entry.js';
import { encodeEntry, makeEventEntry, makeQuarantineEntry } from '../core/entry-encode.js';
import { AuditlockError, hasCode, IntegrityError, StorageError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import { joinItems, lineAt, sizeAt } from '../core/event-batch.js';
import { bytesEqual } from '../core/hash.js';
import { assertLogName, segmentKey } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import type { Clock, ObjectStore, Signer } from '../core/ports.js';
import { type LogHead, type SealedSegment, sealSegment } from '../core/seal.js';
import { parseSegment, segmentEntries } from '../core/segment.js';
import { describeKey } from '../core/signature-policy.js';
import { formatTimestamp, parseTimestamp } from '../core/timestamp.js';
import { findHeadSeq, loadHead } from './head.js';
import type { TrustedSegment } from './trusted-segment.js';

export type ArchiverOptions = {
  readonly store: ObjectStore;
  readonly signer: Signer;
  readonly clock: Clock;
  /** Log name within the store (one origin each). */
  readonly log: string;
  /**
   * Checkpoint origin, unique to this log, e.g. `audit.example.com/prod/lane-0`. Required for a
   * new log; for an existing one it must match, and defaults to the head's.
   */
  readonly origin?: string;
  /**
   * Keys whose signature on the head makes it safe to extend, besides the signer's own key (which
   * is always trusted, without a validity window unless listed here with one). For key rotation:
   * the previous key, so a head it signed is continued by the new signer. A head signed by no
   * trusted key is refused (IntegrityError `SEGMENT_UNTRUSTED`).
   */
  readonly trustedKeys?: readonly TrustedKey[];
  readonly encoding?: BodyEncoding;
  readonly maxEvents?: number;
  readonly maxBytes?: number;
  readonly maxAgeMs?: number;
  readonly maxBufferedBytes?: number;
  /** Attempts for a put or sign that fails with a retryable error (after the SDK's own retries). */
  readonly retryAttempts?: number;
  readonly retryBaseMs?: number;
  /**
   * Called once by {@link Archiver.open} with the verified head segment (not for a new log), so a
   * caller can derive state from it (e.g. a Kinesis watermark) without reading it again.
   */
  readonly onOpenHead?: (head: TrustedSegment) => void;
  /** Called after each segment is stored; for metrics and acknowledgements. */
  readonly onStored?: (info: StoredInfo) => void;
  /** Called when a put is retried or a race is lost; for metrics and logs. */
  readonly onRetry?: (info: {
    reason: 'retryable-error' | 'lost-race';
    seq: number;
    error?: unknown;
  }) => void;
};

export const DEFAULTS = {
  maxEvents: 4096,
  maxBytes: 8 * 1024 * 1024,
  maxAgeMs: 1000,
  maxBufferedBytes: 64 * 1024 * 1024,
  retryAttempts: 6,
  retryBaseMs: 100,
} as const;

/** Where an entry ended up. */
export type Receipt = {
  readonly log: string;
  readonly seq: number;
  /** Leaf index of the entry in the log's tree. */
  readonly index: number;
  readonly treeSize: number;
};

/** The head this writer continues was signed by other (trusted) keys than its own signing key. */
export type KeyChange = {
  /** Sequence number of that head segment. */
  readonly seq: number;
  readonly headSignedBy: readonly TrustedKey[];
  /** The signer's own key, for messages. */
  readonly signer: TrustedKey;
  /** One line for logs and the terminal. */
  readonly message: string;
};

export type StoredInfo = {
  readonly log: string;
  readonly seq: number;
  readonly key: string;
  readonly entries: number;
  readonly bytes: number;
  readonly treeSize: number;
  readonly sealedAt: string;
  /** Milliseconds from sealing start to durable storage. */
  readonly storeMs: number;
  readonly status: 'created' | 'identical';
};

/**
 * Who waits on a submission: its `stored` promise resolves, with the last entry's receipt, once all
 * `remaining` of its entries are stored, and rejects as soon as one of them cannot be. A run of
 * prepared entries shares one (ingest submits a batch's events at once): a promise and two
 * closures per entry, kept until its segment is stored, were most of what the sealing thread kept
 * alive per event (issue 14).
 */
type Waiter = {
  remaining: number;
  readonly resolve: (r: Receipt) => void;
  readonly reject: (e: unknown) => void;
  /** Entries of the submission the archiver still holds (buffered, or in a segment being stored). */
  held: number;
  /** Called once `held` reaches 0 (submitPrepared's `released`). */
  readonly onReleased?: (() => void) | undefined;
};

/** Encoded entries: entry `i` is `bytes[ends[i-1] .. ends[i])`, its leaf hash (if given) `leaves[32 i ..]`. */
type RunEntries = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly leaves?: Uint8Array | undefined;
};

/**
 * Buffered entries, held as a run: entries `from` to `to` (exclusive) of `entries`, with one
 * receive time and one waiter. A run from ingest's batch is one object for up to 256 entries: an
 * object and two views per entry, alive until the entry's segment was stored, were most of what
 * the sealing thread's young generation promoted (issue 14: some 300 bytes per entry, which grew
 * that generation to its maximum, 32 MiB). An entry the archiver encodes itself is a run of one.
 * Entries are held as their encoded bytes only: the entry object (the parsed event) would cost
 * several times its byte size in heap for as long as it waits; {@link Archiver.#restamp} rebuilds
 * it from the bytes.
 */
type Run = {
  entries: RunEntries;
  from: number;
  to: number;
  /** Bytes of the run's entries (without line feeds). */
  size: number;
  receivedAt: number;
  /** performance.now() when it was buffered, for the age limit. */
  arrived: number;
  readonly waiter: Waiter;
  /**
   * Set once the segment built of the run no longer needs `entries` (Archiver.#letGo): the
   * caller's buffers are then its own again, and the run's count no longer in `waiter.held`.
   */
  released?: true;
};

/** `parts` as the entries of a run of their own (no leaf hashes); one part is not copied. */
function ownEntries(parts: readonly Uint8Array[]): RunEntries {
  const only = parts.length === 1 ? (parts[0] as Uint8Array) : undefined;
  return only ? { bytes: only, ends: Uint32Array.of(only.length) } : joinItems(parts);
}

/**
 * Entries made by the caller, with their leaf hashes (a stamped ParsedBatch of core/event-batch.ts):
 * entry `i` is `bytes[ends[i-1] .. ends[i])` and its `hashLeaf` is `leaves[32 i .. 32 i + 32)`.
 */
export type PreparedEntries = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly leaves: Uint8Array;
};

export class Archiver {
  readonly #o: Required<
    Omit<ArchiverOptions, 'onStored' | 'onRetry' | 'onOpenHead' | 'origin' | 'trustedKeys'>
  > &
    ArchiverOptions;
  readonly #trusted: readonly TrustedKey[];
  readonly #keyChange: KeyChange | undefined;
  #head: LogHead;
  #headStale = false;
  #buffer: Run[] = [];
  /** Entries in `#buffer` (not those of the segment being stored). */
  #bufferedCount = 0;
  /** Bytes of the entries in `#buffer` and of the segment being stored. */
  #bufferedBytes = 0;
  /** The latest receive time enqueued (or of the head). */
  #lastReceivedAt: number;
  /** The latest time {@link nextReceivedAt} gave out; entries enqueued with it may still come. */
  #lastGivenOut = 0;
  #timer: NodeJS.Timeout | undefined;
  #sealing: Promise<void> = Promise.resolve();
  #sealScheduled = false;
  /** Entries at the front of the buffer that must be sealed even if no segment is full. */
  #mustSeal = 0;
  #drainAll = false;
  #roomWaiters: (() => void)[] = [];
  #closed = false;
  /**
   * The buffer the last segment was built in, to build the next one in: segments are sealed and
   * stored one at a time, and a store keeps no reference to the bytes it was given once its put
   * has settled (ports.ts). One segment-sized allocation fewer per segment: at 4,096 events per
   * segment ~4.5 MB of garbage each, which V8 collects late (docs/PERFORMANCE.md, ingest memory).
   */
  #scratch: Uint8Array | undefined;

  private constructor(
    options: ArchiverOptions,
    head: LogHead,
    trusted: readonly TrustedKey[],
    keyChange: KeyChange | undefined,
  ) {
    // An option given as undefined (a JavaScript caller, a spread config) means its default, not
    // "no value": otherwise `encoding: undefined` would write segments no verifier accepts.
    const given = Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ) as ArchiverOptions;
    this.#o = { encoding: 'identity', ...DEFAULTS, ...given };
    this.#head = head;
    this.#lastReceivedAt = head.lastReceivedAt;
    this.#trusted = trusted;
    this.#keyChange = keyChange;
  }

  /**
   * Finds the log's head, verifies it, and returns an archiver ready to append after it.
   * @throws ConfigurationError `LOG_NAME_INVALID`, `ORIGIN_INVALID`, `ORIGIN_REQUIRED`,
   *   `ORIGIN_MISMATCH`; IntegrityError with a TrustedSegmentCode (`SEGMENT_UNTRUSTED`,
   *   `SEGMENT_SHADOWED`, ...) when the head cannot be trusted; StorageError from the store or signer.
   */
  static async open(options: ArchiverOptions): Promise<Archiver> {
    assertLogName(options.log);
    if (options.origin !== undefined) assertOrigin(options.origin);
    const own: TrustedKey = {
      spki: await options.signer.publicKey(),
      label: `signing key ${options.signer.description}`,
    };
    const trusted = withOwnKey(options.trustedKeys ?? [], own);
    const seq = await findHeadSeq(options.store, options.log);
    const { head, signedBy, segment } = await loadHead(
      options.store,
      options.log,
      seq,
      options.origin,
      trusted,
    );
    if (segment) options.onOpenHead?.(segment);
    const keyChange =
      signedBy.length > 0 && !signedBy.some((k) => bytesEqual(k.spki, own.spki))
        ? {
            seq,
            headSignedBy: signedBy,
            signer: own,
            message: `log ${options.log}: head segment ${seq} was signed by ${signedBy.map(describeKey).join(', ')}; continuing it with ${describeKey(own)}`,
          }
        : undefined;
    return new Archiver({ ...options, origin: head.origin }, head, trusted, keyChange);
  }

  /** The head as last known to this writer. */
  get head(): Readonly<LogHead> {
    return this.#head;
  }

  /** The keys a stored segment of this log must be signed by to steer this writer. */
  get trustedKeys(): readonly TrustedKey[] {
    return this.#trusted;
  }

  /** Set when the head found on open was signed by other trusted keys than the signer's (rotation). */
  get keyChange(): KeyChange | undefined {
    return this.#keyChange;
  }

  /** Archives a validated event. Resolves once its segment is stored. */
  async append(event: AuditEvent, delivery?: Delivery): Promise<Receipt> {
    return (await this.submit(event, delivery)).stored;
  }

  /** Archives input that failed validation, with its error, so nothing is lost. */
  async quarantine(raw: Uint8Array, error: AuditlockError, delivery?: Delivery): Promise<Receipt> {
    return (await this.submitQuarantine(raw, error, delivery)).stored;
  }

  /**
   * Waits for room in the buffer (backpressure), enqueues the event and returns at once; `stored`
   * settles when its segment is durably stored. Lets a producer keep many events in flight
   * without awaiting each one.
   * @throws AuditlockError `ARCHIVER_CLOSED`; InputError `ENTRY_TOO_LARGE` from encoding.
   */
  submit(event: AuditEvent, delivery?: Delivery): Promise<{ stored: Promise<Receipt> }> {
    return this.#enqueue((t) => encodeEntry(makeEventEntry(event, t, delivery)));
  }

  /**
   * Like {@link submit}, for an entry `make` builds from its receive time (a `sealed-event`,
   * docs/FORMAT.md §11, sealed by src/app/seal-submit.ts before it is enqueued).
   */
  submitEntry(make: (receivedAt: number) => Entry): Promise<{ stored: Promise<Receipt> }> {
    return this.#enqueue((t) => encodeEntry(make(t)));
  }

  /**
   * Like {@link submit}, for quarantined input.
   * @param receivedAt as for {@link submitPrepared}: a time {@link nextReceivedAt} gave out
   */
  submitQuarantine(
    raw: Uint8Array,
    error: AuditlockError,
    delivery?: Delivery,
    receivedAt?: number,
  ): Promise<{ stored: Promise<Receipt> }> {
    return this.#enqueue(
      (t) => encodeEntry(makeQuarantineEntry(raw, error, t, delivery)),
      receivedAt,
    );
  }

  /**
   * A receive time for entries a caller encodes itself before enqueueing them with
   * {@link submitPrepared} (ingest stamps a batch of lines when it reads them, and their entries
   * are made on other threads): the clock's time, never below a time given out or used before.
   */
  nextReceivedAt(): number {
    const t = Math.max(this.#o.clock.now(), this.#lastReceivedAt, this.#lastGivenOut);
    this.#lastGivenOut = t;
    return t;
  }

  /**
   * Like {@link submit}, for entries `from` to `to` (exclusive) of `entries`, already encoded
   * (core/event-batch.ts makes them) with the receive time `receivedAt` from
   * {@link nextReceivedAt}, and their leaf hashes. They are one submission: `stored` resolves with
   * the last entry's receipt once every one of them is stored. Entries enqueued after them with a
   * later time make their time too early; they are then re-encoded with the later one, so receive
   * times still never go backwards in the log.
   *
   * The archiver holds views of `entries`' buffers, not copies, until the run's segments are stored.
   * `released` resolves once it holds none of them any more (every entry of the run stored, failed
   * to store, or never admitted), so that the caller may free or reuse those buffers: a caller MUST
   * NOT change them before, or the log would store what it changed.
   * @throws AuditlockError `ARCHIVER_CLOSED`; RangeError for an empty or out-of-range run
   */
  async submitPrepared(
    entries: PreparedEntries,
    receivedAt: number,
    from = 0,
    to = entries.ends.length,
  ): Promise<{ stored: Promise<Receipt>; released: Promise<void> }> {
    if (!(Number.isInteger(from) && from >= 0 && from < to && to <= entries.ends.length))
      throw new RangeError(`expected 0 <= from < to <= ${entries.ends.length}, got ${from}, ${to}`);
    let onReleased: (() => void) | undefined;
    const released = new Promise<void>((r) => {
      onReleased = r;
    });
    const { waiter, stored } = this.#waiter(to - from, onReleased);
    let i = from;
    try {
      // Refused only if closed before it came: what waits for room when close() is called is
      // still stored, as close() seals until the buffer is empty.
      this.#refuseIfClosed();
      // As many entries at a time as there is room for (backpressure), as one run each.
      while (i < to) {
        let j = i;
        let size = 0;
        for (; j < to; j++) {
          const next = sizeAt(entries, j);
          if (!this.#hasRoom(j - i, size, next)) break;
          size += next;
        }
        if (j === i) {
          await this.#room();
          continue;
        }
        // Receive times never go backwards within a log: overtaken entries are re-encoded.
        const t = this.#stamp(receivedAt);
        const run: Run = { entries, from: i, to: j, size, receivedAt, arrived: 0, waiter };
        if (t !== receivedAt) this.#restampRun(run, t);
        this.#push(run);
        i = j;
      }
    } catch (err) {
      // Entries i..to-1 were never buffered: the archiver holds no view of them.
      this.#unhold(waiter, to - i);
      throw err;
    }
    return { stored, released };
  }

  /** `count` entries of `waiter`'s submission are no longer held. */
  #unhold(waiter: Waiter, count: number): void {
    if (count <= 0) return;
    waiter.held -= count;
    if (waiter.held === 0) waiter.onReleased?.();
  }

  #waiter(
    remaining: number,
    onReleased?: () => void,
  ): { waiter: Waiter; stored: Promise<Receipt> } {
    let resolve: ((r: Receipt) => void) | undefined;
    let reject: ((e: unknown) => void) | undefined;
    const stored = new Promise<Receipt>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return {
      waiter: {
        remaining,
        resolve: resolve as (r: Receipt) => void,
        reject: reject as (e: unknown) => void,
        held: remaining,
        onReleased,
      },
      stored,
    };
  }

  /**
   * One entry as its own submission; `encode` makes its stored bytes for its receive time (`given`
   * or the clock's, raised to keep receive times in order), taken when there is room for it.
   */
  async #enqueue(
    encode: (receivedAt: number) => Uint8Array,
    given?: number,
  ): Promise<{ stored: Promise<Receipt> }> {
    this.#refuseIfClosed();
    const { waiter, stored } = this.#waiter(1);
    let bytes: Uint8Array | undefined;
    let encodedAt: number | undefined;
    for (;;) {
      const t = Math.max(given ?? this.#o.clock.now(), this.#lastReceivedAt);
      if (bytes === undefined || encodedAt !== t) {
        bytes = encode(t);
        encodedAt = t;
      }
      if (this.#hasRoom(0, 0, bytes.length)) {
        this.#stamp(t);
        const entries = ownEntries([bytes]);
        this.#push({
          entries,
          from: 0,
          to: 1,
          size: bytes.length,
          receivedAt: t,
          arrived: 0,
          waiter,
        });
        return { stored };
      }
      await this.#room();
    }
  }

  /** @throws AuditlockError `ARCHIVER_CLOSED` */
  #refuseIfClosed(): void {
    if (this.#closed) throw new AuditlockError('ARCHIVER_CLOSED', 'archiver is closed');
  }

  /** The receive time of entries buffered now that were made for `given`: never below the last. */
  #stamp(given: number): number {
    const t = Math.max(given, this.#lastReceivedAt);
    this.#lastReceivedAt = t;
    return t;
  }

  /** Resolves when a stored or taken segment may have made room. */
  #room(): Promise<void> {
    return new Promise<void>((r) => this.#roomWaiters.push(r));
  }

  /**
   * Room for one more entry of `bytes`, after `count` entries of `taken` bytes about to be buffered
   * with it: within maxBufferedBytes, and at most one full segment waiting besides the one being
   * stored. Sealing is sequential, so more entries queued than that add memory, not throughput;
   * without the count bound a fast producer kept 64 MiB of entries buffered at any segment size.
   */
  #hasRoom(count: number, taken: number, bytes: number): boolean {
    const buffered = this.#bufferedBytes + taken;
    return !(
      (buffered > 0 && buffered + bytes > this.#o.maxBufferedBytes) ||
      this.#bufferedCount + count >= this.#o.maxEvents
    );
  }

  #push(run: Run): void {
    run.arrived = performance.now();
    this.#buffer.push(run);
    this.#bufferedCount += run.to - run.from;
    this.#bufferedBytes += run.size;
    if (this.#full()) this.#scheduleSeal();
    else this.#armTimer();
  }

  /** Seals and stores everything buffered so far. */
  async flush(): Promise<void> {
    this.#scheduleSeal('all');
    await this.#sealing;
  }

  /** Flushes and refuses further appends. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    this.#scratch = undefined;
  }

  /**
   * Seals full batches now. `aged` (the age timer) also seals the entries buffered at this moment,
   * and only those: entries that arrive while they are being stored wait for a full segment or
   * their own age limit, so one slow put does not turn every later segment into a small one.
   * `all` (flush, close) seals until the buffer is empty.
   */
  #scheduleSeal(mode: 'full' | 'aged' | 'all' = 'full'): void {
    if (mode === 'aged') this.#mustSeal = Math.max(this.#mustSeal, this.#bufferedCount);
    if (mode === 'all') this.#drainAll = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#sealScheduled) return;
    this.#sealScheduled = true;
    this.#sealing = this.#sealing.then(async () => {
      this.#sealScheduled = false;
      while (this.#bufferedCount > 0 && (this.#drainAll || this.#mustSeal > 0 || this.#full())) {
        const sealed = await this.#sealOne();
        this.#mustSeal = Math.max(0, this.#mustSeal - sealed);
      }
      this.#drainAll = false;
      this.#mustSeal = 0;
      this.#armTimer();
    });
  }

  #full(): boolean {
    return this.#bufferedCount >= this.#o.maxEvents || this.#bufferedBytes >= this.#o.maxBytes;
  }

  /** Seals a partial batch once its oldest entry has waited `maxAgeMs`. */
  #armTimer(): void {
    const oldest = this.#buffer[0];
    if (!oldest || this.#timer || this.#sealScheduled) return;
    const wait = Math.max(0, oldest.arrived + this.#o.maxAgeMs - performance.now());
    this.#timer = setTimeout(() => this.#scheduleSeal('aged'), wait);
  }

  /** Seals and stores the next batch; resolves to the number of entries it took. */
  async #sealOne(): Promise<number> {
    const batch = this.#takeBatch();
    // The batch left the queue: a producer waiting on the count bound may fill the next one.
    this.#wakeRoomWaiters();
    let count = 0;
    for (const run of batch) count += run.to - run.from;
    try {
      const { seq, first, treeSize } = await this.#store(batch, count);
      let next = first;
      for (const { waiter, from, to } of batch) {
        next += to - from;
        waiter.remaining -= to - from;
        if (waiter.remaining === 0)
          waiter.resolve({ log: this.#o.log, seq, index: next - 1, treeSize });
      }
    } catch (err) {
      this.#headStale = true;
      for (const run of batch) run.waiter.reject(err);
    } finally {
      for (const run of batch) this.#bufferedBytes -= run.size;
      this.#letGo(batch);
      this.#wakeRoomWaiters();
    }
    return count;
  }

  /** Every waiting `submit` checks for room again. */
  #wakeRoomWaiters(): void {
    for (const w of this.#roomWaiters.splice(0)) w();
  }

  /**
   * The runs of the next segment: at most maxEvents entries and maxBytes (with line feeds), at
   * least one entry; a run that does not fit whole is split, its rest staying first in the buffer.
   */
  #takeBatch(): Run[] {
    const batch: Run[] = [];
    let n = 0;
    let bytes = 0;
    while (this.#buffer.length > 0 && n < this.#o.maxEvents) {
      const run = this.#buffer[0] as Run;
      let j = run.from;
      let size = 0;
      for (; j < run.to && n + (j - run.from) < this.#o.maxEvents; j++) {
        const next = sizeAt(run.entries, j);
        if (n + (j - run.from) > 0 && bytes + size + (j - run.from) + next + 1 > this.#o.maxBytes)
          break;
        size += next;
      }
      const taken = j - run.from;
      if (taken === 0) break;
      if (j === run.to) batch.push(this.#buffer.shift() as Run);
      else {
        batch.push({ ...run, to: j, size });
        run.from = j;
        run.size -= size;
      }
      n += taken;
      bytes += size + taken;
      if (j < run.to) break;
    }
    this.#bufferedCount -= n;
    return batch;
  }

  /** Seals `batch` after the head and stores it; its entries are `first`, `first + 1`, … */
  async #store(
    batch: Run[],
    count: number,
  ): Promise<{ seq: number; first: number; treeSize: number }> {
    const { store, log } = this.#o;
    for (let lostRaces = 0; ; lostRaces++) {
      if (this.#headStale) await this.#reloadHead();
      const head = this.#head;
      this.#restamp(batch, head.lastReceivedAt);
      const started = Date.now();
      const sealed = await this.#retrying(head.nextSeq, () => this.#seal(head, batch));
      // Built in the scratch buffer, or in a new (larger) one that serves from now on.
      this.#scratch = new Uint8Array(sealed.bytes.buffer);
      this.#letGo(batch);
      const key = segmentKey(log, sealed.seq);
      let status: 'created' | 'identical';
      try {
        // Retention (S3 Object Lock) runs from the seal time, not from whenever the put lands.
        const put = { sealedAt: parseTimestamp(sealed.sealedAt) };
        status = (await this.#retrying(sealed.seq, () => store.putIfAbsent(key, sealed.bytes, put)))
          .status;
      } catch (err) {
        if (!hasCode(err, 'OBJECT_EXISTS') || lostRaces >= 1000) throw err;
        // Another writer stored this sequence number first: continue after its segment, with
        // the entries taken back out of the one built here (the next build overwrites it).
        this.#o.onRetry?.({ reason: 'lost-race', seq: sealed.seq, error: err });
        this.#headStale = true;
        takeBack(batch, sealed.bytes);
        continue;
      }
      this.#head = sealed.head;
      const first = sealed.treeSize - count;
      this.#o.onStored?.({
        log,
        seq: sealed.seq,
        key,
        entries: count,
        bytes: sealed.bytes.length,
        treeSize: sealed.treeSize,
        sealedAt: sealed.sealedAt,
        storeMs: Date.now() - started,
        status,
      });
      return { seq: sealed.seq, first, treeSize: sealed.treeSize };
    }
  }

  /**
   * Seals `batch` after `head`, its runs given as spans of their batches: no object per entry
   * (4,096 views of entries and as many of leaf hashes per segment, alive through the seal,
   * outlived minor collections and grew the young generation; issue 14).
   */
  #seal(head: LogHead, batch: readonly Run[]): Promise<SealedSegment> {
    const spans = batch.map(({ entries: { bytes, ends, leaves }, from, to }) => ({
      bytes,
      ends,
      leaves,
      from,
      to,
    }));
    return sealSegment({
      head,
      entries: { spans },
      firstReceivedAt: (batch[0] as Run).receivedAt,
      lastReceivedAt: (batch[batch.length - 1] as Run).receivedAt,
      sealedAt: this.#o.clock.now(),
      encoding: this.#o.encoding,
      signer: this.#o.signer,
      scratch: this.#scratch,
    });
  }

  /**
   * The runs of `batch` are no longer held as the caller gave them: their segment is built (it
   * holds their bytes until its put settles; a lost race takes them back out of it, takeBack), or
   * they failed. So `released` comes when a segment is built, not once it is stored: held across
   * the put as well, at 4,096 events per segment a second segment's worth of batch buffers (some
   * 5 MiB) was alive while the next one filled (issue 14, docs/PERFORMANCE.md).
   */
  #letGo(batch: readonly Run[]): void {
    for (const run of batch) {
      if (run.released) continue;
      run.released = true;
      this.#unhold(run.waiter, run.to - run.from);
    }
  }

  /** After another writer's segment, our entries must not appear to be received before its last. */
  #restamp(batch: Run[], floor: number): void {
    for (const run of batch) {
      if (run.receivedAt >= floor) break;
      this.#bufferedBytes -= run.size;
      this.#restampRun(run, floor);
      this.#bufferedBytes += run.size;
    }
    if (this.#lastReceivedAt < floor) this.#lastReceivedAt = floor;
  }

  /** Re-encodes `run`'s entries with receive time `ms`, in a buffer of its own (no leaf hashes). */
  #restampRun(run: Run, ms: number): void {
    const parts: Uint8Array[] = [];
    for (let i = run.from; i < run.to; i++) parts.push(restamped(lineAt(run.entries, i), ms));
    run.entries = ownEntries(parts);
    run.from = 0;
    run.to = parts.length;
    run.size = run.entries.bytes.length;
    run.receivedAt = ms;
  }

  async #reloadHead(): Promise<void> {
    const { store, log, origin } = this.#o;
    const known = this.#head.nextSeq - 1;
    const seq = await findHeadSeq(
      store,
      log,
      known >= 0 && (await store.exists(segmentKey(log, known))) ? known : -1,
    );
    // Re-verified like on open: after a lost race the new head is someone else's segment.
    this.#head = (await loadHead(store, log, seq, origin, this.#trusted)).head;
    this.#headStale = false;
    if (this.#lastReceivedAt < this.#head.lastReceivedAt)
      this.#lastReceivedAt = this.#head.lastReceivedAt;
  }

  async #retrying<T>(seq: number, op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const retryable = err instanceof StorageError && err.retryable;
        if (!retryable || attempt >= this.#o.retryAttempts) throw err;
        this.#o.onRetry?.({ reason: 'retryable-error', seq, error: err });
        const backoff = this.#o.retryBaseMs * 2 ** (attempt - 1);
        await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
      }
    }
  }
}

/**
 * Points the runs of `batch` at copies of their entries taken from `bytes`, the segment sealed of
 * them (identity or gzip body, in the runs' order), once the caller's buffers were let go: the
 * rare path of a lost race, which seals them again after another writer's segment.
 * @throws IntegrityError if `bytes` do not hold the batch's entries (a bug)
 */
function takeBack(batch: readonly Run[], bytes: Uint8Array): void {
  const entries = joinItems(segmentEntries(parseSegment(bytes))); // a copy: bytes get rebuilt
  let count = 0;
  for (const run of batch) count += run.to - run.from;
  if (entries.ends.length !== count)
    throw new IntegrityError(
      'SEGMENT_MALFORMED',
      `sealed ${entries.ends.length} entries of ${count}`,
    );
  let at = 0;
  for (const run of batch) {
    const n = run.to - run.from;
    run.entries = entries;
    run.from = at;
    run.to = at + n;
    at += n;
  }
}

/**
 * The entry `bytes` encode, with receive time `ms`. The bytes are the canonical JSON of the entry,
 * so parsing them gives the entry back (this is rare: a lost race, or a prepared entry overtaken;
 * keeping every entry object would cost memory on every append).
 */
function restamped(bytes: Uint8Array, ms: number): Uint8Array {
  return encodeEntry({ ...JSON.parse(fromUtf8(bytes)), receivedAt: formatTimestamp(ms) } as Entry);
}

/** `keys` plus the signer's own key, unless it is listed already (then with the caller's window). */
function withOwnKey(keys: readonly TrustedKey[], own: TrustedKey): TrustedKey[] {
  return keys.some((k) => bytesEqual(k.spki, own.spki) && k.name === undefined)
    ? [...keys]
    : [...keys, own];
}
