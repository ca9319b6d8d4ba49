/**
 * The AWS client configuration and error mapping as pure functions, for the cases the emulator
 * cannot produce (IAM denials by name, rejected credentials, wrapped network errors). The
 * emulator-backed files check the same mapping end to end where it can.
 */
import { describe, expect, it } from 'vitest';
import {
  configuredEndpoint,
  createS3Client,
  isLoopbackEndpoint,
  isTransientAwsError,
} from '../../src/adapters/aws-config.js';
import { classifyKmsError } from '../../src/adapters/kms-signer.js';
import { classifyS3Error, isConditionalConflict } from '../../src/adapters/s3-errors.js';
import { ConfigurationError, StorageError } from '../../src/core/errors.js';

/** Something shaped like an SDK service exception. */
function serviceError(name: string, status?: number): Error {
  return Object.assign(new Error('from the service'), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });
}

function networkError(code: string): Error {
  return Object.assign(new Error('socket trouble'), { code });
}

describe('client configuration', () => {
  it('recognises loopback endpoints only', () => {
    for (const url of [
      'http://127.0.0.1:5000',
      'http://localhost:4566',
      'http://[::1]:9000',
      'http://s3.localhost',
    ]) {
      expect(isLoopbackEndpoint(url)).toBe(true);
    }
    for (const url of [
      'https://s3.us-east-1.amazonaws.com',
      'http://localstack:4566',
      'not a url',
    ]) {
      expect(isLoopbackEndpoint(url)).toBe(false);
    }
  });

  it('finds the endpoint the SDK will use: explicit, then service-specific, then global', () => {
    const env = { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b' };
    expect(configuredEndpoint('S3', 'http://c', env)).toBe('http://c');
    expect(configuredEndpoint('S3', undefined, env)).toBe('http://b');
    expect(configuredEndpoint('KMS', undefined, env)).toBe('http://a');
    expect(
      configuredEndpoint('KMS', undefined, { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    ).toBe(undefined);
    expect(configuredEndpoint('S3', undefined, {})).toBe(undefined);
  });

  it('uses path-style URLs for loopback endpoints unless told otherwise', async () => {
    const style = (options: Parameters<typeof createS3Client>[0]) =>
      createS3Client({ region: 'us-east-1', ...options }).config.forcePathStyle;
    expect(style({ endpoint: 'http://127.0.0.1:1234' })).toBe(true);
    expect(style({ endpoint: 'https://s3.us-east-1.amazonaws.com' })).toBe(false);
    expect(style({ endpoint: 'http://localstack:4566', forcePathStyle: true })).toBe(true);
  });
});

describe('error mapping', () => {
  const s3 = { action: 's3:PutObject', bucket: 'b', key: 'k' } as const;

  it.each([
    ['AccessDenied', 403, 'ACCESS_DENIED'],
    ['Forbidden', 403, 'ACCESS_DENIED'],
    ['InvalidAccessKeyId', 403, 'CREDENTIALS_INVALID'],
    ['SignatureDoesNotMatch', 403, 'CREDENTIALS_INVALID'],
    ['ExpiredToken', 400, 'CREDENTIALS_INVALID'],
    ['NoSuchBucket', 404, 'NO_SUCH_BUCKET'],
  ] as const)('S3 %s (%i) is a ConfigurationError %s', (name, status, code) => {
    const err = classifyS3Error(serviceError(name, status), s3);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.code).toBe(code);
  });

  it.each([
    [serviceError('SlowDown', 503)],
    [serviceError('InternalError', 500)],
    [serviceError('ServiceUnavailable', 503)],
    [serviceError('TooManyRequestsException', 429)],
    [serviceError('TimeoutError')],
    [networkError('ECONNRESET')],
    [Object.assign(new Error('wrapped'), { cause: networkError('EPIPE') })],
  ])('S3 transient failure %# is a retryable STORE_UNAVAILABLE', (raw) => {
    const err = classifyS3Error(raw, s3);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect((err as StorageError).retryable).toBe(true);
  });

  it.each(['BadDigest', 'XAmzContentSHA256Mismatch'])(
    'S3 400 %s (a body damaged on the way, nothing stored) is a retryable UPLOAD_CHECKSUM_MISMATCH',
    (name) => {
      const err = classifyS3Error(serviceError(name, 400), s3);
      expect(err).toBeInstanceOf(StorageError);
      expect(err.code).toBe('UPLOAD_CHECKSUM_MISMATCH');
      expect((err as StorageError).retryable).toBe(true);
    },
  );

  it('maps anything else to a non-retryable STORE_FAILED', () => {
    for (const raw of [
      serviceError('InvalidRequest', 400),
      new Error('odd'),
      'a string',
      undefined,
    ]) {
      const err = classifyS3Error(raw, s3);
      expect(err.code).toBe('STORE_FAILED');
      expect((err as StorageError).retryable).toBe(false);
    }
  });

  it('treats only ConditionalRequestConflict as a write conflict to retry', () => {
    expect(isConditionalConflict(serviceError('ConditionalRequestConflict', 409))).toBe(true);
    for (const name of ['OperationAborted', 'BucketNotEmpty', 'InvalidBucketState', 'Conflict']) {
      expect(isConditionalConflict(serviceError(name, 409))).toBe(false);
    }
  });

  const kinds = { StorageError, ConfigurationError } as const;

  it.each([
    ['ConditionalRequestConflict', 'StorageError', 'WRITE_CONFLICT', true],
    ['OperationAborted', 'StorageError', 'OPERATION_ABORTED', true],
    ['BucketNotEmpty', 'ConfigurationError', 'BUCKET_NOT_EMPTY', undefined],
    ['BucketAlreadyExists', 'ConfigurationError', 'BUCKET_EXISTS', undefined],
    ['BucketAlreadyOwnedByYou', 'ConfigurationError', 'BUCKET_EXISTS', undefined],
    ['InvalidBucketState', 'ConfigurationError', 'BUCKET_STATE_INVALID', undefined],
    ['SomeFutureConflict', 'StorageError', 'STORE_CONFLICT', false],
  ] as const)('S3 409 %s is its own %s %s', (name, kind, code, retryable) => {
    const err = classifyS3Error(serviceError(name, 409), s3);
    expect(err).toBeInstanceOf(kinds[kind]);
    expect(err.code).toBe(code);
    if (retryable !== undefined) expect((err as StorageError).retryable).toBe(retryable);
  });

  it.each([
    ['AccessDeniedException', 'ACCESS_DENIED'],
    ['NotFoundException', 'KEY_NOT_FOUND'],
    ['DisabledException', 'KEY_DISABLED'],
    ['KMSInvalidStateException', 'KEY_DISABLED'],
    ['InvalidKeyUsageException', 'KEY_UNSUPPORTED'],
    ['UnrecognizedClientException', 'CREDENTIALS_INVALID'],
  ] as const)('KMS %s is a ConfigurationError %s', (name, code) => {
    const err = classifyKmsError(serviceError(name, 400), 'kms:Sign', 'alias/x');
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.code).toBe(code);
  });

  it.each([
    [serviceError('ThrottlingException', 400)],
    [serviceError('KMSInternalException', 500)],
    [serviceError('DependencyTimeoutException', 503)],
    [networkError('ETIMEDOUT')],
  ])('KMS transient failure %# is a retryable SIGNER_UNAVAILABLE', (raw) => {
    const err = classifyKmsError(raw, 'kms:Sign', 'alias/x');
    expect(err.code).toBe('SIGNER_UNAVAILABLE');
    expect((err as StorageError).retryable).toBe(true);
  });

  it('does not follow a cyclic cause chain forever', () => {
    const a: { cause?: unknown } & Error = new Error('a');
    const b: { cause?: unknown } & Error = new Error('b');
    a.cause = b;
    b.cause = a;
    expect(isTransientAwsError(a)).toBe(false);
  });
});
