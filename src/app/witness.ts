/**
 * The witness use case: answers tlog-witness `add-checkpoint` requests for the configured logs,
 * with the decision rules of `src/core/witness.ts`, state in write-once records in an
 * ObjectStore (`src/core/witness-state.ts`) and cosignatures from an Ed25519 signer port.
 *
 * Atomicity: a checkpoint that advances the witnessed head is cosigned only after this process
 * created the next record with put-if-absent. If another request (here or in another process
 * sharing the store) created it first, the head is re-read and the request decided again, which
 * then answers 409. Requests for one origin are also queued in process, so they rarely collide.
 */
import { type CosignerKey, cosign } from '../core/cosignature.js';
import { fromUtf8, utf8 } from '../core/encoding.js';
import { ConfigurationError, hasCode, IntegrityError, StorageError } from '../core/errors.js';
import { formatSignatureLine, type NoteSignature } from '../core/note.js';
import type { Clock, ObjectStore, ReadOptions } from '../core/ports.js';
import {
  type Acceptance,
  decideAddCheckpoint,
  isRefusal,
  openAddCheckpoint,
  type Refusal,
  type WitnessedLog,
  type WitnessHead,
  type WitnessRefusalCode,
} from '../core/witness.js';
import {
  formatTlogSize,
  TLOG_SIZE_CONTENT_TYPE,
  type WitnessClient,
  type WitnessResponse,
} from '../core/witness-protocol.js';
import type { Ed25519Signer } from '../core/witness-signer.js';
import {
  decodeWitnessRecord,
  encodeWitnessRecord,
  MAX_WITNESS_RECORD_BYTES,
  type WitnessRecord,
  witnessRecordKey,
} from '../core/witness-state.js';

/** A configured log: origin, keys and an optional starting checkpoint (a signed note). */
export type WitnessLogConfig = WitnessedLog & {
  /** Trusted instead of the first submitted checkpoint when the origin has no state yet. */
  readonly start?: string | undefined;
};

export type WitnessOptions = {
  /** Where the witness keeps its records (its own store; never the log's). */
  readonly store: ObjectStore;
  readonly signer: Ed25519Signer;
  /** The witness's name and public key; the signer must hold this key. */
  readonly key: CosignerKey;
  readonly logs: readonly WitnessLogConfig[];
  readonly clock: Clock;
};

/** What the witness answered, with the decision behind it. */
export type WitnessOutcome = {
  readonly response: WitnessResponse;
  readonly code?: WitnessRefusalCode | undefined;
  readonly detail?: string | undefined;
  readonly cosignature?: NoteSignature | undefined;
};

type Head = { readonly seq: number; readonly head: WitnessHead };

const READ: ReadOptions = { maxBytes: MAX_WITNESS_RECORD_BYTES };
/** Lost races in a row before giving up (each one means another request advanced the head). */
const MAX_CONFLICTS = 16;

export class Witness implements WitnessClient {
  readonly description: string;
  readonly #opts: WitnessOptions;
  readonly #logs: Map<string, WitnessLogConfig>;
  readonly #heads = new Map<string, Head | undefined>();
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(opts: WitnessOptions) {
    this.#opts = opts;
    this.#logs = new Map(opts.logs.map((l) => [l.origin, l]));
    this.description = `witness ${opts.key.name} (state ${opts.store.location})`;
  }

  /**
   * Checks the configuration and returns a ready witness.
   * @throws ConfigurationError `WITNESS_KEY_MISMATCH` if the signer does not hold `key`;
   *   `WITNESS_LOGS_INVALID` for a duplicate origin or a starting checkpoint that is not a
   *   checkpoint of its origin signed by one of its keys.
   */
  static async open(opts: WitnessOptions): Promise<Witness> {
    const pub = await opts.signer.publicKey();
    if (pub.length !== opts.key.publicKey.length || pub.some((b, i) => b !== opts.key.publicKey[i]))
      throw new ConfigurationError(
        'WITNESS_KEY_MISMATCH',
        `${opts.signer.description} does not hold the public key of ${opts.key.name}`,
      );
    const seen = new Set<string>();
    for (const log of opts.logs) {
      if (seen.has(log.origin))
        throw new ConfigurationError('WITNESS_LOGS_INVALID', `origin ${log.origin} listed twice`);
      seen.add(log.origin);
      if (log.start !== undefined) {
        const opened = openAddCheckpoint(
          utf8(`old 0\n\n${log.start}`),
          new Map([[log.origin, log]]),
          opts.clock.now(),
        );
        if (isRefusal(opened))
          throw new ConfigurationError(
            'WITNESS_LOGS_INVALID',
            `starting checkpoint of ${log.origin} is not acceptable: ${opened.code}: ${opened.detail}`,
          );
      }
    }
    return new Witness(opts);
  }

  /** The witness's name, public key and key ID. */
  get key(): CosignerKey {
    return this.#opts.key;
  }

  /** The tlog-witness endpoint: request body in, HTTP answer out. */
  async addCheckpoint(body: Uint8Array): Promise<WitnessResponse> {
    return (await this.handle(body)).response;
  }

  /**
   * Decides, persists and cosigns one request.
   * @throws StorageError from the state store or the signer, or `WITNESS_CONTENDED` (retryable)
   *   after 16 lost races in a row (the server answers 503 or 500); IntegrityError
   *   `WITNESS_STATE_CORRUPT` if a stored record is not one.
   */
  async handle(body: Uint8Array): Promise<WitnessOutcome> {
    const opened = openAddCheckpoint(body, this.#logs, this.#opts.clock.now());
    if (isRefusal(opened)) return refusal(opened);
    const origin = opened.checkpoint.origin;
    return this.#serialised(origin, async () => {
      for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
        const current = await this.#currentHead(origin);
        const decision = decideAddCheckpoint(opened, current?.head);
        if (isRefusal(decision)) return refusal(decision);
        if (!decision.advance || (await this.#advance(origin, current, decision)))
          return this.#cosign(decision);
      }
      throw new StorageError(
        'WITNESS_CONTENDED',
        `lost ${MAX_CONFLICTS} races in a row for ${origin}; try again`,
        { retryable: true },
      );
    });
  }

