/**
 * `auditlock export --ocsf` through the real CLI: incremental runs into a folder with an ingest
 * between them (every event once), JSON Lines on stdout with a --state file, a row turned into a
 * receipt by `auditlock receipt` that `auditlock verify-receipt` accepts, a changed state refused
 * (exit 1), a mapping file refused with its path, and usage errors.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  readLines,
  runCli,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-export-cli-');
const ORIGIN = 'test.auditlock.local/export';

let dir: string;
let store: string;
let keys: KeyFiles;
let lines: string[];

async function ingest(from: number, to: number): Promise<void> {
  const file = join(dir, `events-${from}.jsonl`);
  await writeFile(file, `${lines.slice(from, to).join('\n')}\n`);
  const r = await runCli([
    'ingest',
    store,
    file,
    '--key',
    keys.privateKey,
    '--origin',
    ORIGIN,
    '--max-events',
    '40',
  ]);
  expect(r.code, r.stderr).toBe(0);
}

async function rowsUnder(root: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.jsonl'))
        for (const l of (await readFile(p, 'utf8')).split('\n').filter(Boolean))
          rows.push(JSON.parse(l));
    }
  };
  await walk(root);
  return rows;
}

const uids = (rows: Record<string, unknown>[]) =>
  rows.map((r) => (r.metadata as { uid: string }).uid).sort();

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
  store = join(dir, 'store');
  lines = (await readLines(EVENTS_FILE)).slice(0, 150);
  await ingest(0, 100);
});

describe('auditlock export --ocsf', () => {
  it('into a folder, incrementally: an ingest between two runs, every event exported once', async () => {
    const out = join(dir, 'out');
    const args = [
      'export',
      store,
      '--ocsf',
      '--out',
      out,
      '--pubkey',
      keys.publicKey,
      '--rows-per-file',
      '10',
    ];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('100 rows');
    await ingest(100, 150);
    const second = await runCli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('50 rows');
    const third = await runCli(args);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('0 rows');
    const expected = lines.map((l) => (JSON.parse(l) as { id: string }).id).sort();
    expect(uids(await rowsUnder(out))).toEqual(expected);
    const state = JSON.parse(await readFile(join(out, '.auditlock-export-state.json'), 'utf8'));
    expect(state.logs.default.treeSize).toBe(150);
  });

  it('JSON Lines on stdout with --state; a row becomes a receipt that verifies', async () => {
    const statePath = join(dir, 'stdout-state.json');
    const r = await runCli([
      'export',
      store,
      '--ocsf',
      '--out',
      '-',
      '--state',
      statePath,
      '--pubkey',
      keys.publicKey,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(150);
    const again = await runCli([
      'export',
      store,
      '--ocsf',
      '--out',
      '-',
      '--state',
      statePath,
      '--pubkey',
      keys.publicKey,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');

    const row = rows[123];
    const receiptFile = join(dir, 'row.receipt');
    const made = await runCli([
      'receipt',
      store,
      String(row.metadata.sequence),
      '--log',
      row.unmapped['auditlock.log'],
      '--pubkey',
      keys.publicKey,
      '--out',
      receiptFile,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const verified = await runCli([
      'verify-receipt',
      receiptFile,
      '--pubkey',
      keys.publicKey,
      '--json',
    ]);
    expect(verified.code, verified.stderr + verified.stdout).toBe(0);
    const v = JSON.parse(verified.stdout);
    expect(v.index).toBe(row.metadata.sequence);
    expect(v.entry.event.id).toBe(row.metadata.uid);
  });

  it('refuses a changed state with exit 1 and writes nothing', async () => {
    const statePath = join(dir, 'stdout-state.json');
    const text = await readFile(statePath, 'utf8');
    await writeFile(
      statePath,
      text.replace(/"seq":(\d+)/, (_, n) => `"seq":${Number(n) - 1}`),
    );
    const r = await runCli([
      'export',
      store,
      '--ocsf',
      '--out',
      '-',
      '--state',
      statePath,
      '--pubkey',
      keys.publicKey,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: EXPORT_STATE_MISMATCH: /);
    expect(r.stdout).toBe('');
    await writeFile(statePath, '{"format":"auditlock-export-state"}');
    const bad = await runCli([
      'export',
      store,
      '--ocsf',
      '--out',
      '-',
      '--state',
      statePath,
      '--pubkey',
      keys.publicKey,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: EXPORT_STATE_INVALID: /);
  });

  it('refuses a mapping file with the path of the problem, and usage errors', async () => {
    const mapping = join(dir, 'mapping.json');
    await writeFile(
      mapping,
      '{"version":1,"rules":[{"match":{"action":["x"]},"class":"authentication","activity":"create"}]}',
    );
    const base = ['export', store, '--pubkey', keys.publicKey];
    const m = await runCli([...base, '--ocsf', '--out', '-', '--mapping', mapping]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/^error: OCSF_MAPPING_INVALID: .*rules\.0\.activity/);
    const usage = async (args: string[]) => {
      const r = await runCli([...base, ...args]);
      expect(r.code, r.stderr).toBe(2);
      return r.stderr;
    };
    expect(await usage(['--out', '-'])).toContain('--ocsf');
    expect(await usage(['--ocsf'])).toContain('--out');
    expect(await usage(['--ocsf', '--out', '-', '--format', 'parquet'])).toContain('folder');
    expect(await usage(['--ocsf', '--out', '-', '--format', 'csv'])).toContain('--format');
    expect(
      await usage(['--ocsf', '--out', '-', '--to', '2026-11-01T00:00:00Z', '--state', 'x']),
    ).toContain('--state');
  });
});
