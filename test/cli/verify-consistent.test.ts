/**
 * `auditlock verify <later bundle> --bundle --consistent-with <earlier bundle>`: the later bundle
 * must extend the earlier one (same root at the earlier head's size), whether the two overlap or
 * the later one starts right after; a gap between them cannot be checked and says so; a fork under
 * the same origin and key is caught; an earlier bundle that does not verify is refused.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTS_FILE,
  runCli,
  SAMPLE_ORIGIN,
  sampleStore,
  segmentPath,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-verify-consistent-');
let dir: string;
let store: string;
let fork: string;
let pub: string;

/** A bundle (FORMAT.md §7) of segments `first..last` of log `default` of `from`. */
async function bundle(from: string, first: number, last: number, name: string): Promise<string> {
  const out = join(dir, name);
  await mkdir(join(out, 'default', 'seg'), { recursive: true });
  for (let seq = first; seq <= last; seq++)
    await copyFile(segmentPath(from, seq), segmentPath(out, seq));
  const manifest = {
    createdAt: '2026-12-02T02:00:00.000Z',
    format: 'auditlock-bundle/1',
    logs: { default: { firstSeq: first, lastSeq: last, origin: SAMPLE_ORIGIN } },
    source: from,
  };
  await writeFile(join(out, 'bundle.json'), JSON.stringify(manifest));
  return out;
}

function codesOf(stdout: string): string[] {
  const out = JSON.parse(stdout) as { findings: { code: string }[] };
  return [...new Set(out.findings.map((f) => f.code))].sort();
}

const check = (later: string, earlier: string, ...more: string[]) =>
  runCli([
    'verify',
    later,
    '--bundle',
    '--pubkey',
    pub,
    '--consistent-with',
    earlier,
    '--json',
    ...more,
  ]);

beforeAll(async () => {
  dir = await tempDir();
  const sample = await sampleStore(dir);
  store = sample.store;
  pub = sample.keys.publicKey;
  // Same origin and key, one event changed early on: a different history of the same size.
  const lines = (await readFile(EVENTS_FILE, 'utf8')).split('\n').filter((l) => l !== '');
  [lines[10], lines[11]] = [lines[11] as string, lines[10] as string];
  fork = join(dir, 'fork');
  const ingest = await runCli(
    [
      'ingest',
      fork,
      '-',
      '--key',
      sample.keys.privateKey,
      '--origin',
      SAMPLE_ORIGIN,
      '--max-events',
      '500',
    ],
    { input: `${lines.join('\n')}\n` },
  );
  expect(ingest.code, ingest.stderr).toBe(0);
}, 120_000);

describe('verify --consistent-with', () => {
  it('accepts a later bundle that overlaps the earlier one, or starts right after it', async () => {
    const earlier = await bundle(store, 0, 5, 'earlier');
    const overlapping = await check(await bundle(store, 3, 9, 'later-overlap'), earlier);
    expect(overlapping.code, overlapping.stdout).toBe(0);
    const adjacent = await check(await bundle(store, 6, 9, 'later-adjacent'), earlier);
    expect(adjacent.code, adjacent.stdout).toBe(0);
  });

  it('says when a gap between the two leaves the extension unproven', async () => {
    const earlier = await bundle(store, 0, 5, 'earlier-gap');
    const r = await check(await bundle(store, 8, 9, 'later-gap'), earlier);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['CHECKPOINT_NOT_COVERED']);
  });

  it('catches a forged later bundle: a fork under the same origin and key', async () => {
    const earlier = await bundle(store, 0, 5, 'earlier-fork');
    // The fork verifies on its own.
    const alone = await runCli(['verify', fork, '--pubkey', pub]);
    expect(alone.code, alone.stderr).toBe(0);
    const r = await check(await bundle(fork, 0, 9, 'later-fork'), earlier);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['CHECKPOINT_MISMATCH']);
  });

  it('catches a later bundle that is shorter than the earlier one', async () => {
    const earlier = await bundle(store, 0, 7, 'earlier-long');
    const r = await check(await bundle(store, 0, 5, 'later-short'), earlier);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['LOG_TRUNCATED']);
  });

  it('refuses an earlier bundle that does not verify', async () => {
    const earlier = await bundle(store, 0, 5, 'earlier-bad');
    const path = segmentPath(earlier, 2);
    const bytes = await readFile(path);
    bytes[bytes.length - 4] = (bytes[bytes.length - 4] as number) ^ 0x01;
    await writeFile(path, bytes);
    const r = await check(await bundle(store, 3, 9, 'later-ok'), earlier);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONSISTENCY_BASE_INVALID');
  });
});
