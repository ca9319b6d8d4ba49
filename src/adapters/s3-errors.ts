/**
 * The one place S3 failures become coded auditlock errors. Callers handle the few outcomes that
 * are not failures (404 on a read, 412 on a conditional put) before calling {@link classifyS3Error}.
 */
import { type AuditlockError, ConfigurationError, StorageError } from '../core/errors.js';
import { awsErrorFacts, configuredEndpoint, isTransientAwsError } from './aws-config.js';

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
  | AwsSetupErrorCode
  | S3ConflictErrorCode
  | 'ACCESS_DENIED'
  | 'NO_SUCH_BUCKET'
  /** 400 `BadDigest` / `XAmzContentSHA256Mismatch`: the body was damaged on the way (retryable). */
  | 'UPLOAD_CHECKSUM_MISMATCH'
  | 'STORE_UNAVAILABLE'
  | 'STORE_FAILED';

/**
 * S3's answers to a body whose bytes do not match the checksum or content hash sent with them (S3
 * API Reference, "Error responses", 400): nothing was stored, and the same bytes sent again can
 * succeed, so a write-once put may be retried (it stays write-once: If-None-Match still holds).
 */
const CHECKSUM_NAMES = new Set(['BadDigest', 'XAmzContentSHA256Mismatch']);

/** Codes of the HTTP 409 answers, each its own: only one of them is a write conflict. */
export type S3ConflictErrorCode =
  /** `ConditionalRequestConflict`: a concurrent conditional write to the key (StorageError, retryable). */
  | 'WRITE_CONFLICT'
  /** `OperationAborted`: a conflicting operation on the bucket is in progress (StorageError, retryable). */
  | 'OPERATION_ABORTED'
  /** `BucketNotEmpty` (ConfigurationError). */
  | 'BUCKET_NOT_EMPTY'
  /** `BucketAlreadyExists` / `BucketAlreadyOwnedByYou` (ConfigurationError). */
  | 'BUCKET_EXISTS'
  /** `InvalidBucketState`, e.g. suspending versioning on an Object Lock bucket (ConfigurationError). */
  | 'BUCKET_STATE_INVALID'
  /** Any other 409 (StorageError, not retryable). */
  | 'STORE_CONFLICT';

/** Codes of {@link classifyAwsSetupError}: the client could not send the request at all. */
export type AwsSetupErrorCode =
  | 'REGION_MISSING'
  | 'REGION_INVALID'
  | 'CREDENTIALS_INVALID'
  | 'ENDPOINT_UNREACHABLE';

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);

/** `s3://bucket/key`, for messages. */
export function describeS3Target(ctx: Pick<S3Context, 'bucket' | 'key'>): string {
  return `s3://${ctx.bucket}/${ctx.key ?? ''}`;
}

const MAX_DETAIL_CHARS = 300;

/**
 * What the SDK said, for messages: error name, Node errno, HTTP status and the error's own message,
 * e.g. `AccessDenied, HTTP 403: Access Denied` or `Error, ECONNREFUSED: connect ECONNREFUSED
 * 127.0.0.1:1`. Shared with the KMS signer.
 */
export function describeAwsError(err: unknown): string {
  const { name, status, errno } = awsErrorFacts(err);
  const label = [name || 'Error', errno, status === undefined ? undefined : `HTTP ${status}`]
    .filter((part) => part)
    .join(', ');
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const message = raw.replace(/\s+/g, ' ').trim();
  if (message === '' || message === name) return label;
  const clipped =
    message.length > MAX_DETAIL_CHARS ? `${message.slice(0, MAX_DETAIL_CHARS - 1)}…` : message;
  return `${label}: ${clipped}`;
}

// Connection failures that mean "wrong or missing endpoint", not a passing network problem, once
// they outlast the SDK's retries: nothing listens there, or the host name does not resolve.
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND']);

