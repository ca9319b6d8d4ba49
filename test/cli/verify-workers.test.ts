/**
 * `auditlock verify --workers N` through the real built CLI (worker threads from dist/): the same
 * report with 1, 2 and the default number of threads on a clean and on a tampered folder store,
 * with --strict-entries, with --state (incremental) and --consistent-with; bad values are usage
 * errors; the help lists the flag.
 */
import { chmod, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/findings.js';
import {
  type KeyFiles,
  parseJsonOutput,
  runCli,
  sampleStore,
  segmentPath,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs();

type Report = { ok: boolean; findings: Finding[]; logs: unknown[] };

let dir: string;
let clean: string;
let tampered: string;
let keys: KeyFiles;

beforeAll(async () => {
  dir = await tempDir();
  ({ store: clean, keys } = await sampleStore(dir));
  // Real stored bytes changed: a byte of an event in segment 3, segment 6 cut short, segment 8
  // replaced by segment 7's bytes.
  tampered = join(dir, 'tampered');
  await cp(clean, tampered, { recursive: true });
  const edit = async (seq: number, change: (b: Buffer) => Buffer) => {
    const path = segmentPath(tampered, seq);
    await chmod(path, 0o644);
    await writeFile(path, change(await readFile(path)));
  };
  await edit(3, (b) => {
    const at = b.indexOf('"actor":{') + 20;
    b[at] = (b[at] as number) ^ 0x01;
    return b;
  });
  await edit(6, (b) => b.subarray(0, b.length - 100));
  const seven = await readFile(segmentPath(tampered, 7));
  await edit(8, () => seven);
});

async function verifyJson(store: string, ...extra: string[]) {
  const result = await runCli(['verify', store, '--pubkey', keys.publicKey, '--json', ...extra]);
  return { code: result.code, report: parseJsonOutput<Report>(result), stderr: result.stderr };
}

describe('auditlock verify --workers', () => {
  it('reports the same on a clean store with 1, 2 and the default number of threads', async () => {
    const one = await verifyJson(clean, '--workers', '1');
    expect(one.code, one.stderr).toBe(0);
    expect(await verifyJson(clean, '--workers', '2')).toEqual(one);
    expect(await verifyJson(clean)).toEqual(one);
  });

  it('reports the same findings, in the same order, on a tampered store', async () => {
    const one = await verifyJson(tampered, '--workers', '1');
    expect(one.code).toBe(1);
    expect(new Set(one.report.findings.map((f) => f.seq))).toEqual(new Set([3, 4, 6, 7, 8, 9]));
    for (const n of ['2', '3']) expect(await verifyJson(tampered, '--workers', n)).toEqual(one);
    const strict = await verifyJson(tampered, '--workers', '1', '--strict-entries');
    expect(await verifyJson(tampered, '--workers', '2', '--strict-entries')).toEqual(strict);
  });

  it('takes --workers in incremental runs and for --consistent-with', async () => {
    const state = join(dir, 'state');
    const first = await verifyJson(clean, '--workers', '2', '--state', state);
    expect(first.code, first.stderr).toBe(0);
    const again = await verifyJson(clean, '--workers', '2', '--state', state);
    expect(again.code, again.stderr).toBe(0);
    await rm(state, { recursive: true, force: true });
    const consistent = await verifyJson(clean, '--workers', '2', '--consistent-with', clean);
    expect(consistent.code, consistent.stderr).toBe(0);
    const base = await runCli([
      ...['verify', clean, '--pubkey', keys.publicKey, '--workers', '2'],
      ...['--consistent-with', tampered],
    ]);
    expect(base.code).toBe(2);
    expect(base.stderr).toContain('CONSISTENCY_BASE_INVALID');
  });

  it('refuses a number of threads that is not 1 to 64', async () => {
    for (const bad of ['0', '65', 'two', '1.5']) {
      const r = await runCli(['verify', clean, '--pubkey', keys.publicKey, '--workers', bad]);
      expect(r.code, `--workers ${bad}`).toBe(2);
      expect(r.stderr).toContain('--workers must be an integer from 1 to 64');
    }
  });

  it('lists --workers in the help', async () => {
    const r = await runCli(['verify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--workers N\s+threads that check segments/);
  });
});
