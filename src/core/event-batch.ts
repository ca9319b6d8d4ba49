/**
 * Parsing a batch of JSON Lines: each line checked as parseEventBytes does (size, strict UTF-8,
 * strict JSON, the event schema) and, if it is an event, encoded in its RFC 8785 canonical form.
 * This is the per-event work of ingest that does not depend on the order of the log (what an
 * event's bytes are does not depend on the events around it), so a batch may be parsed on any
 * thread (src/app/event-parse-pool.ts) and its results used in order afterwards. A stamped batch
 * (one receive time, and each line's input chain, given by the thread that keeps the order) goes
 * one step further: each event becomes its stored entry and leaf hash, so the thread that seals
 * only joins and signs them.
 *
 * Batches are flat byte arrays with offsets, not arrays of objects, so that they move between
 * threads as transferred buffers rather than as cloned objects.
 */
import { canonicalize, canonicalizePlainInto } from './canonical-json.js';
import { indexOfByte, writeBase64 } from './encoding.js';
import { AuditlockError, InputError, type InputIssue } from './errors.js';
import type { EventValidator } from './event-accept.js';
import { parseEventBytes } from './event-line.js';
import { HASH_SIZE } from './hash.js';
import { INPUT_DELIVERY_SOURCE } from './input-delivery.js';
import { MAX_ENTRY_BYTES } from './limits.js';
import { hashLeaf } from './merkle.js';
import { formatTimestamp } from './timestamp.js';

/**
 * What makes a batch's events into the `event` entries ingest stores (docs/FORMAT.md §3), so that
 * the entry bytes and their leaf hashes are made on the thread that parses them too.
 */
export type EntryStamp = {
  /** Receive time (ms) of every entry of the batch, given out in the log's order by the archiver. */
  readonly receivedAt: number;
  /**
   * The input's name as recorded in delivery ids (`inputNameOf`). It MUST make valid delivery ids
   * (FORMAT.md §3) at every line number: not checked here (that needs the entry schema, zod),
   * but where the stamp is made (ingest.ts, `checkInputName`).
   */
  readonly inputName: string;
  /** Line `i`'s input chain H_n (input-delivery.ts) at `[32 i, 32 i + 32)`. */
  readonly chains: Uint8Array;
};

/** Lines to parse: line `i` is `bytes[ends[i-1] .. ends[i])` (from 0 for `i = 0`). */
export type LineBatch = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  /** Line `i`'s 1-based number in its input, for error locations. */
  readonly numbers: Float64Array;
  /** Given: each event becomes its whole stored entry (see {@link ParsedBatch}). */
  readonly stamp?: EntryStamp | undefined;
  /**
   * A buffer the results may be written into, if it is large enough (else a new one is made): the
   * caller reuses buffers rather than have one allocated per batch. Its contents are overwritten.
   */
  readonly spare?: Uint8Array | undefined;
};

/** Why a line is not an event: an InputError's parts, which cross threads as plain data. */
export type LineReject = {
  readonly index: number;
  readonly code: string;
  readonly message: string;
  readonly location: string | undefined;
  readonly issues: readonly InputIssue[];
};

/**
 * The outcome of each line of a batch: line `i`'s event is `bytes[ends[i-1] .. ends[i])`,
 * canonical JSON, and empty exactly when the line is in `rejects` (in line order). For a stamped
 * batch those bytes are the event's whole stored entry instead (`encodeEntry(makeEventEntry(…))`
 * of the event, its delivery and the stamp's time), and
 * `leaves` holds its RFC 9162 leaf hash at `[32 i, 32 i + 32)` (zero bytes for a reject).
 */
export type ParsedBatch = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly rejects: readonly LineReject[];
  readonly leaves?: Uint8Array | undefined;
};

/** Item `i` of a batch: a line's content (without its ending) or a parsed line's event. */
export function lineAt(
  batch: { readonly bytes: Uint8Array; readonly ends: Uint32Array },
  i: number,
): Uint8Array {
  return batch.bytes.subarray(i === 0 ? 0 : (batch.ends[i - 1] as number), batch.ends[i]);
}

