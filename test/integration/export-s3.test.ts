/**
 * The scheduled OCSF export Lambda handler (src/lambda/handlers/export.ts, imported from source
 * and configured through its environment) on the emulator: an archive in a locked bucket, files
 * and state in a plain export bucket; two runs with segments archived between them export every
 * entry once; a state object changed in the bucket is refused and nothing is written; a bad
 * configuration is refused with its code.
 */
import { createPublicKey } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import type { ScheduledExportReport } from '../../src/app/scheduled-export.js';
import { handler } from '../../src/lambda/handlers/export.js';
import { createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import { fakeContext } from '../helpers/lambda.js';
import { logFixture, makeKey, writeLog } from '../helpers/log-fixture.js';

const VARS = [
  'AUDITLOCK_ARCHIVE_STORE',
  'AUDITLOCK_EXPORT_BUCKET',
  'AUDITLOCK_EXPORT_PREFIX',
  'AUDITLOCK_EXPORT_FORMAT',
  'AUDITLOCK_TRUSTED_KEYS',
  'AUDITLOCK_TIME_RESERVE_MS',
];

describe('scheduled OCSF export on S3', () => {
  const s3 = testS3Client();
  const key = makeKey('writer');
  let archive: string;
  let exportBucket: string;
  let fx: ReturnType<typeof logFixture>;

  beforeAll(async () => {
    archive = await createTestBucket(s3, 'export-archive');
    exportBucket = await createTestBucket(s3, 'export-out', { objectLock: false });
    const store = new S3Store({
      client: s3,
      bucket: archive,
      prefix: 'prod',
      retention: { days: TEST_RETENTION_DAYS },
    });
    fx = logFixture(store, key);
    fx.clock.set(Date.now()); // retention runs from the seal time
  });

  afterEach(() => {
    for (const v of VARS) delete process.env[v];
  });

  function configure(): void {
    Object.assign(process.env, {
      AUDITLOCK_ARCHIVE_STORE: `s3://${archive}/prod`,
      AUDITLOCK_EXPORT_BUCKET: exportBucket,
      AUDITLOCK_EXPORT_PREFIX: 'ocsf',
      AUDITLOCK_EXPORT_FORMAT: 'jsonl',
      AUDITLOCK_TIME_RESERVE_MS: '1000',
      AUDITLOCK_TRUSTED_KEYS: createPublicKey({
        key: Buffer.from(key.spki),
        format: 'der',
        type: 'spki',
      })
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    });
  }

  const run = () =>
    handler(
      {},
      fakeContext({ functionName: 'auditlock-export' }),
    ) as Promise<ScheduledExportReport>;

  async function text(k: string): Promise<string> {
    const r = await s3.send(new GetObjectCommand({ Bucket: exportBucket, Key: k }));
    return (await r.Body?.transformToString()) ?? '';
  }

  async function exportedIndexes(prefix = 'ocsf/'): Promise<number[]> {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: exportBucket, Prefix: prefix }),
    );
    const out: number[] = [];
    for (const o of listed.Contents ?? [])
      if (o.Key?.endsWith('.jsonl'))
        for (const line of (await text(o.Key)).split('\n').filter(Boolean))
          out.push(Number(JSON.parse(line).unmapped['auditlock.index']));
    return out.sort((a, b) => a - b);
  }

  it('two runs with segments archived between them export every entry once', async () => {
    await writeLog(fx, 10, 4);
    configure();
    const first = await run();
    expect(first.rows).toBe(10);
    expect(first.logs).toEqual({ main: 2 });
    expect(first.files.every((f) => f.startsWith('auditlock-'))).toBe(true);

    await writeLog(fx, 6, 4, 10);
    const second = await run();
    expect(second.rows).toBe(6);
    expect(second.logs).toEqual({ main: 4 });
    expect(await exportedIndexes()).toEqual([...Array(16).keys()]);
    const state = JSON.parse(await text('ocsf/.auditlock-export-state.json'));
    expect(state.logs.main.treeSize).toBe(16);
  });

  it('refuses a state changed in the bucket and writes nothing', async () => {
    configure();
    const stateKey = 'ocsf/.auditlock-export-state.json';
    const good = await text(stateKey);
    const changed = good.replace('"seq":4', '"seq":3');
    expect(changed).not.toBe(good);
    await s3.send(new PutObjectCommand({ Bucket: exportBucket, Key: stateKey, Body: changed }));
    await writeLog(fx, 4, 4, 16);
    await expect(run()).rejects.toMatchObject({ code: 'EXPORT_STATE_MISMATCH' });
    expect(await text(stateKey)).toBe(changed);
    expect(await exportedIndexes()).toEqual([...Array(16).keys()]);
  });

  it('with little time left stops after each segment, and the runs after it go on', async () => {
    configure();
    process.env.AUDITLOCK_EXPORT_PREFIX = 'ocsf-budget';
    const short = () =>
      handler(
        {},
        fakeContext({ functionName: 'auditlock-export', remaining: () => 500 }),
      ) as Promise<ScheduledExportReport>;
    const reports: ScheduledExportReport[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await short();
      reports.push(r);
      if (r.complete) break;
    }
    // 20 entries in segments 0..5: one segment per run, then a run that finds nothing new.
    expect(reports.map((r) => r.logs.main)).toEqual([0, 1, 2, 3, 4, 5, 5]);
    expect(reports.map((r) => r.complete)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(await exportedIndexes('ocsf-budget/')).toEqual([...Array(20).keys()]);
  });

  it('refuses a bad configuration', async () => {
    configure();
    process.env.AUDITLOCK_EXPORT_FORMAT = 'csv';
    await expect(run()).rejects.toMatchObject({ code: 'LAMBDA_CONFIG_INVALID' });
    configure();
    delete process.env.AUDITLOCK_TRUSTED_KEYS;
    await expect(run()).rejects.toMatchObject({ code: 'LAMBDA_CONFIG_INVALID' });
  });
});
