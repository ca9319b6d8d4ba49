/**
 * Help and usage errors through the real CLI: every command's `--help` exits 0 and lists every
 * option it declares; unknown commands, unknown flags, bad values and wrong argument counts exit 2
 * with a message naming the culprit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../src/cli/args.js';
import { ingestSpec } from '../../src/cli/commands/ingest.js';
import { keygenSpec } from '../../src/cli/commands/keygen.js';
import { proveSpec } from '../../src/cli/commands/prove.js';
import { verifySpec } from '../../src/cli/commands/verify.js';
import { verifyProofSpec } from '../../src/cli/commands/verify-proof.js';
import { type CliOptions, type KeyFiles, keygen, runCli, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs();

/** Each command with the options the docs and the other tests rely on (beyond its declared spec). */
const COMMANDS: [CommandSpec, string[]][] = [
  [keygenSpec, ['--out', '--name']],
  [
    ingestSpec,
    [
      '--key',
      '--log',
      '--origin',
      '--max-events',
      '--rejects',
      '--quarantine',
      '--resume',
      '--input-name',
      '--trusted-keys',
      '--json',
    ],
  ],
  [
    verifySpec,
    ['--pubkey', '--expect-size', '--checkpoint', '--write-checkpoint', '--origin', '--json'],
  ],
  [proveSpec, ['--log', '--id', '--out']],
  [verifyProofSpec, ['--pubkey', '--origin', '--json']],
];

describe('auditlock help', () => {
  it('--help lists every command and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const [spec] of COMMANDS) expect(result.stdout).toContain(spec.name);
  });

  it('no command at all prints the usage and exits 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('verify-proof');
  });

  it.each(COMMANDS.map(([spec, options]) => [spec.name, spec, options] as const))(
    '%s --help exits 0 and mentions each of its options',
    async (name, spec, options) => {
      const result = await runCli([name, '--help']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      for (const option of [
        ...Object.keys(spec.options).map((o) => `--${o}`),
        ...options,
        '--help',
      ])
        expect(result.stdout, `${name} --help mentions ${option}`).toContain(option);
    },
  );
});

describe('auditlock usage errors (exit 2)', () => {
  // A scratch working folder: some commands create the store folder before they fail.
  let cwd: CliOptions;
  let keys: KeyFiles;
  beforeAll(async () => {
    const dir = await tempDir();
    cwd = { cwd: dir };
    keys = await keygen(dir);
  });

  it('an unknown command is named in the message', async () => {
    const result = await runCli(['frobnicate'], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('frobnicate');
  });

  it.each(COMMANDS.map(([spec]) => [spec.name] as const))(
    '%s: an unknown flag is named in the message',
    async (name) => {
      const result = await runCli([name, 'x', '--no-such-flag'], cwd);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--no-such-flag');
    },
  );

  it('a flag that needs a value but has none is named', async () => {
    const result = await runCli(['verify', 'store', '--pubkey'], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--pubkey');
  });

  it('a bad numeric value is named with its flag', async () => {
    const result = await runCli(
      ['verify', 'store', '--pubkey', keys.publicKey, '--expect-size', 'lots'],
      cwd,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--expect-size');
  });

  it('ingest: a bad --max-events is named', async () => {
    const result = await runCli(
      ['ingest', 'store', '-', '--key', keys.privateKey, '--max-events', '0'],
      cwd,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-events');
  });

  it('ingest: an unsupported --compress is named', async () => {
    const result = await runCli(
      ['ingest', 'store', '-', '--key', 'k.pem', '--compress', 'zstd'],
      cwd,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--compress');
  });

  it('ingest: no signing key is an error naming --key', async () => {
    const result = await runCli(['ingest', 'store', '-'], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--key');
  });

  it('too many arguments', async () => {
    const result = await runCli(['prove', 'store', '1', '2'], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('prove');
  });

  it('an unsupported store URL', async () => {
    const result = await runCli(
      ['verify', 'ftp://example.com/store', '--pubkey', keys.publicKey],
      cwd,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ftp://example.com/store');
  });
});
