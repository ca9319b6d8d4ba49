/**
 * One-time setup of an archive: an S3 bucket with Object Lock (COMPLIANCE default retention,
 * versioning, public access blocked) and a KMS ECC_NIST_P256 signing key behind an alias.
 * Idempotent: a second run changes nothing and returns the same key. It never weakens an existing
 * setup; a bucket or key that does not fit is reported, not "fixed".
 *
 * Order matters: the default retention is set before anything is written (AWS stamps it on each
 * version at write time; emulators refuse to change it once objects exist).
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  type CreateKeyCommandOutput,
  DescribeKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  type ObjectLockConfiguration,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigurationError } from '../core/errors.js';
import { awsErrorFacts } from './aws-config.js';
import { classifyKmsError, KmsSigner } from './kms-signer.js';
import { classifyS3Error, isNotFound, type S3Action } from './s3-errors.js';

/** Input of {@link bootstrap}. */
export type BootstrapOptions = {
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly bucket: string;
  /** Region of the bucket; MUST be the S3 client's region. */
  readonly region: string;
  /** Default COMPLIANCE retention of every object version, in days. */
  readonly retentionDays: number;
  /** `alias/name` or `name`. */
  readonly keyAlias: string;
};

/** What {@link bootstrap} set up (or found already set up). */
export type BootstrapResult = {
  readonly bucket: string;
  readonly region: string;
  readonly retentionDays: number;
  readonly keyArn: string;
  /** Always `alias/…`. */
  readonly keyAlias: string;
  /** DER SubjectPublicKeyInfo of the signing key, for verifiers. */
  readonly publicKeySpki: Uint8Array;
  /** Which resources this run created (both false on a repeat run). */
  readonly created: { readonly bucket: boolean; readonly key: boolean };
};

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Creates or checks the archive bucket and signing key. Safe to run any number of times.
 * @throws ConfigurationError `BOOTSTRAP_INVALID` (bad bucket name, days or alias), `REGION_MISMATCH`,
 *   `BUCKET_NAME_TAKEN`, `BUCKET_NOT_LOCKED` (an existing bucket created without Object Lock),
 *   `RETENTION_MISMATCH` (an existing default retention other than COMPLIANCE `retentionDays`),
 *   `KEY_UNSUPPORTED` / `KEY_DISABLED` (the alias names an unusable key), `ACCESS_DENIED`, `CREDENTIALS_INVALID`
 * @throws StorageError `STORE_UNAVAILABLE` / `SIGNER_UNAVAILABLE` (retryable) or `STORE_FAILED` / `SIGNER_FAILED`
 */
export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const { s3, bucket, region, retentionDays } = options;
  if (!BUCKET_RE.test(bucket)) invalid(`bucket name ${JSON.stringify(bucket)}`);
  if (!Number.isSafeInteger(retentionDays) || retentionDays < 1 || retentionDays > 36_500) {
    invalid(`retention of ${retentionDays} days (1–36500)`);
  }
  const keyAlias = normalizeAlias(options.keyAlias);
  const clientRegion = await s3.config.region();
  if (clientRegion !== region) {
    throw new ConfigurationError(
      'REGION_MISMATCH',
      `bucket region ${region} differs from the S3 client's region ${clientRegion}`,
    );
  }

  const createdBucket = await ensureBucket(s3, bucket, region);
  await ensureVersioning(s3, bucket);
  await ensureDefaultRetention(s3, bucket, retentionDays);
  await ensurePublicAccessBlocked(s3, bucket);
  const { arn, created: createdKey } = await ensureSigningKey(options.kms, keyAlias);

  const signer = new KmsSigner({ client: options.kms, keyId: arn });
  return {
    bucket,
    region,
    retentionDays,
    keyArn: await signer.keyArn(),
    keyAlias,
    publicKeySpki: await signer.publicKey(),
    created: { bucket: createdBucket, key: createdKey },
  };
}

function invalid(what: string): never {
  throw new ConfigurationError('BOOTSTRAP_INVALID', `bootstrap: invalid ${what}`);
}

function normalizeAlias(alias: string): string {
  const full = alias.startsWith('alias/') ? alias : `alias/${alias}`;
  // AWS: 1–256 characters of [a-zA-Z0-9/_-]; the alias/aws/ namespace is reserved.
  if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(full) || full.startsWith('alias/aws/')) {
    invalid(`key alias ${JSON.stringify(alias)}`);
  }
  return full;
}

async function s3Call<T>(bucket: string, action: S3Action, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyS3Error(err, { action, bucket });
  }
}

/** Creates the bucket with Object Lock unless it exists; returns whether it created it. */
async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    if (awsErrorFacts(err).status === 403) {
      throw new ConfigurationError(
        'BUCKET_NAME_TAKEN',
        `bucket ${bucket} exists but this account cannot use it (owned by another account, or s3:ListBucket is missing)`,
        { cause: err },
      );
    }
    if (!isNotFound(err)) throw classifyS3Error(err, { action: 's3:ListBucket', bucket });
  }
  const input: CreateBucketCommandInput = {
    Bucket: bucket,
    // Object Lock can be enabled at creation; it also turns versioning on.
    ObjectLockEnabledForBucket: true,
    ...(region === 'us-east-1'
      ? {}
      : { CreateBucketConfiguration: { LocationConstraint: region as 'us-west-2' } }),
  };
  try {
    await s3.send(new CreateBucketCommand(input));
    return true;
  } catch (err) {
    const { name } = awsErrorFacts(err);
    if (name === 'BucketAlreadyOwnedByYou') return false;
    if (name === 'BucketAlreadyExists') {
      throw new ConfigurationError('BUCKET_NAME_TAKEN', `bucket name ${bucket} is taken`, {
        cause: err,
      });
    }
    throw classifyS3Error(err, { action: 's3:CreateBucket', bucket });
  }
}

