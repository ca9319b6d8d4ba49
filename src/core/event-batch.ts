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
import { canonicalize } from './canonical-json.js';
import { toBase64 } from './encoding.js';
import { checkDelivery, MAX_ENTRY_BYTES } from './entry.js';
import { AuditlockError, InputError, type InputIssue } from './errors.js';
import { parseEventBytes } from './event-line.js';
import { HASH_SIZE } from './hash.js';
import { formatInputDeliveryId, INPUT_DELIVERY_SOURCE } from './input-delivery.js';
import { hashLeaf } from './merkle.js';
import { formatTimestamp } from './timestamp.js';

/**
 * What makes a batch's events into the `event` entries ingest stores (docs/FORMAT.md §3), so that
 * the entry bytes and their leaf hashes are made on the thread that parses them too.
 */
export type EntryStamp = {
  /** Receive time (ms) of every entry of the batch, given out in the log's order by the archiver. */
  readonly receivedAt: number;
  /** The input's name as recorded in delivery ids (`inputNameOf`). */
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

/** Builds a {@link LineBatch} from lines held apart (tests, small callers). */
export function makeLineBatch(
  lines: readonly { readonly number: number; readonly content: Uint8Array }[],
): LineBatch {
  let size = 0;
  for (const l of lines) size += l.content.length;
  const bytes = new Uint8Array(size);
  const ends = new Uint32Array(lines.length);
  const numbers = new Float64Array(lines.length);
  let at = 0;
  for (const [i, l] of lines.entries()) {
    bytes.set(l.content, at);
    at += l.content.length;
    ends[i] = at;
    numbers[i] = l.number;
  }
  return { bytes, ends, numbers };
}

const encoder = new TextEncoder();

/** The parts of a stamped batch's entries around each event (RFC 8785 member order). */
type Framing = {
  /** `{"delivery":{"id":"<name>:` with the name escaped as RFC 8785 writes it. */
  readonly idHead: string;
  /** `","source":"cli"},"event":` */
  readonly idTail: string;
  /** `,"kind":"event","receivedAt":"…"}`, ASCII. */
  readonly after: string;
};

/**
 * The framing of `batch`'s entries. Their delivery ids differ only in the line number and the
 * chain's base64, which every id may hold; the longest (last line's) is checked once for all.
 * @throws InputError `DELIVERY_INVALID`, `TIMESTAMP_INVALID`
 */
function framingOf(batch: LineBatch, stamp: EntryStamp): Framing {
  const count = batch.ends.length;
  if (count > 0) {
    const last = count - 1;
    const chain = stamp.chains.subarray(HASH_SIZE * last, HASH_SIZE * (last + 1));
    const id = formatInputDeliveryId(stamp.inputName, batch.numbers[last] as number, chain);
    checkDelivery({ source: INPUT_DELIVERY_SOURCE, id });
  }
  const name = canonicalize(`${stamp.inputName}:`);
  return {
    idHead: `{"delivery":{"id":${name.slice(0, -1)}`,
    idTail: `","source":${canonicalize(INPUT_DELIVERY_SOURCE)}},"event":`,
    after: `,"kind":"event","receivedAt":"${formatTimestamp(stamp.receivedAt)}"}`,
  };
}

/**
 * Parses and canonicalises every line of `batch` (and, when it is stamped, makes each event's
 * entry and leaf hash). A line that is not a valid event is a reject (an InputError of
 * parseEventBytes); anything else thrown is a bug and propagates.
 * @throws AuditlockError `ENTRY_TOO_LARGE`, `ENTRY_NEWLINE` (as encodeEntry); InputError
 *   `DELIVERY_INVALID` for a stamp whose input name no delivery id may hold
 */
export function parseEventBatch(batch: LineBatch): ParsedBatch {
  const count = batch.ends.length;
  const ends = new Uint32Array(count);
  const rejects: LineReject[] = [];
  const stamp = batch.stamp;
  const framing = stamp ? framingOf(batch, stamp) : undefined;
  const leaves = stamp ? new Uint8Array(HASH_SIZE * count) : undefined;
  // Canonical JSON is usually shorter than the line (no whitespace); grown when it is not.
  const framingBytes = framing
    ? 3 * (framing.idHead.length + framing.idTail.length) + framing.after.length + 64
    : 0;
  let out = new Uint8Array(Math.max(1024, batch.bytes.length + count * framingBytes));
  let at = 0;
  for (let i = 0; i < count; i++) {
    let text: string | undefined;
    try {
      text = canonicalize(parseEventBytes(lineAt(batch, i), batch.numbers[i] as number));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      rejects.push({
        index: i,
        code: err.code,
        message: err.message,
        location: err.location,
        issues: err.issues,
      });
    }
    if (text !== undefined) {
      const start = at;
      let before = '';
      if (framing && stamp) {
        const chain = stamp.chains.subarray(HASH_SIZE * i, HASH_SIZE * (i + 1));
        const number = batch.numbers[i] as number;
        before = `${framing.idHead}${number}:${toBase64(chain)}${framing.idTail}`;
        // RFC 8785 escapes a line feed in a string, so this cannot happen; segments rely on it.
        if (text.includes('\n'))
          throw new AuditlockError('ENTRY_NEWLINE', 'canonical entry holds a line feed');
      }
      // At most 3 UTF-8 bytes per UTF-16 code unit.
      const most = 3 * (before.length + text.length) + (framing?.after.length ?? 0);
      if (at + most > out.length) {
        const grown = new Uint8Array(Math.max(2 * out.length, at + most));
        grown.set(out.subarray(0, at));
        out = grown;
      }
      if (framing) at += encoder.encodeInto(before, out.subarray(at)).written;
      at += encoder.encodeInto(text, out.subarray(at)).written;
      if (framing && leaves) {
        at += encoder.encodeInto(framing.after, out.subarray(at)).written;
        if (at - start > MAX_ENTRY_BYTES)
          throw new AuditlockError(
            'ENTRY_TOO_LARGE',
            `expected at most ${MAX_ENTRY_BYTES} bytes per entry, got ${at - start}`,
          );
        leaves.set(hashLeaf(out.subarray(start, at)), HASH_SIZE * i);
      }
    }
    ends[i] = at;
  }
  return { bytes: out.subarray(0, at), ends, rejects, leaves };
}

/** A reject as the InputError parseEventBytes threw. */
export function rejectError(reject: LineReject): InputError {
  return new InputError(reject.code, reject.message, {
    location: reject.location,
    issues: reject.issues,
  });
}
