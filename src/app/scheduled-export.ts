/**
 * One scheduled run of the OCSF export (docs/OCSF.md §6), for the Lambda handler
 * (src/lambda/handlers/export.ts) or any scheduler: read the state the last run left at the
 * target, export what was sealed since (exportOcsf: the state is checked against the store before
 * it is used), put the files, then put the new state. A run that fails puts no state, so the next
 * one starts from the same place and rewrites the same files (no duplicates, no gaps).
 */
import {
  type ExportFileFormat,
  ExportFolderWriter,
  type FilePut,
} from '../adapters/export-files.js';
import { utf8 } from '../core/encoding.js';
import {
  formatExportState,
  MAX_EXPORT_STATE_BYTES,
  parseExportState,
} from '../core/export-state.js';
import type { TrustedKey } from '../core/note.js';
import type { OcsfConfig } from '../core/ocsf-config.js';
import type { ObjectStore } from '../core/ports.js';
import { exportOcsf } from './export.js';

/** Where files and the state go: an S3 prefix (S3ExportTarget) or anything alike. */
export type ExportTarget = {
  readonly put: FilePut;
  getText(name: string, maxBytes: number): Promise<string | undefined>;
  where(name: string): string;
};

export type ScheduledExportOptions = {
  readonly store: ObjectStore;
  readonly target: ExportTarget;
  readonly trustedKeys: readonly TrustedKey[];
  readonly config: OcsfConfig;
  readonly format: ExportFileFormat;
  readonly productVersion: string;
  readonly logs?: readonly string[] | undefined;
  /** Name of the state object at the target. */
  readonly stateName: string;
  readonly rowsPerFile?: number | undefined;
  /** Ends the run after the current segment when true (exportOcsf `stopAfterSegment`). */
  readonly stopAfterSegment?: (() => boolean) | undefined;
};

export type ScheduledExportReport = {
  readonly rows: number;
  /** False when stopAfterSegment ended the run: the next run goes on. */
  readonly complete: boolean;
  readonly files: readonly string[];
  /** Per log: the last segment exported after this run. */
  readonly logs: Readonly<Record<string, number>>;
};

/**
 * @throws IntegrityError `EXPORT_STATE_INVALID`, `EXPORT_STATE_MISMATCH` and whatever
 *   exportOcsf throws; the target's errors
 */
export async function runScheduledExport(
  o: ScheduledExportOptions,
): Promise<ScheduledExportReport> {
  const text = await o.target.getText(o.stateName, MAX_EXPORT_STATE_BYTES);
  const state =
    text === undefined ? undefined : parseExportState(text, o.target.where(o.stateName));
  const writer = new ExportFolderWriter(
    (name, bytes) => o.target.put(name, bytes),
    o.format,
    o.rowsPerFile,
  );
  const result = await exportOcsf(
    o.store,
    {
      trustedKeys: o.trustedKeys,
      logs: o.logs,
      config: o.config,
      productVersion: o.productVersion,
      output: o.format,
      state,
      stopAfterSegment: o.stopAfterSegment,
    },
    (row, at) => writer.write(row, at),
  );
  await writer.close();
  await o.target.put(o.stateName, utf8(formatExportState(result.state)));
  const logs: Record<string, number> = {};
  for (const [log, s] of result.state.logs) logs[log] = s.seq;
  return { rows: result.rows, complete: result.complete, files: writer.files, logs };
}
