/**
 * A write-once {@link ObjectStore} on a local filesystem: one file per key under a root folder.
 *
 * A put writes the bytes to a fresh temp file in `<root>/.tmp/`, fsyncs it, then publishes it with
 * `link(temp, final)`, which creates `final` atomically or fails with `EEXIST` and never replaces
 * an existing file. So a final file is always complete, two writers (threads, processes, hosts on
 * one POSIX filesystem) cannot both create a key, and a killed writer leaves at worst a stray temp
 * file, which the next {@link FolderStore.openForWriting} removes (`folder-temp.ts`). The final's
 * directory is fsynced before a put resolves. Files are created read-only (0o444, less the umask)
 * as a guard against accidents, not as a security boundary: the signed hash chain is what makes
 * tampering evident.
 *
 * Reads trust nothing on disk (`folder-read.ts`): symlinks (to files or folders), FIFOs, sockets
 * and devices at a key are never followed or opened (`OBJECT_UNREADABLE`), only regular files
 * are read and never more than the caller's `maxBytes` (`OBJECT_TOO_LARGE`). `list` yields such
 * entries (with their `lstat` size) rather than hiding them, so a verifier can report them, and
 * never descends into a symlinked folder. A folder at a key is no object, as on S3.
 *
 * Limits: a key cannot be both an object and a "folder" of other keys (`a` and `a/b`), which S3
 * allows: such a put fails with `KEY_CONFLICT`. The first segment `.tmp` is reserved. On a
 * case-insensitive filesystem keys differing only in case collide. The filesystem MUST support
 * hard links (ext4, xfs, btrfs, APFS, NFS do; FAT and some FUSE mounts do not).
 */
import type { Dirent } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuditlockError,
  ConfigurationError,
  hasCode,
  InputError,
  StorageError,
} from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type {
  Clock,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
  ReadOptions,
} from '../core/ports.js';
import {
  conflict,
  errno,
  isMissing,
  mapFsError,
  notDirectoryAbove,
  objectExists,
  unwritable,
} from './folder-errors.js';
import { type FolderEntry, inspectEntry, readEntry } from './folder-read.js';
import { removeAbandonedTempFiles, TEMP_GRACE_MS, tempFileName } from './folder-temp.js';
import { syncDirectory } from './fsync.js';
import { assertListPrefix, assertObjectKey, compareKeys } from './memory-store.js';
import { readLimitOf } from './read-limit.js';

export { type FolderStoreErrorCode, mapFsError } from './folder-errors.js';

/** Name of the temp folder inside the root; `list` skips it and keys may not start with it. */
export const TEMP_DIR = '.tmp';

const RETRY_DELAYS_MS = [10, 50, 250];

/** Construction options of {@link FolderStore}. */
export type FolderStoreOptions = {
  /** Source of "now" for the age of temp-file leftovers; default: the system clock. */
  readonly clock?: Clock;
  /** Age after which any temp-file leftover counts as abandoned (default 1 hour). */
  readonly tempGraceMs?: number;
};

