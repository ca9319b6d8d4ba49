/**
 * Exporting a store or evidence bundle as OCSF events (`auditlock export`, docs/OCSF.md), on the
 * reading path of `auditlock events` (searchEvents): the same trust checks, the same O(log n)
 * receive-time bounds, one segment in memory at a time. Each entry read becomes one row
 * (core/ocsf.ts), quarantined ones included, handed to a sink with its Security Lake partition.
 *
 * Incremental. Given the state of the run before (core/export-state.ts), each log's search starts
 * after the segment the state names, and only once that segment has been read again as trusted
 * and found to have the state's hash, tree size and root: a state can only name a real, signed
 * segment, and the first segment read must chain to it. The new state names, per log, the last
 * segment read; a run exports whole segments, so none is exported twice and none is skipped.
 * The caller writes the new state only after the sink has committed the rows.
 */

import { IntegrityError } from '../core/errors.js';
import type { TimeBounds } from '../core/event-filter.js';
import type { ExportOutputFormat, ExportState, LogExportState } from '../core/export-state.js';
import { bytesEqual } from '../core/hash.js';
import { hashLeaf } from '../core/merkle.js';
import type { TrustedKey } from '../core/note.js';
import { type OcsfRow, toOcsfRow } from '../core/ocsf.js';
import type { OcsfConfig } from '../core/ocsf-config.js';
import { type Partition, partitionOf } from '../core/ocsf-layout.js';
import type { ObjectStore } from '../core/ports.js';
import { type LogSearchSummary, type ResumePoint, searchEvents } from './events.js';
import { readTrustedSegment, type TrustedSegment } from './trusted-segment.js';

export type ExportOptions = {
  readonly trustedKeys: readonly TrustedKey[];
  /** Only these logs; by default every log of the store or bundle. */
  readonly logs?: readonly string[] | undefined;
  readonly bundle?: boolean | undefined;
  /** Receive-time bounds, `from` inclusive, `to` exclusive. */
  readonly received?: TimeBounds | undefined;
  readonly config: OcsfConfig;
  /** auditlock's version, for `metadata.product.version`. */
  readonly productVersion: string;
  /** Output format, recorded in the state (a state of another format is refused). */
  readonly output: ExportOutputFormat;
  /** The state the previous run left, as read (it is checked here before it is used). */
  readonly state?: ExportState | undefined;
  /**
   * Asked after each segment: true ends the run there (a time budget). The state then names the
   * segments done so far and the next run goes on from them.
   */
  readonly stopAfterSegment?: (() => boolean) | undefined;
};

/** Thrown through searchEvents to end a run at a segment boundary. */
class StopAtSegment extends Error {}

/** Receives each row in log order, with where it goes and the log and leaf it came from. */
export type RowSink = (
  row: OcsfRow,
  at: { readonly partition: Partition; readonly log: string; readonly seq: number },
) => void | Promise<void>;

export type ExportResult = {
  readonly rows: number;
  /** Whether every selected segment was exported (false: stopAfterSegment ended the run). */
  readonly complete: boolean;
  /** Per log, what was searched (empty when the run was ended early). */
  readonly summaries: readonly LogSearchSummary[];
  /** The state after this run: the state before, each log moved to the last segment read. */
  readonly state: ExportState;
};

/**
 * Exports every entry the options select to `sink`, log by log, in leaf order.
 * @throws IntegrityError `EXPORT_STATE_MISMATCH` when the state names a segment that is not
 *   trusted or not the one it pins, `EXPORT_STATE_INVALID` when it was written for another
 *   output format; everything searchEvents throws; ConfigurationError `OCSF_KIND_UNSUPPORTED`
 */
export async function exportOcsf(
  store: ObjectStore,
  options: ExportOptions,
  sink: RowSink,
): Promise<ExportResult> {
  const { state } = options;
  if (state && state.output !== options.output)
    throw new IntegrityError(
      'EXPORT_STATE_INVALID',
      `the export state was written by a ${state.output} export, this one writes ${options.output}: use another --state or --out`,
    );
  const resume = new Map<string, ResumePoint>();
  for (const [log, s] of state?.logs ?? [])
    if (!options.logs?.length || options.logs.includes(log))
      resume.set(log, {
        seq: s.seq,
        segment: await checkResumePoint(store, log, s, options.trustedKeys),
      });

  const ended = new Map<string, LogExportState>(state?.logs ?? []);
  const ctx = { config: options.config, productVersion: options.productVersion };
  let rows = 0;
  const search = searchEvents(
    store,
    {
      trustedKeys: options.trustedKeys,
      logs: options.logs,
      bundle: options.bundle,
      filter: { received: options.received, includeQuarantined: true },
      resume,
      onSegment: (log, seq, t) => {
        ended.set(log, stateOf(seq, t));
        if (options.stopAfterSegment?.()) throw new StopAtSegment();
      },
    },
    async (hit, source) => {
      const cp = source.segment.seg.checkpoint;
      const row = toOcsfRow(
        { ...hit, leafHash: hashLeaf(source.leaf), sealedAt: cp.sealedAt, origin: cp.origin },
        ctx,
      );
      rows++;
      await sink(row, {
        partition: partitionOf(row, options.config),
        log: hit.log,
        seq: hit.seq,
      });
    },
  );
  let summaries: readonly LogSearchSummary[] = [];
  let complete = true;
  try {
    summaries = await search;
  } catch (err) {
    if (!(err instanceof StopAtSegment)) throw err;
    complete = false;
  }
  return { rows, complete, summaries, state: { output: options.output, logs: ended } };
}

/**
 * Reads the segment a state names and checks it is the one the state pins.
 * @throws IntegrityError `EXPORT_STATE_MISMATCH`
 */
async function checkResumePoint(
  store: ObjectStore,
  log: string,
  s: LogExportState,
  trustedKeys: readonly TrustedKey[],
): Promise<TrustedSegment> {
  const fail = (why: string, cause?: unknown): never => {
    throw new IntegrityError(
      'EXPORT_STATE_MISMATCH',
      `the export state says log ${log} ended at segment ${s.seq}, ${why}; the state does not belong to this store or was changed`,
      { cause },
    );
  };
  let t: TrustedSegment;
  try {
    t = await readTrustedSegment(store, log, s.seq, trustedKeys);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return fail(`which is not trusted (${err.code})`, err);
  }
  const cp = t.seg.checkpoint;
  if (
    !bytesEqual(t.hash, s.segmentHash) ||
    cp.treeSize !== s.treeSize ||
    !bytesEqual(cp.root, s.root) ||
    cp.sealedAt !== s.sealedAt
  )
    fail('but that segment has another hash, tree size, root or seal time');
  return t;
}

function stateOf(seq: number, t: TrustedSegment): LogExportState {
  const cp = t.seg.checkpoint;
  return { seq, segmentHash: t.hash, treeSize: cp.treeSize, root: cp.root, sealedAt: cp.sealedAt };
}
