/**
 * The one place S3 failures become coded auditlock errors. Callers handle the few outcomes that
 * are not failures (404 on a read, 412 on a conditional put) before calling {@link classifyS3Error}.
 */
import { type AuditlockError, ConfigurationError, StorageError } from '../core/errors.js';
import { awsErrorFacts, isTransientAwsError } from './aws-config.js';

/** The S3 IAM action a request needs, named in `ACCESS_DENIED` messages. */
export type S3Action =
  | 's3:PutObject'
  | 's3:GetObject'
  | 's3:GetObjectVersion'
  | 's3:ListBucket'
  | 's3:ListBucketVersions'
  | 's3:GetBucketVersioning'
  | 's3:GetBucketObjectLockConfiguration'
  // Administrative actions, used only by `bootstrap`:
  | 's3:CreateBucket'
  | 's3:PutBucketVersioning'
  | 's3:PutBucketObjectLockConfiguration'
  | 's3:GetBucketPublicAccessBlock'
  | 's3:PutBucketPublicAccessBlock';

/** What was being done when an S3 call failed. */
export type S3Context = {
  readonly action: S3Action;
  readonly bucket: string;
  readonly key?: string | undefined;
};

/** Codes of the errors {@link classifyS3Error} returns. */
export type S3ErrorCode =
  | 'ACCESS_DENIED'
  | 'CREDENTIALS_INVALID'
  | 'NO_SUCH_BUCKET'
  | 'STORE_UNAVAILABLE'
  | 'STORE_FAILED';

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

/** `s3://bucket/key`, for messages. */
export function describeS3Target(ctx: Pick<S3Context, 'bucket' | 'key'>): string {
  return `s3://${ctx.bucket}/${ctx.key ?? ''}`;
}

/** The S3 error code or HTTP status of `err`, for messages. */
function errorLabel(err: unknown): string {
  const { name, status, errno } = awsErrorFacts(err);
  return [name, errno, status === undefined ? undefined : `HTTP ${status}`]
    .filter((part) => part)
    .join(', ');
}

/**
 * Maps a failed S3 call to an auditlock error:
 * - `AccessDenied` / 403 → ConfigurationError `ACCESS_DENIED` naming the action and the object;
 * - rejected or missing credentials → ConfigurationError `CREDENTIALS_INVALID`;
 * - `NoSuchBucket` → ConfigurationError `NO_SUCH_BUCKET`;
 * - throttling, 5xx, timeouts, dropped connections (left over after the SDK's own retries) →
 *   StorageError `STORE_UNAVAILABLE`, retryable;
 * - anything else → StorageError `STORE_FAILED`, not retryable.
 */
export function classifyS3Error(err: unknown, ctx: S3Context): AuditlockError<S3ErrorCode> {
  const { name, status } = awsErrorFacts(err);
  const target = describeS3Target(ctx);
  const label = errorLabel(err);
  if (CREDENTIAL_ERRORS.has(name)) {
    return new ConfigurationError(
      'CREDENTIALS_INVALID',
      `${ctx.action} on ${target}: AWS credentials missing or rejected (${label})`,
      { cause: err },
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new ConfigurationError(
      'ACCESS_DENIED',
      `${ctx.action} on ${target} was denied (${label}): grant ${ctx.action} on arn:aws:s3:::${ctx.bucket}${ctx.key === undefined ? '' : '/*'} to this role`,
      { cause: err },
    );
  }
  if (name === 'NoSuchBucket') {
    return new ConfigurationError(
      'NO_SUCH_BUCKET',
      `bucket ${ctx.bucket} does not exist (${ctx.action}); create it with \`auditlock bootstrap\``,
      { cause: err },
    );
  }
  if (isTransientAwsError(err)) {
    return new StorageError('STORE_UNAVAILABLE', `${ctx.action} on ${target} failed (${label})`, {
      retryable: true,
      cause: err,
    });
  }
  return new StorageError('STORE_FAILED', `${ctx.action} on ${target} failed (${label})`, {
    retryable: false,
    cause: err,
  });
}

/** True if `err` is an HTTP 404 (`NoSuchKey`, `NoSuchVersion`, HEAD's `NotFound`) but not `NoSuchBucket`. */
export function isNotFound(err: unknown): boolean {
  const { name, status } = awsErrorFacts(err);
  return name !== 'NoSuchBucket' && (status === 404 || name === 'NoSuchKey' || name === 'NotFound');
}

/** True if `err` says the addressed version is a delete marker (S3 answers 405 MethodNotAllowed). */
export function isDeleteMarkerVersion(err: unknown): boolean {
  const { name, status } = awsErrorFacts(err);
  return status === 405 || name === 'MethodNotAllowed';
}

/** 412: an `If-None-Match: *` put found the key already there. */
export function isPreconditionFailed(err: unknown): boolean {
  const { name, status } = awsErrorFacts(err);
  return status === 412 || name === 'PreconditionFailed';
}

/** 409 `ConditionalRequestConflict`: a concurrent conditional write to the same key; retry. */
export function isConditionalConflict(err: unknown): boolean {
  const { name, status } = awsErrorFacts(err);
  return name === 'ConditionalRequestConflict' || (status === 409 && name !== 'OperationAborted');
}
