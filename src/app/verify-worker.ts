/**
 * A verification worker thread (started by verify-workers.ts): checks each segment it is sent
 * with `checkSegment` (core/segment-check.ts) and sends the result back with the bytes (both
 * transferred, not copied), so the main thread can go on with the log's order-dependent checks.
 * Anything `checkSegment` throws is a bug, and goes back as the job's error (worker-pool.ts).
 *
 * Nothing this module loads at start loads zod, which would be most of a thread's start-up CPU
 * and heap (issue 14, docs/PERFORMANCE.md; test/app/verify-worker-imports.test.ts holds it to
 * that). Only a strict job (`--strict`) needs the entry schemas: it imports core/entry.ts's
 * `decodeEntry` when it comes (at once from the module cache after the first).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { StrictEntryCheck } from '../core/entry-check.js';
import type { TrustedKey } from '../core/note.js';
import { checkSegment, type SegmentCheck } from '../core/segment-check.js';
import { type JobAnswer, serveJobs } from './worker-pool.js';

/**
 * The `workerData` the pool starts its threads with: this module answers on its parent port only
 * in a thread started for it, never in one that merely imports it (a test runner's thread).
 */
export const VERIFY_WORKER_DATA = 'auditlock-verify-worker';

/**
 * What to check a segment for, as it crosses to the worker (cloned: plain values only):
 * `SegmentCheckOptions` with the strict check as a flag, not as the function.
 */
export type CheckJobOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  /** Validate each entry against the full schema instead of the structural check. */
  readonly strictEntries?: boolean | undefined;
};

/** A job: one segment's bytes, owning their whole buffer (transferred), and the options. */
export type CheckRequest = {
  readonly bytes: Uint8Array;
  readonly opts: CheckJobOptions;
};

/** A checked segment: the bytes back (moved to the worker and back) and the result. */
export type CheckedSegment = {
  readonly bytes: Uint8Array;
  readonly check: SegmentCheck | undefined;
};

/** Answers every check request that comes to `port` (serveJobs), then says it is ready. */
export function serveChecks(port: MessagePort): void {
  serveJobs<CheckRequest, CheckedSegment>(port, ({ bytes, opts }) => {
    const { trustedKeys } = opts;
    const answer = (strict?: StrictEntryCheck) =>
      ({
        res: { bytes, check: checkSegment(bytes, { trustedKeys, strictEntries: strict }) },
        transfer: [bytes.buffer as ArrayBuffer],
      }) satisfies JobAnswer<CheckedSegment>;
    if (!opts.strictEntries) return answer();
    return import('../core/entry.js').then(({ decodeEntry }) => answer(decodeEntry));
  });
}

if (parentPort && workerData === VERIFY_WORKER_DATA) serveChecks(parentPort);