/** A write-once object store rooted at a local folder. */
export class FolderStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;
  readonly #tempDir: string;
  readonly #clock: Clock;
  readonly #tempGraceMs: number;
  /** Folders known to exist with their entry fsynced in the parent, so mkdir runs once each. */
  readonly #knownDirs = new Set<string>();
  /** The passed {@link openForWriting}, once; a failed one runs again on the next write. */
  #opened: Promise<void> | undefined;

  /**
   * `root` is created (with parents) by {@link openForWriting} or the first put if missing; reads
   * require it to exist.
   */
  constructor(root: string, options: FolderStoreOptions = {}) {
    this.#root = resolve(root);
    this.#tempDir = join(this.#root, TEMP_DIR);
    this.location = this.#root;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#tempGraceMs = options.tempGraceMs ?? TEMP_GRACE_MS;
  }

  /**
   * Makes the store ready to write, once per instance (the first put calls it too): creates the
   * root folder and missing parents, checks that it is a writable folder, creates the temp area
   * and removes temp files that killed writers left there (see `folder-temp.ts`). Never touches
   * an object.
   * @throws ConfigurationError `STORE_NOT_A_FOLDER` (the path, or a folder above it, is a file),
   *   `STORE_UNWRITABLE` (the folder cannot be created or written: a read-only parent, folder or
   *   filesystem); StorageError `STORE_IO`, `STORE_FULL`, `STORE_UNAVAILABLE`
   */
  openForWriting(): Promise<void> {
    if (this.#opened === undefined) {
      const opening = this.#open();
      this.#opened = opening;
      opening.catch(() => {
        if (this.#opened === opening) this.#opened = undefined;
      });
    }
    return this.#opened;
  }

  /**
   * Creates `key` holding `bytes` unless it exists; durable once resolved.
   * @throws InputError `KEY_INVALID` (also for keys under `.tmp/` or too long for the filesystem).
   * @throws StorageError `OBJECT_EXISTS` if the key holds different bytes; `KEY_CONFLICT` if the key
   *   or one of its parent segments is a folder/file of the other kind; `STORE_FULL`, `STORE_IO`
   *   (not retryable); `STORE_UNAVAILABLE` (retryable, after internal retries).
   * @throws ConfigurationError `STORE_ACCESS_DENIED`, `STORE_NOT_A_FOLDER`, `STORE_UNSUPPORTED`.
   */
  async putIfAbsent(key: string, bytes: Uint8Array, _options?: PutOptions): Promise<PutResult> {
    const path = this.#pathOf(key);
    return withRetry(() => this.#put(key, path, bytes));
  }

  /**
   * The object's bytes, or `undefined` if there is no such key (or the key names a folder). Only
   * a regular file is read, and at most `options.maxBytes` of it.
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_TOO_LARGE` over `maxBytes` (default 2 GiB - 1; nothing is
   *   read); `OBJECT_UNREADABLE` for a symlink, FIFO, socket or device at the key or a symlinked
   *   folder above it (none is followed or opened); all not retryable
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_A_FOLDER`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO` (not retryable), `STORE_UNAVAILABLE` (retryable).
   * @throws RangeError for a `maxBytes` that is not a non-negative safe integer
   */
  async get(key: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const limit = readLimitOf(options);
    const path = this.#pathOf(key);
    return withRetry(async () => {
      await this.#checkRoot(false);
      const entry = await this.#inspect(key);
      return readEntry(path, entry, limit).catch((err: unknown) => {
        throw mapFsError(err, 'read', path, key);
      });
    });
  }

  /**
   * Whether `key` is taken: a file is there, or something else that is not a folder (a symlink,
   * a FIFO: never read, but a put there must fail).
   * @throws InputError `KEY_INVALID`
   * @throws StorageError `OBJECT_UNREADABLE` (not retryable) if a folder above the key is a symlink
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_A_FOLDER`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO` (not retryable), `STORE_UNAVAILABLE` (retryable).
   */
  async exists(key: string): Promise<boolean> {
    this.#pathOf(key);
    return withRetry(async () => {
      await this.#checkRoot(false);
      const { kind } = await this.#inspect(key);
      return kind === 'file' || kind === 'other';
    });
  }

  /**
   * Walks folders depth-first, each folder's entries sorted so that the yielded keys ascend in
   * UTF-8 byte order, reading one folder at a time. Yields every entry that is not a folder
   * (regular files with their size; symlinks, to files or folders, FIFOs and the like with their
   * `lstat` size, so a verifier sees them and `get` refuses them); never descends into a
   * symlinked folder. Skips `.tmp` and entries whose names are not valid key segments; subtrees
   * entirely `<= startAfter` are not read.
   * @throws InputError `KEY_INVALID` for a prefix no valid key can start with.
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_A_FOLDER`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO`, `STORE_UNAVAILABLE`.
   */
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    await this.#checkRoot(false);
    if (prefix.startsWith(`${TEMP_DIR}/`)) return; // the temp area holds no objects
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut);
    // readdir follows symlinks: a prefix through a symlinked folder (listed itself, as an entry)
    // lists nothing rather than the folder it points at.
    if (dirKey !== '' && !(await this.#isRealFolder(dirKey.slice(0, -1)))) return;
    yield* this.#walk(dirKey, prefix.slice(cut), options?.startAfter);
  }

  /**
   * The folders at the store's root (log names), ascending, without listing their contents: what
   * an incremental verification needs to find the logs (the S3 store lists common prefixes).
   * Symlinked folders and names that are not key segments are skipped, like everything `list`
   * skips.
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_A_FOLDER`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO`, `STORE_UNAVAILABLE`.
   */
  async *listTopFolders(): AsyncIterable<string> {
    await this.#checkRoot(false);
    let dirents: Dirent[];
    try {
      dirents = await readdir(this.#root, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw mapFsError(err, 'readdir', this.#root);
    }
    const names = dirents
      .filter((d) => d.isDirectory() && d.name !== TEMP_DIR && isKeySegment(d.name))
      .map((d) => d.name)
      .sort(compareKeys);
    yield* names;
  }

  #pathOf(key: string): string {
    const segments = assertObjectKey(key);
    if (segments[0] === TEMP_DIR) {
      const location = JSON.stringify(key);
      throw new InputError('KEY_INVALID', `key ${location} is in the reserved ${TEMP_DIR}/`, {
        location,
      });
    }
    return join(this.#root, ...segments);
  }

  async #open(): Promise<void> {
    await this.#checkRoot(true);
    try {
      await access(this.#root, fsConstants.W_OK | fsConstants.X_OK);
      await this.#ensureDir(this.#tempDir);
    } catch (err) {
      throw unwritable(err, `the store folder ${this.#root} is not writable`, this.#root);
    }
    await removeAbandonedTempFiles(this.#tempDir, this.#clock.now(), this.#tempGraceMs);
  }

  /** Whether `key` names a folder reached without any symlink. */
  async #isRealFolder(key: string): Promise<boolean> {
    try {
      return (await this.#inspect(key)).kind === 'folder';
    } catch (err) {
      if (hasCode(err, 'OBJECT_UNREADABLE')) return false;
      throw err;
    }
  }

  /** What `key` names on disk. @throws StorageError `OBJECT_UNREADABLE` under a symlinked folder. */
  async #inspect(key: string): Promise<FolderEntry> {
    return inspectEntry(this.#root, assertObjectKey(key)).catch((err: unknown) => {
      throw mapFsError(err, 'lstat', join(this.#root, key), key);
    });
  }

  async #put(key: string, path: string, bytes: Uint8Array): Promise<PutResult> {
    await this.openForWriting();
    // Cheap early answer for retries and duplicates: no temp file when the key already exists.
    const early = await this.#settleExisting(key, path, bytes);
    if (early !== undefined) return early;

    const dir = dirname(path);
    await this.#ensureDir(dir);
    await this.#ensureDir(this.#tempDir);
    const temp = join(this.#tempDir, tempFileName());
    let created = false;
    try {
      await writeDurably(temp, bytes);
      try {
        await link(temp, path); // atomic create-or-EEXIST; never replaces `path`
        created = true;
      } catch (err) {
        if (errno(err) === 'EPERM' || errno(err) === 'ENOTSUP' || errno(err) === 'EOPNOTSUPP') {
          throw new ConfigurationError('STORE_UNSUPPORTED', `cannot hard-link in ${this.#root}`, {
            cause: err,
          });
        }
        if (errno(err) === 'ENOENT') {
          // Our temp file vanished (another process took it for a leftover): retry afresh.
          throw new StorageError('STORE_UNAVAILABLE', `${temp} vanished before it was linked`, {
            retryable: true,
            cause: err,
          });
        }
        if (errno(err) !== 'EEXIST') throw mapFsError(err, 'link', path, key);
      }
    } finally {
      await unlink(temp).catch(() => undefined); // best effort: a leftover is harmless
    }
    if (!created) {
      const settled = await this.#settleExisting(key, path, bytes);
      if (settled === undefined) throw conflict(key, path); // EEXIST, yet nothing there now
      return settled;
    }
    await fsyncDir(dir);
    return { status: 'created' };
  }

  /**
   * `undefined` if `key` is free; `identical` if it holds `bytes` (reading at most that many);
   * else throws.
   * @throws StorageError `OBJECT_EXISTS` (other bytes), `KEY_CONFLICT` (a folder is there),
   *   `OBJECT_UNREADABLE` (a symlink, FIFO… is there, or a symlinked folder above)
   */
  async #settleExisting(
    key: string,
    path: string,
    bytes: Uint8Array,
  ): Promise<PutResult | undefined> {
    const entry = await this.#inspect(key);
    if (entry.kind === 'folder') throw conflict(key, path);
    let existing: Uint8Array | undefined;
    try {
      existing = await readEntry(path, entry, bytes.length);
    } catch (err) {
      // Larger than `bytes`: certainly other bytes, and not worth reading.
      if (hasCode(err, 'OBJECT_TOO_LARGE')) throw objectExists(path, err);
      throw mapFsError(err, 'read', path, key);
    }
    if (existing === undefined) return undefined;
    if (!bytesEqual(existing, bytes)) throw objectExists(path);
    // The writer that created it may have died before fsyncing the folder; make our answer durable.
    await fsyncDir(dirname(path));
    return { status: 'identical' };
  }

  /** Verifies the root is a folder; with `create`, makes it (and parents) if missing. */
  async #checkRoot(create: boolean): Promise<void> {
    if (this.#knownDirs.has(this.#root)) return;
    try {
      if (!(await stat(this.#root)).isDirectory()) {
        throw new ConfigurationError(
          'STORE_NOT_A_FOLDER',
          `${this.#root} is a file, not a folder: name a folder for the store`,
        );
      }
      this.#knownDirs.add(this.#root);
    } catch (err) {
      if (err instanceof AuditlockError) throw err;
      if (errno(err) === 'ENOTDIR') throw notDirectoryAbove(this.#root, err);
      if (errno(err) !== 'ENOENT') throw mapFsError(err, 'stat', this.#root);
      if (!create) {
        throw new ConfigurationError('STORE_NOT_FOUND', `${this.#root} does not exist`, {
          cause: err,
        });
      }
      await mkdir(this.#root, { recursive: true }).catch((e: unknown) => {
        if (errno(e) === 'ENOTDIR' || errno(e) === 'EEXIST') throw notDirectoryAbove(this.#root, e);
        throw unwritable(e, `cannot create the store folder ${this.#root}`, this.#root);
      });
      await fsyncDir(dirname(this.#root)).catch(() => undefined);
      this.#knownDirs.add(this.#root);
    }
  }

  /** Creates `dir` and missing parents below the root, fsyncing each new entry's parent. */
  async #ensureDir(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    const parent = dirname(dir);
    await this.#ensureDir(parent);
    try {
      await mkdir(dir);
    } catch (err) {
      if (errno(err) === 'ENOTDIR') throw conflict(dir.slice(this.#root.length + 1), dir);
      if (errno(err) !== 'EEXIST') throw mapFsError(err, 'mkdir', dir);
      // lstat: a symlink planted where a folder belongs is not followed out of the store.
      const st = await lstat(dir).catch((e: unknown) => {
        throw mapFsError(e, 'lstat', dir);
      });
      if (!st.isDirectory()) throw conflict(dir.slice(this.#root.length + 1), dir);
    }
    // Also after EEXIST: its creator may not have fsynced the parent yet.
    await fsyncDir(parent);
    this.#knownDirs.add(dir);
  }

  async *#walk(
    dirKey: string,
    namePrefix: string,
    after: string | undefined,
  ): AsyncGenerator<ObjectInfo> {
    const dirPath = join(this.#root, dirKey);
    let dirents: Dirent[];
    try {
      dirents = await readdir(dirPath, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw mapFsError(err, 'readdir', dirPath);
    }
    // A folder `a` sorts as `a/`, so `a-b` (0x2d) and `a.b` (0x2e) come before `a/x` (0x2f). A
    // symlinked folder is not a folder here (Dirent types come from lstat): it sorts as a name.
    const entries = dirents
      .filter((d) => d.name.startsWith(namePrefix) && isKeySegment(d.name))
      .filter((d) => !(dirKey === '' && d.name === TEMP_DIR))
      .map((d) => ({ dirent: d, sortName: d.isDirectory() ? `${d.name}/` : d.name }))
      .sort((a, b) => compareKeys(a.sortName, b.sortName));
    for (const { dirent, sortName } of entries) {
      const key = dirKey + sortName;
      if (dirent.isDirectory()) {
        if (after !== undefined && compareKeys(key, after) < 0 && !after.startsWith(key)) continue;
        yield* this.#walk(key, '', after);
      } else if (after === undefined || compareKeys(key, after) > 0) {
        const info = await this.#fileInfo(key, dirent);
        if (info !== undefined) yield info;
      }
    }
  }

  /** The `lstat` size of a non-folder entry (never following a symlink); `undefined` if gone. */
  async #fileInfo(key: string, _dirent: Dirent): Promise<ObjectInfo | undefined> {
    const path = join(this.#root, key);
    try {
      const st = await lstat(path);
      return st.isDirectory() ? undefined : { key, size: st.size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw mapFsError(err, 'lstat', path);
    }
  }
}

async function withRetry<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (!(err instanceof StorageError && err.retryable) || delay === undefined) throw err;
      await sleep(delay);
    }
  }
}

/** Creates `path` exclusively, writes all of `bytes` and fsyncs before returning. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx', 0o444).catch((err) => {
    throw mapFsError(err, 'create', path);
  });
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (err) {
    throw mapFsError(err, 'write', path);
  } finally {
    await fh.close();
  }
}

/** Makes `dir`'s entries (new files, links, subfolders) durable. */
async function fsyncDir(dir: string): Promise<void> {
  await syncDirectory(dir).catch((err) => {
    throw mapFsError(err, 'fsync', dir);
  });
}

function isKeySegment(name: string): boolean {
  try {
    return assertObjectKey(name).length === 1;
  } catch {
    return false;
  }
}
