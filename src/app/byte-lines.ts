/**
 * Splitting input into lines as bytes: large chunks in, one view per line out, no text decoding
 * (a line is decoded strictly, later, by parseEventBytes). Line numbers count LF (0x0A) bytes, so
 * they match `wc -l`, `sed -n Np` and `head -n N`, whatever the bytes in between.
 *
 * - `raw` is the line exactly as read, with its LF (absent on a last line without one).
 * - `content` is what is parsed and quarantined: `raw` without its LF, without one CR right
 *   before the LF (CRLF files), and on line 1 without a UTF-8 byte-order mark (EF BB BF), which
 *   editors add and which is not part of the JSON. Any other CR or BOM is content.
 *
 * A line is held whole in memory; one longer than `maxLineBytes` stops the reading with a coded
 * error rather than grow without bound (the event limit is far below it).
 *
 * A line's `raw` and `content` are views of the source's chunk when the line lies within one: a
 * source may reuse its chunk buffers once the next chunk is asked for (src/cli/file-chunks.ts),
 * so a consumer MUST copy what it keeps of a line before it asks for the next one.
 */
import { InputError } from '../core/errors.js';

export type InputLine = {
  /** 1-based: the number of LF bytes before the line, plus one. */
  readonly number: number;
  readonly raw: Uint8Array;
  readonly content: Uint8Array;
  /**
   * True for the last line the input has given so far: the next one waits for more input. A
   * consumer that gathers lines (src/app/ingest.ts) passes them on here instead of waiting, so a
   * slow stream's lines are not held back.
   */
  readonly endOfChunk: boolean;
};

/** Default hard limit on one line held in memory. */
export const MAX_BUFFERED_LINE_BYTES = 64 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * The lines of `source`, in order.
 * @throws InputError `INPUT_LINE_TOO_LONG` for a line over `maxLineBytes`; whatever `source` throws.
 */
export async function* readByteLines(
  source: AsyncIterable<Uint8Array | string>,
  { maxLineBytes = MAX_BUFFERED_LINE_BYTES } = {},
): AsyncGenerator<InputLine> {
  let number = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const line = (raw: Uint8Array, endOfChunk: boolean): InputLine => {
    number++;
    let end = raw.length;
    if (end > 0 && raw[end - 1] === LF) end--;
    if (end > 0 && raw[end - 1] === CR) end--;
    const start =
      number === 1 && end >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
    return { number, raw, content: raw.subarray(start, end), endOfChunk };
  };
  const tooLong = () =>
    new InputError(
      'INPUT_LINE_TOO_LONG',
      `line ${number + 1}: longer than ${maxLineBytes} bytes; refusing to hold it in memory`,
      { location: `line ${number + 1}` },
    );
  for await (const part of source) {
    // A stream with an encoding set yields text: its bytes are its UTF-8 encoding.
    const chunk = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf >= 0; ) {
      if (pendingBytes + lf + 1 - start > maxLineBytes) throw tooLong();
      const next = chunk.indexOf(LF, lf + 1);
      const piece = chunk.subarray(start, lf + 1);
      if (pending.length === 0) yield line(piece, next < 0);
      else {
        pending.push(piece);
        yield line(concat(pending, pendingBytes + piece.length), next < 0);
        pending = [];
        pendingBytes = 0;
      }
      start = lf + 1;
      lf = next;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw tooLong();
      // A copy: the source may reuse its chunk buffers.
      pending.push(chunk.slice(start));
    }
  }
  if (pendingBytes > 0) yield line(concat(pending, pendingBytes), true);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