/** The size of item `i` of a batch: `lineAt(batch, i).length`, without making the view. */
export function sizeAt(
  batch: { readonly bytes: Uint8Array; readonly ends: Uint32Array },
  i: number,
): number {
  return (batch.ends[i] as number) - (i === 0 ? 0 : (batch.ends[i - 1] as number));
}

/** Items held apart, joined into one buffer of their own with their ends (as a batch holds them). */
export function joinItems(items: readonly Uint8Array[]): { bytes: Uint8Array; ends: Uint32Array } {
  let size = 0;
  for (const item of items) size += item.length;
  const bytes = new Uint8Array(size);
  const ends = new Uint32Array(items.length);
  let at = 0;
  for (const [i, item] of items.entries()) {
    bytes.set(item, at);
    at += item.length;
    ends[i] = at;
  }
  return { bytes, ends };
}

/** Builds a {@link LineBatch} from lines held apart (tests, small callers). */
export function makeLineBatch(
  lines: readonly { readonly number: number; readonly content: Uint8Array }[],
): LineBatch {
  const { bytes, ends } = joinItems(lines.map((l) => l.content));
  return { bytes, ends, numbers: Float64Array.from(lines, (l) => l.number) };
}

const encoder = new TextEncoder();

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const COLON = 0x3a;

/**
 * The parts of a stamped batch's entries around each event (RFC 8785 member order), as UTF-8:
 * each entry is `idHead`, its line number, `:`, its input chain in base64, `idTail`, the event,
 * `after` (the delivery id of input-delivery.ts's `formatInputDeliveryId`).
 */
type Framing = {
  /** `{"delivery":{"id":"<name>:` with the name escaped as RFC 8785 writes it. */
  readonly idHead: Uint8Array;
  /** `","source":"cli"},"event":` */
  readonly idTail: Uint8Array;
  /** `,"kind":"event","receivedAt":"…"}`, ASCII. */
  readonly after: Uint8Array;
};

/** Bytes of a line number, the colon and a chain in base64 at most: 16 digits, 1, 44. */
const ID_PARTS_BYTES = 64;

/**
 * The framing of `batch`'s entries: the parts of their delivery ids that every entry shares.
 * @throws InputError `TIMESTAMP_INVALID`
 */
function framingOf(stamp: EntryStamp): Framing {
  const name = canonicalize(`${stamp.inputName}:`);
  return {
    idHead: encoder.encode(`{"delivery":{"id":${name.slice(0, -1)}`),
    idTail: encoder.encode(`","source":${canonicalize(INPUT_DELIVERY_SOURCE)}},"event":`),
    after: encoder.encode(`,"kind":"event","receivedAt":"${formatTimestamp(stamp.receivedAt)}"}`),
  };
}

/** Writes `bytes` into `out` at `at`; the index after them. */
function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/**
 * Parses and canonicalises every line of `batch` (and, when it is stamped, makes each event's
 * entry and leaf hash). A line that is not a valid event is a reject (an InputError of
 * parseEventBytes); anything else thrown propagates: a bug, or what `validate` throws when it
 * cannot decide (`SchemaNeededError` of acceptOnlyEvent: then nothing of the batch is returned,
 * and the caller parses it again with the full schema).
 * @param validate the event rules: `parseEvent` (event.ts), or `acceptOnlyEvent`
 *   (event-accept.ts) on a thread that has not loaded the schema; the outcome is the same
 *   whenever acceptOnlyEvent does not throw
 * @throws AuditlockError `ENTRY_TOO_LARGE`, `ENTRY_NEWLINE` (as encodeEntry), InputError
 *   `TIMESTAMP_INVALID` (of the stamp); whatever `validate` throws that is not an InputError
 */
