/**
 * What S3 itself must refuse, which the archive's promises rest on (README: nobody can shorten a
 * segment's retention; docs/AWS.md): COMPLIANCE retention cannot be shortened, not even with the
 * governance bypass; versioning cannot be suspended on an Object Lock bucket; a segment whose
 * bytes were damaged on the way is refused against its SHA-256 checksum, and nothing is stored.
 * moto allows all three, so these run only where the target enforces them (LocalStack, AWS: see
 * `TargetCapabilities` in test/helpers/aws.ts); there they run for real, with no workaround.
 */
import {
  GetBucketVersioningCommand,
  PutBucketVersioningCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/adapters/s3-store.js';
import { StorageError } from '../../src/core/errors.js';
import {
  awsTarget,
  collect,
  createTestBucket,
  proxyableEndpoint,
  rejectionOf,
  TEST_RETENTION_DAYS,
  testS3Client,
} from '../helpers/aws.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

const DAY_MS = 86_400_000;
const target = awsTarget();
const upstream = proxyableEndpoint();
const bytes = (s: string) => new TextEncoder().encode(s);
const nameOf = (err: unknown) => (err as { name?: string }).name;
const statusOf = (err: unknown) =>
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe.runIf(target.enforcesObjectLock)('Object Lock enforced by the target', () => {
  let s3: S3Client;
  let bucket: string;
  let store: S3Store;

  beforeAll(async () => {
    s3 = testS3Client();
    bucket = await createTestBucket(s3, 'enforce');
    store = new S3Store({
      client: s3,
      bucket,
      prefix: 'audit',
      retention: { days: TEST_RETENTION_DAYS },
    });
  });

  it('refuses to shorten COMPLIANCE retention, with or without the governance bypass', async () => {
    // Prepare
    const put = await store.putIfAbsent('log/seg/keep', bytes('segment'));
    const before = await store.describeVersion('log/seg/keep', put.versionId ?? '');
    const until = before?.retainUntil?.getTime() ?? 0;
    expect(before?.lockMode).toBe('COMPLIANCE');
    const shorten = (bypass: boolean) =>
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: 'audit/log/seg/keep',
          VersionId: put.versionId,
          BypassGovernanceRetention: bypass,
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(until - DAY_MS / 2) },
        }),
      );
    // Act
    const refused = [await rejectionOf(shorten(false)), await rejectionOf(shorten(true))];
    // Assess (AWS: 403 AccessDenied for a COMPLIANCE date moved earlier)
    expect(refused.map((err) => [nameOf(err), statusOf(err)])).toEqual([
      ['AccessDenied', 403],
      ['AccessDenied', 403],
    ]);
    const after = await store.describeVersion('log/seg/keep', put.versionId ?? '');
    expect(after?.retainUntil?.getTime()).toBe(until);
  });

  it('still lets retention be extended (the one change COMPLIANCE allows)', async () => {
    const put = await store.putIfAbsent('log/seg/extend', bytes('segment'));
    const until = (await store.describeVersion('log/seg/extend', put.versionId ?? ''))?.retainUntil;
    const later = new Date(Math.ceil(((until?.getTime() ?? 0) + DAY_MS) / 1000) * 1000);
    await s3.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key: 'audit/log/seg/extend',
        VersionId: put.versionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later },
      }),
    );
    const after = await store.describeVersion('log/seg/extend', put.versionId ?? '');
    expect(after?.retainUntil).toEqual(later);
  });

  it('refuses to suspend versioning on an Object Lock bucket, which stays fit to write to', async () => {
    const err = await rejectionOf(
      s3.send(
        new PutBucketVersioningCommand({
          Bucket: bucket,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      ),
    );
    // AWS: 409 InvalidBucketState ("An Object Lock configuration is present on this bucket").
    expect([nameOf(err), statusOf(err)]).toEqual(['InvalidBucketState', 409]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(
      'Enabled',
    );
    expect(await store.checkBucket()).toEqual({ defaultRetention: undefined });
  });
});

// Damage in transit needs the fault proxy, which needs a loopback emulator.
describe.runIf(target.validatesChecksums && upstream !== undefined)(
  'checksums enforced by the target',
  () => {
    let proxy: FaultProxy;
    let bucket: string;
    let store: S3Store;

    beforeAll(async () => {
      proxy = await startFaultProxy({ upstream: upstream ?? '' });
      const s3 = testS3Client({ endpoint: proxy.url });
      bucket = await createTestBucket(s3, 'checksum');
      store = new S3Store({ client: s3, bucket, retention: { days: TEST_RETENTION_DAYS } });
      await store.checkBucket();
    });

    afterAll(async () => {
      await proxy?.stop();
    });

    it('refuses a segment damaged on the way against its SHA-256, and stores nothing', async () => {
      // Prepare
      proxy.setRules([
        { fault: 'corruptBody', method: 'PUT', hasHeader: 'if-none-match', count: 1 },
      ]);
      proxy.clearLog();
      const segment = bytes('auditlock-segment v1\n'.repeat(64));
      // Act
      const err = await rejectionOf(store.putIfAbsent('log/seg/0', segment));
      // Assess: the target answered the damaged PUT with a 400 and kept nothing.
      expect(proxy.injected()).toEqual({ corruptBody: 1 });
      const [damaged] = proxy.requests.filter((r) => r.fault === 'corruptBody');
      expect(damaged?.status).toBe(400);
      expect(err).toBeInstanceOf(StorageError);
      expect(await collect(store.listVersions(''))).toEqual([]);
      // The same bytes, undamaged, then go in as a new object.
      proxy.setRules([]);
      expect((await store.putIfAbsent('log/seg/0', segment)).status).toBe('created');
      expect(await store.get('log/seg/0')).toEqual(segment);
    });
  },
);
