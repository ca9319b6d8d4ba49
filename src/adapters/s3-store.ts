/**
 * {@link ObjectStore} on an S3 bucket with Object Lock in COMPLIANCE mode, at `s3://bucket/prefix`.
 *
 * Write-once comes from two S3 features together, neither enough alone:
 * - `If-None-Match: *` on every PutObject, so a key is never given a second version through us
 *   (S3 answers 412 if the key exists, 409 on a concurrent conditional write to it);
 * - a COMPLIANCE retain-until date on every version, so no one, root included, can delete or
 *   shorten it before that date.
 * Object Lock does not stop someone with `s3:PutObject` adding a version on top, or with
 * `s3:DeleteObject` adding a delete marker; {@link S3Store.listVersions} exposes both so the
 * verifier can flag them. Version-level reads and lock metadata live in `s3-versions.ts`, the
 * bucket check in `s3-bucket.ts`, error mapping in `s3-errors.ts`.
 *
 * AWS docs: "Conditional requests" and "Locking objects with Object Lock" (S3 User Guide).
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, hasCode, InputError, StorageError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type {
  Clock,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
  ReadOptions,
} from '../core/ports.js';
import { assertListPrefix, assertObjectKey, MAX_KEY_BYTES } from './memory-store.js';
import { readLimitOf } from './read-limit.js';
import { type BucketCheck, checkLockedBucket } from './s3-bucket.js';
import {
  classifyS3Error,
  describeS3Target,
  isConditionalConflict,
  isNotFound,
  isPreconditionFailed,
} from './s3-errors.js';
import {
  describeObjectVersion,
  getObjectBytes,
  type ListScope,
  listCurrentObjects,
  listObjectVersions,
  listTopFolders,
  type ObjectVersionInfo,
  type VersionDescription,
} from './s3-versions.js';

export type { BucketCheck } from './s3-bucket.js';
export { parseS3Url } from './s3-bucket.js';
export type { ObjectVersionInfo, VersionDescription } from './s3-versions.js';

const DAY_MS = 86_400_000;
const SECOND_MS = 1000;

/**
 * `ms` rounded up to a whole second. S3 keeps an Object Lock retain-until date at whole-second
 * precision (LocalStack reports it so; moto echoes milliseconds): a date with milliseconds would be
 * stored up to a second *before* the seal time + period the writer meant, and a verifier checking
 * "retain-until >= seal time + period" would then fail by under a second. Rounding up never
 * shortens the retention.
 */
export function ceilToWholeSecond(ms: number): number {
  return Math.ceil(ms / SECOND_MS) * SECOND_MS;
}

/** Construction options of {@link S3Store}. */
export type S3StoreOptions = {
  /** An S3 client, e.g. from `createS3Client()`; its retry settings apply to every request. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix inside the bucket (no leading `/`); store keys are relative to it. */
  readonly prefix?: string;
  /** Default COMPLIANCE retention of each new object: now + `days`. */
  readonly retention: { readonly days: number };
  /** Source of "now" for the default retain-until date; default: the system clock. */
  readonly clock?: Clock;
  /** Extra attempts after a 409 ConditionalRequestConflict (default 5). */
  readonly conflictRetries?: number;
  /** Base delay of the jittered exponential backoff after a 409, in ms (default 50). */
  readonly conflictBackoffMs?: number;
  /** MaxKeys per ListObjectVersions page (default: the service's, 1,000 on AWS). */
  readonly pageSize?: number;
};

