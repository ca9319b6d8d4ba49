/**
 * Turning a store argument into an ObjectStore: a folder path (the embedded default, also the
 * evidence-bundle layout) or `s3://bucket/prefix`.
 */
import { FolderStore } from '../adapters/folder-store.js';
import type { ObjectStore } from '../core/ports.js';
import { UsageError } from './cli-error.js';

export type StoreOptions = {
  /** S3 only: retention applied to each new segment. */
  readonly retentionDays?: number | undefined;
  /** Whether the store will be written (S3: check Object Lock first). */
  readonly forWriting?: boolean;
};

/**
 * Opens the store named by `spec`.
 * @throws UsageError; ConfigurationError `STORE_NOT_A_FOLDER`, `STORE_UNWRITABLE` (a folder store
 *   to write that cannot be created), and those of the S3 store.
 */
export async function openStore(spec: string, options: StoreOptions = {}): Promise<ObjectStore> {
  if (spec.startsWith('s3://')) {
    const { openS3Store } = await import('./s3-store-spec.js');
    return openS3Store(spec, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec))
    throw new UsageError(
      `unsupported store ${JSON.stringify(spec)}: use a folder path or s3://bucket/prefix`,
    );
  const store = new FolderStore(spec);
  // Creates the folder if needed, checks it is writable and removes a killed writer's temp files.
  if (options.forWriting) await store.openForWriting();
  return store;
}
