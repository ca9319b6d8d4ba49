/**
 * {@link KeyWrapper} with a local 32-byte key-encryption key in a file (the embedded default;
 * docs/FORMAT.md §11.4): AES-256-GCM, a random 12-byte nonce, associated data
 * `auditlock-key-v1\0<name>\0<keyId>`, stored as `nonce ‖ ciphertext ‖ tag`.
 *
 * The key file holds the key as one line of base64 and is created with mode 0600. Keep it apart
 * from the key store folder (another disk, a secrets manager): whoever has both has every key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { fromBase64, toBase64, utf8 } from '../core/encoding.js';
import { ConfigurationError, StorageError } from '../core/errors.js';
import type { KeyWrapper, WrapContext } from '../core/key-store.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export type LocalWrapErrorCode = 'WRAP_KEY_INVALID' | 'WRAP_KEY_EXISTS' | 'KEY_UNWRAP_FAILED';

function aadOf(context: WrapContext): Uint8Array {
  return utf8(`auditlock-key-v1\0${context.name}\0${context.keyId}`);
}

export class LocalKeyWrapper implements KeyWrapper {
  readonly #key: Uint8Array;
  readonly description: string;

  constructor(key: Uint8Array, description = 'local key') {
    if (key.length !== KEY_BYTES)
      throw new ConfigurationError<LocalWrapErrorCode>(
        'WRAP_KEY_INVALID',
        `expected a ${KEY_BYTES}-byte wrapping key, got ${key.length} bytes`,
      );
    this.#key = key.slice();
    this.description = description;
  }

  /**
   * Reads a key file written by {@link LocalKeyWrapper.createFile}.
   * @throws ConfigurationError `WRAP_KEY_INVALID` (missing, unreadable, not 32 bytes of base64)
   */
  static async fromFile(path: string): Promise<LocalKeyWrapper> {
    let key: Uint8Array;
    try {
      key = fromBase64((await readFile(path, 'utf8')).trim());
    } catch (cause) {
      throw new ConfigurationError<LocalWrapErrorCode>(
        'WRAP_KEY_INVALID',
        `cannot read the wrapping key ${path} (one line of base64, 32 bytes; keys-init writes one)`,
        { cause },
      );
    }
    return new LocalKeyWrapper(key, `local:${path}`);
  }

  /**
   * Writes a new random key file (mode 0600); never overwrites one.
   * @throws ConfigurationError `WRAP_KEY_EXISTS`
   */
  static async createFile(path: string): Promise<LocalKeyWrapper> {
    const key = new Uint8Array(randomBytes(KEY_BYTES));
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (cause) {
      throw new ConfigurationError<LocalWrapErrorCode>(
        'WRAP_KEY_EXISTS',
        `cannot create ${path} (it exists, or its folder does not)`,
        { cause },
      );
    }
    try {
      await fh.writeFile(`${toBase64(key)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return new LocalKeyWrapper(key, `local:${path}`);
  }

  async generate(context: WrapContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const plaintext = new Uint8Array(randomBytes(KEY_BYTES));
    return { plaintext, wrapped: this.wrap(plaintext, context) };
  }

  /** Wraps `plaintext` (generate uses it; tests use it for known answers). */
  wrap(plaintext: Uint8Array, context: WrapContext, nonce = randomBytes(NONCE_BYTES)): Uint8Array {
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aadOf(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
  }

  async unwrap(wrapped: Uint8Array, context: WrapContext): Promise<Uint8Array> {
    try {
      if (wrapped.length !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) throw new Error('length');
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.#key,
        wrapped.subarray(0, NONCE_BYTES),
        { authTagLength: TAG_BYTES },
      );
      decipher.setAAD(aadOf(context));
      decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(wrapped.subarray(NONCE_BYTES, wrapped.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return new Uint8Array(plain);
    } catch (cause) {
      throw new StorageError<LocalWrapErrorCode>(
        'KEY_UNWRAP_FAILED',
        `key ${context.name} (${context.keyId}) was not wrapped by ${this.description} for this name`,
        { retryable: false, cause },
      );
    }
  }
}
