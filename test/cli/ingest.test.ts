/**
 * `auditlock ingest` through the real CLI: files and stdin, rejects with line numbers, quarantine,
 * JSON summaries, and refusing a store whose log has another origin.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BAD_EVENTS_FILE,
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  parseJsonOutput,
  readLines,
  readLogEntries,
  runCli,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs();

type IngestSummary = {
  store: string;
  log: string;
  origin: string;
  input: string;
  lines: number;
  skipped: number;
  archived: number;
  rejected: number;
  quarantined: number;
  treeSize: number;
  segments: number;
  interrupted: boolean;
};
type VerifySummary = {
  ok: boolean;
  logs: { log: string; entries: number; quarantined: number; treeSize: number; segments: number }[];
  findings: unknown[];
};

/** Line number and error code of every line of examples/bad-events.jsonl (each is invalid). */
const BAD_LINES = [
  { line: 1, code: 'JSON_INVALID' },
  ...[2, 3, 4, 5, 6, 7, 8].map((line) => ({ line, code: 'EVENT_INVALID' })),
];

let dir: string;
let keys: KeyFiles;

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
});

const verifyJson = async (store: string) => {
  const result = await runCli(['verify', store, '--pubkey', keys.publicKey, '--json']);
  return { result, summary: parseJsonOutput<VerifySummary>(result) };
};

