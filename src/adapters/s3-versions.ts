/**
 * Version-level S3 reads behind {@link S3Store}: bytes of one version, the lock metadata of one
 * version, and the paged listing of every version and delete marker. The verifier reads by version
 * id, because the "current" object is whatever was written last, which write-once cannot rule out.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AuditlockError, StorageError } from '../core/errors.js';
import type { ObjectInfo, ObjectVersion, VersionMetadata } from '../core/ports.js';
import { compareKeys } from './memory-store.js';
import { collectBounded, MAX_READ_BYTES, objectTooLarge } from './read-limit.js';
import {
  classifyS3Error,
  describeS3Target,
  isDeleteMarkerVersion,
  isNotFound,
  type S3Action,
} from './s3-errors.js';

/** One entry of {@link listObjectVersions}: an object version or a delete marker (the port's type). */
export type ObjectVersionInfo = ObjectVersion;

/**
 * Lock and integrity metadata of one object version, from HeadObject: the port's
 * {@link VersionMetadata} (`replicationStatus` is `PENDING`, `COMPLETED` or `COMPLETE`, `FAILED`,
 * `REPLICA`, or `undefined`) plus the version id, size and time.
 */
export type VersionDescription = VersionMetadata & {
  readonly versionId: string;
  readonly size: number;
  readonly lastModified: Date | undefined;
};

/** Where a version lives. `versionId` absent means the current version. */
export type VersionTarget = {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
};

/**
 * Downloads one version with `ChecksumMode: ENABLED` (the SDK checks the stored checksum while
 * reading), reading at most `limit` bytes: an object whose `Content-Length` is over the limit is
 * refused before its body is read, and a body that runs past the limit anyway (no or a wrong
 * length) is cut off there; either way the connection is dropped, never drained. `undefined` on
 * 404 or when the version is a delete marker (405).
 * @throws StorageError `OBJECT_TOO_LARGE` (not retryable) over `limit`
 * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
 */
export async function getObjectBytes(
  client: S3Client,
  target: VersionTarget,
  action: S3Action,
  limit: number = MAX_READ_BYTES,
): Promise<{ bytes: Uint8Array; versionId: string | undefined } | undefined> {
  const where = describeS3Target(target);
  try {
    const out = await client.send(
      new GetObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        VersionId: target.versionId,
        ChecksumMode: 'ENABLED',
      }),
    );
    const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const abort = () => body?.destroy?.();
    if (out.ContentLength !== undefined && out.ContentLength > limit) {
      abort();
      throw objectTooLarge(where, out.ContentLength, limit);
    }
    if (body === undefined) return { bytes: new Uint8Array(0), versionId: out.VersionId };
    return { bytes: await collectBounded(body, limit, where, abort), versionId: out.VersionId };
  } catch (err) {
    if (err instanceof AuditlockError) throw err;
    if (isNotFound(err) || isDeleteMarkerVersion(err)) return undefined;
    throw classifyS3Error(err, { action, bucket: target.bucket, key: target.key });
  }
}

/**
 * HeadObject of one version, mapped to {@link VersionDescription}; `undefined` on 404 or for a
 * delete marker (405).
 * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
 */
export async function describeObjectVersion(
  client: S3Client,
  target: VersionTarget & { readonly versionId: string },
): Promise<VersionDescription | undefined> {
  try {
    const out = await client.send(
      new HeadObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        VersionId: target.versionId,
        ChecksumMode: 'ENABLED',
      }),
    );
    return {
      versionId: out.VersionId ?? target.versionId,
      lockMode: out.ObjectLockMode,
      retainUntil: out.ObjectLockRetainUntilDate,
      legalHold: out.ObjectLockLegalHoldStatus === 'ON',
      checksumSha256: out.ChecksumSHA256,
      replicationStatus: out.ReplicationStatus,
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified,
    };
  } catch (err) {
    if (isNotFound(err) || isDeleteMarkerVersion(err)) return undefined;
    throw classifyS3Error(err, {
      action: 's3:GetObjectVersion',
      bucket: target.bucket,
      key: target.key,
    });
  }
}

/** Bucket and store prefix (`''` or ending in `/`) a listing runs in. */
export type ListScope = {
  readonly bucket: string;
  readonly storePrefix: string;
  /** MaxKeys per listing page; default: the service's (1,000 on AWS). */
  readonly pageSize?: number | undefined;
};

/**
 * The current objects whose store key starts with `prefix` and sorts after `startAfter`, in UTF-8
 * byte order, paging ListObjectsV2 by continuation token. Keys whose current version is a delete
 * marker are not listed (S3 hides them).
 * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
 */
