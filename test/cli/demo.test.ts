/**
 * The quick-start demo (`npm run demo`) runs end to end on the built CLI and exits 0, which it
 * does only if every step behaved as expected, tampering detected included.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, REPO_ROOT, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-demo-');

describe('scripts/demo.mjs', () => {
  it('exits 0 and shows the verifier catching the tampering', async () => {
    // Prepare
    assertBuilt();
    const out = join(await tempDir(), 'demo-output');
    // Act
    const result = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'demo.mjs'), '--out', out],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    // Assess
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const code of [
      'PAYLOAD_HASH_MISMATCH',
      'ROOT_MISMATCH',
      'PREV_HASH_MISMATCH',
      'SEQUENCE_GAP',
    ])
      expect(result.stdout).toContain(code);
    expect(result.stdout).toContain('$ auditlock verify');
  });
});
