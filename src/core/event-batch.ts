/**
 * Parsing a batch of JSON Lines: each line checked as parseEventBytes does (size, strict UTF-8,
 * strict JSON, the event schema) and, if it is an event, encoded in its RFC 8785 canonical form.
 * This is the per-event work of ingest that does not depend on the order of the log (what an
 * event's bytes are does not depend on the events around it), so a batch may be parsed on any
 * thread (src/app/event-parse-pool.ts) and its results used in order afterwards.
 *
 * Batches are flat byte arrays with offsets, not arrays of objects, so that they move between
 * threads as transferred buffers rather than as cloned objects.
 */
import { canonicalize } from './canonical-json.js';
import { InputError, type InputIssue } from './errors.js';
import { parseEventBytes } from './event-line.js';

/** Lines to parse: line `i` is `bytes[ends[i-1] .. ends[i])` (from 0 for `i = 0`). */
export type LineBatch = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  /** Line `i`'s 1-based number in its input, for error locations. */
  readonly numbers: Float64Array;
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
 * canonical JSON, and empty exactly when the line is in `rejects` (in line order).
 */
export type ParsedBatch = {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly rejects: readonly LineReject[];
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

/**
 * Parses and canonicalises every line of `batch`. A line that is not a valid event is a reject
 * (an InputError of parseEventBytes); anything else thrown is a bug and propagates.
 */
export function parseEventBatch(batch: LineBatch): ParsedBatch {
  const count = batch.ends.length;
  const ends = new Uint32Array(count);
  const rejects: LineReject[] = [];
  // Canonical JSON is usually shorter than the line (no whitespace); grown when it is not.
  let out = new Uint8Array(Math.max(1024, batch.bytes.length));
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
      // At most 3 UTF-8 bytes per UTF-16 code unit.
      if (at + 3 * text.length > out.length) {
        const grown = new Uint8Array(Math.max(2 * out.length, at + 3 * text.length));
        grown.set(out.subarray(0, at));
        out = grown;
      }
      at += encoder.encodeInto(text, out.subarray(at)).written;
    }
    ends[i] = at;
  }
  return { bytes: out.subarray(0, at), ends, rejects };
}

/** A reject as the InputError parseEventBytes threw. */
export function rejectError(reject: LineReject): InputError {
  return new InputError(reject.code, reject.message, {
    location: reject.location,
    issues: reject.issues,
  });
}
