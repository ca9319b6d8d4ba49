/**
 * Where an interrupted ingest of one input continues, found in the log itself: every entry of
 * JSON Lines input records `delivery = {source: "cli", id: "<name>:<line>:<chain>"}`
 * (src/core/input-delivery.ts), and segments are stored in input order, one at a time, so the
 * newest entry of an input marks the end of a stored prefix of it. No acknowledgement file: a
 * segment and its "acknowledgement" are the same write, whatever moment the writer died at.
 *
 * Cost, bounded: segments are read newest first, each through readTrustedSegment (only a segment
 * signed by a trusted key may steer the writer), until one holds a `cli` entry. That is normally
 * the head alone; at most {@link RESUME_LOOKBACK_SEGMENTS} are read.
 *
 * Decision, from the newest `cli` entry found:
 * - it belongs to this input (same name): continue after its line, once the input's chain through
 *   that line has been checked against the recorded one (ingest does that while reading);
 * - it belongs to another input, or the log has no `cli` entry at all: this input is new, start
 *   at line 1. An input is therefore resumable while it is the log's newest CLI input;
 * - no `cli` entry in the newest {@link RESUME_LOOKBACK_SEGMENTS} segments of a longer log:
 *   refused (`RESUME_POINT_UNKNOWN`), since starting over could archive lines twice.
 */
import { decodeEntry } from '../core/entry.js';
import { ConfigurationError } from '../core/errors.js';
import { INPUT_DELIVERY_SOURCE, parseInputDeliveryId } from '../core/input-delivery.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { readTrustedSegment } from './trusted-segment.js';

/** Most segments read to find the resume point. */
export const RESUME_LOOKBACK_SEGMENTS = 16;

/** Codes of resuming. Part of the public interface: never rename one. */
export const RESUME_CODES = [
  /** The input does not begin with the bytes the log's entries of this input came from. */
  'INPUT_MISMATCH',
  /** No CLI entry within the lookback: where this input stands cannot be decided. */
  'RESUME_POINT_UNKNOWN',
  /** The newest entry of this input has a legacy delivery id (no chain): nothing to check against. */
  'RESUME_UNVERIFIABLE',
] as const;
export type ResumeCode = (typeof RESUME_CODES)[number];

/** The last stored line of an input and the input chain through it. */
export type ResumePoint = {
  readonly line: number;
  readonly chain: Uint8Array;
  /** Segment holding it, for messages. */
  readonly seq: number;
};

export type FindResumeOptions = {
  readonly store: ObjectStore;
  readonly log: string;
  /** Sequence number of the head segment (-1: the log is empty). */
  readonly headSeq: number;
  readonly trustedKeys: readonly TrustedKey[];
  /** The input's recorded name (inputNameOf). */
  readonly inputName: string;
  readonly lookback?: number;
};

/**
 * The point to resume `inputName` from, or undefined when the input is new (start at line 1).
 * @throws ConfigurationError `RESUME_POINT_UNKNOWN`, `RESUME_UNVERIFIABLE`; IntegrityError from
 *   readTrustedSegment (a segment that is not trusted) or decodeEntry; StorageError.
 */
export async function findResumePoint(opts: FindResumeOptions): Promise<ResumePoint | undefined> {
  const { store, log, headSeq, inputName } = opts;
  const lookback = opts.lookback ?? RESUME_LOOKBACK_SEGMENTS;
  const oldest = Math.max(0, headSeq - lookback + 1);
  for (let seq = headSeq; seq >= oldest; seq--) {
    const { entries } = await readTrustedSegment(store, log, seq, opts.trustedKeys);
    for (let i = entries.length - 1; i >= 0; i--) {
      const { delivery } = decodeEntry(entries[i] as Uint8Array, `segment ${seq} entry ${i}`);
      if (delivery?.source !== INPUT_DELIVERY_SOURCE || delivery.id === undefined) continue;
      const parsed = parseInputDeliveryId(delivery.id);
      if (parsed?.name !== inputName) return undefined;
      if (parsed.chain === undefined)
        throw new ConfigurationError(
          'RESUME_UNVERIFIABLE',
          `log ${log} in ${store.location} holds line ${parsed.line} of ${JSON.stringify(inputName)} with a delivery id written before input chains existed; it cannot be checked, so it cannot be resumed (ingest without --resume appends from line 1)`,
        );
      return { line: parsed.line, chain: parsed.chain, seq };
    }
  }
  if (oldest === 0) return undefined;
  throw new ConfigurationError(
    'RESUME_POINT_UNKNOWN',
    `none of the newest ${lookback} segments of log ${log} in ${store.location} holds a CLI entry, so where ${JSON.stringify(inputName)} stands cannot be decided (ingest without --resume appends from line 1)`,
  );
}
