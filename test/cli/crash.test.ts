/**
 * Crash safety of `auditlock ingest` on a folder store, with a real SIGKILL: the writer is killed
 * mid-run once its ack log shows some segments stored, at three different points. After each kill
 * the store must verify clean (no gap, no broken chain: a killed writer leaves at worst a stray
 * temp file, which the verifier ignores), every line through the last ack must be in the log, and
 * resuming with `--from-line <last throughLine + 1>` must finish the job with every input event
 * present: at least once, and twice only for lines after the last ack (at-least-once delivery).
 * The killed run reads the generated events from stdin, fed by the test; the resumed run reads
 * the same lines from the file, so line numbers agree.
 */
import { readFile, writeFile } from 'node:fs/promises';
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
/** Acks seen before the kill (of 100 segments): early, about a third, about two thirds. */
const KILL_AFTER_ACKS = [2, 30, 65];
/** Segments' worth of input the killed writer may hold beyond the acks the test has seen. */
const FEED_AHEAD = 8;

type Ack = { seq: number; treeSize: number; throughLine: number };

const tempDir = useTempDirs('auditlock-crash-');
let dir: string;
let keys: KeyFiles;
let input: string;
/** The input as one string per segment's worth of lines, for feeding stdin a bit at a time. */
let chunks: string[];
const idOfLine = (line: number) => `crash-${line}`;

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
  // Small events: the sample events without `detail`, repeated, each with a unique id.
  const samples = (await readLines(EVENTS_FILE)).map(
    (l) => JSON.parse(l) as Record<string, unknown>,
  );
  const lines: string[] = [];
  for (let line = 1; line <= TOTAL; line++) {
    const { detail: _detail, ...event } = samples[(line - 1) % samples.length] as Record<
      string,
      unknown
    >;
    lines.push(JSON.stringify({ ...event, id: idOfLine(line) }));
  }
  input = join(dir, 'events-20k.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
  chunks = [];
  for (let i = 0; i < TOTAL; i += PER_SEGMENT)
    chunks.push(`${lines.slice(i, i + PER_SEGMENT).join('\n')}\n`);
});

/** Complete ack records so far; a SIGKILL may leave the last line half written. */
async function readAcks(path: string): Promise<Ack[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Ack);
}

function ingestArgs(store: string, ackLog: string, file: string): string[] {
  return [
    'ingest',
    store,
    file,
    '--key',
    keys.privateKey,
    '--max-events',
    String(PER_SEGMENT),
    '--ack-log',
    ackLog,
  ];
}

/**
 * Starts ingest reading stdin and sends it `signal` as soon as `acks` segments are acknowledged.
 * Input is fed at most {@link FEED_AHEAD} segments ahead of the acks seen, and stdin is never
 * closed, so the signal lands mid-run however the processes are scheduled: the writer can neither
 * finish nor get far past that point. A writer still running 15 s after the signal is SIGKILLed.
 */
