/**
 * A write-once {@link ObjectStore} on a local filesystem: one file per key under a root folder.
 *
 * A put writes the bytes to a fresh temp file in `<root>/.tmp/`, fsyncs it, then publishes it with
 * `link(temp, final)`, which creates `final` atomically or fails with `EEXIST` and never replaces
 * an existing file. So a final file is always complete, two writers (threads, processes, hosts on
 * one POSIX filesystem) cannot both create a key, and a killed writer leaves at worst a stray temp
 * file. The final's directory is fsynced before a put resolves. Files are created read-only
 * (0o444, less the umask) as a guard against accidents, not as a security boundary: the signed
 * hash chain is what makes tampering evident.
 *
 * Limits: a key cannot be both an object and a "folder" of other keys (`a` and `a/b`), which S3
 * allows: such a put fails with `KEY_CONFLICT`. The first segment `.tmp` is reserved. On a
 * case-insensitive filesystem keys differing only in case collide. The filesystem MUST support
 * hard links (ext4, xfs, btrfs, APFS, NFS do; FAT and some FUSE mounts do not).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditlockError, ConfigurationError, InputError, StorageError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from '../core/ports.js';
import { syncDirectory } from './fsync.js';
import { assertListPrefix, assertObjectKey, compareKeys } from './memory-store.js';

/** Name of the temp folder inside the root; `list` skips it and keys may not start with it. */
export const TEMP_DIR = '.tmp';

const RETRY_DELAYS_MS = [10, 50, 250];

