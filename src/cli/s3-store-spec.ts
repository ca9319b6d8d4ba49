/** `s3://bucket/prefix` → an S3Store on a client from the SDK's standard configuration chain. */
import { createS3Client } from '../adapters/aws-config.js';
import { parseS3Url, S3Store } from '../adapters/s3-store.js';
import type { ObjectStore } from '../core/ports.js';
import type { StoreOptions } from './stores.js';

/** Default COMPLIANCE retention: 7 years (2,557 days), the SEC 17a-4 / SOX horizon. */
export const DEFAULT_RETENTION_DAYS = 2557;

/**
 * Opens `s3://bucket/prefix`. A store opened for writing checks the bucket's Object Lock and
 * versioning before its first put, and refuses an unlocked bucket.
 * @throws ConfigurationError `S3_URL_INVALID`
 */
export async function openS3Store(spec: string, options: StoreOptions): Promise<ObjectStore> {
  const { bucket, prefix } = parseS3Url(spec);
  const store = new S3Store({
    client: createS3Client(),
    bucket,
    prefix,
    retention: { days: options.retentionDays ?? DEFAULT_RETENTION_DAYS },
  });
  if (options.forWriting) await store.checkBucket();
  return store;
}
