/**
 * The coded errors of a {@link FolderStore}: the closed list of their codes, the mapping of Node
 * filesystem errors, and the builders for the store's own conditions.
 */
import { AuditlockError, ConfigurationError, InputError, StorageError } from '../core/errors.js';
import type { FolderStore } from './folder-store.js';
import type { ReadErrorCode } from './read-limit.js';

/** Codes of the errors a {@link FolderStore} throws (InputError `KEY_INVALID` aside). */
export type FolderStoreErrorCode =
  | ReadErrorCode
  // StorageError
  | 'OBJECT_EXISTS'
  | 'KEY_CONFLICT'
  | 'STORE_FULL'
  | 'STORE_IO'
  | 'STORE_UNAVAILABLE'
  // ConfigurationError
  | 'STORE_NOT_FOUND'
  | 'STORE_NOT_A_FOLDER'
  | 'STORE_ACCESS_DENIED'
  | 'STORE_UNWRITABLE'
  | 'STORE_UNSUPPORTED';

/**
 * Maps a Node filesystem error to the project's coded errors. Exported for tests; not public API.
 * - `EACCES`/`EPERM`/`EROFS` → ConfigurationError `STORE_ACCESS_DENIED` (an operator must act).
 * - `ENOSPC`/`EDQUOT` → StorageError `STORE_FULL`, not retryable (waiting rarely frees space).
 * - `EMFILE`/`ENFILE`/`EAGAIN`/`EBUSY`/`EINTR`/`ETIMEDOUT`/`ESTALE` → `STORE_UNAVAILABLE`, retryable.
 * - `ENAMETOOLONG` → InputError `KEY_INVALID` (a segment exceeds the filesystem's name limit).
 * - `EIO` and anything else → StorageError `STORE_IO`, not retryable: a device error needs a human.
 * @internal
 */
export function mapFsError(err: unknown, op: string, path: string, key?: string): AuditlockError {
  if (err instanceof AuditlockError) return err;
  const code = errno(err) ?? 'UNKNOWN';
  const message = `${op} ${path} failed: ${code}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ConfigurationError('STORE_ACCESS_DENIED', message, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('STORE_FULL', message, { retryable: false, cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
    case 'ETIMEDOUT':
    case 'ESTALE':
      return new StorageError('STORE_UNAVAILABLE', message, { retryable: true, cause: err });
    case 'ENAMETOOLONG':
      return new InputError('KEY_INVALID', message, { cause: err, location: key ?? path });
    default:
      return new StorageError('STORE_IO', message, { retryable: false, cause: err });
  }
}

export function objectExists(path: string, cause?: unknown): StorageError<'OBJECT_EXISTS'> {
  return new StorageError('OBJECT_EXISTS', `${path} already holds other bytes`, {
    retryable: false,
    cause,
  });
}

/**
 * ConfigurationError `STORE_UNWRITABLE` for a permission or read-only-filesystem error while
 * opening for writing; any other error mapped as usual.
 */
export function unwritable(err: unknown, what: string, path: string): AuditlockError {
  const mapped = mapFsError(err, 'open for writing', path);
  if (mapped.code !== 'STORE_ACCESS_DENIED') return mapped;
  const reason = errno(err) === 'EROFS' ? 'read-only filesystem' : 'permission denied';
  return new ConfigurationError('STORE_UNWRITABLE', `${what} (${errno(err)}: ${reason})`, {
    cause: err,
  });
}

/** The store path runs through a file: `/srv/file/audit`. */
export function notDirectoryAbove(
  root: string,
  cause: unknown,
): ConfigurationError<'STORE_NOT_A_FOLDER'> {
  return new ConfigurationError(
    'STORE_NOT_A_FOLDER',
    `${root} cannot be a store folder: a path component above it is a file`,
    { cause },
  );
}

export function conflict(key: string, path: string): StorageError<'KEY_CONFLICT'> {
  return new StorageError(
    'KEY_CONFLICT',
    `${path}: key ${JSON.stringify(key)} collides with a folder or file of the other kind`,
    { retryable: false },
  );
}

/** The Node errno code of `err`, if any. */
export function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** ENOENT or ENOTDIR: nothing at the path. */
export function isMissing(err: unknown): boolean {
  return errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR';
}
