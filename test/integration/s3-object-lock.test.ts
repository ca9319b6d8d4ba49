/**
 * What Object Lock does and does not stop, seen through S3Store: every version carries
 * COMPLIANCE retention; deleting a locked version is refused; a plain delete adds a delete marker
 * and an unconditional PUT adds a version on top, both of which `listVersions` exposes for the
 * verifier. Also the bucket check and the 412/409 handling (answers injected by the fault proxy).
 */
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyS3Error, isConditionalConflict } from '../../src/adapters/s3-errors.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { AuditlockError, ConfigurationError, StorageError } from '../../src/core/errors.js';
import {
  collect,
  createTestBucket,
  proxyableEndpoint,
  rejectionOf,
  TEST_RETENTION_DAYS,
  testS3Client,
  uniqueBucketName,
} from '../helpers/aws.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

const DAY_MS = 86_400_000;
const upstream = proxyableEndpoint();
const bytes = (s: string) => new TextEncoder().encode(s);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuditlockError);
  return (err as AuditlockError).code;
}

describe('S3Store on an Object Lock bucket', () => {
  let s3: S3Client;
  let bucket: string;
  let store: S3Store;

  beforeAll(async () => {
    s3 = testS3Client();
    bucket = await createTestBucket(s3, 'lock');
    store = new S3Store({
      client: s3,
      bucket,
      prefix: 'audit',
      retention: { days: TEST_RETENTION_DAYS },
    });
  });

  it('writes each version with COMPLIANCE retention until now + the configured days', async () => {
    // Prepare
    const before = Date.now();
    // Act
    const put = await store.putIfAbsent('log/seg/1', bytes('segment one'));
    // Assess
    expect(put.status).toBe('created');
    expect(put.versionId).toBeTruthy();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'audit/log/seg/1' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + TEST_RETENTION_DAYS * DAY_MS - 1_000);
    expect(until).toBeLessThanOrEqual(Date.now() + TEST_RETENTION_DAYS * DAY_MS + 1_000);
    const described = await store.describeVersion('log/seg/1', put.versionId ?? '');
    expect(described).toMatchObject({
      versionId: put.versionId,
      lockMode: 'COMPLIANCE',
      legalHold: false,
      size: 11,
    });
    expect(described?.retainUntil?.getTime()).toBe(until);
    expect(described?.checksumSha256).toBe(
      Buffer.from(await crypto.subtle.digest('SHA-256', bytes('segment one'))).toString('base64'),
    );
  });

  it('takes an explicit retain-until date (seal time + period) and rejects one in the past', async () => {
    const retainUntil = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * DAY_MS);
    const put = await store.putIfAbsent('log/seg/2', bytes('two'), { retainUntil });
    expect((await store.describeVersion('log/seg/2', put.versionId ?? ''))?.retainUntil).toEqual(
      retainUntil,
    );
    const past = new Date(Date.now() - 1_000);
    expect(await codeOf(store.putIfAbsent('log/seg/3', bytes('3'), { retainUntil: past }))).toBe(
      'RETAIN_UNTIL_INVALID',
    );
    expect(await store.exists('log/seg/3')).toBe(false);
  });

  it('sends a whole-second retain-until, never before seal time + the period', async () => {
    // Prepare: seal times with milliseconds, which S3 (and LocalStack) would truncate.
    const second = Math.floor(Date.now() / 1000) * 1000;
    for (const [i, sealedAt] of [second + 437, second + 999, second + 1, second].entries()) {
      // Act
      const put = await store.putIfAbsent(`sec/${i}`, bytes(`s${i}`), { sealedAt });
      // Assess: moto echoes exactly what was sent.
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `audit/sec/${i}` }));
      const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
      const wanted = sealedAt + TEST_RETENTION_DAYS * DAY_MS;
      expect(until % 1000).toBe(0);
      expect(until).toBeGreaterThanOrEqual(wanted);
      expect(until - wanted).toBeLessThan(1000);
      expect(put.status).toBe('created');
    }
    // An explicit date is rounded up the same way.
    const explicit = new Date(second + 2 * DAY_MS + 1);
    const put = await store.putIfAbsent('sec/explicit', bytes('e'), { retainUntil: explicit });
    expect(
      (await store.describeVersion('sec/explicit', put.versionId ?? ''))?.retainUntil?.getTime(),
    ).toBe(second + 2 * DAY_MS + 1000);
  });

  it('maps a real non-conditional 409 (BucketNotEmpty) to its own code, not a write conflict', async () => {
    await store.putIfAbsent('keep/409', bytes('x'));
    const raw = await rejectionOf(s3.send(new DeleteBucketCommand({ Bucket: bucket })));
    expect((raw as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(
      409,
    );
    expect(isConditionalConflict(raw)).toBe(false);
    const err = classifyS3Error(raw, { action: 's3:PutObject', bucket });
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.code).toBe('BUCKET_NOT_EMPTY');
  });

  it('cannot delete a locked version: S3 answers AccessDenied', async () => {
    const put = await store.putIfAbsent('log/seg/locked', bytes('keep me'));
    const err = await rejectionOf(
      s3.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: 'audit/log/seg/locked',
          VersionId: put.versionId,
        }),
      ),
    );
    expect((err as { name?: string }).name).toBe('AccessDenied');
    expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(
      403,
    );
    expect(await store.getVersion('log/seg/locked', put.versionId ?? '')).toEqual(bytes('keep me'));
  });

  it('shows a delete marker that hides a key from get and list, but not its version; the key stays taken', async () => {
    // Prepare
    const put = await store.putIfAbsent('hide/seg', bytes('hidden'));
    // Act: a plain delete is allowed under COMPLIANCE; it only adds a marker.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'audit/hide/seg' }));
    // Assess
    expect(await store.get('hide/seg')).toBeUndefined();
    // A hidden key is taken: a writer probing for a log's head must never put a second version.
    expect(await store.exists('hide/seg')).toBe(true);
    expect(await collect(store.list('hide/'))).toEqual([]);
    const versions = await collect(store.listVersions('hide/'));
    expect(
      versions.map(({ key, isLatest, isDeleteMarker }) => ({ key, isLatest, isDeleteMarker })),
    ).toEqual([
      { key: 'hide/seg', isLatest: true, isDeleteMarker: true },
      { key: 'hide/seg', isLatest: false, isDeleteMarker: false },
    ]);
    expect(versions[1]?.versionId).toBe(put.versionId);
    expect(await store.getVersion('hide/seg', put.versionId ?? '')).toEqual(bytes('hidden'));
    expect(await store.getVersion('hide/seg', versions[0]?.versionId ?? '')).toBeUndefined();
    expect(await store.describeVersion('hide/seg', versions[0]?.versionId ?? '')).toBeUndefined();
  });

  it('shows a second version written without If-None-Match (shadowing), newest first', async () => {
    const first = await store.putIfAbsent('shadow/seg', bytes('original'));
    // Someone with s3:PutObject and no conditional-write policy overwrites the key.
    const second = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'audit/shadow/seg', Body: bytes('forged') }),
    );
    expect(await store.get('shadow/seg')).toEqual(bytes('forged'));
    const versions = await collect(store.listVersions('shadow/'));
    expect(versions.map((v) => [v.versionId, v.isLatest, v.isDeleteMarker])).toEqual([
      [second.VersionId, true, false],
      [first.versionId, false, false],
    ]);
    expect(await store.getVersion('shadow/seg', first.versionId ?? '')).toEqual(bytes('original'));
    // Write-once through the store still holds: the key is taken.
    expect(await codeOf(store.putIfAbsent('shadow/seg', bytes('again')))).toBe('OBJECT_EXISTS');
  });

  it('pages listVersions with small pages, each entry exactly once', async () => {
    const paged = new S3Store({
      client: s3,
      bucket,
      prefix: 'audit',
      retention: { days: 1 },
      pageSize: 2,
    });
    for (let i = 0; i < 5; i++) await paged.putIfAbsent(`page/${i}`, bytes(`p${i}`));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'audit/page/2' }));
    const versions = await collect(paged.listVersions('page/'));
    expect(versions.map((v) => `${v.key}${v.isDeleteMarker ? ' (marker)' : ''}`)).toEqual([
      'page/0',
      'page/1',
      'page/2 (marker)',
      'page/2',
      'page/3',
      'page/4',
    ]);
    expect((await collect(paged.list('page/'))).map((o) => o.key)).toEqual([
      'page/0',
      'page/1',
      'page/3',
      'page/4',
    ]);
  });
});

