/**
 * `auditlock witness keygen|serve|submit|cosign` end to end through the built CLI: key files and
 * modes, a served witness cosigning a sample store, a fork refused with exit 1, and the in-process
 * cosign refusing a tampered store.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCosignerVkey } from '../../src/core/cosignature.js';
import {
  EVENTS_FILE,
  runCli,
  SAMPLE_ORIGIN,
  sampleStore,
  segmentPath,
  spawnCli,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-witness-cli-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function witnessKeys(dir: string) {
  const out = join(dir, 'wkey');
  const r = await runCli(['witness', 'keygen', '--out', out, '--name', 'witness.example.com/w1']);
  expect(r.code, r.stderr).toBe(0);
  return {
    dir: out,
    pem: join(out, 'witness-key.pem'),
    vkey: join(out, 'witness-key.vkey'),
  };
}

/** Starts `witness serve` on a free port; resolves with its URL once it says it listens. */
async function serve(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnCli(['witness', 'serve', '--listen', '127.0.0.1:0', ...args]);
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url, child };
}

describe('auditlock witness keygen', () => {
  it('writes a 0600 private PEM, a public PEM and a type-0x04 vkey; never overwrites', async () => {
    const dir = await tempDir();
    const keys = await witnessKeys(dir);
    expect((await stat(keys.pem)).mode & 0o777).toBe(0o600);
    expect(await readFile(join(keys.dir, 'witness-key.pub.pem'), 'utf8')).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n/,
    );
    const vkey = parseCosignerVkey((await readFile(keys.vkey, 'utf8')).trim());
    expect(vkey.name).toBe('witness.example.com/w1');
    const again = await runCli(['witness', 'keygen', '--out', keys.dir, '--name', 'x.example']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('KEY_EXISTS');
  });

  it('answers usage errors with exit 2', async () => {
    expect((await runCli(['witness', 'frobnicate'])).code).toBe(2);
    expect((await runCli(['witness', 'keygen', '--name', 'x'])).code).toBe(2);
  });
});

describe('auditlock witness serve + submit', () => {
  it('cosigns a store, stores the cosigned checkpoint, refuses a fork with exit 1', async () => {
    const dir = await tempDir();
    const { store, keys } = await sampleStore(dir);
    const w = await witnessKeys(dir);
    const logs = join(dir, 'logs.json');
    const logVkey = (await readFile(keys.vkey, 'utf8')).trim();
    await writeFile(logs, JSON.stringify({ logs: [{ origin: SAMPLE_ORIGIN, key: logVkey }] }));
    const { url, child } = await serve([
      '--state',
      join(dir, 'state'),
      '--key',
      w.pem,
      '--logs',
      logs,
    ]);
    const submit = (s: string) =>
      runCli([
        'witness',
        'submit',
        s,
        '--witness',
        url,
        '--witness-key',
        w.vkey,
        '--pubkey',
        keys.publicKey,
        '--json',
      ]);
    const ok = await submit(store);
    expect(ok.code, ok.stderr).toBe(0);
    const results = JSON.parse(ok.stdout) as { results: { ok: boolean; treeSize: number }[] };
    expect(results.results).toMatchObject([{ ok: true, treeSize: 5000 }]);
    expect(await readdir(join(store, 'default', 'witness'))).toEqual([
      expect.stringMatching(/^00000000000000005000-[0-9a-f]{8}\.cosigned$/),
    ]);

    const fork = join(dir, 'fork');
    // Same origin and key, other entries, and larger than what the witness holds.
    const lines = (await readFile(EVENTS_FILE, 'utf8')).split('\n').filter((l) => l !== '');
    const events = [...lines].reverse().concat(lines.slice(0, 100));
    const ingest = await runCli(
      [
        'ingest',
        fork,
        '-',
        '--key',
        keys.privateKey,
        '--origin',
        SAMPLE_ORIGIN,
        '--max-events',
        '700',
      ],
      { input: `${events.join('\n')}\n` },
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    const refused = await submit(fork);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/WITNESS_(REFUSED|FORKED)/);
    child.kill('SIGTERM');
  });
});

describe('auditlock witness cosign', () => {
  it('verifies then cosigns; a tampered store is not cosigned (exit 1)', async () => {
    const dir = await tempDir();
    const { store, keys } = await sampleStore(dir);
    const w = await witnessKeys(dir);
    const args = (s: string, state: string, pub: string) => [
      'witness',
      'cosign',
      s,
      '--state',
      state,
      '--key',
      w.pem,
      '--pubkey',
      pub,
    ];
    const ok = await runCli(args(store, join(dir, 'state'), keys.publicKey));
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readdir(join(store, 'default', 'witness'))).length).toBe(1);

    const { store: other, keys: otherKeys } = await sampleStore(await tempDir());
    const path = segmentPath(other, 3);
    const bytes = await readFile(path);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x20;
    await writeFile(path, bytes);
    const bad = await runCli(args(other, join(dir, 'state2'), otherKeys.publicKey));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('LOG_UNVERIFIED');
    await expect(readdir(join(other, 'default', 'witness'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