/** A write-once object store rooted at a local folder. */
export class FolderStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;
  readonly #tempDir: string;
  /** Folders known to exist with their entry fsynced in the parent, so mkdir runs once each. */
  readonly #knownDirs = new Set<string>();

  /** `root` is created (with parents) by the first put if missing; reads require it to exist. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.#tempDir = join(this.#root, TEMP_DIR);
    this.location = this.#root;
  }

  /**
   * Creates `key` holding `bytes` unless it exists; durable once resolved.
   * @throws InputError `KEY_INVALID` (also for keys under `.tmp/` or too long for the filesystem).
   * @throws StorageError `OBJECT_EXISTS` if the key holds different bytes; `KEY_CONFLICT` if the key
   *   or one of its parent segments is a folder/file of the other kind; `STORE_FULL`, `STORE_IO`
   *   (not retryable); `STORE_UNAVAILABLE` (retryable, after internal retries).
   * @throws ConfigurationError `STORE_ACCESS_DENIED`, `STORE_NOT_DIRECTORY`, `STORE_UNSUPPORTED`.
   */
  async putIfAbsent(key: string, bytes: Uint8Array, _options?: PutOptions): Promise<PutResult> {
    const path = this.#pathOf(key);
    return withRetry(() => this.#put(key, path, bytes));
  }

  /**
   * The object's bytes, or `undefined` if there is no such key (or the key names a folder).
   * @throws InputError `KEY_INVALID`
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_DIRECTORY`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO` (not retryable), `STORE_UNAVAILABLE` (retryable).
   */
  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.#pathOf(key);
    return withRetry(async () => {
      await this.#checkRoot(false);
      try {
        return toBytes(await readFile(path));
      } catch (err) {
        if (isMissing(err) || errno(err) === 'EISDIR') return undefined;
        throw mapFsError(err, 'read', path);
      }
    });
  }

  /**
   * Whether `key` names a file.
   * @throws InputError `KEY_INVALID`
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_DIRECTORY`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO` (not retryable), `STORE_UNAVAILABLE` (retryable).
   */
  async exists(key: string): Promise<boolean> {
    const path = this.#pathOf(key);
    return withRetry(async () => {
      await this.#checkRoot(false);
      try {
        return (await stat(path)).isFile();
      } catch (err) {
        if (isMissing(err)) return false;
        throw mapFsError(err, 'stat', path);
      }
    });
  }

  /**
   * Walks folders depth-first, each folder's entries sorted so that the yielded keys ascend in
   * UTF-8 byte order, reading one folder at a time. Skips `.tmp`, symlinked folders and entries
   * whose names are not valid key segments; subtrees entirely `<= startAfter` are not read.
   * @throws InputError `KEY_INVALID` for a prefix no valid key can start with.
   * @throws ConfigurationError `STORE_NOT_FOUND`, `STORE_NOT_DIRECTORY`, `STORE_ACCESS_DENIED`.
   * @throws StorageError `STORE_IO`, `STORE_UNAVAILABLE`.
   */
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    await this.#checkRoot(false);
    if (prefix.startsWith(`${TEMP_DIR}/`)) return; // the temp area holds no objects
    const cut = prefix.lastIndexOf('/') + 1;
    yield* this.#walk(prefix.slice(0, cut), prefix.slice(cut), options?.startAfter);
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

  async #put(key: string, path: string, bytes: Uint8Array): Promise<PutResult> {
    await this.#checkRoot(true);
    // Cheap early answer for retries and duplicates: no temp file when the key already exists.
    const existing = await this.#readExisting(key, path);
    if (existing !== undefined) return this.#settleExisting(path, existing, bytes);

    const dir = dirname(path);
    await this.#ensureDir(dir);
    await this.#ensureDir(this.#tempDir);
    const temp = join(this.#tempDir, `.tmp-${randomBytes(12).toString('hex')}`);
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
        if (errno(err) !== 'EEXIST') throw mapFsError(err, 'link', path, key);
      }
    } finally {
      await unlink(temp).catch(() => undefined); // best effort: a leftover is harmless
    }
    if (!created) {
      const winner = await this.#readExisting(key, path);
      if (winner === undefined) throw conflict(key, path); // EEXIST but not a file: a folder
      return this.#settleExisting(path, winner, bytes);
    }
    await fsyncDir(dir);
    return { status: 'created' };
  }

  /** The bytes at `path`, `undefined` if absent. @throws StorageError `KEY_CONFLICT` if a folder. */
  async #readExisting(key: string, path: string): Promise<Uint8Array | undefined> {
    try {
      return toBytes(await readFile(path));
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      if (errno(err) === 'EISDIR' || errno(err) === 'ENOTDIR') throw conflict(key, path);
      throw mapFsError(err, 'read', path, key);
    }
  }

  async #settleExisting(path: string, existing: Uint8Array, bytes: Uint8Array): Promise<PutResult> {
    if (!bytesEqual(existing, bytes)) {
      throw new StorageError('OBJECT_EXISTS', `${path} already holds other bytes`, {
        retryable: false,
      });
    }
    // The writer that created it may have died before fsyncing the folder; make our answer durable.
    await fsyncDir(dirname(path));
    return { status: 'identical' };
  }

  /** Verifies the root is a folder; with `create`, makes it (and parents) if missing. */
  async #checkRoot(create: boolean): Promise<void> {
    if (this.#knownDirs.has(this.#root)) return;
    try {
      if (!(await stat(this.#root)).isDirectory()) {
        throw new ConfigurationError('STORE_NOT_DIRECTORY', `${this.#root} is not a folder`);
      }
      this.#knownDirs.add(this.#root);
    } catch (err) {
      if (err instanceof AuditlockError) throw err;
      if (errno(err) !== 'ENOENT') throw mapFsError(err, 'stat', this.#root);
      if (!create) {
        throw new ConfigurationError('STORE_NOT_FOUND', `${this.#root} does not exist`, {
          cause: err,
        });
      }
      await mkdir(this.#root, { recursive: true }).catch((e) => {
        throw mapFsError(e, 'mkdir', this.#root);
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
      if (!(await stat(dir)).isDirectory()) throw conflict(dir.slice(this.#root.length + 1), dir);
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
    // A folder `a` sorts as `a/`, so `a-b` (0x2d) and `a.b` (0x2e) come before `a/x` (0x2f).
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

  /** Size of a regular file (or of a symlink's target file); `undefined` for anything else. */
  async #fileInfo(key: string, dirent: Dirent): Promise<ObjectInfo | undefined> {
    if (!dirent.isFile() && !dirent.isSymbolicLink()) return undefined;
    const path = join(this.#root, key);
    try {
      const st = dirent.isFile() ? await lstat(path) : await stat(path);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw mapFsError(err, 'stat', path);
    }
  }
}

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

function conflict(key: string, path: string): StorageError<'KEY_CONFLICT'> {
  return new StorageError(
    'KEY_CONFLICT',
    `${path}: key ${JSON.stringify(key)} collides with a folder or file of the other kind`,
    { retryable: false },
  );
}

function isKeySegment(name: string): boolean {
  try {
    return assertObjectKey(name).length === 1;
  } catch {
    return false;
  }
}

function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isMissing(err: unknown): boolean {
  return errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR';
}

function toBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
