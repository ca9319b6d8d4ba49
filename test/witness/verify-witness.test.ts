/**
 * `auditlock verify --witness-key`: the verifier checks the log against the checkpoints its
 * witnesses cosigned. A folder store whose newest segments were removed verifies clean without
 * the witness (the hole this closes) and is LOG_TRUNCATED with it; a fork under the same origin
 * and key is CHECKPOINT_MISMATCH; a tampered cosignature does not count; a quorum is enforced.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

const tempDir = useTempDirs('auditlock-verify-witness-');

async function witnessKeygen(dir: string, name: string) {
  const out = join(dir, name.replaceAll('/', '_'));
  const r = await runCli(['witness', 'keygen', '--out', out, '--name', name]);
  expect(r.code, r.stderr).toBe(0);
  return { pem: join(out, 'witness-key.pem'), vkey: join(out, 'witness-key.vkey') };
}

/** A sample store (5,000 events, 10 segments) cosigned in process by one witness. */
async function cosignedStore() {
  const dir = await tempDir();
  const { store, keys } = await sampleStore(dir);
  const w = await witnessKeygen(dir, 'witness.example.com/w1');
  const cosign = await runCli([
    'witness',
    'cosign',
    store,
    '--state',
    join(dir, 'state'),
    '--key',
    w.pem,
    '--pubkey',
    keys.publicKey,
  ]);
  expect(cosign.code, cosign.stderr).toBe(0);
  const witnessDir = join(store, 'default', 'witness');
  const [object] = await readdir(witnessDir);
  return { dir, store, keys, w, cosigned: join(witnessDir, object as string) };
}

function codesOf(stdout: string): string[] {
  const out = JSON.parse(stdout) as { findings: { code: string }[] };
  return [...new Set(out.findings.map((f) => f.code))].sort();
}

describe('verify --witness-key', () => {
  it('accepts a log its witness cosigned, and catches the newest segments removed', async () => {
    const { store, keys, w } = await cosignedStore();
    const clean = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
    ]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).not.toContain('not checked');

    await rm(segmentPath(store, 9));
    await rm(segmentPath(store, 8));
    // Without the witness the shorter log is a valid log: this is the rollback it would miss.
    const blind = await runCli(['verify', store, '--pubkey', keys.publicKey]);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.stdout).toContain(
      'cosigned checkpoint object(s) under <log>/witness/ not checked',
    );

    const caught = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--json',
    ]);
    expect(caught.code).toBe(1);
    expect(codesOf(caught.stdout)).toEqual(['LOG_TRUNCATED']);
    expect(caught.stdout).toContain('4000 entries');
    expect(caught.stdout).toContain('witness.example.com/w1');
  });

  it('catches a fork: the same origin and key, another log of the same size', async () => {
    const { dir, store, keys, w } = await cosignedStore();
    const lines = (await readFile(EVENTS_FILE, 'utf8')).split('\n').filter((l) => l !== '');
    [lines[0], lines[1]] = [lines[1] as string, lines[0] as string];
    const fork = join(dir, 'fork');
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
        '500',
      ],
      { input: `${lines.join('\n')}\n` },
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    // The fork on its own verifies; its witness's cosignatures are kept elsewhere.
    const alone = await runCli(['verify', fork, '--pubkey', keys.publicKey]);
    expect(alone.code, alone.stderr).toBe(0);
    const r = await runCli([
      'verify',
      fork,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--cosignatures',
      store,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['CHECKPOINT_MISMATCH']);
  });

  it('a tampered cosignature does not count, and the missing quorum is a finding', async () => {
    const { store, keys, w, cosigned } = await cosignedStore();
    const text = await readFile(cosigned, 'utf8');
    const lines = text.split('\n');
    const last = lines.length - 2; // the cosignature line (the note ends with a newline)
    const line = lines[last] as string;
    const sig = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
    sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 1;
    lines[last] = `${line.slice(0, line.lastIndexOf(' ') + 1)}${sig.toString('base64')}`;
    await writeFile(cosigned, lines.join('\n'));
    const r = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['WITNESS_COSIGNATURE_INVALID', 'WITNESS_QUORUM_NOT_MET']);
  });

  it('requires K distinct witnesses with --witnesses K', async () => {
    const { dir, store, keys, w } = await cosignedStore();
    const w2 = await witnessKeygen(dir, 'witness.example.com/w2');
    const two = [
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--witness-key',
      w2.vkey,
      '--witnesses',
      '2',
      '--json',
    ];
    const short = await runCli(two);
    expect(short.code).toBe(1);
    expect(codesOf(short.stdout)).toEqual(['WITNESS_QUORUM_NOT_MET']);

    const cosign2 = await runCli([
      'witness',
      'cosign',
      store,
      '--state',
      join(dir, 'state2'),
      '--key',
      w2.pem,
      '--pubkey',
      keys.publicKey,
    ]);
    expect(cosign2.code, cosign2.stderr).toBe(0);
    const met = await runCli(two);
    expect(met.code, met.stdout).toBe(0);

    const usage = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--witnesses',
      '2',
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--witnesses 2 needs at least 2 --witness-key');
  });

  it('takes a cosigned checkpoint file as a trusted --checkpoint when its witness is trusted', async () => {
    const { dir, store, keys, w, cosigned } = await cosignedStore();
    const file = join(dir, 'cosigned.txt');
    await copyFile(cosigned, file);
    const withWitness = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--checkpoint',
      file,
    ]);
    expect(withWitness.code, withWitness.stderr).toBe(0);
    // Without the witness key its line is a signature from an unknown key, which is refused.
    const without = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--checkpoint',
      file,
    ]);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('SIGNATURE_UNEXPECTED');
  });

  it('reports a cosigned checkpoint object that is not one', async () => {
    const { store, keys, w } = await cosignedStore();
    const witnessDir = join(store, 'default', 'witness');
    await mkdir(witnessDir, { recursive: true });
    await writeFile(join(witnessDir, `${'0'.repeat(16)}4000-00000000.cosigned`), 'not a note\n');
    const r = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--witness-key',
      w.vkey,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(codesOf(r.stdout)).toEqual(['WITNESS_OBJECT_MALFORMED']);
  });
});