async function ingestAndSignal(
  store: string,
  ackLog: string,
  acks: number,
  signal: NodeJS.Signals,
  extra: string[] = [],
): Promise<CliResult> {
  const child = spawnCli([...ingestArgs(store, ackLog, '-'), ...extra]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdin?.on('error', () => undefined); // EPIPE once the child is gone
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<NonNullable<typeof exit>>((resolve) =>
    child.on('close', (code, sig) => {
      exit = { code, signal: sig };
      resolve(exit);
    }),
  );
  let fed = 0;
  while (exit === undefined) {
    const acked = (await readAcks(ackLog)).length;
    if (acked >= acks) {
      child.kill(signal);
      break;
    }
    while (fed < chunks.length && fed < acked + FEED_AHEAD) child.stdin?.write(chunks[fed++]);
    await new Promise((r) => setTimeout(r, 5));
  }
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const result = await exited;
  clearTimeout(guard);
  return { ...result, stdout, stderr };
}

async function verifyClean(store: string): Promise<CliResult> {
  const result = await runCli(['verify', store, '--pubkey', keys.publicKey, '--json']);
  const report = parseJsonOutput<{ ok: boolean; findings: unknown[] }>(result);
  expect(report.findings).toEqual([]);
  expect(result.code).toBe(0);
  return result;
}

describe('ingest killed with SIGKILL, then resumed', () => {
  it.each(KILL_AFTER_ACKS)('after %i acknowledged segments', async (killAfter) => {
    // Prepare
    const store = join(dir, `store-${killAfter}`);
    const ackLog = join(dir, `acks-${killAfter}.jsonl`);

    // Act 1: kill the writer mid-run.
    const killed = await ingestAndSignal(store, ackLog, killAfter, 'SIGKILL');
    expect(killed.signal, `ingest should still run when killed:\n${killed.stderr}`).toBe('SIGKILL');

    // Assess 1: a clean store holding every acknowledged line, in order.
    const acks = await readAcks(ackLog);
    expect(acks.length).toBeGreaterThanOrEqual(killAfter);
    expect(acks.length).toBeLessThan(SEGMENTS);
    // One ack per segment, in order; every line is valid, so line numbers and tree sizes agree.
    acks.forEach((ack, i) => {
      expect(ack.seq).toBe(i);
      expect(ack.throughLine).toBe(ack.treeSize);
      expect(ack.treeSize).toBeGreaterThan(i === 0 ? 0 : (acks[i - 1] as Ack).treeSize);
    });
    const last = acks.at(-1) as Ack;
    await verifyClean(store);
    const afterKill = (await readLogEntries(store)).map((e) => e.id);
    expect(afterKill.length).toBeGreaterThanOrEqual(last.throughLine);
    // Whatever was stored after the last ack (its ack not yet written) continues the input in order.
    expect(afterKill).toEqual(Array.from({ length: afterKill.length }, (_, i) => idOfLine(i + 1)));
    const storedAfterAck = afterKill.length - last.throughLine;

    // Act 2: resume after the last acknowledged line.
    const resumed = await runCli([
      ...ingestArgs(store, ackLog, input),
      '--from-line',
      String(last.throughLine + 1),
      '--json',
    ]);

    // Assess 2: a clean store holding every input line; only the unacknowledged window twice.
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseJsonOutput<{ archived: number; treeSize: number }>(resumed)).toMatchObject({
      archived: TOTAL - last.throughLine,
      treeSize: TOTAL + storedAfterAck,
    });
    await verifyClean(store);
    const ids = (await readLogEntries(store)).map((e) => e.id);
    expect(ids).toHaveLength(TOTAL + storedAfterAck);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id as string, (counts.get(id as string) ?? 0) + 1);
    const missing: number[] = [];
    const twice: number[] = [];
    for (let line = 1; line <= TOTAL; line++) {
      const n = counts.get(idOfLine(line)) ?? 0;
      if (n === 0) missing.push(line);
      else if (n > 1) twice.push(line);
    }
    expect(missing).toEqual([]);
    expect(counts.size).toBe(TOTAL);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    expect(twice).toEqual(
      Array.from({ length: storedAfterAck }, (_, i) => last.throughLine + 1 + i),
    );
  });

  // BUG (reported to the lead): on SIGTERM/SIGINT, ingest destroys its input stream, but a
  // node:readline async iterator never ends when its input is destroyed, so ingestJsonLines never
  // settles: no summary is printed and the process exits 0 (as if everything were archived) once
  // the event loop drains. Expected, as src/cli/commands/ingest.ts intends: the lines read are
  // stored, the summary says "interrupted": true, exit status 1.
  it('stops on SIGTERM: stores what it read, reports interrupted, exit 1', async () => {
    // Prepare
    const store = join(dir, 'store-sigterm');
    const ackLog = join(dir, 'acks-sigterm.jsonl');
    // Act
    const stopped = await ingestAndSignal(store, ackLog, 10, 'SIGTERM', ['--json']);
    // Assess
    expect(stopped.signal, stopped.stderr).toBeNull();
    expect(stopped.code, stopped.stderr).toBe(1);
    const summary = parseJsonOutput<{ interrupted: boolean; archived: number; treeSize: number }>(
      stopped,
    );
    expect(summary.interrupted).toBe(true);
    await verifyClean(store);
    const ids = (await readLogEntries(store)).map((e) => e.id);
    expect(ids).toHaveLength(summary.treeSize);
    expect(summary.archived).toBe(summary.treeSize);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => idOfLine(i + 1)));
    expect(ids.length).toBeGreaterThanOrEqual(((await readAcks(ackLog)).at(-1) as Ack).throughLine);
  });
});
