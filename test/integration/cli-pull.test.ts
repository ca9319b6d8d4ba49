/**
 * `auditlock pull` as an auditor runs it, the real built CLI against an Object Lock bucket on the
 * emulator: a sequence range that starts mid-log, then verify, events and receipt on the bundle
 * with no endpoint, credentials or region; empty ranges (exit 3) and a bad time (exit 2); and a
 * pull killed with SIGKILL part-way (downloads slowed by the fault proxy so the kill lands
 * mid-run), rerun into the same folder: the segments already there are not downloaded again,
 * and the bundle verifies.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTestBucket,
  proxyableEndpoint,
  TEST_RETENTION_DAYS,
  testS3Client,
} from '../helpers/aws.js';
import {
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  OFFLINE_ENV,
  parseJsonOutput,
  readLines,
  runCli,
  spawnCli,
  useTempDirs,
} from '../helpers/cli.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

const tempDir = useTempDirs('auditlock-cli-pull-');
const ORIGIN = 'test.auditlock.local/pull';

type PulledLog = {
  log: string;
  firstSeq: number;
  lastSeq: number;
  downloaded: number;
  skipped: number;
};
type PullJson = { ok: boolean; logs: PulledLog[]; findings: unknown[] };

const segmentFiles = async (bundle: string) =>
  (await readdir(join(bundle, 'default', 'seg')).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.seg'),
  );

describe('auditlock pull (CLI, S3)', () => {
  let dir: string;
  let keys: KeyFiles;
  let store: string;
  let lines: string[];

  beforeAll(async () => {
    dir = await tempDir();
    keys = await keygen(dir, 'keys', ORIGIN);
    store = `s3://${await createTestBucket(testS3Client(), 'clipull')}/audit`;
    lines = await readLines(EVENTS_FILE);
    const ingested = await runCli([
      'ingest',
      store,
      EVENTS_FILE,
      '--key',
      keys.privateKey,
      '--origin',
      ORIGIN,
      '--max-events',
      '250',
      '--retention-days',
      String(TEST_RETENTION_DAYS),
    ]);
    expect(ingested.code, ingested.stderr).toBe(0); // 20 segments of 250
  });

  it('pulls segments 3..7; verify, events and receipt work on the bundle offline', async () => {
    // Act
    const bundle = join(dir, 'mid');
    const pulled = await runCli([
      'pull',
      store,
      '--out',
      bundle,
      '--pubkey',
      keys.publicKey,
      '--from-seq',
      '3',
      '--to-seq',
      '7',
      '--json',
    ]);
    const verified = await runCli(
      ['verify', bundle, '--bundle', '--pubkey', keys.publicKey, '--json'],
      { env: OFFLINE_ENV },
    );
    const found = await runCli(
      ['events', bundle, '--bundle', '--pubkey', keys.publicKey, '--action', 'iam:CreateUser'],
      { env: OFFLINE_ENV },
    );
    const receipt = join(dir, 'mid.tlog-proof');
    const id = (JSON.parse(lines[1000] as string) as { id: string }).id;
    const made = await runCli(
      ['receipt', bundle, id, '--pubkey', keys.publicKey, '--out', receipt],
      { env: OFFLINE_ENV },
    );
    const checked = await runCli(
      ['verify-receipt', receipt, '--pubkey', keys.publicKey, '--json'],
      { env: OFFLINE_ENV },
    );

    // Assess
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(parseJsonOutput<PullJson>(pulled).logs).toMatchObject([
      { log: 'default', firstSeq: 3, lastSeq: 7, downloaded: 5, skipped: 0 },
    ]);
    expect(await segmentFiles(bundle)).toHaveLength(5);
    expect(verified.code, verified.stderr).toBe(0);
    expect(parseJsonOutput(verified)).toMatchObject({
      ok: true,
      logs: [{ firstSeq: 3, lastSeq: 7, startTreeSize: 750, treeSize: 2000 }],
    });
    expect(found.code, found.stderr).toBe(0);
    const hits = found.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { index: number; event: { action: string } });
    const expected = lines
      .map((l, index) => ({ index, action: (JSON.parse(l) as { action: string }).action }))
      .filter((e) => e.index >= 750 && e.index < 2000 && e.action === 'iam:CreateUser');
    expect(hits.map((h) => h.index)).toEqual(expected.map((e) => e.index));
    expect(made.code, made.stderr).toBe(0);
    expect(parseJsonOutput(checked)).toMatchObject({ valid: true, index: 1000 });
  });

  it('an empty range exits 3 and writes no segment; a bad time is a usage error naming it', async () => {
    // Act
    const beyond = await runCli([
      'pull',
      store,
      '--out',
      join(dir, 'beyond'),
      '--pubkey',
      keys.publicKey,
      '--from-seq',
      '40',
    ]);
    const future = await runCli([
      'pull',
      store,
      '--out',
      join(dir, 'future'),
      '--pubkey',
      keys.publicKey,
      '--from',
      '2099-01-01T00:00:00Z',
    ]);
    const bad = await runCli([
      'pull',
      store,
      '--out',
      join(dir, 'bad'),
      '--pubkey',
      keys.publicKey,
      '--from',
      'yesterday',
    ]);

    // Assess
    expect(beyond.code, beyond.stderr).toBe(3);
    expect(beyond.stderr).toMatch(/no segment is in the range/);
    expect(beyond.stderr).toMatch(/holds segments 0\.\.19/);
    expect(future.code, future.stderr).toBe(3);
    expect(await segmentFiles(join(dir, 'beyond'))).toEqual([]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from/);
  });

  it.skipIf(proxyableEndpoint() === undefined)(
    'a pull killed part-way resumes: segments already pulled are not downloaded again',
    async () => {
      // Prepare: segment downloads slowed, so the kill lands while the pull runs
      const proxy: FaultProxy = await startFaultProxy({
        upstream: proxyableEndpoint() as string,
        rules: [{ fault: 'delay', method: 'GET', path: /\/seg\/\d+\.seg/, delayMs: 300 }],
      });
      const bundle = join(dir, 'killed');
      try {
        const child = spawnCli(
          ['pull', store, '--out', bundle, '--pubkey', keys.publicKey, '--concurrency', '1'],
          { env: { AWS_ENDPOINT_URL: proxy.url } },
        );
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_code, signal) => resolve(signal)),
        );

        // Act: kill it once four segments are in the bundle (polled, not timed)
        while ((await segmentFiles(bundle)).length < 4 && child.exitCode === null)
          await new Promise((r) => setTimeout(r, 50));
        child.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
        const kept = (await segmentFiles(bundle)).length;
        const resumed = await runCli([
          'pull',
          store,
          '--out',
          bundle,
          '--pubkey',
          keys.publicKey,
          '--json',
        ]);
        const verified = await runCli(
          ['verify', bundle, '--bundle', '--pubkey', keys.publicKey, '--json'],
          { env: OFFLINE_ENV },
        );

        // Assess
        expect(kept).toBeGreaterThanOrEqual(4);
        expect(kept).toBeLessThan(20);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(parseJsonOutput<PullJson>(resumed).logs).toMatchObject([
          { firstSeq: 0, lastSeq: 19, skipped: kept, downloaded: 20 - kept },
        ]);
        expect(parseJsonOutput(verified)).toMatchObject({
          ok: true,
          logs: [{ firstSeq: 0, lastSeq: 19, treeSize: 5000 }],
        });
      } finally {
        await proxy.stop();
      }
    },
  );
});
