/**
 * A verification worker thread (started by verify-workers.ts): checks each segment it is sent
 * with `checkSegment` (core/segment-check.ts) and sends the result back with the bytes (both
 * transferred, not copied), so the main thread can go on with the log's order-dependent checks.
 * Anything `checkSegment` throws is a bug, and goes back as the job's error.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { checkSegment, type SegmentCheckOptions } from '../core/segment-check.js';

/**
 * The `workerData` the pool starts its threads with: this module answers on its parent port only
 * in a thread started for it, never in one that merely imports it (a test runner's thread).
 */
export const VERIFY_WORKER_DATA = 'auditlock-verify-worker';

/** A job: one segment's bytes, owning their whole buffer (transferred), and the options. */
export type CheckRequest = {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly opts: SegmentCheckOptions;
};

export type CheckResponse =
  | {
      readonly id: number;
      readonly bytes: Uint8Array;
      readonly check: ReturnType<typeof checkSegment>;
    }
  | { readonly id: number; readonly error: unknown };

/** What a worker sends: its answers, and once, when its module has loaded, that it is ready. */
export type WorkerMessage = CheckResponse | { readonly ready: true };

/** Answers every request that comes to `port`. */
export function serveChecks(port: MessagePort): void {
  port.on('message', (req: CheckRequest) => {
    let res: CheckResponse;
    try {
      res = { id: req.id, bytes: req.bytes, check: checkSegment(req.bytes, req.opts) };
    } catch (error) {
      port.postMessage({ id: req.id, error } satisfies CheckResponse);
      return;
    }
    port.postMessage(res, [req.bytes.buffer as ArrayBuffer]);
  });
}

if (parentPort && workerData === VERIFY_WORKER_DATA) {
  serveChecks(parentPort);
  parentPort.postMessage({ ready: true } satisfies WorkerMessage);
}
