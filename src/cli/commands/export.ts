import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportFolderWriter, writeFileAtomic } from '../../adapters/export-files.js';
import { exportOcsf, type RowSink } from '../../app/export.js';
import { AuditlockError, IntegrityError } from '../../core/errors.js';
import { terminalSafeJson } from '../../core/event-filter.js';
import {
  type ExportOutputFormat,
  type ExportState,
  formatExportState,
  MAX_EXPORT_STATE_BYTES,
  parseExportState,
} from '../../core/export-state.js';
import {
  DEFAULT_OCSF_CONFIG,
  MAX_MAPPING_BYTES,
  type OcsfConfig,
  parseOcsfConfig,
} from '../../core/ocsf-config.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { readInputFile } from '../input-file.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, type Io } from '../output.js';
import { openStore } from '../stores.js';
import { boundsOf, LineWriter } from './events.js';

/** The state file's name in an --out folder when --state is not given. */
export const STATE_FILE = '.auditlock-export-state.json';

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'Export a store or evidence bundle as OCSF 1.1.0 events (JSON Lines or Parquet).',
  usage:
    'export <store|bundle> --ocsf --out <dir|-> (--pubkey PEM... | --trusted-keys FILE) [--format jsonl|parquet] [--from T] [--to T] [--log NAME] [--mapping FILE] [--state FILE] [--bundle]',
  description:
    'Each entry becomes one OCSF row: Authentication, Account Change, Entity Management or API\n' +
    'Activity by the mapping rules (docs/OCSF.md; --mapping adds your own), quarantined input a\n' +
    'Base Event labelled auditlock:quarantine. Every row links back to its proof: metadata.sequence\n' +
    'is the leaf index and unmapped["auditlock.log"] the log, so `auditlock receipt <store>\n' +
    '<index> --log <log>` makes its receipt. Segments are read and checked as `auditlock events`\n' +
    'reads them. --out <dir> writes the Security Lake layout: one folder per class, then\n' +
    'region=…/accountId=…/eventDay=YYYYMMDD/; --out - writes JSON Lines to stdout.\n' +
    'Incremental: with --out <dir> (state in <dir>/.auditlock-export-state.json) or --state FILE,\n' +
    'a run starts after the last segment the previous run exported, once that segment is found\n' +
    'signed and unchanged, and saves the new state after its files are written. --to makes a\n' +
    'one-off range export (no state). A summary per log goes to stderr.\n' +
    'Exit status: 0 done, 1 a segment or the state failed its checks, 2 usage or I/O error.',
  options: {
    ocsf: { type: 'boolean', help: 'the schema to export as (OCSF 1.1.0; required)' },
    out: { type: 'string', value: 'DIR|-', help: 'output folder, or - for JSON Lines on stdout' },
    format: { type: 'string', value: 'jsonl|parquet', help: 'file format', default: 'jsonl' },
    ...TRUST_OPTIONS,
    log: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'export only this log; repeatable (default: every log)',
    },
    from: { type: 'string', value: 'T', help: 'received at or after T (RFC 3339)' },
    to: { type: 'string', value: 'T', help: 'received before T (RFC 3339); a one-off export' },
    mapping: { type: 'string', value: 'FILE', help: 'JSON file of mapping rules (docs/OCSF.md)' },
    state: { type: 'string', value: 'FILE', help: 'incremental state file (default: in --out)' },
    'rows-per-file': {
      type: 'string',
      value: 'N',
      help: 'most rows in one output file',
      default: '100000',
    },
    bundle: {
      type: 'boolean',
      help: 'the folder is an evidence bundle: each log starts where bundle.json says',
    },
  },
  positionals: { min: 1, max: 1 },
};

