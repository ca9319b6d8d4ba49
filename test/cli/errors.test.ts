/**
 * Every failure is one coded line, `error: <CODE>: <message>`, exit 2, never a stack trace, and
 * control characters echoed from input are escaped: through the real CLI, for each path issue 8
 * found printing a stack or raw bytes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  EVENTS_FILE,
  type KeyFiles,
  readLines,
  runCli,
  sampleStore,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs();
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
let dir: string;
let keys: KeyFiles;
let store: string;

beforeAll(async () => {
  dir = await tempDir();
  ({ store, keys } = await sampleStore(dir));
});

/** The whole of stderr is one `error: CODE: message` line; returns the code. */
function oneCodedLine(result: CliResult): string {
  expect(result.stderr, result.stderr).toMatch(/^error: [A-Z][A-Z0-9_]*: [^\n]*\n$/);
  expect(result.stderr).not.toContain('\u001b');
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.code).toBe(2);
  return /^error: ([A-Z0-9_]+):/.exec(result.stderr)?.[1] as string;
}

const ingest = (storePath: string, input: string, extra: string[] = []) =>
  runCli(['ingest', storePath, input, '--key', keys.privateKey, ...extra]);

describe('coded one-line errors (exit 2)', () => {
  it('--rejects into a missing folder', async () => {
    const result = await ingest(join(dir, 's1'), EVENTS_FILE, [
      '--rejects',
      join(dir, 'no', 'r.jsonl'),
    ]);
    expect(oneCodedLine(result)).toBe('REJECTS_UNWRITABLE');
  });

  it('--rejects naming a folder', async () => {
    const result = await ingest(join(dir, 's2'), EVENTS_FILE, ['--rejects', dir]);
    expect(oneCodedLine(result)).toBe('REJECTS_UNWRITABLE');
  });

  it('prove --out into a missing folder', async () => {
    const result = await runCli([
      'prove',
      store,
      '0',
      '--pubkey',
      keys.publicKey,
      '--out',
      join(dir, 'no', 'p.json'),
    ]);
    // The command may name the case (OUTPUT_NOT_WRITABLE); else the CLI's own IO_ERROR applies.
    expect(oneCodedLine(result)).toMatch(/^(IO_ERROR|OUTPUT_NOT_WRITABLE)$/);
  });

  it('verify --write-checkpoint into a missing folder', async () => {
    const result = await runCli([
      'verify',
      store,
      '--pubkey',
      keys.publicKey,
      '--write-checkpoint',
      join(dir, 'no', 'cp.txt'),
    ]);
    // The command may name the case (OUTPUT_NOT_WRITABLE); else the CLI's own IO_ERROR applies.
    expect(oneCodedLine(result)).toMatch(/^(IO_ERROR|OUTPUT_NOT_WRITABLE)$/);
  });

  it('--ack-log (removed: its resume duplicated events) is a usage error naming --resume', async () => {
    const result = await ingest(join(dir, 's3'), EVENTS_FILE, ['--ack-log', dir]);
    expect(oneCodedLine(result)).toBe('USAGE');
    expect(result.stderr).toContain('--resume');
  });

  it('an ingest store path that is a file', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    expect(oneCodedLine(await ingest(file, EVENTS_FILE))).toBe('STORE_NOT_A_FOLDER');
    expect(oneCodedLine(await ingest(join(file, 'below'), EVENTS_FILE))).toBe('STORE_NOT_A_FOLDER');
  });

  it('a new store under a read-only parent', async () => {
    // As root, permission bits do not stop mkdir; sysfs refuses it to everyone.
    let parent = '/sys/auditlock-test-no-such-dir';
    if (process.getuid?.() !== 0) {
      parent = join(dir, 'read-only');
      await mkdir(parent, { mode: 0o555 });
    }
    expect(oneCodedLine(await ingest(join(parent, 'store'), EVENTS_FILE))).toBe('STORE_UNWRITABLE');
  });

  it('an input path that is a folder, and one that does not exist', async () => {
    expect(oneCodedLine(await ingest(join(dir, 's4'), dir))).toBe('INPUT_NOT_A_FILE');
    expect(oneCodedLine(await ingest(join(dir, 's5'), join(dir, 'missing.jsonl')))).toBe(
      'INPUT_NOT_FOUND',
    );
  });

  it('verify-proof on a missing file and on a folder', async () => {
    for (const path of [join(dir, 'missing-proof.json'), dir]) {
      const result = await runCli(['verify-proof', path, '--pubkey', keys.publicKey]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: [A-Z][A-Z0-9_]*: [^\n]*\n$/);
    }
  });

  it('an unknown command', async () => {
    const result = await runCli(['frobnicate\u001b[2J']);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(/^error: USAGE: /);
    expect(result.stderr).not.toContain('\u001b');
  });
});

describe('control characters in echoed input are escaped', () => {
  it('in a file name', async () => {
    const result = await ingest(join(dir, 's6'), join(dir, 'evil\u001b[2J\u009b31m.jsonl'));
    expect(oneCodedLine(result)).toBe('INPUT_NOT_FOUND');
    expect(result.stderr).not.toMatch(UNSAFE);
    expect(result.stderr).toContain('\\x1b[2J');
  });

  it('in a rejected line reported on stderr (C1 CSI and DEL survive JSON.stringify)', async () => {
    const event = JSON.parse((await readLines(EVENTS_FILE))[0] as string) as Record<
      string,
      unknown
    >;
    const line = JSON.stringify({ ...event, outcome: 'x\u009b2J\u007fy' });
    const file = join(dir, 'c1.jsonl');
    await writeFile(file, `${line}\n`);
    const result = await ingest(join(dir, 's7'), file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 1: EVENT_INVALID: /);
    expect(result.stderr).not.toMatch(UNSAFE);
  });
});
