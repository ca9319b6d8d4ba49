/**
 * What integration tests need to reach the AWS target `test/global-setup.ts` chose: moto (the
 * default, started per run), LocalStack (`npm run test:localstack`, or
 * `AUDITLOCK_TEST_TARGET=localstack`), any other endpoint in `AWS_ENDPOINT_URL`, or real AWS
 * (`AUDITLOCK_TEST_TARGET=aws`). Clients come from the production factory, so the tests exercise
 * the same configuration chain the CLI and Lambdas use. Each target comes with what it is known to
 * enforce ({@link TargetCapabilities}), so a test of a guarantee runs for real wherever the
 * target has it, and leans on a workaround only where it does not.
 */
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, type KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import {
  type AwsClientOptions,
  createKmsClient,
  createS3Client,
} from '../../src/adapters/aws-config.js';

/** Where the integration tests run. */
export type AwsTestTarget = {
  /**
   * `moto` / `localstack`: a local emulator; `endpoint`: some other AWS_ENDPOINT_URL (unknown,
   * so assumed to have moto's gaps); `aws`: real AWS.
   */
  readonly kind: 'moto' | 'localstack' | 'endpoint' | 'aws';
  readonly endpoint: string | undefined;
  readonly region: string;
};

/**
 * What a target enforces the way AWS S3 and KMS do (AWS docs; see ../shared/AWS-NOTES.md and
 * docs/AWS.md for the emulator checks behind each value).
 */
export type TargetCapabilities = {
  /**
   * `If-None-Match: *` is checked and the object written in one step: of concurrent conditional
   * PUTs to one key exactly one succeeds. moto checks, then writes: tests put the fault proxy's
   * `serializeConditionalPuts` in front of it.
   */
  readonly atomicConditionalWrites: boolean;
  /** A body that does not match its `x-amz-checksum-sha256` is refused (moto stores it). */
  readonly validatesChecksums: boolean;
  /**
   * Object Lock is enforced on the bucket: COMPLIANCE retention cannot be shortened and
   * versioning cannot be suspended (moto allows both).
   */
  readonly enforcesObjectLock: boolean;
  /**
   * Precision of the retain-until dates the target reports, in ms: 1 where it echoes what was
   * sent (moto), 1,000 where it keeps whole seconds (LocalStack; real S3 may too).
   */
  readonly retainUntilPrecisionMs: number;
  /**
   * DynamoDB is served (the production key store of sealed fields). LocalStack as
   * scripts/localstack.mjs starts it serves S3 and KMS only: its DynamoDB needs extra packages
   * and a Java DynamoDB Local download the project does not install.
   */
  readonly servesDynamoDb: boolean;
};

const CAPABILITIES: Record<AwsTestTarget['kind'], TargetCapabilities> = {
  aws: {
    atomicConditionalWrites: true,
    validatesChecksums: true,
    enforcesObjectLock: true,
    retainUntilPrecisionMs: 1_000,
    servesDynamoDb: true,
  },
  localstack: {
    atomicConditionalWrites: true,
    validatesChecksums: true,
    enforcesObjectLock: true,
    retainUntilPrecisionMs: 1_000,
    servesDynamoDb: false,
  },
  moto: {
    atomicConditionalWrites: false,
    validatesChecksums: false,
    enforcesObjectLock: false,
    retainUntilPrecisionMs: 1,
    servesDynamoDb: true,
  },
  endpoint: {
    atomicConditionalWrites: false,
    validatesChecksums: false,
    enforcesObjectLock: false,
    retainUntilPrecisionMs: 1_000,
    servesDynamoDb: false,
  },
};

declare module 'vitest' {
  export interface ProvidedContext {
    awsTarget: AwsTestTarget;
  }
}

/** The target chosen by the global setup, with what it enforces. */
export function awsTarget(): AwsTestTarget & TargetCapabilities {
  const target = inject('awsTarget');
  return { ...target, ...CAPABILITIES[target.kind] };
}