async function ensureVersioning(s3: S3Client, bucket: string): Promise<void> {
  const got = await s3Call(bucket, 's3:GetBucketVersioning', () =>
    s3.send(new GetBucketVersioningCommand({ Bucket: bucket })),
  );
  if (got.Status === 'Enabled') return;
  await s3Call(bucket, 's3:PutBucketVersioning', () =>
    s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    ),
  );
}

async function ensureDefaultRetention(s3: S3Client, bucket: string, days: number): Promise<void> {
  let config: ObjectLockConfiguration;
  try {
    const out = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    config = out.ObjectLockConfiguration ?? {};
  } catch (err) {
    if (!isNotFound(err)) {
      throw classifyS3Error(err, { action: 's3:GetBucketObjectLockConfiguration', bucket });
    }
    config = {};
  }
  if (config.ObjectLockEnabled !== 'Enabled') {
    throw new ConfigurationError(
      'BUCKET_NOT_LOCKED',
      `bucket ${bucket} exists without Object Lock; bootstrap will not convert it: choose a new bucket name`,
    );
  }
  const current = config.Rule?.DefaultRetention;
  if (current === undefined) {
    await s3Call(bucket, 's3:PutBucketObjectLockConfiguration', () =>
      s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: bucket,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: days } },
          },
        }),
      ),
    );
    return;
  }
  // Emulators report the unused one of Days / Years as 0.
  if (current.Mode !== 'COMPLIANCE' || current.Days !== days || (current.Years ?? 0) !== 0) {
    throw new ConfigurationError(
      'RETENTION_MISMATCH',
      `bucket ${bucket} has default retention ${JSON.stringify(current)}, not COMPLIANCE ${days} days; change it deliberately, not through bootstrap`,
    );
  }
}

async function ensurePublicAccessBlocked(s3: S3Client, bucket: string): Promise<void> {
  const all = {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: true,
    RestrictPublicBuckets: true,
  };
  try {
    const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    const c = got.PublicAccessBlockConfiguration;
    if (c && Object.keys(all).every((k) => c[k as keyof typeof all] === true)) return;
  } catch (err) {
    if (isUnsupported(err)) return;
    // 404 NoSuchPublicAccessBlockConfiguration: none yet; put one below.
    if (!isNotFound(err)) {
      throw classifyS3Error(err, { action: 's3:GetBucketPublicAccessBlock', bucket });
    }
  }
  try {
    await s3.send(
      new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: all }),
    );
  } catch (err) {
    if (!isUnsupported(err)) {
      throw classifyS3Error(err, { action: 's3:PutBucketPublicAccessBlock', bucket });
    }
  }
}

/** An emulator without the API (501 NotImplemented): blocking public access is best effort there. */
function isUnsupported(err: unknown): boolean {
  const { name, status } = awsErrorFacts(err);
  return status === 501 || name === 'NotImplemented';
}

/** Finds the key behind `alias`, or creates an ECC_NIST_P256 SIGN_VERIFY key and the alias. */
async function ensureSigningKey(
  kms: KMSClient,
  alias: string,
): Promise<{ arn: string; created: boolean }> {
  const existing = await describeAlias(kms, alias);
  if (existing !== undefined) return { arn: existing, created: false };
  let key: CreateKeyCommandOutput;
  try {
    key = await kms.send(
      new CreateKeyCommand({
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Description: `auditlock checkpoint signing key (${alias})`,
      }),
    );
  } catch (err) {
    throw classifyKmsError(err, 'kms:CreateKey', alias);
  }
  const arn = key.KeyMetadata?.Arn;
  if (arn === undefined)
    throw classifyKmsError(new Error('CreateKey returned no ARN'), 'kms:CreateKey', alias);
  try {
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
    return { arn, created: true };
  } catch (err) {
    // A concurrent bootstrap won the alias: use its key. Ours stays unused (no alias, no grants);
    // an operator may schedule its deletion.
    if (awsErrorFacts(err).name === 'AlreadyExistsException') {
      const winner = await describeAlias(kms, alias);
      if (winner !== undefined) return { arn: winner, created: false };
    }
    throw classifyKmsError(err, 'kms:CreateAlias', alias);
  }
}

async function describeAlias(kms: KMSClient, alias: string): Promise<string | undefined> {
  try {
    const out = await kms.send(new DescribeKeyCommand({ KeyId: alias }));
    return out.KeyMetadata?.Arn;
  } catch (err) {
    if (awsErrorFacts(err).name === 'NotFoundException') return undefined;
    throw classifyKmsError(err, 'kms:DescribeKey', alias);
  }
}