describe('auditlock ingest', () => {
  it('archives examples/events.jsonl; verify then exits 0 with the summary', async () => {
    // Prepare
    const store = join(dir, 'good');
    // Act
    const ingest = await runCli([
      'ingest',
      store,
      EVENTS_FILE,
      '--key',
      keys.privateKey,
      '--origin',
      'test.example/good',
      '--max-events',
      '500',
      '--json',
    ]);
    const { result, summary } = await verifyJson(store);
    // Assess
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(parseJsonOutput<IngestSummary>(ingest)).toEqual({
      store: expect.any(String),
      log: 'default',
      origin: 'test.example/good',
      input: 'events.jsonl',
      lines: 5000,
      skipped: 0,
      archived: 5000,
      rejected: 0,
      quarantined: 0,
      treeSize: 5000,
      segments: 10,
      interrupted: false,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.findings).toEqual([]);
    expect(summary.logs).toEqual([
      expect.objectContaining({
        log: 'default',
        entries: 5000,
        quarantined: 0,
        treeSize: 5000,
        segments: 10,
      }),
    ]);
    // The human summary goes to stdout too; its wording is not asserted.
    const human = await runCli(['verify', store, '--pubkey', keys.publicKey]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('5000');
  });

  it('rejects every bad line with its line number on stderr and in --rejects, exit 1', async () => {
    // Prepare
    const store = join(dir, 'bad');
    const rejects = join(dir, 'bad-rejects.jsonl');
    // Act
    const result = await runCli([
      'ingest',
      store,
      BAD_EVENTS_FILE,
      '--key',
      keys.privateKey,
      '--rejects',
      rejects,
      '--json',
    ]);
    // Assess
    expect(result.code).toBe(1);
    expect(parseJsonOutput<IngestSummary>(result)).toMatchObject({
      lines: 8,
      archived: 0,
      rejected: 8,
      quarantined: 0,
      treeSize: 0,
    });
    const stderrLines = result.stderr.split('\n');
    for (const { line, code } of BAD_LINES)
      expect(
        stderrLines.some((l) => new RegExp(`\\bline ${line}\\b`).test(l) && l.includes(code)),
        `stderr reports line ${line} with ${code}`,
      ).toBe(true);
    const records = (await readLines(rejects)).map(
      (l) => JSON.parse(l) as { line: number; code: string; text: string },
    );
    expect(records.map(({ line, code }) => ({ line, code }))).toEqual(BAD_LINES);
    const input = await readLines(BAD_EVENTS_FILE);
    for (const r of records) expect(input[r.line - 1]?.startsWith(r.text)).toBe(true);
  });

  it('with --quarantine archives the rejected lines, and verify counts them as quarantined', async () => {
    // Prepare
    const store = join(dir, 'quarantine');
    // Act
    const result = await runCli([
      'ingest',
      store,
      BAD_EVENTS_FILE,
      '--key',
      keys.privateKey,
      '--quarantine',
      '--json',
    ]);
    const verified = await verifyJson(store);
    // Assess
    expect(result.code).toBe(1);
    expect(parseJsonOutput<IngestSummary>(result)).toMatchObject({
      rejected: 8,
      quarantined: 8,
      archived: 0,
      treeSize: 8,
    });
    expect(verified.result.code, verified.result.stderr).toBe(0);
    expect(verified.summary.logs).toEqual([
      expect.objectContaining({ entries: 8, quarantined: 8, treeSize: 8 }),
    ]);
    const entries = await readLogEntries(store);
    expect(entries.map((e) => e.kind)).toEqual(Array(8).fill('quarantine'));
    // <name>:<line>:<input chain> (src/core/input-delivery.ts).
    expect(entries.map((e) => e.deliveryId?.split(':').slice(0, 2).join(':'))).toEqual(
      BAD_LINES.map(({ line }) => `bad-events.jsonl:${line}`),
    );
  });

  it('reads stdin when the file is -', async () => {
    // Prepare
    const store = join(dir, 'stdin');
    const lines = (await readLines(EVENTS_FILE)).slice(0, 25);
    // Act
    const result = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--max-events', '10', '--json'],
      { input: `${lines.join('\n')}\n` },
    );
    const verified = await verifyJson(store);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(parseJsonOutput<IngestSummary>(result)).toMatchObject({
      lines: 25,
      archived: 25,
      treeSize: 25,
      segments: 3,
    });
    expect(verified.result.code).toBe(0);
    const entries = await readLogEntries(store);
    expect(entries.map((e) => e.id)).toEqual(
      lines.map((l) => (JSON.parse(l) as { id: string }).id),
    );
    expect(entries[0]?.deliveryId).toMatch(/^stdin:1:[A-Za-z0-9+/]{43}=$/);
  });

  it('appends to an existing log and keeps one chain across runs', async () => {
    // Prepare
    const store = join(dir, 'append');
    const lines = await readLines(EVENTS_FILE);
    const first = `${lines.slice(0, 30).join('\n')}\n`;
    const second = `${lines.slice(30, 50).join('\n')}\n`;
    // Act
    const a = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--max-events', '8', '--json'],
      { input: first },
    );
    const b = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--max-events', '8', '--json'],
      { input: second },
    );
    const verified = await verifyJson(store);
    // Assess
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(parseJsonOutput<IngestSummary>(b)).toMatchObject({ archived: 20, treeSize: 50 });
    expect(verified.result.code).toBe(0);
    expect(verified.summary.logs[0]).toMatchObject({ entries: 50, treeSize: 50 });
  });

  it('refuses a log whose origin differs from --origin (exit 2, ORIGIN_MISMATCH) and writes nothing', async () => {
    // Prepare
    const store = join(dir, 'origin');
    const input = `${(await readLines(EVENTS_FILE)).slice(0, 5).join('\n')}\n`;
    const created = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--origin', 'test.example/one'],
      { input },
    );
    expect(created.code, created.stderr).toBe(0);
    // Act
    const result = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--origin', 'test.example/two'],
      { input },
    );
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ORIGIN_MISMATCH');
    expect(await readLogEntries(store)).toHaveLength(5);
  });

  it('keeps the log origin when --origin is omitted on a later run', async () => {
    // Prepare
    const store = join(dir, 'keep-origin');
    const input = `${(await readLines(EVENTS_FILE)).slice(0, 3).join('\n')}\n`;
    await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--origin', 'test.example/kept'],
      { input },
    );
    // Act
    const result = await runCli(['ingest', store, '-', '--key', keys.privateKey, '--json'], {
      input,
    });
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(parseJsonOutput<IngestSummary>(result)).toMatchObject({
      origin: 'test.example/kept',
      treeSize: 6,
    });
  });

  it('writes the rejects file even when it must be created, one JSON object per line', async () => {
    // Prepare: one good line between two bad ones, from stdin.
    const store = join(dir, 'mixed');
    const rejects = join(dir, 'mixed-rejects.jsonl');
    const good = (await readLines(EVENTS_FILE))[0] as string;
    // Act
    const result = await runCli(
      ['ingest', store, '-', '--key', keys.privateKey, '--rejects', rejects, '--json'],
      { input: `{not json\n${good}\n[]\n` },
    );
    // Assess
    expect(result.code).toBe(1);
    expect(parseJsonOutput<IngestSummary>(result)).toMatchObject({
      lines: 3,
      archived: 1,
      rejected: 2,
      treeSize: 1,
    });
    const records = (await readFile(rejects, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; code: string });
    expect(records.map(({ line, code }) => ({ line, code }))).toEqual([
      { line: 1, code: 'JSON_INVALID' },
      { line: 3, code: 'EVENT_INVALID' },
    ]);
  });

  it('with --workers 2 archives what --workers 0 (the main thread) does, in the same order', async () => {
    // Prepare: several batches of lines, every 50th of them invalid.
    const events = await readLines(EVENTS_FILE);
    const lines = Array.from({ length: 3000 }, (_, i) =>
      i % 50 === 49
        ? `{"line":${i + 1},"outcome":"sideways"}`
        : (events[i % events.length] as string).replace(/"id":"[^"]*"/, `"id":"evt-${i + 1}"`),
    );
    const input = join(dir, 'many.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    const run = async (workers: string) => {
      const store = join(dir, `workers-${workers}`);
      const rejects = join(dir, `workers-${workers}-rejects.jsonl`);
      const result = await runCli([
        'ingest',
        store,
        input,
        '--key',
        keys.privateKey,
        '--workers',
        workers,
        '--rejects',
        rejects,
        '--json',
      ]);
      const entries = (await readLogEntries(store)).map(({ index, kind, id, deliveryId }) => ({
        index,
        kind,
        id,
        deliveryId,
      }));
      return { result, store, entries, rejects: await readFile(rejects, 'utf8') };
    };
    // Act
    const main = await run('0');
    const pooled = await run('2');
    // Assess
    expect(pooled.result.code).toBe(1);
    const summary = parseJsonOutput<IngestSummary>(pooled.result);
    expect(summary).toMatchObject({ lines: 3000, archived: 2940, rejected: 60 });
    expect({ ...summary, store: '' }).toEqual({
      ...parseJsonOutput<IngestSummary>(main.result),
      store: '',
    });
    expect(pooled.entries).toEqual(main.entries);
    expect(pooled.entries.map((e) => e.id).slice(0, 3)).toEqual(['evt-1', 'evt-2', 'evt-3']);
    expect(pooled.rejects).toBe(main.rejects);
    expect((await verifyJson(pooled.store)).summary.ok).toBe(true);
  });

  it('refuses --workers below 0 (exit 2) before writing anything', async () => {
    const store = join(dir, 'workers-bad');
    const result = await runCli([
      'ingest',
      store,
      EVENTS_FILE,
      '--key',
      keys.privateKey,
      '--workers',
      '-1',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--workers/);
    expect(existsSync(store)).toBe(false);
  });

  it('reports a missing input file as a coded error, exit 2', async () => {
    const store = join(dir, 'missing-input');
    const result = await runCli([
      'ingest',
      store,
      join(dir, 'no-such-file.jsonl'),
      '--key',
      keys.privateKey,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: INPUT_NOT_FOUND: [^\n]*\n$/);
  });
});

