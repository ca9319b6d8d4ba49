/**
 * `auditlock keygen` through the real CLI: the three files, their modes, and no overwrite.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs();
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('auditlock keygen', () => {
  it('writes a 0600 private key, a public key and a vkey line named after --name', async () => {
    // Prepare
    const out = join(await tempDir(), 'keys');
    // Act
    const result = await runCli(['keygen', '--out', out, '--name', 'audit.example.com/prod']);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    const umask = process.umask();
    expect(await mode(join(out, 'signing-key.pem'))).toBe(0o600);
    expect(await mode(join(out, 'signing-key.pub.pem'))).toBe(0o644 & ~umask);
    expect(await mode(join(out, 'signing-key.vkey'))).toBe(0o644 & ~umask);
    expect(await readFile(join(out, 'signing-key.pem'), 'utf8')).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n/,
    );
    expect(await readFile(join(out, 'signing-key.pub.pem'), 'utf8')).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n/,
    );
    const vkey = (await readFile(join(out, 'signing-key.vkey'), 'utf8')).trim();
    expect(vkey).toMatch(/^audit\.example\.com\/prod\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    expect(result.stdout).toContain(vkey);
  });

  it('refuses to overwrite an existing key (exit 2, KEY_EXISTS) and leaves it unchanged', async () => {
    // Prepare
    const out = join(await tempDir(), 'keys');
    expect((await runCli(['keygen', '--out', out])).code).toBe(0);
    const before = await readFile(join(out, 'signing-key.pem'), 'utf8');
    // Act
    const again = await runCli(['keygen', '--out', out]);
    // Assess
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('KEY_EXISTS');
    expect(await readFile(join(out, 'signing-key.pem'), 'utf8')).toBe(before);
  });

  it('requires --out (exit 2)', async () => {
    const result = await runCli(['keygen']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--out');
  });
});
