/**
 * Finding and loading a log's head without any mutable pointer object: segments are numbered
 * contiguously from 0, so the head is found with O(log n) existence probes (exponential, then
 * binary search), and is then read and verified before anything is appended after it.
 */

import { ConfigurationError } from '../core/errors.js';
import { classifyKey, segmentKey, segmentPrefix } from '../core/layout.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { emptyHead, type LogHead } from '../core/seal.js';
import { parseTimestamp } from '../core/timestamp.js';
import { readTrustedSegment, type TrustedSegment } from './trusted-segment.js';

/**
 * Sequence number of the last segment of `log`, or -1 if it has none. Starts probing from
 * `knownSeq` (a segment known to exist), so rereading after a lost race is cheap.
 */
export async function findHeadSeq(store: ObjectStore, log: string, knownSeq = -1): Promise<number> {
  const exists = (seq: number) => store.exists(segmentKey(log, seq));
  let lo = knownSeq;
  if (lo < 0) {
    if (!(await exists(0))) return -1;
    lo = 0;
  }
  let step = 1;
  let hi = lo + step;
  while (await exists(hi)) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Sequence number of the first stored segment of `log`, or -1 if it has none: 0 for a whole log,
 * more for an evidence bundle that starts mid-log. One existence probe, plus one listing when
 * segment 0 is absent (keys list in sequence order). Only a place to start: every segment read
 * from there is still checked.
 */
export async function findFirstSeq(store: ObjectStore, log: string): Promise<number> {
  if (await store.exists(segmentKey(log, 0))) return 0;
  for await (const info of store.list(segmentPrefix(log))) {
    const kind = classifyKey(info.key);
    if (kind.kind === 'segment' && kind.log === log) return kind.seq;
  }
  return -1;
}

/** A head the writer may extend, and who signed it. */
export type LoadedHead = {
  readonly head: LogHead;
  /** Trusted keys whose signatures on the head were accepted; empty for a new log. */
  readonly signedBy: readonly TrustedKey[];
  /** The verified head segment; undefined for a new log. */
  readonly segment: TrustedSegment | undefined;
};

/**
 * Reads segment `seq` as a trusted segment (readTrustedSegment: single version, signed by one of
 * `trustedKeys` at its seal time, payload hash, root) and returns the head to continue from. A
 * writer never extends a head it has not verified: whatever it signs next commits to this head's
 * tree.
 * @throws IntegrityError with a TrustedSegmentCode (`SEGMENT_UNTRUSTED` names the head's key and
 *   the trusted ones; `SEGMENT_SHADOWED`, `SEGMENT_MISSING`, ...); ConfigurationError
 *   `ORIGIN_REQUIRED` for a new log without an origin, `ORIGIN_MISMATCH` if the head belongs to
 *   another origin; StorageError from the store.
 */
export async function loadHead(
  store: ObjectStore,
  log: string,
  seq: number,
  origin: string | undefined,
  trustedKeys: readonly TrustedKey[],
): Promise<LoadedHead> {
  if (seq < 0) {
    if (origin === undefined)
      throw new ConfigurationError(
        'ORIGIN_REQUIRED',
        `log ${log} in ${store.location} is new: an origin is required`,
      );
    return { head: emptyHead(origin), signedBy: [], segment: undefined };
  }
  const trusted = await readTrustedSegment(store, log, seq, trustedKeys);
  const { checkpoint: cp, header } = trusted.seg;
  if (origin !== undefined && cp.origin !== origin)
    throw new ConfigurationError(
      'ORIGIN_MISMATCH',
      `log ${log} in ${store.location} has origin ${JSON.stringify(cp.origin)}, configured origin is ${JSON.stringify(origin)}`,
    );
  return {
    head: {
      origin: cp.origin,
      nextSeq: seq + 1,
      prevHash: trusted.hash,
      frontier: trusted.frontier,
      // Both checked by the segment parser.
      lastReceivedAt: parseTimestamp(header.lastReceivedAt),
      lastSealedAt: parseTimestamp(cp.sealedAt),
    },
    signedBy: trusted.signedBy,
    segment: trusted,
  };
}