/**
 * The endpoint a fault proxy can sit in front of: a loopback http emulator (moto, LocalStack on
 * localhost), else `undefined` (real AWS verifies the signed Host header, so no proxy there).
 */
export function proxyableEndpoint(): string | undefined {
  const { kind, endpoint } = awsTarget();
  if (kind === 'aws' || endpoint === undefined) return undefined;
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint)
    ? endpoint
    : undefined;
}

/**
 * Retention of objects the tests write. Short, because on real AWS nobody can delete them, nor
 * the bucket, until it passes.
 */
export const TEST_RETENTION_DAYS = 1;

/** An S3 client for the target; `endpoint` overrides it (e.g. a fault proxy). */
export function testS3Client(options: AwsClientOptions = {}): S3Client {
  return createS3Client({ region: awsTarget().region, ...options });
}

/** A KMS client for the target; `endpoint` overrides it (e.g. a fault proxy). */
export function testKmsClient(options: AwsClientOptions = {}) {
  return createKmsClient({ region: awsTarget().region, ...options });
}

/** A fresh bucket name: `auditlock-it-<label>-<random>`, valid for S3 (3–63 chars, lowercase). */
export function uniqueBucketName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 24);
  return `auditlock-it-${clean}-${randomBytes(6).toString('hex')}`;
}

/** A fresh key alias: `alias/auditlock-it-<label>-<random>`. */
export function uniqueKeyAlias(label: string): string {
  return `alias/auditlock-it-${label}-${randomBytes(6).toString('hex')}`;
}

/**
 * Creates a bucket in the target region. `objectLock` (default true) enables Object Lock, which
 * also turns versioning on; no default retention is set (S3Store puts explicit retention).
 */
export async function createTestBucket(
  s3: S3Client,
  label: string,
  options: { objectLock?: boolean } = {},
): Promise<string> {
  const bucket = uniqueBucketName(label);
  const region = awsTarget().region;
  const input: CreateBucketCommandInput = {
    Bucket: bucket,
    ObjectLockEnabledForBucket: options.objectLock ?? true,
    // us-east-1 is the one region that must not be named as a location constraint.
    ...(region === 'us-east-1'
      ? {}
      : { CreateBucketConfiguration: { LocationConstraint: region as 'eu-west-1' } }),
  };
  await s3.send(new CreateBucketCommand(input));
  return bucket;
}

const createdKeys: string[] = [];

/**
 * Creates a KMS key for a test (P-256 SIGN_VERIFY unless told otherwise) and remembers it for
 * {@link scheduleTestKeyDeletion}.
 */
export async function createTestKey(
  kms: KMSClient,
  spec: 'ECC_NIST_P256' | 'RSA_2048' | 'SYMMETRIC_DEFAULT' = 'ECC_NIST_P256',
): Promise<string> {
  const out = await kms.send(
    new CreateKeyCommand({
      KeySpec: spec,
      KeyUsage: spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY',
      Description: 'auditlock integration test',
    }),
  );
  const arn = out.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error('CreateKey returned no ARN');
  rememberTestKey(arn);
  return arn;
}

/** Remembers a key some other code created (e.g. `bootstrap`) for {@link scheduleTestKeyDeletion}. */
export function rememberTestKey(arn: string): void {
  createdKeys.push(arn);
}

/**
 * Schedules deletion (the 7-day minimum) of every key this test file created: keys cost money on
 * real AWS and cannot be deleted at once. Best effort; call it from `afterAll`.
 */
export async function scheduleTestKeyDeletion(kms: KMSClient): Promise<void> {
  const keys = createdKeys.splice(0);
  await Promise.allSettled(
    // By key id: moto's key-state operations do not accept ARNs (AWS takes both).
    keys.map((arn) =>
      kms.send(
        new ScheduleKeyDeletionCommand({ KeyId: arn.split('/').pop(), PendingWindowInDays: 7 }),
      ),
    ),
  );
}

/** Collects an async iterable into an array. */
export async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}

/** The settled rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}