describe('auditlock ingest with a rotated key', () => {
  it('refuses a head signed by another key, and continues it when --trusted-keys/--pubkey name that key', async () => {
    // Prepare: a log signed by the first key, and a second key.
    const store = join(dir, 'rotate');
    const input = `${(await readLines(EVENTS_FILE)).slice(0, 4).join('\n')}\n`;
    const made = await runCli(['ingest', store, '-', '--key', keys.privateKey], { input });
    expect(made.code, made.stderr).toBe(0);
    const next = await keygen(dir, 'next-keys');
    const trust = join(dir, 'trusted.json');
    await writeFile(trust, JSON.stringify({ keys: [{ publicKey: keys.publicKey }] }));
    // Act
    const refused = await runCli(['ingest', store, '-', '--key', next.privateKey], { input });
    const viaFile = await runCli(
      ['ingest', store, '-', '--key', next.privateKey, '--trusted-keys', trust, '--json'],
      { input },
    );
    const store2 = join(dir, 'rotate-pubkey');
    expect((await runCli(['ingest', store2, '-', '--key', keys.privateKey], { input })).code).toBe(
      0,
    );
    const viaPubkey = await runCli(
      ['ingest', store2, '-', '--key', next.privateKey, '--pubkey', keys.publicKey, '--json'],
      { input },
    );
    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: SEGMENT_UNTRUSTED: [^\n]*\n$/);
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(viaFile.stderr).toMatch(/^warning: /);
    expect(parseJsonOutput<IngestSummary>(viaFile)).toMatchObject({ treeSize: 8 });
    expect(viaPubkey.code, viaPubkey.stderr).toBe(0);
    expect(parseJsonOutput<IngestSummary>(viaPubkey)).toMatchObject({ treeSize: 8 });
  });
});
