/**
 * A verification worker thread (started by verify-workers.ts): checks each segment it is sent
 * with `checkSegment` (core/segment-check.ts) and sends the result back with the bytes (both
 * transferred, not copied), so the main thread can go on with the log's order-dependent checks.
 * Anything `checkSegment` throws is a bug, and goes back as the job's error (worker-pool.ts).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import {
  checkSegment,
  type SegmentCheck,
  type SegmentCheckOptions,
} from '../core/segment-check.js';
import { serveJobs } from './worker-pool.js';

/**
 * The `workerData` the pool starts its threads with: this module answers on its parent port only
 * in a thread started for it, never in one that merely imports it (a test runner's thread).
 */
export const VERIFY_WORKER_DATA = 'auditlock-verify-worker';

/** A job: one segment's bytes, owning their whole buffer (transferred), and the options. */
export type CheckRequest = {
  readonly bytes: Uint8Array;
  readonly opts: SegmentCheckOptions;
};

/** A checked segment: the bytes back (moved to the worker and back) and the result. */
export type CheckedSegment = {
  readonly bytes: Uint8Array;
  readonly check: SegmentCheck | undefined;
};

/** Answers every check request that comes to `port` (serveJobs), then says it is ready. */
export function serveChecks(port: MessagePort): void {
  serveJobs<CheckRequest, CheckedSegment>(port, ({ bytes, opts }) => ({
    res: { bytes, check: checkSegment(bytes, opts) },
    transfer: [bytes.buffer as ArrayBuffer],
  }));
}

if (parentPort && workerData === VERIFY_WORKER_DATA) serveChecks(parentPort);