/** A write-once {@link ObjectStore} in an Object Lock bucket. */
export class S3Store implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  /** The key prefix with a trailing `/`, or `''`. */
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #retentionDays: number;
  readonly #clock: Clock;
  readonly #conflictRetries: number;
  readonly #conflictBackoffMs: number;
  readonly #scope: ListScope;
  #bucketChecked: Promise<BucketCheck> | undefined;

  /**
   * @throws ConfigurationError `RETENTION_INVALID` unless `retention.days` is a positive integer
   * @throws InputError `KEY_INVALID` for a prefix no valid key can start with
   */
  constructor(options: S3StoreOptions) {
    const days = options.retention.days;
    if (!Number.isSafeInteger(days) || days < 1) {
      throw new ConfigurationError('RETENTION_INVALID', `retention days must be >= 1, got ${days}`);
    }
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix !== '') assertListPrefix(`${prefix}/`);
    this.#client = options.client;
    this.bucket = options.bucket;
    this.prefix = prefix === '' ? '' : `${prefix}/`;
    this.location = `s3://${this.bucket}/${this.prefix}`;
    this.#retentionDays = days;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#conflictRetries = options.conflictRetries ?? 5;
    this.#conflictBackoffMs = options.conflictBackoffMs ?? 50;
    this.#scope = { bucket: this.bucket, storePrefix: this.prefix, pageSize: options.pageSize };
  }

  /**
   * Creates `key` with COMPLIANCE retention until `options.retainUntil` (default: the seal time
   * `options.sealedAt`, else now, + the configured days), rounded up to a whole second
   * ({@link ceilToWholeSecond}), unless it exists. On 412 it reads the current version back (at
   * most `bytes.length` of it): the same bytes resolve `identical`, so a retry after a lost
   * response stays write-once. Only a 409 `ConditionalRequestConflict` is retried as a write
   * conflict; every other 409 is its own coded error (`classifyS3Error`). The first write checks
   * the bucket ({@link checkBucket}) and refuses to write to one without Object Lock.
   * @throws InputError `KEY_INVALID`, `RETAIN_UNTIL_INVALID` (not a date after now)
   * @throws StorageError `OBJECT_EXISTS` (not retryable) if the key holds other bytes
   * @throws StorageError `WRITE_CONFLICT` (retryable) if 409 ConditionalRequestConflicts outlast
   *   the retries; `OPERATION_ABORTED` (retryable), `STORE_CONFLICT` or a ConfigurationError
   *   (`BUCKET_STATE_INVALID`…) for other 409s
   * @throws ConfigurationError `BUCKET_NOT_LOCKED`, `ACCESS_DENIED`, `NO_SUCH_BUCKET`, `CREDENTIALS_INVALID`
   * @throws StorageError `STORE_UNAVAILABLE` (retryable) or `STORE_FAILED`
   */
  async putIfAbsent(
    key: string,
    bytes: Uint8Array,
    options?: PutOptions & { retainUntil?: Date },
  ): Promise<PutResult> {
    const fullKey = this.#fullKey(key);
    const now = this.#clock.now();
    // AWS docs: ObjectLockRetainUntilDate on PutObject; here seal time + the retention period.
    const wanted =
      options?.retainUntil ?? new Date((options?.sealedAt ?? now) + this.#retentionDays * DAY_MS);
    if (!(wanted instanceof Date) || !(wanted.getTime() > now)) {
      throw new InputError('RETAIN_UNTIL_INVALID', `retain-until for ${key} must be after now`, {
        location: key,
      });
    }
    const retainUntil = new Date(ceilToWholeSecond(wanted.getTime()));
    await this.#ensureBucketChecked();
    // S3 lets `If-None-Match: *` through when a delete marker hides the key (moto does too), which
    // would add a second version shadowing the original. One HEAD first keeps a hidden key taken.
    if (await this.exists(key)) {
      const current = await this.#compareCurrent(fullKey, bytes);
      if (current?.same) return { status: 'identical', versionId: current.versionId };
      throw new StorageError(
        'OBJECT_EXISTS',
        `${this.location}${key} ${current === undefined ? 'is taken (its object is hidden by a delete marker)' : 'already holds other bytes'}`,
        { retryable: false },
      );
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: fullKey,
            Body: bytes,
            ContentLength: bytes.byteLength,
            ContentType: 'application/octet-stream',
            IfNoneMatch: '*',
            ObjectLockMode: 'COMPLIANCE',
            ObjectLockRetainUntilDate: retainUntil,
            // A PUT with a retention period needs Content-MD5 or a flexible checksum (AWS docs).
            ChecksumAlgorithm: 'SHA256',
          }),
        );
        return { status: 'created', versionId: out.VersionId };
      } catch (err) {
        if (isPreconditionFailed(err)) {
          const current = await this.#compareCurrent(fullKey, bytes);
          if (current === undefined) {
            // Nothing readable: either a delete marker hides the key (taken, see above) or the
            // 412 raced something that is gone again; only in the latter case put once more.
            if (!(await this.exists(key)) && attempt < this.#conflictRetries) continue;
            throw new StorageError(
              'OBJECT_EXISTS',
              `${this.location}${key} is taken (its object is hidden by a delete marker)`,
              {
                retryable: false,
                cause: err,
              },
            );
          }
          if (current.same) return { status: 'identical', versionId: current.versionId };
          throw new StorageError(
            'OBJECT_EXISTS',
            `${this.location}${key} already holds other bytes`,
            {
              retryable: false,
              cause: err,
            },
          );
        }
        if (isConditionalConflict(err)) {
          if (attempt >= this.#conflictRetries) throw this.#conflict(key, err);
          await this.#backoff(attempt);
          continue;
        }
        throw classifyS3Error(err, { action: 's3:PutObject', bucket: this.bucket, key: fullKey });
      }
    }
  }

  /**
   * The current version's bytes (checksum-validated by the SDK), or `undefined` if there is no
   * such key or its current version is a delete marker. Reads at most `options.maxBytes`.
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_TOO_LARGE` (not retryable) over `maxBytes` (default 2 GiB - 1)
   * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
   * @throws RangeError for a `maxBytes` that is not a non-negative safe integer
   */
  async get(key: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const limit = readLimitOf(options);
    return (await this.#getCurrent(this.#fullKey(key), limit))?.bytes;
  }

  /**
   * The bytes of one version of `key`, or `undefined` if that version does not exist or is a
   * delete marker. Versions come from {@link listVersions}. Reads at most `options.maxBytes`.
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_TOO_LARGE` (not retryable) over `maxBytes` (default 2 GiB - 1)
   * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
   * @throws RangeError for a `maxBytes` that is not a non-negative safe integer
   */
  async getVersion(
    key: string,
    versionId: string,
    options?: ReadOptions,
  ): Promise<Uint8Array | undefined> {
    const limit = readLimitOf(options);
    const target = { bucket: this.bucket, key: this.#fullKey(key), versionId };
    return (await getObjectBytes(this.#client, target, 's3:GetObjectVersion', limit))?.bytes;
  }

  /**
   * Whether `key` is taken: it has a current version, or a delete marker hides one (HeadObject
   * answers 404 with `x-amz-delete-marker: true`). A hidden key is taken, so a writer probing for
   * the head of a log never writes a second version there.
   * @throws InputError `KEY_INVALID`; ConfigurationError / StorageError as classified by `classifyS3Error`
   */
  async exists(key: string): Promise<boolean> {
    const fullKey = this.#fullKey(key);
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return hasDeleteMarkerHeader(err);
      throw classifyS3Error(err, { action: 's3:GetObject', bucket: this.bucket, key: fullKey });
    }
  }

  /**
   * Each key under `prefix` whose current version is not a delete marker, once, in UTF-8 byte
   * order, with its size (ListObjectsV2 paged by continuation token; `startAfter` maps to
   * StartAfter). {@link listVersions} shows everything, including what a delete marker hides.
   * @throws InputError `KEY_INVALID`; ConfigurationError / StorageError as classified by `classifyS3Error`
   */
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    yield* listCurrentObjects(this.#client, this.#scope, prefix, options?.startAfter);
  }

  /**
   * Every version and delete marker under `prefix`: keys in UTF-8 byte order, each key's entries
   * newest first (the current one has `isLatest`). A key with more than one entry was overwritten
   * or hidden, which write-once forbids; the verifier reports it.
   * @throws InputError `KEY_INVALID`; ConfigurationError / StorageError as classified by `classifyS3Error`
   */
  async *listVersions(
    prefix: string,
    options?: { startAfter?: string },
  ): AsyncIterable<ObjectVersionInfo> {
    assertListPrefix(prefix);
    yield* listObjectVersions(this.#client, this.#scope, prefix, options?.startAfter);
  }

  /**
   * Names of the store's top-level folders (log names, `witness-state`…), without listing the
   * objects under them (ListObjectsV2 with a delimiter).
   * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
   */
  async *listTopFolders(): AsyncIterable<string> {
    yield* listTopFolders(this.#client, this.#scope);
  }

  /**
   * Lock mode, retain-until, legal hold, checksum and replication status of one version, from
   * HeadObject (which carries them on AWS and in emulators alike; the lock fields need
   * `s3:GetObjectRetention` / `s3:GetObjectLegalHold`). `undefined` if there is no such version
   * or it is a delete marker.
   * @throws InputError `KEY_INVALID`; ConfigurationError / StorageError as classified by `classifyS3Error`
   */
  describeVersion(key: string, versionId: string): Promise<VersionDescription | undefined> {
    return describeObjectVersion(this.#client, {
      bucket: this.bucket,
      key: this.#fullKey(key),
      versionId,
    });
  }

  /**
   * Startup check: the bucket has versioning Enabled and Object Lock enabled. Never writes.
   * {@link putIfAbsent} runs it once before the first write.
   * @throws ConfigurationError `BUCKET_NOT_LOCKED` naming the missing setting
   * @throws ConfigurationError `ACCESS_DENIED`, `NO_SUCH_BUCKET`, `CREDENTIALS_INVALID`
   * @throws StorageError `STORE_UNAVAILABLE` (retryable) or `STORE_FAILED`
   */
  checkBucket(): Promise<BucketCheck> {
    return checkLockedBucket(this.#client, this.bucket);
  }

  #fullKey(key: string): string {
    assertObjectKey(key);
    const full = this.prefix + key;
    if (Buffer.byteLength(full, 'utf8') > MAX_KEY_BYTES) {
      throw new InputError(
        'KEY_INVALID',
        `${describeS3Target({ bucket: this.bucket, key: full })} is longer than ${MAX_KEY_BYTES} bytes`,
        {
          location: JSON.stringify(key),
        },
      );
    }
    return full;
  }

  /**
   * Whether the current version holds exactly `bytes`, reading at most `bytes.length` of it (a
   * larger one differs without being downloaded); `undefined` if nothing is readable there.
   */
  async #compareCurrent(
    fullKey: string,
    bytes: Uint8Array,
  ): Promise<{ same: boolean; versionId: string | undefined } | undefined> {
    try {
      const current = await this.#getCurrent(fullKey, bytes.length);
      if (current === undefined) return undefined;
      return { same: bytesEqual(current.bytes, bytes), versionId: current.versionId };
    } catch (err) {
      if (hasCode(err, 'OBJECT_TOO_LARGE')) return { same: false, versionId: undefined };
      throw err;
    }
  }

  #getCurrent(fullKey: string, limit: number) {
    return getObjectBytes(
      this.#client,
      { bucket: this.bucket, key: fullKey },
      's3:GetObject',
      limit,
    );
  }

  #ensureBucketChecked(): Promise<BucketCheck> {
    if (this.#bucketChecked === undefined) {
      const check = this.checkBucket();
      this.#bucketChecked = check;
      // Only a passed check is remembered; a failed one runs again on the next write.
      check.catch(() => {
        if (this.#bucketChecked === check) this.#bucketChecked = undefined;
      });
    }
    return this.#bucketChecked;
  }

  #conflict(key: string, cause: unknown): StorageError<'WRITE_CONFLICT'> {
    return new StorageError(
      'WRITE_CONFLICT',
      `${this.location}${key}: concurrent conditional writes kept conflicting`,
      { retryable: true, cause },
    );
  }

  #backoff(attempt: number): Promise<void> {
    const ceiling = this.#conflictBackoffMs * 2 ** Math.min(attempt, 8);
    return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
  }
}

/** Whether an S3 error response carries `x-amz-delete-marker: true`. */
function hasDeleteMarkerHeader(err: unknown): boolean {
  const headers = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers;
  return headers?.['x-amz-delete-marker'] === 'true';
}
