/**
 * bootstrap() against the emulator: creates a locked bucket and a P-256 signing key, is
 * idempotent, and refuses to "fix" a bucket or retention that does not fit.
 */
import { verify } from 'node:crypto';
import { CreateAliasCommand } from '@aws-sdk/client-kms';
import {
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrap,
} from '../../src/adapters/aws-bootstrap.js';
import { KmsSigner } from '../../src/adapters/kms-signer.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import { AuditlockError } from '../../src/core/errors.js';
import {
  awsTarget,
  createTestBucket,
  createTestKey,
  rejectionOf,
  rememberTestKey,
  scheduleTestKeyDeletion,
  TEST_RETENTION_DAYS,
  testKmsClient,
  testS3Client,
  uniqueBucketName,
  uniqueKeyAlias,
} from '../helpers/aws.js';

const s3 = testS3Client();
const kms = testKmsClient();
const region = awsTarget().region;

/** bootstrap(), remembering the key it made so the file's afterAll can schedule its deletion. */
async function run(options: BootstrapOptions): Promise<BootstrapResult> {
  const result = await bootstrap(options);
  if (result.created.key) rememberTestKey(result.keyArn);
  return result;
}

afterAll(async () => {
  await scheduleTestKeyDeletion(kms);
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuditlockError);
  return (err as AuditlockError).code;
}

describe('bootstrap', () => {
  it('creates a locked bucket and a signing key, and a second run changes nothing', async () => {
    // Prepare
    const options = {
      s3,
      kms,
      region,
      bucket: uniqueBucketName('boot'),
      keyAlias: uniqueKeyAlias('boot').slice('alias/'.length),
      retentionDays: TEST_RETENTION_DAYS,
    };
    // Act
    const first = await run(options);
    const second = await run(options);
    // Assess
    expect(first.created).toEqual({ bucket: true, key: true });
    expect(second.created).toEqual({ bucket: false, key: false });
    expect(second.keyArn).toBe(first.keyArn);
    expect(second.publicKeySpki).toEqual(first.publicKeySpki);
    expect(first).toMatchObject({
      bucket: options.bucket,
      region,
      retentionDays: TEST_RETENTION_DAYS,
      keyAlias: `alias/${options.keyAlias}`,
    });

    const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: options.bucket }));
    expect(lock.ObjectLockConfiguration).toMatchObject({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: TEST_RETENTION_DAYS } },
    });
    const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket: options.bucket }));
    expect(pab.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });

    const store = new S3Store({ client: s3, bucket: options.bucket, retention: { days: 1 } });
    expect((await store.checkBucket()).defaultRetention).toEqual({
      mode: 'COMPLIANCE',
      days: TEST_RETENTION_DAYS,
    });
    const signer = new KmsSigner({ client: kms, keyId: first.keyAlias });
    const message = new TextEncoder().encode('checkpoint');
    const signature = await signer.sign(message);
    const spki = { key: Buffer.from(first.publicKeySpki), format: 'der', type: 'spki' } as const;
    expect(verify('sha256', message, spki, signature)).toBe(true);
  });

  it('stamps the default retention on objects written without explicit retention', async () => {
    const bucket = uniqueBucketName('boot-default');
    await run({ s3, kms, region, bucket, keyAlias: uniqueKeyAlias('d'), retentionDays: 3 });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    // S3 stamps the default on the version as it is created: 3 days after its LastModified,
    // both kept to the second (or finer) by the target.
    const stamped =
      (head.ObjectLockRetainUntilDate?.getTime() ?? 0) - (head.LastModified?.getTime() ?? 0);
    expect(Math.abs(stamped - 3 * 86_400_000)).toBeLessThanOrEqual(1_000);
  });

  it('refuses to change an existing default retention (RETENTION_MISMATCH)', async () => {
    const options = {
      s3,
      kms,
      region,
      bucket: uniqueBucketName('boot-days'),
      keyAlias: uniqueKeyAlias('m'),
    };
    await run({ ...options, retentionDays: 2 });
    expect(await codeOf(run({ ...options, retentionDays: 1 }))).toBe('RETENTION_MISMATCH');
  });

  it('refuses an existing bucket without Object Lock (BUCKET_NOT_LOCKED)', async () => {
    const bucket = await createTestBucket(s3, 'boot-unlocked', { objectLock: false });
    expect(
      await codeOf(
        bootstrap({ s3, kms, region, bucket, keyAlias: uniqueKeyAlias('u'), retentionDays: 1 }),
      ),
    ).toBe('BUCKET_NOT_LOCKED');
  });

  it('refuses an alias that names a key unfit for signing (KEY_UNSUPPORTED)', async () => {
    const alias = uniqueKeyAlias('rsa');
    const rsa = await createTestKey(kms, 'RSA_2048');
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: rsa }));
    const bucket = uniqueBucketName('boot-rsa');
    expect(await codeOf(run({ s3, kms, region, bucket, keyAlias: alias, retentionDays: 1 }))).toBe(
      'KEY_UNSUPPORTED',
    );
  });

  it('validates its input before any request (BOOTSTRAP_INVALID, REGION_MISMATCH)', async () => {
    const base = {
      s3,
      kms,
      region,
      bucket: uniqueBucketName('v'),
      keyAlias: 'ok',
      retentionDays: 1,
    };
    expect(await codeOf(run({ ...base, bucket: 'Bad_Bucket' }))).toBe('BOOTSTRAP_INVALID');
    expect(await codeOf(run({ ...base, retentionDays: 0 }))).toBe('BOOTSTRAP_INVALID');
    expect(await codeOf(run({ ...base, keyAlias: 'alias/aws/s3' }))).toBe('BOOTSTRAP_INVALID');
    const otherRegion = region === 'eu-west-1' ? 'us-west-2' : 'eu-west-1';
    expect(await codeOf(run({ ...base, region: otherRegion }))).toBe('REGION_MISMATCH');
  });
});
