/**
 * Bucket-level facts S3Store depends on: where `s3://bucket/prefix` points, and whether the bucket
 * can hold audit logs at all (versioning Enabled, Object Lock enabled). The check only reads.
 */
import {
  GetBucketVersioningCommand,
  type GetBucketVersioningCommandOutput,
  GetObjectLockConfigurationCommand,
  type GetObjectLockConfigurationCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigurationError } from '../core/errors.js';
import { classifyS3Error, isNotFound } from './s3-errors.js';

/** What {@link checkLockedBucket} found besides the required settings. */
export type BucketCheck = {
  /** The bucket's default retention, if any (S3Store always sets retention explicitly). */
  readonly defaultRetention:
    | { readonly mode: string; readonly days?: number; readonly years?: number }
    | undefined;
};

/**
 * Splits `s3://bucket/some/prefix` into bucket and prefix (`some/prefix`, no trailing `/`).
 * @throws ConfigurationError `S3_URL_INVALID`
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m?.[1]) {
    throw new ConfigurationError(
      'S3_URL_INVALID',
      `${JSON.stringify(url)} is not s3://bucket[/prefix]`,
    );
  }
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/\/+$/, '') };
}

/**
 * Checks that `bucket` has versioning Enabled and Object Lock enabled (GetBucketVersioning,
 * GetObjectLockConfiguration). Never writes.
 * @throws ConfigurationError `BUCKET_NOT_LOCKED` naming the missing setting
 * @throws ConfigurationError `ACCESS_DENIED`, `NO_SUCH_BUCKET`, `CREDENTIALS_INVALID`
 * @throws StorageError `STORE_UNAVAILABLE` (retryable) or `STORE_FAILED`
 */
export async function checkLockedBucket(client: S3Client, bucket: string): Promise<BucketCheck> {
  let versioning: GetBucketVersioningCommandOutput;
  try {
    versioning = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  } catch (err) {
    throw classifyS3Error(err, { action: 's3:GetBucketVersioning', bucket });
  }
  if (versioning.Status !== 'Enabled') {
    throw notLocked(bucket, `versioning is ${versioning.Status ?? 'not enabled'}, not Enabled`);
  }
  let lock: GetObjectLockConfigurationCommandOutput;
  try {
    lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
  } catch (err) {
    // AWS: 404 ObjectLockConfigurationNotFoundError on a bucket created without Object Lock.
    if (isNotFound(err)) throw notLocked(bucket, 'Object Lock is not enabled', err);
    throw classifyS3Error(err, { action: 's3:GetBucketObjectLockConfiguration', bucket });
  }
  const config = lock.ObjectLockConfiguration;
  if (config?.ObjectLockEnabled !== 'Enabled')
    throw notLocked(bucket, 'Object Lock is not enabled');
  const rule = config.Rule?.DefaultRetention;
  if (rule === undefined) return { defaultRetention: undefined };
  return {
    defaultRetention: {
      mode: rule.Mode ?? '',
      // Only one of Days / Years is set; emulators report the other as 0.
      ...(rule.Days ? { days: rule.Days } : {}),
      ...(rule.Years ? { years: rule.Years } : {}),
    },
  };
}

function notLocked(
  bucket: string,
  what: string,
  cause?: unknown,
): ConfigurationError<'BUCKET_NOT_LOCKED'> {
  return new ConfigurationError(
    'BUCKET_NOT_LOCKED',
    `bucket ${bucket} cannot hold audit logs: ${what} (create it with Object Lock, e.g. \`auditlock bootstrap\`)`,
    { cause },
  );
}
