/**
 * exportOcsf on real logs in a folder store: incremental runs with segments appended between them
 * (no duplicate, no gap), a run started again after one that died before saving its state, states
 * that must not be trusted (another segment, a changed segment, another format, garbage), quarantined
 * entries as their own rows, every row checked against the OCSF schema, and a row turned back into
 * a receipt that verifies.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportFolderWriter } from '../../src/adapters/export-files.js';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { type ExportResult, exportOcsf } from '../../src/app/export.js';
import { makeReceipt, verifyReceipt } from '../../src/app/receipt.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { InputError } from '../../src/core/errors.js';
import {
  type ExportState,
  formatExportState,
  parseExportState,
} from '../../src/core/export-state.js';
import { segmentKey } from '../../src/core/layout.js';
import { hashLeaf } from '../../src/core/merkle.js';
import type { OcsfRow } from '../../src/core/ocsf.js';
import { DEFAULT_OCSF_CONFIG } from '../../src/core/ocsf-config.js';
import { logFixture, sampleEvent, writeLog } from '../helpers/log-fixture.js';
import { checkOcsfEvent } from '../helpers/ocsf-schema.js';

const CLASS_FILES: Record<number, string> = {
  3001: 'events/iam/account_change.json',
  3002: 'events/iam/authentication.json',
  3004: 'events/iam/entity_management.json',
  6003: 'events/application/api.json',
  0: 'events/base_event.json',
};

let dir: string;
let store: FolderStore;
let fx: ReturnType<typeof logFixture>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-export-'));
  store = new FolderStore(join(dir, 'store'));
  await store.openForWriting();
  fx = logFixture(store);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(
  out: string,
  state?: ExportState,
  extra: Partial<Parameters<typeof exportOcsf>[1]> = {},
): Promise<ExportResult & { files: readonly string[] }> {
  const writer = new ExportFolderWriter(out, 'jsonl', 3);
  const result = await exportOcsf(
    store,
    {
      trustedKeys: [fx.key.trusted],
      config: DEFAULT_OCSF_CONFIG,
      productVersion: '0.1.0',
      output: 'jsonl',
      state,
      ...extra,
    },
    (row, at) => writer.write(row, at),
  );
  await writer.close();
  return { ...result, files: writer.files };
}

/** Every row of every .jsonl file under `out`. */
async function rowsIn(out: string): Promise<OcsfRow[]> {
  const rows: OcsfRow[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.jsonl'))
        for (const line of (await readFile(p, 'utf8')).split('\n').filter(Boolean))
          rows.push(JSON.parse(line));
    }
  };
  await walk(out);
  return rows;
}

const indexes = (rows: OcsfRow[]) =>
  rows.map((r) => Number(r.unmapped['auditlock.index'])).sort((a, b) => a - b);
const range = (n: number) => [...Array(n).keys()];

