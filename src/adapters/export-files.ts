/**
 * The files of an OCSF export in a folder (docs/OCSF.md §5–6):
 *
 *     <out>/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<log>-<seq>-<part>.<jsonl|parquet>
 *
 * `<seq>` (10 digits) is the segment of the log's first row in this run, `<part>` (4 digits)
 * counts the files of one partition and log in the run, each at most `maxRowsPerFile` rows. Rows
 * go to files in log order, so a run started again from the same state names the same files and
 * writes each with the same rows or more: a run that died before its state was written leaves no
 * duplicate once the next run has finished. Every file and the state are written to a temp file
 * in the same folder, synced, then renamed into place (a reader never sees half a file).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { terminalSafeJson } from '../core/event-filter.js';
import type { OcsfRow } from '../core/ocsf.js';
import { type Partition, partitionPath } from '../core/ocsf-layout.js';
import { syncDirectory } from './fsync.js';
import { ocsfParquet } from './ocsf-parquet.js';

export type ExportFileFormat = 'jsonl' | 'parquet';

/** Default rows per file: Security Lake and Athena read files of tens of MB best. */
export const DEFAULT_ROWS_PER_FILE = 100_000;

type Group = { dir: string; stem: string; part: number; rows: OcsfRow[] };

/** Stores one finished file at `name` (relative, `/`-separated), replacing one of that name. */
export type FilePut = (name: string, bytes: Uint8Array) => Promise<void>;

export class ExportFolderWriter {
  readonly #put: FilePut;
  readonly #format: ExportFileFormat;
  readonly #maxRows: number;
  readonly #groups = new Map<string, Group>();
  readonly #firstSeq = new Map<string, number>();
  readonly #files: string[] = [];

  /**
   * @param target a folder (files written with {@link writeFileAtomic}) or where to put each file
   *   (an S3 prefix: scheduled-export.ts)
   */
  constructor(
    target: string | FilePut,
    format: ExportFileFormat,
    maxRowsPerFile = DEFAULT_ROWS_PER_FILE,
  ) {
    this.#put =
      typeof target === 'string'
        ? (name, bytes) => writeFileAtomic(join(target, name), bytes)
        : target;
    this.#format = format;
    this.#maxRows = maxRowsPerFile;
  }

  /** Files written so far, relative to the root. */
  get files(): readonly string[] {
    return this.#files;
  }

  /**
   * Adds a row; writes a file when its group is full.
   * @throws the filesystem's error
   */
  async write(row: OcsfRow, at: { partition: Partition; log: string; seq: number }): Promise<void> {
    if (!this.#firstSeq.has(at.log)) this.#firstSeq.set(at.log, at.seq);
    const dir = partitionPath(at.partition);
    const key = `${dir}\n${at.log}`;
    let g = this.#groups.get(key);
    if (!g) {
      const seq = String(this.#firstSeq.get(at.log)).padStart(10, '0');
      g = { dir, stem: `${at.log}-${seq}`, part: 0, rows: [] };
      this.#groups.set(key, g);
    }
    g.rows.push(row);
    if (g.rows.length >= this.#maxRows) await this.#flush(g);
  }

  /**
   * Writes every group's remaining rows.
   * @throws the filesystem's error
   */
  async close(): Promise<void> {
    for (const g of this.#groups.values()) if (g.rows.length > 0) await this.#flush(g);
  }

  async #flush(g: Group): Promise<void> {
    const name = `${g.dir}/${g.stem}-${String(g.part).padStart(4, '0')}.${this.#format}`;
    const bytes =
      this.#format === 'parquet'
        ? ocsfParquet(g.rows)
        : Buffer.from(g.rows.map((r) => `${terminalSafeJson(r)}\n`).join(''));
    await this.#put(name, bytes);
    this.#files.push(name);
    g.rows = [];
    g.part++;
  }
}

/**
 * Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part: a
 * temp file in the same folder, synced, renamed over `path`, and the folder synced.
 * @throws the filesystem's error
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.tmp-export-${randomBytes(12).toString('hex')}`);
  try {
    const fh = await open(temp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}
