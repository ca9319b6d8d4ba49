/**
 * Parquet export read back by an independent reader: Python pyarrow (pinned in
 * scripts/requirements-moto.txt, installed into .venv/ by the test setup). The sample events of
 * examples/events.jsonl and a quarantined entry are exported twice, as JSON Lines and as Parquet;
 * every Parquet file must exist beside its JSON Lines file in the Security Lake layout, hold the
 * same rows in the same order, and read as one hive-partitioned dataset per class.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportFolderWriter } from '../../src/adapters/export-files.js';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { exportOcsf } from '../../src/app/export.js';
import { utf8 } from '../../src/core/encoding.js';
import { InputError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import { DEFAULT_OCSF_CONFIG } from '../../src/core/ocsf-config.js';
import { EVENTS_FILE, REPO_ROOT } from '../helpers/cli.js';
import { logFixture } from '../helpers/log-fixture.js';

const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');

/** Reads every .parquet file under argv[1]; prints {relative path: rows}, nulls left out. */
const READER = `
import json, os, sys
import pyarrow.parquet as pq
import pyarrow.dataset as ds

def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):
            return {k: x for k, x in v}
        return [clean(x) for x in v]
    return v

root = sys.argv[1]
files = {}
for d, _, names in os.walk(root):
    for n in names:
        if n.endswith('.parquet'):
            p = os.path.join(d, n)
            files[os.path.relpath(p, root)] = [clean(r) for r in pq.read_table(p).to_pylist()]
sources = {}
for s in sorted(os.listdir(root)):
    t = ds.dataset(os.path.join(root, s), format='parquet', partitioning='hive').to_table()
    sources[s] = {'rows': t.num_rows, 'partitions': sorted({(r['region'], r['accountId'], str(r['eventDay'])) for r in t.select(['region', 'accountId', 'eventDay']).to_pylist()})}
print(json.dumps({'version': __import__('pyarrow').__version__, 'files': files, 'sources': sources}))
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-export-parquet-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string, ext: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith(ext)) out.push(relative(root, p));
    }
  };
  await walk(root);
  return out.sort();
}

describe('Parquet export', () => {
  it('reads back in pyarrow row by row as the JSON Lines export of the same entries', async () => {
    // Prepare: the sample events and a quarantined entry, in segments of 100.
    const store = new FolderStore(join(dir, 'store'));
    await store.openForWriting();
    const fx = logFixture(store);
    const archiver = await fx.open({ maxEvents: 100 });
    const lines = (await readFile(EVENTS_FILE, 'utf8')).split('\n').filter(Boolean).slice(0, 400);
    const stored: Promise<unknown>[] = [];
    for (const l of lines) stored.push((await archiver.submit(parseEvent(JSON.parse(l)))).stored);
    stored.push(
      archiver.quarantine(
        utf8('{"time":1}'),
        new InputError('EVENT_INVALID', 'time: expected text'),
      ),
    );
    await archiver.close();
    await Promise.all(stored);

    // Act: both formats, small files so that partitions have several parts.
    const exported: Record<string, number> = {};
    for (const format of ['jsonl', 'parquet'] as const) {
      const writer = new ExportFolderWriter(join(dir, format), format, 3);
      const r = await exportOcsf(
        store,
        {
          trustedKeys: [fx.key.trusted],
          config: DEFAULT_OCSF_CONFIG,
          productVersion: '0.1.0',
          output: format,
        },
        (row, at) => writer.write(row, at),
      );
      await writer.close();
      exported[format] = r.rows;
    }
    const read = JSON.parse(
      execFileSync(PYTHON, ['-c', READER, join(dir, 'parquet')], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      }),
    ) as {
      version: string;
      files: Record<string, unknown[]>;
      sources: Record<string, { rows: number; partitions: string[][] }>;
    };

    // Assess
    expect(read.version).toBe('26.0.1');
    expect(exported).toEqual({ jsonl: 401, parquet: 401 });
    const jsonlFiles = await filesUnder(join(dir, 'jsonl'), '.jsonl');
    const parquetFiles = Object.keys(read.files).sort();
    expect(parquetFiles).toEqual(jsonlFiles.map((f) => f.replace(/\.jsonl$/, '.parquet')));
    let rows = 0;
    for (const f of jsonlFiles) {
      const expected = (await readFile(join(dir, 'jsonl', f), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(read.files[f.replace(/\.jsonl$/, '.parquet')], f).toEqual(expected);
      rows += expected.length;
    }
    expect(rows).toBe(401);
    // One class per source, each a hive-partitioned dataset with the Security Lake partitions.
    expect(Object.keys(read.sources).sort()).toEqual([
      'auditlock-account-change',
      'auditlock-api-activity',
      'auditlock-authentication',
      'auditlock-entity-management',
      'auditlock-quarantine',
    ]);
    expect(Object.values(read.sources).reduce((n, s) => n + s.rows, 0)).toBe(401);
    expect(read.sources['auditlock-quarantine']?.rows).toBe(1);
    for (const s of Object.values(read.sources))
      for (const [region, account, day] of s.partitions) {
        expect(region).toMatch(/^([a-z]{2}(-[a-z]+)+-\d{1,2}|unknown)$/);
        expect(account).toMatch(/^(\d{12}|unknown)$/);
        expect(day).toMatch(/^\d{8}$/);
      }
  });
});