describe('exportOcsf', () => {
  let out: string;
  let first: ExportResult;

  beforeAll(async () => {
    out = join(dir, 'out');
    await writeLog(fx, 10, 4); // segments 0..2
    const archiver = await fx.open({ maxEvents: 4 });
    const error = new InputError('EVENT_INVALID', 'invalid audit event: actor: expected object');
    const q = archiver.quarantine(utf8('{"actor":1}'), error, { source: 'sqs', id: 'm-1' });
    for (let i = 10; i < 13; i++) await archiver.submit(sampleEvent(i));
    await archiver.close();
    await q; // segment 3: the quarantined entry and events 10..12
    first = await run(out);
  });

  it('exports every entry once, quarantined ones as their own rows, each meeting the schema', async () => {
    const rows = await rowsIn(out);
    expect(indexes(rows)).toEqual(range(14));
    expect(first.rows).toBe(14);
    const q = rows.filter((r) => r.class_uid === 0);
    expect(q.map((r) => r.unmapped['auditlock.index'])).toEqual(['10']);
    expect(q[0]?.status_code).toBe('EVENT_INVALID');
    for (const r of rows)
      expect(checkOcsfEvent(r, CLASS_FILES[r.class_uid] as string), JSON.stringify(r)).toEqual([]);
    expect(first.state.logs.get('main')?.seq).toBe(3);
  });

  it('resumes after the state: segments appended between runs, no duplicates and no gaps', async () => {
    const none = await run(out, first.state);
    expect(none.rows).toBe(0);
    expect(none.files).toEqual([]);
    expect(formatExportState(none.state)).toBe(formatExportState(first.state));

    await writeLog(fx, 9, 4, 13); // 3 more segments
    const second = await run(out, parseExportState(formatExportState(first.state), 'state'));
    expect(second.rows).toBe(9);
    expect(indexes(await rowsIn(out))).toEqual(range(23));
    expect(second.state.logs.get('main')?.seq).toBe(6);
    // Each run's files start at its own first segment: nothing of the first run was rewritten.
    expect(second.files.every((f) => /main-0000000004-\d{4}\.jsonl$/.test(f))).toBe(true);
  });

  it('a run started again after one that died before saving its state rewrites its files, no duplicates', async () => {
    const out2 = join(dir, 'out-crash');
    // The state of the first run: the second run over it dies after writing its files.
    const t = await readTrustedSegment(store, 'main', 3, [fx.key.trusted]);
    const back: ExportState = {
      output: 'jsonl',
      logs: new Map([
        [
          'main',
          {
            seq: 3,
            segmentHash: t.hash,
            treeSize: t.seg.checkpoint.treeSize,
            root: t.seg.checkpoint.root,
            sealedAt: t.seg.checkpoint.sealedAt,
          },
        ],
      ]),
    };
    const died = await run(out2, back);
    expect(died.rows).toBe(9);
    // Events arrive before the run is started again: it writes the same files, with more rows.
    await writeLog(fx, 5, 4, 22);
    const again = await run(out2, back);
    expect(again.rows).toBe(14);
    expect(again.files).toEqual(expect.arrayContaining([...died.files]));
    expect(indexes(await rowsIn(out2))).toEqual(range(28).slice(14));
  });

  it('refuses a state naming another segment, a changed segment, another format, or garbage', async () => {
    const state = first.state;
    const s = state.logs.get('main');
    if (!s) throw new Error('no state');
    const other = await readTrustedSegment(store, 'main', 2, [fx.key.trusted]);
    // seq moved back with the rest of its pin unchanged: segment 2 has another hash.
    const moved: ExportState = { output: 'jsonl', logs: new Map([['main', { ...s, seq: 2 }]]) };
    await expect(run(join(dir, 'x1'), moved)).rejects.toMatchObject({
      code: 'EXPORT_STATE_MISMATCH',
    });
    const wrongRoot: ExportState = {
      output: 'jsonl',
      logs: new Map([['main', { ...s, root: other.seg.checkpoint.root }]]),
    };
    await expect(run(join(dir, 'x2'), wrongRoot)).rejects.toMatchObject({
      code: 'EXPORT_STATE_MISMATCH',
    });
    await expect(run(join(dir, 'x3'), { ...state, output: 'parquet' })).rejects.toMatchObject({
      code: 'EXPORT_STATE_INVALID',
    });
    const text = formatExportState(state);
    for (const bad of [
      text.replace('"seq":3', '"seq":-1'),
      text.replace('"output":"jsonl"', '"output":"csv"'),
      text.replace(toBase64(s.root), 'AAAA'),
      text.replace('"version":1', '"version":1,"extra":0'),
      '{',
      'x'.repeat(1024 * 1024 + 1),
    ])
      expect(() => parseExportState(bad, 'state')).toThrow(
        expect.objectContaining({ code: 'EXPORT_STATE_INVALID' }),
      );
  });

  it('refuses a state whose segment was changed in the store', async () => {
    const s = new FolderStore(join(dir, 'store-copy'));
    await s.openForWriting();
    const f = logFixture(s, fx.key);
    await writeLog(f, 8, 4);
    const writer = new ExportFolderWriter(join(dir, 'x4'), 'jsonl');
    const opts = {
      trustedKeys: [fx.key.trusted],
      config: DEFAULT_OCSF_CONFIG,
      productVersion: '0.1.0',
      output: 'jsonl' as const,
    };
    const done = await exportOcsf(s, opts, (row, at) => writer.write(row, at));
    // A byte of the last exported segment's stored bytes is changed.
    const path = join(dir, 'store-copy', ...segmentKey('main', 1).split('/'));
    const bytes = await readFile(path);
    bytes.writeUInt8((bytes.at(-10) as number) ^ 1, bytes.length - 10);
    await writeFile(path, bytes);
    await expect(
      exportOcsf(s, { ...opts, state: done.state }, (row, at) => writer.write(row, at)),
    ).rejects.toMatchObject({ code: 'EXPORT_STATE_MISMATCH' });
  });

  it('stopAfterSegment ends a run at a segment boundary; the next run goes on without gaps', async () => {
    const out3 = join(dir, 'out-stop');
    let asked = 0;
    const part = await run(out3, undefined, { stopAfterSegment: () => ++asked >= 2 });
    expect(part.complete).toBe(false);
    expect(part.state.logs.get('main')?.seq).toBe(1);
    expect(part.rows).toBe(8);
    const rest = await run(out3, part.state);
    expect(rest.complete).toBe(true);
    expect(indexes(await rowsIn(out3))).toEqual(range(28));
  });

  it('with --from/--to bounds exports only the entries received in range', async () => {
    const all = await rowsIn(out);
    const times = all
      .map((r) => r.unmapped['auditlock.received_time'] as string)
      .sort()
      .slice(5, 9);
    const bounded = await run(join(dir, 'bounded'), undefined, {
      received: {
        from: { ms: Date.parse(times[0] as string), ns: 0 },
        to: { ms: Date.parse(times[3] as string), ns: 0 },
      },
    });
    expect(bounded.rows).toBe(3);
  });

  it('an exported row turns back into a receipt that verifies', async () => {
    const rows = await rowsIn(out);
    const row = rows.find((r) => r.unmapped['auditlock.index'] === '17') as OcsfRow;
    const log = row.unmapped['auditlock.log'] as string;
    const index = (row.metadata as { sequence: number }).sequence;
    const receipt = await makeReceipt(store, log, { index }, { trustedKeys: [fx.key.trusted] });
    const verified = verifyReceipt(receipt.text, {
      trustedKeys: [fx.key.trusted],
      origin: (row.metadata as { log_name: string }).log_name,
    });
    expect(verified.index).toBe(17);
    expect(Buffer.from(hashLeaf(utf8(verified.entryText))).toString('hex')).toBe(
      row.unmapped['auditlock.leaf_hash'],
    );
    expect(verified.entry.kind === 'event' && verified.entry.event.id).toBe(
      (row.metadata as { uid: string }).uid,
    );
    expect(Date.parse(verified.sealedAt)).toBe(
      (row.metadata as { logged_time: number }).logged_time,
    );
  });
});
