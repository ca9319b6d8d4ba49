/**
 * Exactly once across crashes, through the real CLI on a folder store: one large ingest
 * (20,000 generated events, 100 segments) is killed with SIGKILL at least 10 times at random
 * moments (while it starts and reads the log, reads input, seals, writes and fsyncs segments),
 * each time rerun with the same command line, `ingest <store> <file> --resume`, until it
 * finishes. Then the log is compared with the input by event id: none lost, none twice, in input
 * order, and `verify` is clean. Kill points come from a seeded generator, so a failure replays.
 *
 * Also: resuming with a different file under the same name is refused before anything is
 * written; stdin resumes when the same bytes are sent again; SIGTERM stores what was read.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  parseJsonOutput,
  readLines,
  readLogEntries,
  runCli,
  spawnCli,
  useTempDirs,
} from '../helpers/cli.js';

const TOTAL = 20_000;
const PER_SEGMENT = 200;
const SEGMENTS = TOTAL / PER_SEGMENT;
const KILLS = 12;

const tempDir = useTempDirs('auditlock-crash-');
let dir: string;
let keys: KeyFiles;
let input: string;
let lines: string[];
const idOfLine = (line: number) => `crash-${line}`;

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
  // Small events (the required fields of the sample events, each with a unique id): the test is
  // about where the writer dies, not about how much it writes.
  const samples = (await readLines(EVENTS_FILE)).map(
    (l) => JSON.parse(l) as Record<string, unknown>,
  );
  lines = [];
  for (let line = 1; line <= TOTAL; line++) {
    const { time, action, actor, outcome } = samples[(line - 1) % samples.length] as Record<
      string,
      unknown
    >;
    lines.push(JSON.stringify({ id: idOfLine(line), time, action, actor, outcome }));
  }
  input = join(dir, 'events.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
});

/** mulberry32: a small seeded generator, so the kill points are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stored segment files of the default log (temp files of an interrupted put excluded). */
async function segmentCount(store: string): Promise<number> {
  const names = await readdir(join(store, 'default', 'seg')).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9]{20}\.seg$/.test(n)).length;
}

function ingestArgs(store: string, file: string, extra: string[] = []): string[] {
  return [
    'ingest',
    store,
    file,
    '--key',
    keys.privateKey,
    '--max-events',
    String(PER_SEGMENT),
    '--resume',
    '--json',
    ...extra,
  ];
}

type Run = { killed: boolean; result: CliResult };

/**
 * Runs ingest and SIGKILLs it once `more` further segments are stored plus `jitterMs`; when `more`
 * is 0 the kill lands `jitterMs` after the start (start-up, reading the log, reading input).
 */
async function runAndKill(store: string, more: number, jitterMs: number): Promise<Run> {
  const child = spawnCli(ingestArgs(store, input));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<NonNullable<typeof exit>>((resolve) =>
    child.on('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const target = (await segmentCount(store)) + more;
  while (exit === undefined && more > 0 && (await segmentCount(store)) < target) await sleep(2);
  if (exit === undefined) await sleep(jitterMs);
  if (exit === undefined) child.kill('SIGKILL');
  const done = await exited;
  return {
    killed: done.signal === 'SIGKILL',
    result: { ...done, stdout, stderr },
  };
}

/** The log's event ids are exactly lines 1..n of the input, in order (a stored prefix). */
async function expectPrefix(store: string): Promise<number> {
  const ids = (await readLogEntries(store).catch(() => [])).map((e) => e.id);
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => idOfLine(i + 1)));
  return ids.length;
}

async function verifyClean(store: string): Promise<void> {
  const result = await runCli(['verify', store, '--pubkey', keys.publicKey, '--json']);
  const report = parseJsonOutput<{ ok: boolean; findings: unknown[] }>(result);
  expect(report.findings).toEqual([]);
  expect(result.code).toBe(0);
}