export async function* listCurrentObjects(
  client: S3Client,
  scope: ListScope,
  prefix: string,
  startAfter?: string,
): AsyncGenerator<ObjectInfo> {
  const { bucket, storePrefix } = scope;
  let token: string | undefined;
  for (;;) {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: storePrefix + prefix,
          ...(token === undefined
            ? { StartAfter: startAfter === undefined ? undefined : storePrefix + startAfter }
            : { ContinuationToken: token }),
          MaxKeys: scope.pageSize,
        }),
      );
    } catch (err) {
      throw classifyS3Error(err, { action: 's3:ListBucket', bucket, key: storePrefix + prefix });
    }
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || !o.Key.startsWith(storePrefix)) continue;
      const key = o.Key.slice(storePrefix.length);
      // StartAfter is exclusive on S3; checking again is free and guards against stores that differ.
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      yield { key, size: o.Size ?? 0 };
    }
    if (!page.IsTruncated) return;
    token = page.NextContinuationToken;
    if (!token) throw truncatedWithoutMarker(bucket);
  }
}

/**
 * Every version and delete marker whose store key starts with `prefix`, paging with KeyMarker /
 * VersionIdMarker. Keys come in UTF-8 byte order, each key's entries newest first.
 * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
 */
export async function* listObjectVersions(
  client: S3Client,
  scope: ListScope,
  prefix: string,
  startAfter?: string,
): AsyncGenerator<ObjectVersionInfo> {
  const { bucket, storePrefix } = scope;
  // KeyMarker alone starts after that key on AWS; moto instead drops the first entry at or after
  // it (docs/AWS.md), so entries of keys <= startAfter are also dropped here.
  let keyMarker: string | undefined =
    startAfter === undefined ? undefined : storePrefix + startAfter;
  let versionIdMarker: string | undefined;
  for (;;) {
    let page: ListObjectVersionsCommandOutput;
    try {
      page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: storePrefix + prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
          MaxKeys: scope.pageSize,
        }),
      );
    } catch (err) {
      throw classifyS3Error(err, {
        action: 's3:ListBucketVersions',
        bucket,
        key: storePrefix + prefix,
      });
    }
    for (const entry of pageEntries(page, storePrefix))
      if (startAfter === undefined || compareKeys(entry.key, startAfter) > 0) yield entry;
    if (!page.IsTruncated) return;
    if (!page.NextKeyMarker) throw truncatedWithoutMarker(bucket);
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

function truncatedWithoutMarker(bucket: string): StorageError<'STORE_FAILED'> {
  return new StorageError('STORE_FAILED', `s3://${bucket}: truncated listing without a marker`, {
    retryable: false,
  });
}

/** The versions and delete markers of one page, merged into listing order. */
function pageEntries(
  page: ListObjectVersionsCommandOutput,
  storePrefix: string,
): ObjectVersionInfo[] {
  const entries: ObjectVersionInfo[] = [];
  const add = (
    e: { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date; Size?: number },
    isDeleteMarker: boolean,
  ) => {
    if (e.Key === undefined || !e.Key.startsWith(storePrefix)) return;
    entries.push({
      key: e.Key.slice(storePrefix.length),
      versionId: e.VersionId ?? 'null',
      isLatest: e.IsLatest === true,
      isDeleteMarker,
      size: e.Size ?? 0,
      lastModified: e.LastModified,
    });
  };
  for (const v of page.Versions ?? []) add(v, false);
  for (const m of page.DeleteMarkers ?? []) add(m, true);
  // S3 lists versions and delete markers apart; interleave them by key, then newest first.
  return entries.sort(
    (a, b) =>
      compareKeys(a.key, b.key) ||
      Number(b.isLatest) - Number(a.isLatest) ||
      (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0),
  );
}

/**
 * The distinct first path segments (`a` for `a/b/c`) of the keys in the store: one
 * ListObjectsV2 request per 1,000 names with Delimiter `/`, whatever the number of objects.
 * @throws ConfigurationError / StorageError as classified by `classifyS3Error`
 */
export async function* listTopFolders(client: S3Client, scope: ListScope): AsyncGenerator<string> {
  const { bucket, storePrefix } = scope;
  let token: string | undefined;
  for (;;) {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: storePrefix,
          Delimiter: '/',
          ContinuationToken: token,
          MaxKeys: scope.pageSize,
        }),
      );
    } catch (err) {
      throw classifyS3Error(err, { action: 's3:ListBucket', bucket, key: storePrefix });
    }
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(storePrefix.length, -1);
      if (p.Prefix?.startsWith(storePrefix) && name) yield name;
    }
    if (!page.IsTruncated) return;
    token = page.NextContinuationToken;
    if (!token) throw truncatedWithoutMarker(bucket);
  }
}