/** The errno, address and host of a Node network error, looking through `cause` (bounded). */
function networkFacts(err: unknown): { errno: string; where: string | undefined } | undefined {
  let current = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
    if (typeof e.code === 'string' && UNREACHABLE_ERRNOS.has(e.code)) {
      const host = typeof e.address === 'string' ? e.address : e.hostname;
      const where =
        typeof host !== 'string'
          ? undefined
          : typeof e.port === 'number'
            ? `${host}:${e.port}`
            : host;
      return { errno: e.code, where };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A ConfigurationError when `err` shows that the SDK client itself is not set up, whatever the
 * request: no region (the SDK throws a plain `Error('Region is missing')` before sending anything;
 * it has no code, so the message is matched), a region that is not a valid host name component,
 * no credentials anywhere in the provider chain (`CredentialsProviderError`), or an endpoint that
 * refuses connections or does not resolve. `undefined` for anything else.
 */
export function classifyAwsSetupError(
  err: unknown,
  service: 'S3' | 'KMS',
  action: string,
): ConfigurationError<AwsSetupErrorCode> | undefined {
  const { name } = awsErrorFacts(err);
  const message = err instanceof Error ? err.message : '';
  const detail = describeAwsError(err);
  const config = (code: AwsSetupErrorCode, text: string) =>
    new ConfigurationError(code, `${text} (${action}; ${detail})`, { cause: err });
  if (/^Region is missing/i.test(message))
    return config(
      'REGION_MISSING',
      'AWS region is not configured: set AWS_REGION, or AWS_PROFILE naming a profile with a region',
    );
  if (/^Region not accepted/i.test(message) || /^Invalid region/i.test(message))
    return config('REGION_INVALID', 'the configured AWS region is not a valid region name');
  if (name === 'CredentialsProviderError')
    return config(
      'CREDENTIALS_INVALID',
      'AWS credentials could not be loaded: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role',
    );
  const network = networkFacts(err);
  if (network !== undefined) {
    const endpoint = configuredEndpoint(service);
    return config(
      'ENDPOINT_UNREACHABLE',
      `cannot reach the ${service} endpoint${network.where ? ` ${network.where}` : ''} (${network.errno}): ` +
        (endpoint
          ? `check AWS_ENDPOINT_URL_${service} / AWS_ENDPOINT_URL (${endpoint}) and that the service or emulator there is running`
          : 'check AWS_REGION, DNS and network access to AWS'),
    );
  }
  return undefined;
}

/**
 * Maps a failed S3 call to an auditlock error; every message ends with what the SDK said
 * ({@link describeAwsError}):
 * - no region, an invalid region, no credentials, an endpoint that refuses connections or does
 *   not resolve → ConfigurationError `REGION_MISSING` / `REGION_INVALID` / `CREDENTIALS_INVALID` /
 *   `ENDPOINT_UNREACHABLE` ({@link classifyAwsSetupError});
 * - `AccessDenied` / 403 → ConfigurationError `ACCESS_DENIED` naming the action and the object;
 * - rejected credentials → ConfigurationError `CREDENTIALS_INVALID`;
 * - `NoSuchBucket` → ConfigurationError `NO_SUCH_BUCKET`;
 * - HTTP 409, each code its own ({@link S3ConflictErrorCode}): `ConditionalRequestConflict` →
 *   `WRITE_CONFLICT` and `OperationAborted` → `OPERATION_ABORTED` (both retryable),
 *   `BucketNotEmpty`, `BucketAlreadyExists`/`BucketAlreadyOwnedByYou`, `InvalidBucketState` →
 *   ConfigurationErrors, any other 409 → `STORE_CONFLICT`, not retryable;
 * - `BadDigest`, `XAmzContentSHA256Mismatch` (the body arrived damaged) → StorageError
 *   `UPLOAD_CHECKSUM_MISMATCH`, retryable;
 * - throttling, 5xx, timeouts, dropped connections (left over after the SDK's own retries) →
 *   StorageError `STORE_UNAVAILABLE`, retryable;
 * - anything else → StorageError `STORE_FAILED`, not retryable.
 */
export function classifyS3Error(err: unknown, ctx: S3Context): AuditlockError<S3ErrorCode> {
  const { name, status } = awsErrorFacts(err);
  const target = describeS3Target(ctx);
  const label = describeAwsError(err);
  const setup = classifyAwsSetupError(err, 'S3', `${ctx.action} on ${target}`);
  if (setup !== undefined) return setup;
  if (CREDENTIAL_ERRORS.has(name)) {
    return new ConfigurationError(
      'CREDENTIALS_INVALID',
      `${ctx.action} on ${target}: AWS credentials rejected (${label})`,
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
  const conflict = classifyConflict(name, status, `${ctx.action} on ${target}`, label, err);
  if (conflict !== undefined) return conflict;
  if (CHECKSUM_NAMES.has(name)) {
    return new StorageError(
      'UPLOAD_CHECKSUM_MISMATCH',
      `${ctx.action} on ${target}: S3 received bytes that do not match their checksum, and stored nothing (${label})`,
      { retryable: true, cause: err },
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

/**
 * 409 `ConditionalRequestConflict`: a concurrent conditional write to the same key; retry. No
 * other 409 is one (S3 API Reference, "Error responses": `OperationAborted`, `BucketNotEmpty`,
 * `InvalidBucketState`… share the status and mean something else).
 */
export function isConditionalConflict(err: unknown): boolean {
  return awsErrorFacts(err).name === 'ConditionalRequestConflict';
}

const CONFLICT_NAMES: ReadonlyMap<string, S3ConflictErrorCode> = new Map([
  ['ConditionalRequestConflict', 'WRITE_CONFLICT'],
  ['OperationAborted', 'OPERATION_ABORTED'],
  ['BucketNotEmpty', 'BUCKET_NOT_EMPTY'],
  ['BucketAlreadyExists', 'BUCKET_EXISTS'],
  ['BucketAlreadyOwnedByYou', 'BUCKET_EXISTS'],
  ['InvalidBucketState', 'BUCKET_STATE_INVALID'],
]);

/** The coded error of a 409 answer (or of a known 409 code under another status), else `undefined`. */
function classifyConflict(
  name: string,
  status: number | undefined,
  what: string,
  label: string,
  err: unknown,
): AuditlockError<S3ConflictErrorCode> | undefined {
  const known = CONFLICT_NAMES.get(name);
  if (known === undefined && status !== 409) return undefined;
  const code = known ?? 'STORE_CONFLICT';
  const message = `${what} conflicted (${label})`;
  if (code === 'WRITE_CONFLICT' || code === 'OPERATION_ABORTED') {
    // S3 says of both: try again.
    return new StorageError(code, message, { retryable: true, cause: err });
  }
  if (code === 'STORE_CONFLICT')
    return new StorageError(code, message, { retryable: false, cause: err });
  return new ConfigurationError(code, message, { cause: err });
}