export function parseEventBatch(batch: LineBatch, validate: EventValidator): ParsedBatch {
  const count = batch.ends.length;
  const ends = new Uint32Array(count);
  const rejects: LineReject[] = [];
  const stamp = batch.stamp;
  const framing = stamp ? framingOf(stamp) : undefined;
  const leaves = stamp ? new Uint8Array(HASH_SIZE * count) : undefined;
  const size = resultSize(batch.bytes.length, count, framing);
  let out =
    batch.spare !== undefined && batch.spare.length >= size ? batch.spare : new Uint8Array(size);
  let at = 0;
  /** `out` with room for `need` bytes, keeping its first `used`. */
  const room = (used: number, need: number): void => {
    if (need <= out.length) return;
    const grown = new Uint8Array(Math.max(2 * out.length, need));
    grown.set(out.subarray(0, used));
    out = grown;
  };
  for (let i = 0; i < count; i++) {
    const line = lineAt(batch, i);
    const start = at;
    // The entry is written from `start`; `at` moves past it only once it is whole.
    let w = start;
    try {
      const event = parseEventBytes(line, batch.numbers[i] as number, validate);
      if (framing && stamp) {
        // The delivery id, written as bytes: `${idHead}${line}:${toBase64(chain)}${idTail}`.
        room(w, w + framing.idHead.length + ID_PARTS_BYTES + framing.idTail.length);
        w = put(out, w, framing.idHead);
        const number = String(batch.numbers[i] as number);
        for (let k = 0; k < number.length; k++) out[w++] = number.charCodeAt(k);
        out[w++] = COLON;
        w = writeBase64(stamp.chains, HASH_SIZE * i, HASH_SIZE * (i + 1), out, w);
        w = put(out, w, framing.idTail);
      }
      const eventStart = w;
      if (indexOfByte.call(line, BACKSLASH, 0) < 0) {
        // A line without a backslash holds no string that needs escaping (canonical-json.ts); the
        // validators return the line's own strings and the schema's member names.
        let end = canonicalizePlainInto(event, out, w);
        while (end < 0) {
          room(w, 2 * out.length);
          end = canonicalizePlainInto(event, out, w);
        }
        w = end;
      } else {
        const text = canonicalize(event);
        room(w, w + 3 * text.length);
        w += encoder.encodeInto(text, out.subarray(w)).written;
      }
      if (framing && leaves) {
        // RFC 8785 escapes a line feed in a string, so this cannot happen; segments rely on it.
        if (indexOfByte.call(out.subarray(eventStart, w), NEWLINE, 0) >= 0)
          throw new AuditlockError('ENTRY_NEWLINE', 'canonical entry holds a line feed');
        room(w, w + framing.after.length);
        w = put(out, w, framing.after);
        if (w - start > MAX_ENTRY_BYTES)
          throw new AuditlockError(
            'ENTRY_TOO_LARGE',
            `expected at most ${MAX_ENTRY_BYTES} bytes per entry, got ${w - start}`,
          );
        leaves.set(hashLeaf(out.subarray(start, w)), HASH_SIZE * i);
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      rejects.push({
        index: i,
        code: err.code,
        message: err.message,
        location: err.location,
        issues: err.issues,
      });
      w = start;
    }
    at = w;
    ends[i] = at;
  }
  return { bytes: out.subarray(0, at), ends, rejects, leaves };
}

/**
 * The bytes {@link parseEventBatch} starts its result with: the lines' bytes and room for each
 * entry's framing (canonical JSON is usually shorter than the line, having no whitespace; the
 * result grows when it is not). A {@link LineBatch.spare} of at least this size is used. Never
 * throws: for a stamp parseEventBatch refuses, the size without framing (the parse then reports).
 */
export function parsedBatchSize(batch: LineBatch): number {
  let framing: Framing | undefined;
  try {
    framing = batch.stamp ? framingOf(batch.stamp) : undefined;
  } catch {
    framing = undefined;
  }
  return resultSize(batch.bytes.length, batch.ends.length, framing);
}

function resultSize(lineBytes: number, count: number, framing: Framing | undefined): number {
  const framingBytes = framing
    ? framing.idHead.length + framing.idTail.length + framing.after.length + ID_PARTS_BYTES
    : 0;
  return Math.max(1024, lineBytes + count * framingBytes);
}

/** A reject as the InputError parseEventBytes threw. */
export function rejectError(reject: LineReject): InputError {
  return new InputError(reject.code, reject.message, {
    location: reject.location,
    issues: reject.issues,
  });
}