// Generous timeouts: this spawns many processes, and CI machines may be busy.
describe('ingest --resume after kill -9', { timeout: 120_000 }, () => {
  it(`loses and duplicates nothing across ${KILLS} SIGKILLs at random points`, async () => {
    // Prepare
    const store = join(dir, 'store-kill');
    const next = random(0x5eed_0008);
    let kills = 0;
    let finished: CliResult | undefined;
    const stages: number[] = [];

    // Act: kill, rerun the same command line, until KILLS kills landed; then let it finish.
    for (let attempt = 0; attempt < 4 * KILLS && kills < KILLS; attempt++) {
      const stored = await segmentCount(store);
      const left = SEGMENTS - stored;
      // Every third kill lands early (start-up, reading the log and the input); the others after
      // 1-4 more segments, 0-25 ms later: while reading, sealing, writing or syncing.
      const more = attempt % 3 === 0 ? 0 : 1 + Math.floor(next() * 4);
      const jitter = attempt % 3 === 0 ? 150 + Math.floor(next() * 250) : Math.floor(next() * 25);
      if (left - more < 10) break;
      const run = await runAndKill(store, more, jitter);
      if (!run.killed) {
        expect(run.result.code, run.result.stderr).toBe(0);
        finished = run.result;
        break;
      }
      kills++;
      stages.push(await expectPrefix(store));
    }
    const last = finished ?? (await runCli(ingestArgs(store, input), { timeoutMs: 60_000 }));

    // Assess
    expect(
      kills,
      `kills landed mid-run (entries after each: ${stages.join(', ')})`,
    ).toBeGreaterThanOrEqual(10);
    // The kills landed at different points of the run, not all before the first segment.
    expect(new Set(stages).size).toBeGreaterThanOrEqual(5);
    expect(last.code, last.stderr).toBe(0);
    const summary = parseJsonOutput<{
      lines: number;
      skipped: number;
      archived: number;
      treeSize: number;
    }>(last);
    expect(summary).toMatchObject({ lines: TOTAL, treeSize: TOTAL });
    expect(summary.skipped + summary.archived).toBe(TOTAL);
    const ids = (await readLogEntries(store)).map((e) => e.id as string);
    const seen = new Set(ids);
    const lost = lines.filter((_, i) => !seen.has(idOfLine(i + 1))).length;
    expect({ lost, duplicated: ids.length - seen.size }).toEqual({ lost: 0, duplicated: 0 });
    expect(ids).toEqual(Array.from({ length: TOTAL }, (_, i) => idOfLine(i + 1)));
    await verifyClean(store);

    // A rerun of the finished input archives nothing.
    const again = await runCli(ingestArgs(store, input));
    expect(again.code, again.stderr).toBe(0);
    expect(parseJsonOutput<{ skipped: number; archived: number }>(again)).toMatchObject({
      skipped: TOTAL,
      archived: 0,
    });
  }, 180_000);

  it('refuses to resume with a different file under the same name (INPUT_MISMATCH), writing nothing', async () => {
    // Prepare: the first 1,000 lines archived from one file...
    const store = join(dir, 'store-mismatch');
    const first = join(dir, 'a', 'events.jsonl');
    await mkdir(join(dir, 'a'));
    await writeFile(first, `${lines.slice(0, 1000).join('\n')}\n`);
    const made = await runCli(ingestArgs(store, first));
    expect(made.code, made.stderr).toBe(0);
    // ...and another file of the same name whose line 17 differs.
    await mkdir(join(dir, 'b'));
    const other = join(dir, 'b', 'events.jsonl');
    const changed = [...lines.slice(0, 2000)];
    changed[16] = lines[1500] as string;
    await writeFile(other, `${changed.join('\n')}\n`);
    // Act
    const result = await runCli(ingestArgs(store, other));
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: INPUT_MISMATCH: [^\n]*\n$/);
    expect(await expectPrefix(store)).toBe(1000);
    // Under its own name it is a new input and starts at line 1.
    const named = await runCli([...ingestArgs(store, other), '--input-name', 'b-events.jsonl']);
    expect(named.code, named.stderr).toBe(0);
    expect(parseJsonOutput<{ skipped: number; archived: number }>(named)).toMatchObject({
      skipped: 0,
      archived: 2000,
    });
  });

  it('resumes stdin when the same bytes are sent again from the first one', async () => {
    const store = join(dir, 'store-stdin');
    const part = await runCli(ingestArgs(store, '-'), {
      input: `${lines.slice(0, 300).join('\n')}\n`,
    });
    expect(part.code, part.stderr).toBe(0);
    const all = await runCli(ingestArgs(store, '-'), {
      input: `${lines.slice(0, 700).join('\n')}\n`,
    });
    expect(all.code, all.stderr).toBe(0);
    expect(parseJsonOutput<{ skipped: number; archived: number }>(all)).toMatchObject({
      skipped: 300,
      archived: 400,
    });
    expect(await expectPrefix(store)).toBe(700);
    // A stream that continues where the last one stopped is another input: refused.
    const tail = await runCli(ingestArgs(store, '-'), {
      input: `${lines.slice(700, 900).join('\n')}\n`,
    });
    expect(tail.code).toBe(2);
    expect(tail.stderr).toMatch(/^error: INPUT_MISMATCH: /);
    expect(await expectPrefix(store)).toBe(700);
  });

  it('stops on SIGTERM: stores what it read, reports interrupted, exit 1', async () => {
    // Prepare: stdin fed a segment at a time and never closed, so the signal lands mid-run.
    const store = join(dir, 'store-sigterm');
    const child = spawnCli(ingestArgs(store, '-'));
    let stdout = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stdin?.on('error', () => undefined);
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => resolve(code)),
    );
    let fed = 0;
    // Act
    while ((await segmentCount(store)) < 10) {
      if (fed < 40)
        child.stdin?.write(`${lines.slice(fed * PER_SEGMENT, ++fed * PER_SEGMENT).join('\n')}\n`);
      await sleep(5);
    }
    child.kill('SIGTERM');
    const code = await exited;
    // Assess
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as {
      interrupted: boolean;
      archived: number;
      treeSize: number;
    };
    expect(summary.interrupted).toBe(true);
    expect(summary.archived).toBe(summary.treeSize);
    expect(await expectPrefix(store)).toBe(summary.treeSize);
    await verifyClean(store);
  });
});
