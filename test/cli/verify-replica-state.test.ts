/**
 * `auditlock verify --replica` and `--state` through the built CLI on folder stores: a replica
 * compared object by object (a missing or changed replica segment is a finding), and incremental
 * runs that read only what is new and save their position in a state store of their own.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EVENTS_FILE,
  runCli,
  SAMPLE_ORIGIN,
  sampleStore,
  segmentPath,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-verify-replica-state-');

function codesOf(stdout: string): string[] {
  const out = JSON.parse(stdout) as { findings: { code: string }[] };
  return [...new Set(out.findings.map((f) => f.code))].sort();
}

describe('verify --replica', () => {
  it('is clean for an exact copy, and reports a missing or changed replica segment', async () => {
    const dir = await tempDir();
    const { store, keys } = await sampleStore(dir);
    const replica = join(dir, 'replica');
    await cp(store, replica, { recursive: true });
    const args = ['verify', store, '--pubkey', keys.publicKey, '--replica', replica];
    const clean = await runCli(args);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`and replica ${replica}`);

    await rm(segmentPath(replica, 9));
    const missing = await runCli([...args, '--json']);
    expect(missing.code).toBe(1);
    expect(codesOf(missing.stdout)).toEqual(['REPLICA_MISSING']);

    await cp(segmentPath(store, 9), segmentPath(replica, 9));
    const path = segmentPath(replica, 4);
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
    await writeFile(path, bytes);
    const changed = await runCli([...args, '--json']);
    expect(changed.code).toBe(1);
    const out = JSON.parse(changed.stdout) as { findings: { code: string; from?: string }[] };
    expect(out.findings).toContainEqual(
      expect.objectContaining({ code: 'REPLICA_MISMATCH', from: 'comparison' }),
    );
    // The replica's own verification reports its broken segment, tagged as the replica's.
    expect(out.findings.some((f) => f.from === 'replica')).toBe(true);
    expect(out.findings.filter((f) => f.from === undefined)).toEqual([]);
  });
});

describe('verify --state', () => {
  it('reads only what is new, saves its position, and --full reads everything again', async () => {
    const dir = await tempDir();
    const { store, keys } = await sampleStore(dir);
    const state = join(dir, 'verifier-state');
    const args = ['verify', store, '--pubkey', keys.publicKey, '--state', state];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      'log default: verified in full, 10 segment(s) read, state record 0 saved',
    );

    const idle = await runCli(args);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toContain(
      'log default: verified from tree size 5000 (segment 9), 0 segment(s) read, state not advanced',
    );

    const lines = (await readFile(EVENTS_FILE, 'utf8')).split('\n').filter((l) => l !== '');
    const more = lines.slice(0, 1000).map((l) => l.replace(/"id":"([^"]+)"/, '"id":"$1-again"'));
    const ingest = await runCli(
      [
        'ingest',
        store,
        '-',
        '--key',
        keys.privateKey,
        '--origin',
        SAMPLE_ORIGIN,
        '--max-events',
        '500',
      ],
      { input: `${more.join('\n')}\n` },
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    const next = await runCli(args);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain(
      'log default: verified from tree size 5000 (segment 9), 2 segment(s) read, state record 1 saved',
    );

    // A segment the state already covers is changed: the incremental run does not read it, a
    // full run does (FORMAT.md §10: full runs still belong on a schedule).
    const path = segmentPath(store, 2);
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
    await writeFile(path, bytes);
    expect((await runCli(args)).code).toBe(0);
    const full = await runCli([...args, '--full']);
    expect(full.code).toBe(1);
    // It saves the last position before the damage, so incremental runs re-check from there.
    expect(full.stdout).toContain('verified in full, 12 segment(s) read, state record 2 saved');
    const after = await runCli([...args, '--json']);
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({
      incremental: [{ log: 'default', from: { seq: 1, treeSize: 1000 }, segmentsRead: 10 }],
    });
  });

  it('needs --state for --full and --replica for --rtc-window', async () => {
    const full = await runCli(['verify', '.', '--pubkey', 'x', '--full']);
    expect(full.code).toBe(2);
    expect(full.stderr).toContain('--full needs --state');
  });
});