describe('S3Store.checkBucket', () => {
  const s3 = testS3Client();

  it('passes a bucket with versioning and Object Lock', async () => {
    const bucket = await createTestBucket(s3, 'check-ok');
    const store = new S3Store({ client: s3, bucket, retention: { days: 1 } });
    expect(await store.checkBucket()).toEqual({ defaultRetention: undefined });
  });

  it('refuses a bucket without Object Lock (BUCKET_NOT_LOCKED) and never writes to it', async () => {
    const bucket = await createTestBucket(s3, 'check-unlocked', { objectLock: false });
    const store = new S3Store({ client: s3, bucket, retention: { days: 1 } });
    expect(await codeOf(store.checkBucket())).toBe('BUCKET_NOT_LOCKED');
    expect(await codeOf(store.putIfAbsent('k', bytes('x')))).toBe('BUCKET_NOT_LOCKED');
    expect(await collect(store.listVersions(''))).toEqual([]);
  });

  it('maps a missing bucket to NO_SUCH_BUCKET', async () => {
    const store = new S3Store({
      client: s3,
      bucket: uniqueBucketName('missing'),
      retention: { days: 1 },
    });
    expect(await codeOf(store.checkBucket())).toBe('NO_SUCH_BUCKET');
    expect(await codeOf(store.get('k'))).toBe('NO_SUCH_BUCKET');
    expect(await codeOf(collect(store.list('')))).toBe('NO_SUCH_BUCKET');
  });
});

