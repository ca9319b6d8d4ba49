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
 */
import { AuditlockError, ConfigurationError, InputError } from '../core/errors.js';
import { parseEventBytes } from '../core/event-line.js';
import { bytesEqual } from '../core/hash.js';
import {
  formatInputDeliveryId,
  INPUT_CHAIN_START,
  INPUT_DELIVERY_SOURCE,
  nextInputChain,
} from '../core/input-delivery.js';
import type { Archiver, Receipt } from './archiver.js';
import { readByteLines } from './byte-lines.js';
import type { ResumePoint } from './resume.js';
import type { SealingSubmit } from './seal-submit.js';

export type IngestOptions = {
  readonly archiver: Archiver;
  /** The input's bytes, in chunks (a file or stdin stream). */
  readonly input: AsyncIterable<Uint8Array | string>;
  /** Name recorded in delivery ids (inputNameOf), e.g. `events.jsonl` or `stdin`. */
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

/** JSON whitespace other than LF (RFC 8259 §2): a line of only these is blank and skipped. */
function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/**
 * Reads and archives every line. Resolves after everything accepted is stored.
 * @throws ConfigurationError `INPUT_MISMATCH` (before anything is written); InputError
 *   `INPUT_LINE_TOO_LONG`; whatever the input or the archiver throws.
 */
export async function ingestJsonLines(opts: IngestOptions): Promise<IngestResult> {
  const { archiver, resume } = opts;
  if (opts.seal && opts.quarantine)
    throw new ConfigurationError(
      'SEAL_QUARANTINE_CONFLICT',
      'quarantine keeps rejected input as it was read, personal fields in clear: it cannot be combined with sealing',
    );
  let lines = 0;
  let archived = 0;
  let rejected = 0;
  let quarantined = 0;
  let lastReceipt: Receipt | undefined;
  let failure: unknown;
  let chain = INPUT_CHAIN_START;
  const track = (stored: Promise<Receipt>) => {
    stored.then(
      (r) => {
        if (!lastReceipt || r.index > lastReceipt.index) lastReceipt = r;
      },
      (err) => {
        failure ??= err;
      },
    );
  };
  let interrupted = Boolean(opts.signal?.aborted);
  try {
    for await (const { number, raw, content } of interrupted ? [] : readByteLines(opts.input)) {
      lines = number;
      chain = nextInputChain(chain, raw);
      if (resume && number <= resume.line) {
        if (number === resume.line && !bytesEqual(chain, resume.chain))
          throw mismatch(opts, resume);
        continue;
      }
      if (failure || opts.signal?.aborted) break;
      if (isBlank(content)) continue;
      const delivery = {
        source: INPUT_DELIVERY_SOURCE,
        id: formatInputDeliveryId(opts.inputName, number, chain),
      };
      let event: ReturnType<typeof parseEventBytes>;
      try {
        event = parseEventBytes(content, number);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        rejected++;
        opts.onReject?.({ line: number, error: err, raw: content });
        if (opts.quarantine) {
          quarantined++;
          track((await archiver.submitQuarantine(content, err, delivery)).stored);
        }
        continue;
      }
      let submitted: { stored: Promise<Receipt> };
      try {
        submitted = opts.seal
          ? await opts.seal(event, delivery)
          : await archiver.submit(event, delivery);
      } catch (err) {
        if (!(opts.seal && err instanceof InputError)) throw err;
        rejected++;
        opts.onReject?.({ line: number, error: err, raw: content });
        continue;
      }
      archived++;
      track(submitted.stored);
    }
  } catch (err) {
    // A stream destroyed by the abort signal ends its iteration with an AbortError.
    if (!opts.signal?.aborted || err instanceof AuditlockError) throw err;
  }
  if (opts.signal?.aborted) interrupted = true;
  if (resume && lines < resume.line && !interrupted) throw mismatch(opts, resume, lines);
  await archiver.flush();
  if (failure) throw failure;
  const skipped = resume ? Math.min(lines, resume.line) : 0;
  return { lines, skipped, archived, rejected, quarantined, lastReceipt, interrupted };
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