export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(exportSpec, argv);
  if (p.values.ocsf !== true)
    throw new UsageError('--ocsf is required (OCSF 1.1.0 is the schema export writes)');
  const out = stringOption(p, 'out');
  if (out === undefined) throw new UsageError('--out <dir|-> is required');
  const format = stringOption(p, 'format');
  if (format !== 'jsonl' && format !== 'parquet')
    throw new UsageError(`--format must be jsonl or parquet, got ${JSON.stringify(format)}`);
  if (out === '-' && format === 'parquet')
    throw new UsageError('--format parquet writes files: give --out a folder');
  const received = boundsOf(p, 'from', 'to');
  const oneOff = received?.to !== undefined;
  if (oneOff && stringOption(p, 'state') !== undefined)
    throw new UsageError('--to makes a one-off export: it cannot be combined with --state');
  const rowsPerFile = intOption(p, 'rows-per-file', { min: 1, max: 10_000_000 }) as number;
  const statePath = oneOff
    ? undefined
    : (stringOption(p, 'state') ?? (out === '-' ? undefined : join(out, STATE_FILE)));

  const trustedKeys = await loadTrustOptions(p);
  const config = await loadMapping(stringOption(p, 'mapping'));
  if (out !== '-') {
    const info = await stat(out).catch(() => undefined);
    if (info && !info.isDirectory())
      throw new UsageError(`--out ${JSON.stringify(out)} is not a folder`);
  }
  const store = await openStore(p.positionals[0] as string);

  const folder = out === '-' ? undefined : new ExportFolderWriter(out, format, rowsPerFile);
  const lines = out === '-' ? new LineWriter(io) : undefined;
  const sink: RowSink = folder
    ? (row, at) => folder.write(row, at)
    : (row) => (lines as LineWriter).write(`${terminalSafeJson(row)}\n`);
  try {
    const state = statePath ? await loadState(statePath) : undefined;
    const result = await exportOcsf(
      store,
      {
        trustedKeys,
        logs: listOption(p, 'log'),
        bundle: p.values.bundle === true,
        received,
        config,
        productVersion: await productVersion(),
        output: format as ExportOutputFormat,
        state,
      },
      sink,
    );
    await folder?.close();
    await lines?.flush();
    if (statePath) await writeFileAtomic(statePath, formatExportState(result.state));
    for (const s of result.summaries) {
      const ended = result.state.logs.get(s.log);
      if (!s.stored) {
        if (ended)
          io.stderr.write(
            `${escapeText(`log ${s.log}: 0 rows, no segment after segment ${ended.seq}`)}\n`,
          );
        continue;
      }
      const range =
        s.firstSeq > s.lastSeq ? 'no new segment' : `segments ${s.firstSeq}..${s.lastSeq}`;
      io.stderr.write(
        `${escapeText(`log ${s.log}: ${s.hits} rows from ${range} of ${s.stored.firstSeq}..${s.stored.headSeq}, each read and checked`)}\n`,
      );
    }
    if (folder) io.stderr.write(`${folder.files.length} files written in ${escapeText(out)}\n`);
    if (statePath) io.stderr.write(`state saved in ${escapeText(statePath)}\n`);
    return EXIT.ok;
  } catch (err) {
    if (lines) {
      await lines.flush().catch(() => undefined);
      if (lines.closed) return EXIT.ok;
    }
    // Stored data or the state failed a check: a finding (exit 1); no state is written.
    if (err instanceof IntegrityError) {
      io.stderr.write(`error: ${err.code}: ${escapeText(err.message)}\n`);
      return EXIT.findings;
    }
    throw err;
  }
}

async function loadMapping(path: string | undefined): Promise<OcsfConfig> {
  if (path === undefined) return DEFAULT_OCSF_CONFIG;
  return parseOcsfConfig(await readInputFile(path, 'MAPPING', MAX_MAPPING_BYTES), path);
}

/** The state a previous run left, or undefined when there is none yet. */
async function loadState(path: string): Promise<ExportState | undefined> {
  let text: string;
  try {
    text = await readInputFile(path, 'EXPORT_STATE', MAX_EXPORT_STATE_BYTES);
  } catch (err) {
    if (err instanceof AuditlockError && err.code === 'EXPORT_STATE_NOT_FOUND') return undefined;
    throw err;
  }
  return parseExportState(text, path);
}

/** auditlock's version from its package.json (src/cli/commands and dist/cli/commands alike). */
async function productVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(
      await readFile(new URL('../../../package.json', import.meta.url), 'utf8'),
    );
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
