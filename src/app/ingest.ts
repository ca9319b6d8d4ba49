/**
 * Ingesting JSON Lines: validate each line, archive the valid ones, report every invalid one with
 * its line number (and, optionally, archive it as a quarantined entry so nothing is lost).
 * Acknowledgements are reported in input order, only once the segment holding a line is stored.
 */
import { createInterface } from 'node:readline';
import { utf8 } from '../core/encoding.js';
import { InputError } from '../core/errors.js';
import { parseEventLine } from '../core/event.js';
import type { Archiver, Receipt } from './archiver.js';

export type IngestOptions = {
  readonly archiver: Archiver;
  readonly input: NodeJS.ReadableStream;
  /** Name of the input for delivery records and messages, e.g. `events.jsonl` or `stdin`. */
  readonly inputName: string;
  /** Skip lines before this 1-based line number (resuming after a crash). */
  readonly fromLine?: number;
  /** Archive invalid lines as quarantined entries (besides reporting them). */
  readonly quarantine?: boolean;
  /** Every invalid line, as soon as it is read. */
  readonly onReject?: (reject: { line: number; error: InputError; text: string }) => void;
  /** Stops reading (e.g. on SIGTERM); what was read is still stored and acknowledged. */
  readonly signal?: AbortSignal;
  /** Called in input order when every line up to `throughLine` is stored. */
  readonly onAck?: (ack: { throughLine: number; receipt: Receipt }) => void;
};

export type IngestResult = {
  readonly lines: number;
  readonly archived: number;
  readonly rejected: number;
  readonly quarantined: number;
  readonly lastReceipt: Receipt | undefined;
  /** True if `signal` stopped the reading before the end of the input. */
  readonly interrupted: boolean;
};

/**
 * Reads and archives every line. Resolves after everything accepted is stored.
 * @throws whatever the archiver throws for a segment that could not be stored.
 */
export async function ingestJsonLines(opts: IngestOptions): Promise<IngestResult> {
  const { archiver } = opts;
  const from = opts.fromLine ?? 1;
  let lines = 0;
  let archived = 0;
  let rejected = 0;
  let quarantined = 0;
  let lastReceipt: Receipt | undefined;
  let failure: unknown;
  // Acks are chained so they fire in input order even though segments store asynchronously.
  let ackChain: Promise<void> = Promise.resolve();
  const track = (line: number, stored: Promise<Receipt>) => {
    stored.catch((err) => {
      failure ??= err;
    });
    ackChain = ackChain.then(async () => {
      try {
        const receipt = await stored;
        lastReceipt = receipt;
        opts.onAck?.({ throughLine: line, receipt });
      } catch {}
    });
  };
  const rl = createInterface({ input: opts.input, crlfDelay: Number.POSITIVE_INFINITY });
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    rl.close();
  };
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  // An iterator made after close() would never end: skip reading when already stopped.
  for await (const line of interrupted ? [] : rl) {
    lines++;
    // Editors on Windows often start files with a UTF-8 byte-order mark; it is not part of the JSON.
    const text = lines === 1 && line.startsWith('\uFEFF') ? line.slice(1) : line;
    if (lines < from) continue;
    if (failure) break;
    if (text.trim() === '') continue;
    const delivery = { source: 'cli', id: `${opts.inputName}:${lines}` };
    let event: ReturnType<typeof parseEventLine>;
    try {
      event = parseEventLine(text, lines);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      rejected++;
      opts.onReject?.({ line: lines, error: err, text });
      if (opts.quarantine) {
        quarantined++;
        track(lines, (await archiver.submitQuarantine(utf8(text), err, delivery)).stored);
      }
      continue;
    }
    archived++;
    track(lines, (await archiver.submit(event, delivery)).stored);
  }
  opts.signal?.removeEventListener('abort', stop);
  await archiver.flush();
  await ackChain;
  if (failure) throw failure;
  return { lines, archived, rejected, quarantined, lastReceipt, interrupted };
}
