/**
 * {@link KeyStore} in a local folder: the embedded default (docs/PRIVACY.md). Deliberately
 * mutable, unlike the folder object store: erasure must destroy keys.
 *
 * Layout: `<dir>/<name>.key` per key, holding the canonical JSON `{"keyId","v":1,"wrapped"}`
 * (`wrapped` in base64); `<dir>/.tmp/` for files being written. A key is created by writing and
 * syncing a temp file, then hard-linking it to its name (atomic, fails if the name exists), so a
 * reader never sees a partial key and two writers cannot both create one. Destroying a key
 * overwrites its file with zeros, syncs, unlinks it and syncs the folder. On copy-on-write or
 * flash media the overwrite may not reach the old blocks: what erasure relies on is that the
 * wrapped key is useless without the key-encryption key, and backups expire (PRIVACY.md).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalize } from '../core/canonical-json.js';
import { fromBase64, toBase64 } from '../core/encoding.js';
import { StorageError } from '../core/errors.js';
import { KEY_NAME, type KeyStore, type WrappedKey } from '../core/key-store.js';
import { KEY_ID } from '../core/sealed-entry.js';
import { syncDirectory } from './fsync.js';

export type KeyStoreErrorCode = 'KEY_STORE_UNAVAILABLE' | 'KEY_STORE_INVALID' | 'KEY_NAME_INVALID';

export class FolderKeyStore implements KeyStore {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Opens an existing key store folder (never creates one: a mistyped path must not silently
   * start an empty store, which would seal under new keys and show every old field as erased).
   * @throws StorageError `KEY_STORE_UNAVAILABLE` when `dir` is not a folder
   */
  static async open(dir: string): Promise<FolderKeyStore> {
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    } catch (cause) {
      throw unavailable(`key store ${dir} is not a folder (create it with keys-init)`, cause);
    }
    await mkdir(join(dir, '.tmp'), { recursive: true }).catch((cause) => {
      throw unavailable(`key store ${dir}: cannot create its .tmp folder`, cause);
    });
    return new FolderKeyStore(dir);
  }

  /** Creates the folder (mode 0700) if needed, then opens it. */
  static async create(dir: string): Promise<FolderKeyStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return FolderKeyStore.open(dir);
  }

  get location(): string {
    return this.#dir;
  }

  async get(name: string): Promise<WrappedKey | undefined> {
    const path = this.#path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unavailable(`cannot read key ${path}`, cause);
    }
    return parseKeyFile(text, path);
  }

  async createIfAbsent(name: string, key: WrappedKey): Promise<WrappedKey> {
    const path = this.#path(name);
    const temp = join(this.#dir, '.tmp', `${name}-${randomBytes(12).toString('hex')}`);
    const body = canonicalize({ keyId: key.keyId, v: 1, wrapped: toBase64(key.wrapped) });
    try {
      const fh = await open(temp, 'wx', 0o600);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(temp, path);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
        const existing = await this.get(name);
        if (existing) return existing;
        throw cause; // destroyed between the link and the read: the caller retries
      }
      await syncDirectory(this.#dir);
      return key;
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw unavailable(`cannot store key ${path}`, cause);
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  async destroy(name: string, keyId: string): Promise<boolean> {
    const path = this.#path(name);
    const existing = await this.get(name);
    if (!existing || existing.keyId !== keyId) return false;
    try {
      const fh = await open(path, 'r+');
      try {
        const { size } = await fh.stat();
        await fh.write(new Uint8Array(size), 0, size, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(path);
      await syncDirectory(this.#dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw unavailable(`cannot destroy key ${path}`, cause);
    }
    return true;
  }

  #path(name: string): string {
    if (!KEY_NAME.test(name))
      throw new StorageError<KeyStoreErrorCode>(
        'KEY_NAME_INVALID',
        `expected a key name "pseudonym" or 64 hex digits, got ${JSON.stringify(name.slice(0, 80))}`,
        { retryable: false },
      );
    return join(this.#dir, `${name}.key`);
  }
}

/** Parses a key file's text. @throws StorageError `KEY_STORE_INVALID` */
export function parseKeyFile(text: string, where: string): WrappedKey {
  try {
    const value = JSON.parse(text) as { keyId?: unknown; v?: unknown; wrapped?: unknown };
    if (value.v !== 1 || typeof value.keyId !== 'string' || !KEY_ID.test(value.keyId))
      throw new Error('expected {"keyId","v":1,"wrapped"}');
    if (typeof value.wrapped !== 'string') throw new Error('expected base64 wrapped');
    return { keyId: value.keyId, wrapped: fromBase64(value.wrapped) };
  } catch (cause) {
    throw new StorageError<KeyStoreErrorCode>(
      'KEY_STORE_INVALID',
      `key ${where} is not a key file: ${cause instanceof Error ? cause.message : String(cause)}`,
      { retryable: false, cause },
    );
  }
}

function unavailable(message: string, cause: unknown): StorageError<KeyStoreErrorCode> {
  return new StorageError<KeyStoreErrorCode>('KEY_STORE_UNAVAILABLE', message, {
    retryable: true,
    cause,
  });
}
