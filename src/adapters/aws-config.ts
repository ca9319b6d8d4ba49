/**
 * Builds the AWS SDK clients the S3 and KMS adapters receive. Everything not given explicitly
 * comes from the SDK's standard configuration chain: region from `AWS_REGION` or the shared
 * config file, credentials from the default provider chain, and the endpoint from
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` or the profile's
 * `endpoint_url` (the SDK reads these itself). Adapters never build clients; they take one.
 */

import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';

/** Options shared by {@link createS3Client} and {@link createKmsClient}. */
export type AwsClientOptions = {
  /** AWS Region; default: the SDK chain (`AWS_REGION`, profile). */
  readonly region?: string;
  /** Endpoint override (an emulator, a fault proxy); default: the SDK chain, then AWS. */
  readonly endpoint?: string;
  /** Attempts per request including the first, for throttling, 5xx, timeouts and resets. */
  readonly maxAttempts?: number;
  /** SDK retry mode: `standard` (exponential backoff with jitter) or `adaptive` (adds client-side rate limiting). */
  readonly retryMode?: 'standard' | 'adaptive';
  /** Milliseconds to wait for a TCP connection before the attempt fails (and is retried). */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds one attempt may take in all before it fails (and is retried). */
  readonly requestTimeoutMs?: number;
  /** Milliseconds of socket inactivity before the attempt fails (and is retried). */
  readonly socketTimeoutMs?: number;
  /**
   * S3 only: path-style URLs (`http://host/bucket/key`). Default: true exactly when the endpoint
   * is loopback; set it for an emulator reached by another name (e.g. `http://localstack:4566`).
   */
  readonly forcePathStyle?: boolean;
};

export const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;

/**
 * True for `http(s)://localhost…`, `127.x.x.x` and `[::1]` endpoints: emulators, which only
 * serve path-style S3 URLs (`http://host/bucket/key`).
 */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * The endpoint override the SDK will use for `service`, from `options` or the environment, or
 * `undefined` for the AWS default. (The shared config file's `endpoint_url` is not consulted here;
 * the SDK still honours it.)
 */
export function configuredEndpoint(
  service: 'S3' | 'KMS',
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * The settings every client gets (region, endpoint, retries, timeouts), for clients made outside
 * this module (the SNS client lives with its notifier, so `auditlock/aws` does not load it).
 */
export function commonConfig(options: Omit<AwsClientOptions, 'forcePathStyle'>) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: options.retryMode ?? 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    },
  };
}

/**
 * An S3 client for {@link S3Store} and `bootstrap`. Uses path-style URLs when the endpoint is a
 * loopback emulator (moto, LocalStack on localhost) unless `forcePathStyle` says otherwise,
 * virtual-hosted style (what AWS recommends) for AWS.
 */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const endpoint = configuredEndpoint('S3', options.endpoint);
  const { forcePathStyle, ...common } = options;
  return new S3Client({
    ...commonConfig(common),
    forcePathStyle: forcePathStyle ?? (endpoint !== undefined && isLoopbackEndpoint(endpoint)),
  });
}

/** A KMS client for {@link KmsSigner} and `bootstrap`. */
export function createKmsClient(options: AwsClientOptions = {}): KMSClient {
  return new KMSClient(commonConfig(options));
}

/** The fields of an SDK or Node network error that classification looks at. */
export type AwsErrorFacts = {
  /** Service error code (`AccessDenied`, `SlowDown`…) or JS error name (`TimeoutError`). */
  readonly name: string;
  /** HTTP status of the last attempt, if a response arrived. */
  readonly status: number | undefined;
  /** Node system error code (`ECONNRESET`…), if any. */
  readonly errno: string | undefined;
};

/** Extracts {@link AwsErrorFacts} from anything thrown by an SDK call. */
export function awsErrorFacts(err: unknown): AwsErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  return {
    name: typeof e.name === 'string' ? e.name : '',
    status:
      typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
    errno: typeof e.code === 'string' ? e.code : undefined,
  };
}

// The failures the SDK's standard retry strategy retries; when one still escapes after
// `maxAttempts`, the same call may succeed later, so it maps to a retryable StorageError.
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'KMSInternalException',
  'DependencyTimeoutException',
]);
const NETWORK_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True if `err` is throttling, a 5xx, a timeout or a dropped connection: worth retrying later. */
export function isTransientAwsError(err: unknown): boolean {
  let current = err;
  // Network errors often arrive wrapped; follow a bounded `cause` chain.
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { name, status, errno } = awsErrorFacts(current);
    if (THROTTLING_NAMES.has(name) || TRANSIENT_NAMES.has(name)) return true;
    if (status === 429 || (status !== undefined && status >= 500 && status <= 599)) return true;
    if (errno !== undefined && NETWORK_ERRNOS.has(errno)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
