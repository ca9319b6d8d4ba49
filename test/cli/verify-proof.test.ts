/**
 * `auditlock verify-proof` through the real CLI where issues 7 and 8 found it wanting: a key whose
 * validity window ended before the checkpoint was sealed is refused (one signature policy), and a
 * proof path that is missing or a folder is a coded one-line error, not a stack trace.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type KeyFiles,
  parseJsonOutput,
  runCli,
  sampleStore,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs();

let dir: string;
let keys: KeyFiles;
let proofFile: string;

beforeAll(async () => {
  dir = await tempDir();
  let store: string;
  ({ store, keys } = await sampleStore(dir));
  proofFile = join(dir, 'proof-42.txt');
  const proved = await runCli([
    'prove',
    store,
    '42',
    '--pubkey',
    keys.publicKey,
    '--out',
    proofFile,
  ]);
  expect(proved.code, proved.stderr).toBe(0);
});

/** A trusted-keys file holding the sample key with the given window. */
async function trustFile(name: string, window: { notBefore?: string; notAfter?: string }) {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify({ keys: [{ publicKey: keys.publicKey, ...window }] }));
  return file;
}

/** One line on stderr, no stack frame. */
function expectOneLineError(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('auditlock verify-proof', () => {
  it('control: the proof verifies with the key inside its window', async () => {
    const file = await trustFile('trust-open.json', { notBefore: '2020-01-01T00:00:00Z' });
    const result = await runCli(['verify-proof', proofFile, '--trusted-keys', file, '--json']);
    expect(result.code, result.stderr).toBe(0);
  });

  it('refuses a key whose notAfter passed before the seal time (KEY_NOT_VALID_AT_SEAL_TIME)', async () => {
    const file = await trustFile('trust-expired.json', { notAfter: '2021-01-01T00:00:00Z' });
    const result = await runCli(['verify-proof', proofFile, '--trusted-keys', file, '--json']);
    expect(result.code).toBe(1);
    expect(parseJsonOutput(result)).toMatchObject({
      valid: false,
      code: 'KEY_NOT_VALID_AT_SEAL_TIME',
    });
  });

  it('refuses a key whose notBefore is after the seal time', async () => {
    const file = await trustFile('trust-future.json', { notBefore: '2999-01-01T00:00:00Z' });
    const result = await runCli(['verify-proof', proofFile, '--trusted-keys', file, '--json']);
    expect(result.code).toBe(1);
    expect(parseJsonOutput(result)).toMatchObject({ code: 'KEY_NOT_VALID_AT_SEAL_TIME' });
  });

  it('a proof file that does not exist: exit 2, PROOF_NOT_FOUND, one line', async () => {
    const result = await runCli([
      'verify-proof',
      join(dir, 'no-such-proof.txt'),
      '--pubkey',
      keys.publicKey,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROOF_NOT_FOUND');
    expectOneLineError(result.stderr);
  });

  it('a proof path that is a folder: exit 2, PROOF_UNREADABLE, one line', async () => {
    const folder = join(dir, 'a-folder');
    await mkdir(folder, { recursive: true });
    const result = await runCli(['verify-proof', folder, '--pubkey', keys.publicKey]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROOF_UNREADABLE');
    expectOneLineError(result.stderr);
  });
});
