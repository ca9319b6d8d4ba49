/**
 * Crash safety of `auditlock ingest` on a folder store, with a real SIGKILL: the writer is killed
 * mid-run once its ack log shows some segments stored, at three different points. After each kill
 * the store must verify clean (no gap, no broken chain: a killed writer leaves at worst a stray
 * temp file, which the verifier ignores), every line through the last ack must be in the log, and
 * resuming with `--from-line <last throughLine + 1>` must finish the job with every input event
 * present: at least once, and twice only for lines after the last ack (at-least-once delivery).
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

const TOTAL = 30_000;
const PER_SEGMENT = 200;
const SEGMENTS = TOTAL / PER_SEGMENT;
/** Acks seen before the kill: early, a quarter of the way, about two thirds of the way. */
const KILL_AFTER_ACKS = [2, 40, 100];

type Ack = { seq: number; treeSize: number; throughLine: number };

const tempDir = useTempDirs('auditlock-crash-');
let dir: string;
let keys: KeyFiles;
let input: string;
const idOfLine = (line: number) => `crash-${line}`;

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
  // Small events: the sample events without `detail`, repeated, each with a unique id.
  const samples = (await readLines(EVENTS_FILE)).map((l) => JSON.parse(l) as Record<string, unknown>);
  const lines: string[] = [];
  for (let line = 1; line <= TOTAL; line++) {
    const { detail: _detail, ...event } = samples[(line - 1) % samples.length] as Record<string, unknown>;
    lines.push(JSON.stringify({ ...event, id: idOfLine(line) }));
  }
  input = join(dir, 'events-30k.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
});

/** Complete ack records so far; a SIGKILL may leave the last line half written. */
async function readAcks(path: string): Promise<Ack[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Ack);
}

function ingestArgs(store: string, ackLog: string): string[] {
  return ['ingest', store, input, '--key', keys.privateKey, '--max-events', String(PER_SEGMENT), '--ack-log', ackLog];
}

/** Starts ingest and SIGKILLs it as soon as `acks` segments are acknowledged. */
async function ingestAndKill(store: string, ackLog: string, acks: number): Promise<NodeJS.Signals | null> {
  const child = spawnCli(ingestArgs(store, ackLog));
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let running = true;
  void exited.then(() => {
    running = false;
  });
  while (running) {
    if ((await readAcks(ackLog)).length >= acks) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const { code, signal } = await exited;
  if (signal !== 'SIGKILL')
    throw new Error(`ingest ended by itself (exit ${code}) before ${acks} acks; make the input larger\n${stderr}`);
  return signal;
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
    await ingestAndKill(store, ackLog, killAfter);

    // Assess 1: a clean store holding every acknowledged line, in order.
    const acks = await readAcks(ackLog);
    expect(acks.length).toBeGreaterThanOrEqual(killAfter);
    expect(acks.length).toBeLessThan(SEGMENTS);
    expect(acks).toEqual(acks.map((_, seq) => ({ seq, treeSize: (seq + 1) * PER_SEGMENT, throughLine: (seq + 1) * PER_SEGMENT })));
    const last = acks.at(-1) as Ack;
    await verifyClean(store);
    const afterKill = (await readLogEntries(store)).map((e) => e.id);
    expect(afterKill.length).toBeGreaterThanOrEqual(last.throughLine);
    // Whatever was stored after the last ack (its ack not yet written) continues the input in order.
    expect(afterKill).toEqual(Array.from({ length: afterKill.length }, (_, i) => idOfLine(i + 1)));
    const storedAfterAck = afterKill.length - last.throughLine;

    // Act 2: resume after the last acknowledged line.
    const resumed = await runCli([...ingestArgs(store, ackLog), '--from-line', String(last.throughLine + 1), '--json']);

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
    expect(twice).toEqual(Array.from({ length: storedAfterAck }, (_, i) => last.throughLine + 1 + i));
  });
});
