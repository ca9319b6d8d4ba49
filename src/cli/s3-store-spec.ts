import type { ObjectStore } from '../core/ports.js';
import { UsageError } from './cli-error.js';
import type { StoreOptions } from './stores.js';

/** Opens `s3://bucket/prefix`. */
export async function openS3Store(spec: string, _options: StoreOptions): Promise<ObjectStore> {
  throw new UsageError(`S3 stores are not wired into the CLI yet: ${spec}`);
}