  /** The witnessed head of `origin` (undefined: none yet), refreshed with one existence probe. */
  async head(origin: string): Promise<WitnessHead | undefined> {
    return (await this.#currentHead(origin))?.head;
  }

  async #currentHead(origin: string): Promise<Head | undefined> {
    const store = this.#opts.store;
    let cached = this.#heads.get(origin);
    if (cached === undefined || (await store.exists(witnessRecordKey(origin, cached.seq + 1)))) {
      cached = await this.#findHead(origin, cached?.seq ?? -1);
      if (cached === undefined) cached = await this.#startFromConfig(origin);
      this.#heads.set(origin, cached);
    }
    return cached;
  }

  /** Finds the newest record by exponential then binary probing from `known` (O(log n)). */
  async #findHead(origin: string, known: number): Promise<Head | undefined> {
    const store = this.#opts.store;
    const exists = (seq: number) => store.exists(witnessRecordKey(origin, seq));
    let lo = known;
    if (lo < 0) {
      if (!(await exists(0))) return undefined;
      lo = 0;
    }
    let step = 1;
    while (await exists(lo + step)) {
      lo += step;
      step *= 2;
    }
    let hi = lo + step;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await exists(mid)) lo = mid;
      else hi = mid;
    }
    const record = await this.#read(origin, lo);
    return { seq: lo, head: headOf(record) };
  }

  async #read(origin: string, seq: number): Promise<WitnessRecord> {
    const bytes = await this.#opts.store.get(witnessRecordKey(origin, seq), READ);
    if (bytes === undefined)
      throw new IntegrityError('WITNESS_STATE_CORRUPT', `record ${seq} of ${origin} vanished`);
    const record = decodeWitnessRecord(bytes, origin, seq);
    // A record steers what is cosigned next: it must still carry the log's signature (a record
    // planted in the state store by someone without the log key is refused here).
    const opened = openAddCheckpoint(
      utf8(`old 0\n\n${record.note}`),
      this.#logs,
      this.#opts.clock.now(),
    );
    if (isRefusal(opened))
      throw new IntegrityError(
        'WITNESS_STATE_CORRUPT',
        `record ${seq} of ${origin} is not a checkpoint signed by the log (${opened.code})`,
      );
    return record;
  }

  /** Record 0 from the configured starting checkpoint, if there is one. */
  async #startFromConfig(origin: string): Promise<Head | undefined> {
    const start = this.#logs.get(origin)?.start;
    if (start === undefined) return undefined;
    const bytes = encodeWitnessRecord({ seq: 0, prevSize: 0, note: start });
    try {
      await this.#opts.store.putIfAbsent(witnessRecordKey(origin, 0), bytes);
    } catch (err) {
      if (!hasCode(err, 'OBJECT_EXISTS')) throw err;
    }
    return this.#findHead(origin, 0);
  }

  /** Creates the next record; false if another request created it first. */
  async #advance(
    origin: string,
    current: Head | undefined,
    decision: Acceptance,
  ): Promise<boolean> {
    const seq = (current?.seq ?? -1) + 1;
    const bytes = encodeWitnessRecord({
      seq,
      prevSize: current?.head.size ?? 0,
      note: decision.opened.request.checkpoint,
    });
    try {
      await this.#opts.store.putIfAbsent(witnessRecordKey(origin, seq), bytes);
    } catch (err) {
      if (!hasCode(err, 'OBJECT_EXISTS')) throw err;
      this.#heads.delete(origin);
      return false;
    }
    this.#heads.set(origin, { seq, head: headOf(decision.opened) });
    return true;
  }

  async #cosign(decision: Acceptance): Promise<WitnessOutcome> {
    const timestamp = Math.floor(this.#opts.clock.now() / 1000);
    const sig = await cosign(decision.opened.text, this.#opts.key, this.#opts.signer, timestamp);
    return {
      response: {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: utf8(`${formatSignatureLine(sig)}\n`),
      },
      cosignature: sig,
    };
  }

  #serialised<T>(origin: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(origin) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.#queues.set(
      origin,
      next.catch(() => undefined),
    );
    return next;
  }
}

function headOf(x: { checkpoint: { treeSize: number; root: Uint8Array } }): WitnessHead {
  return { size: x.checkpoint.treeSize, root: x.checkpoint.root };
}

function refusal(r: Refusal): WitnessOutcome {
  const response: WitnessResponse =
    r.currentSize !== undefined
      ? {
          status: r.status,
          contentType: TLOG_SIZE_CONTENT_TYPE,
          body: formatTlogSize(r.currentSize),
        }
      : {
          status: r.status,
          contentType: 'text/plain; charset=utf-8',
          body: utf8(`${r.code}: ${r.detail}\n`),
        };
  return { response, code: r.code, detail: r.detail };
}

/** The text of a witness answer, for messages (never parsed as data). */
export function describeResponse(res: WitnessResponse): string {
  let text = '';
  try {
    text = fromUtf8(res.body).slice(0, 300).trim();
  } catch {
    text = `${res.body.length} bytes`;
  }
  return `${res.status}${text ? ` ${text}` : ''}`;
}
