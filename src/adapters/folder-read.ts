/**
 * Reading one object of a {@link FolderStore} without trusting what is on disk: every path
 * component is looked at with `lstat` (never following a symlink), only a regular file is opened,
 * it is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO swapped in cannot block the read) and checked
 * with `fstat` to be the very file looked at, and at most `limit + 1` bytes of it are read.
 *
 * Whoever can write to the folder underneath can plant a symlink to any file the reader may read
 * (`/etc/shadow`, another log), a FIFO that blocks forever, or a sparse file of many GiB that
 * costs nothing to create. Each is refused with a coded error instead.
 *
 * A component swapped between the `lstat` walk and the `open` of the last one is not detected for
 * the folders above it (Node has no `openat`); the file itself is checked by device and inode.
 */
import type { Stats } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { objectTooLarge, objectUnreadable } from './read-limit.js';

/** What a key names on disk, components looked at without following symlinks. */
export type FolderEntry =
  | { readonly kind: 'missing' }
  /** A folder: no object, at most a prefix of other keys (as on S3). */
  | { readonly kind: 'folder' }
  | { readonly kind: 'file'; readonly stats: Stats }
  /** A symlink, FIFO, socket or device: taken, but never read. */
  | { readonly kind: 'other'; readonly what: string };

type RawFsError = NodeJS.ErrnoException;

/**
 * Looks at `root/segments…` one component at a time with `lstat`. A missing component, or one
 * that is a file where a folder should be, means the key is missing.
 * @throws StorageError `OBJECT_UNREADABLE` if a component above the last is a symlink
 * @throws the raw filesystem error for anything else (callers map it)
 */
export async function inspectEntry(
  root: string,
  segments: readonly string[],
): Promise<FolderEntry> {
  let path = root;
  for (const [i, segment] of segments.entries()) {
    path = join(path, segment);
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (err) {
      if (isMissing(err)) return { kind: 'missing' };
      throw err;
    }
    if (i < segments.length - 1) {
      if (st.isSymbolicLink()) throw objectUnreadable(path, 'is a symlink to a folder');
      if (!st.isDirectory()) return { kind: 'missing' };
      continue;
    }
    if (st.isDirectory()) return { kind: 'folder' };
    if (st.isFile()) return { kind: 'file', stats: st };
    return { kind: 'other', what: describeType(st) };
  }
  return { kind: 'folder' }; // no segments: the root itself
}

/**
 * The bytes of the regular file `entry` describes, at most `limit` of them, or `undefined` if it
 * vanished since it was looked at.
 * @throws StorageError `OBJECT_UNREADABLE` for anything but a regular file, or a file replaced
 *   or grown while being read; `OBJECT_TOO_LARGE` over `limit` (nothing beyond is read)
 * @throws the raw filesystem error for anything else (callers map it)
 */
export async function readEntry(
  path: string,
  entry: FolderEntry,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (entry.kind === 'missing' || entry.kind === 'folder') return undefined;
  if (entry.kind === 'other') throw objectUnreadable(path, `is ${entry.what}, not a regular file`);
  if (entry.stats.size > limit) throw objectTooLarge(path, entry.stats.size, limit);
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err)) return undefined;
    if ((err as RawFsError).code === 'ELOOP') throw objectUnreadable(path, 'became a symlink', err);
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.dev !== entry.stats.dev || st.ino !== entry.stats.ino) {
      throw objectUnreadable(path, 'was replaced while being opened');
    }
    if (st.size > limit) throw objectTooLarge(path, st.size, limit);
    return await readAtMost(fh, st.size, limit, path);
  } finally {
    await fh.close();
  }
}

/**
 * Reads the open file to its end into a buffer of `size + 1` bytes (never more than `limit + 1`):
 * the extra byte shows a file that grew after `fstat`, which a write-once store never does.
 */
async function readAtMost(
  fh: FileHandle,
  size: number,
  limit: number,
  path: string,
): Promise<Uint8Array> {
  // Not from Buffer's shared pool: the caller owns the result and may detach its memory.
  const buf = Buffer.allocUnsafeSlow(Math.min(size, limit) + 1);
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (filled === buf.length) {
    if (filled > limit) throw objectTooLarge(path, undefined, limit);
    throw objectUnreadable(path, 'grew while being read');
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, filled);
}

/** `a symlink`, `a FIFO`… for messages. */
function describeType(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

function isMissing(err: unknown): boolean {
  const code = (err as RawFsError | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
