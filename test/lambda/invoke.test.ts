/**
 * The local runner (`npm run invoke -- <event.json>`) end to end: the bundled handler, invoked on
 * a fixture against the suite's emulator, archives into a freshly bootstrapped bucket, and the
 * runner's own verify passes; with `--handler verify`, the scheduled verifier's bundle verifies
 * and cosigns what the runner archived first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { awsTarget } from '../helpers/aws.js';
import { ensureBundles } from '../helpers/lambda.js';

function invoke(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['scripts/invoke.mjs', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => {
      stdout += b;
    });
    p.stderr.on('data', (b) => {
      stderr += b;
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// On real AWS the runner would leave a key behind (the suite's own keys are scheduled for deletion).
describe.skipIf(awsTarget().kind === 'aws')('scripts/invoke.mjs', () => {
  it('invokes the bundled SQS handler on a fixture and verifies the result', async () => {
    await ensureBundles();
    const bucket = `al-invoke-${randomBytes(4).toString('hex')}`;
    const r = await invoke(['test/fixtures/lambda/sqs-standard.json'], {
      AUDITLOCK_INVOKE_BUCKET: bucket,
      AUDITLOCK_INVOKE_KEY_ALIAS: `alias/${bucket}`,
    });
    expect(r.code, r.stderr).toBe(0);
    const response = r.stdout.slice(r.stdout.indexOf('{\n'), r.stdout.indexOf('\n}') + 2);
    expect(JSON.parse(response)).toEqual({ batchItemFailures: [] });
    expect(r.stdout).toMatch(/OK: s3:\/\/al-invoke-[0-9a-f]+\/lambda\/ verified, no findings/);
  });

  it('--handler verify: archives sample events, then the verifier bundle verifies and cosigns them', async () => {
    await ensureBundles();
    const bucket = `al-invoke-${randomBytes(4).toString('hex')}`;
    const r = await invoke(['--handler', 'verify'], {
      AUDITLOCK_INVOKE_BUCKET: bucket,
      AUDITLOCK_INVOKE_KEY_ALIAS: `alias/${bucket}`,
      AUDITLOCK_INVOKE_EVENTS: '4',
      AUDITLOCK_MAX_EVENTS: '3',
    });
    expect(r.code, r.stderr).toBe(0);
    const report = r.stdout.slice(r.stdout.indexOf('{\n'), r.stdout.indexOf('\n}') + 2);
    expect(JSON.parse(report)).toMatchObject({
      ok: true,
      complete: true,
      findings: 0,
      segmentsRead: 2,
      logs: [{ log: 'default', to: 4, witness: { ok: true, treeSize: 4, stored: 'created' } }],
    });
    expect(r.stderr).toContain(`state s3://${bucket}-state/verifier`);
  });
});
