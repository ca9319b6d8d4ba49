/**
 * The checkpoint of an incremental export (docs/OCSF.md §6): per log, the last segment whose
 * entries were all exported, named by its sequence number and pinned by its SHA-256, tree size
 * and root. Pure: parsing and writing the text; the caller reads and replaces the file.
 *
 *     {"format":"auditlock-export-state","version":1,"output":"parquet",
 *      "logs":{"main":{"seq":7,"segmentHash":"<b64>","treeSize":40,"root":"<b64>",
 *                      "sealedAt":"2026-11-26T08:00:00.123Z"}}}
 *
 * The file is hostile like everything read back: it is parsed strictly here, and before a run
 * trusts a log's entry the segment it names is read with readTrustedSegment and must have that
 * hash, size and root (app/export.ts). So a state can only name a segment a trusted key signed,
 * and the next segment read must chain to it.
 */
import * as z from 'zod';
import { canonicalize } from './canonical-json.js';
import { fromBase64, toBase64 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { issuesFromZod, messageFor, summarise } from './event.js';
import { HASH_SIZE } from './hash.js';
import { LOG_NAME_RE } from './layout.js';
import { parseJsonStrict } from './strict-json.js';

export const EXPORT_STATE_FORMAT = 'auditlock-export-state';
/** Largest state file read (a few hundred bytes per log). */
export const MAX_EXPORT_STATE_BYTES = 1024 * 1024;

export type ExportOutputFormat = 'jsonl' | 'parquet';

const hash = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, { error: 'expected a base64 SHA-256 hash' })
  .refine((s) => fromBase64(s).length === HASH_SIZE, 'expected a base64 SHA-256 hash');

const logStateSchema = z.strictObject({
  seq: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  segmentHash: hash,
  treeSize: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  root: hash,
  sealedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
});

const stateSchema = z.strictObject({
  format: z.literal(EXPORT_STATE_FORMAT),
  version: z.literal(1),
  output: z.enum(['jsonl', 'parquet']),
  logs: z.record(
    z.string().regex(LOG_NAME_RE, { error: `expected a log name matching ${LOG_NAME_RE.source}` }),
    logStateSchema,
  ),
});

/** Where one log's export ended. */
export type LogExportState = {
  readonly seq: number;
  readonly segmentHash: Uint8Array;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly sealedAt: string;
};

export type ExportState = {
  readonly output: ExportOutputFormat;
  readonly logs: ReadonlyMap<string, LogExportState>;
};

/**
 * Parses a state file's text.
 * @throws IntegrityError `EXPORT_STATE_INVALID` naming every problem
 */
export function parseExportState(text: string, location: string): ExportState {
  const fail = (why: string): never => {
    throw new IntegrityError('EXPORT_STATE_INVALID', `${location}: ${why}`);
  };
  if (text.length > MAX_EXPORT_STATE_BYTES)
    fail(`expected at most ${MAX_EXPORT_STATE_BYTES} bytes, got ${text.length}`);
  let input: unknown;
  try {
    input = parseJsonStrict(text, location);
  } catch (err) {
    fail((err as Error).message);
  }
  const r = stateSchema.safeParse(input, { error: messageFor });
  if (!r.success) return fail(summarise('invalid export state', issuesFromZod(r.error.issues)));
  const logs = new Map<string, LogExportState>();
  for (const [log, s] of Object.entries(r.data.logs))
    logs.set(log, {
      seq: s.seq,
      segmentHash: fromBase64(s.segmentHash),
      treeSize: s.treeSize,
      root: fromBase64(s.root),
      sealedAt: s.sealedAt,
    });
  return { output: r.data.output, logs };
}

/** The state file's text: canonical JSON and a line feed. */
export function formatExportState(state: ExportState): string {
  const logs: Record<string, unknown> = {};
  for (const [log, s] of [...state.logs].sort(([a], [b]) => (a < b ? -1 : 1)))
    logs[log] = {
      seq: s.seq,
      segmentHash: toBase64(s.segmentHash),
      treeSize: s.treeSize,
      root: toBase64(s.root),
      sealedAt: s.sealedAt,
    };
  return `${canonicalize({ format: EXPORT_STATE_FORMAT, version: 1, output: state.output, logs })}\n`;
}