// Injection needs the fault proxy, which needs a loopback emulator.
describe.skipIf(upstream === undefined)('S3Store conditional-write answers (injected)', () => {
  let proxy: FaultProxy;
  let s3: S3Client;
  let bucket: string;

  beforeAll(async () => {
    proxy = await startFaultProxy({ upstream: upstream ?? '' });
    s3 = testS3Client({ endpoint: proxy.url });
    bucket = await createTestBucket(s3, 'answers');
  });

  afterAll(async () => {
    await proxy.stop();
  });

  const store = (options: { conflictRetries?: number } = {}) =>
    new S3Store({ client: s3, bucket, retention: { days: 1 }, conflictBackoffMs: 1, ...options });
  const puts = () => proxy.requests.filter((r) => r.method === 'PUT');

  it('retries after 409 ConditionalRequestConflict and then creates', async () => {
    proxy.clearLog();
    proxy.setRules([
      { fault: 'conditionalConflict', method: 'PUT', hasHeader: 'if-none-match', count: 2 },
    ]);
    const put = await store().putIfAbsent('conflict/once', bytes('x'));
    expect(put.status).toBe('created');
    expect(proxy.injected()).toEqual({ conditionalConflict: 2 });
    expect(puts()).toHaveLength(3);
  });

  it('gives up after the configured retries with WRITE_CONFLICT, retryable', async () => {
    proxy.setRules([{ fault: 'conditionalConflict', method: 'PUT', hasHeader: 'if-none-match' }]);
    const err = await rejectionOf(
      store({ conflictRetries: 3 }).putIfAbsent('conflict/always', bytes('x')),
    );
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('WRITE_CONFLICT');
    expect((err as StorageError).retryable).toBe(true);
  });

  it.each([
    ['OperationAborted', 'OPERATION_ABORTED', true],
    ['InvalidBucketState', 'BUCKET_STATE_INVALID', undefined],
    ['SomethingElse', 'STORE_CONFLICT', false],
  ] as const)(
    'a 409 %s is %s, sent once, never retried as a write conflict',
    async (name, code, retryable) => {
      proxy.clearLog();
      proxy.setRules([
        { fault: 's3Error', status: 409, code: name, method: 'PUT', hasHeader: 'if-none-match' },
      ]);
      const err = await rejectionOf(store().putIfAbsent(`aborted/${name}`, bytes('x')));
      expect((err as StorageError).code).toBe(code);
      if (retryable !== undefined) expect((err as StorageError).retryable).toBe(retryable);
      expect(puts()).toHaveLength(1);
      expect(proxy.injected()).toEqual({ s3Error: 1 });
      expect(await collect(store().listVersions(`aborted/${name}`))).toEqual([]);
    },
  );

  it('on a 412 for a key that turns out to be absent, puts again instead of failing', async () => {
    proxy.clearLog();
    proxy.setRules([
      { fault: 'preconditionFailed', method: 'PUT', hasHeader: 'if-none-match', count: 1 },
    ]);
    const put = await store().putIfAbsent('phantom/412', bytes('x'));
    expect(put.status).toBe('created');
    expect(proxy.injected()).toEqual({ preconditionFailed: 1 });
    expect(await collect(store().listVersions('phantom/'))).toHaveLength(1);
  });

  it('on a 412 reads back: same bytes are identical, others OBJECT_EXISTS', async () => {
    proxy.setRules([]);
    const s = store();
    await s.putIfAbsent('readback/k', bytes('first'));
    proxy.clearLog();
    expect((await s.putIfAbsent('readback/k', bytes('first'))).status).toBe('identical');
    expect(await codeOf(s.putIfAbsent('readback/k', bytes('other')))).toBe('OBJECT_EXISTS');
    // Each answer took one HEAD (the key is taken) and one GET of the current version (the
    // bucket was checked once, before the first write); no PUT was sent, nothing was written.
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD', 'GET', 'HEAD', 'GET']);
    expect(await collect(s.listVersions('readback/'))).toHaveLength(1);
  });
});
