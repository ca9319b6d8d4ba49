/**
 * Subjects' keys for sealing and reading (docs/FORMAT.md §11.4): the deployment's pseudonym key
 * and each subject's current data key, kept wrapped in a {@link KeyStore} and unwrapped by a
 * {@link KeyWrapper}. Unwrapped keys are cached in memory for `cacheMs` (default 60 s), so one
 * ingest does not ask KMS per event; a key erased meanwhile in another process is seen after
 * that time at the latest (a writer that still seals under it makes those fields unreadable,
 * never readable).
 */
import { randomBytes } from 'node:crypto';
import { StorageError } from '../core/errors.js';
import {
  type KeyStore,
  type KeyWrapper,
  PSEUDONYM_KEY_NAME,
  type WrappedKey,
} from '../core/key-store.js';
import { type DataKey, pseudonymOf, withSecret } from '../core/sealed.js';

export type SubjectKeysOptions = {
  readonly store: KeyStore;
  readonly wrapper: KeyWrapper;
  /** How long an unwrapped key (or "no key") is reused; default 60,000 ms. */
  readonly cacheMs?: number;
  /** Milliseconds now (tests); default Date.now. */
  readonly now?: () => number;
};

type Cached = { readonly key: DataKey | undefined; readonly at: number };

/** A new key id: unpadded base64url of 16 random bytes (FORMAT.md §11.1). */
export function newKeyId(): string {
  return randomBytes(16).toString('base64url');
}

export class SubjectKeys {
  readonly #store: KeyStore;
  readonly #wrapper: KeyWrapper;
  readonly #pseudonymKey: Uint8Array;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  readonly #pseudonyms = new Map<string, string>();

  private constructor(options: SubjectKeysOptions, pseudonymKey: Uint8Array) {
    this.#store = options.store;
    this.#wrapper = options.wrapper;
    this.#pseudonymKey = pseudonymKey;
    this.#cacheMs = options.cacheMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Loads the pseudonym key; with `create`, makes one if the store has none (keys-init, ingest).
   * @throws StorageError `KEY_STORE_UNAVAILABLE`, `KEY_UNWRAP_FAILED`; `PSEUDONYM_KEY_MISSING`
   *   (not retryable) without `create` when the store has no pseudonym key
   */
  static async open(options: SubjectKeysOptions & { create?: boolean }): Promise<SubjectKeys> {
    let stored = await options.store.get(PSEUDONYM_KEY_NAME);
    if (!stored) {
      if (!options.create)
        throw new StorageError(
          'PSEUDONYM_KEY_MISSING',
          `key store ${options.store.location} has no pseudonym key (not initialised: keys-init)`,
          { retryable: false },
        );
      stored = await createKey(options.store, options.wrapper, PSEUDONYM_KEY_NAME);
    }
    const key = await options.wrapper.unwrap(stored.wrapped, {
      name: PSEUDONYM_KEY_NAME,
      keyId: stored.keyId,
    });
    return new SubjectKeys(options, key);
  }

  get pseudonymKey(): Uint8Array {
    return this.#pseudonymKey;
  }

  get location(): string {
    return this.#store.location;
  }

  /**
   * The subject's pseudonym (HMAC-SHA-256), remembered for the next 10,000 distinct ids.
   * @throws InputError `SUBJECT_INVALID`
   */
  pseudonymOf(subjectId: string): string {
    let u = this.#pseudonyms.get(subjectId);
    if (u === undefined) {
      u = pseudonymOf(this.#pseudonymKey, subjectId);
      if (this.#pseudonyms.size >= 10_000) this.#pseudonyms.clear();
      this.#pseudonyms.set(subjectId, u);
    }
    return u;
  }

  /**
   * The subject's current data key, created when it has none: what a writer seals under.
   * @throws StorageError from the store or the wrapper
   */
  async sealingKey(pseudonym: string): Promise<DataKey> {
    const known = await this.readingKey(pseudonym);
    if (known) return known;
    const stored = await createKey(this.#store, this.#wrapper, pseudonym);
    return this.#remember(pseudonym, await this.#unwrap(pseudonym, stored));
  }

  /**
   * The subject's current data key, or undefined when it has none (erased or never created).
   * @throws StorageError from the store or the wrapper
   */
  async readingKey(pseudonym: string): Promise<DataKey | undefined> {
    const cached = this.#cache.get(pseudonym);
    if (cached && this.#now() - cached.at < this.#cacheMs) return cached.key;
    const stored = await this.#store.get(pseudonym);
    return this.#remember(pseudonym, stored ? await this.#unwrap(pseudonym, stored) : undefined);
  }

  /**
   * Destroys the subject's current data key; its id, or undefined when it had none.
   * @throws StorageError from the store
   */
  async erase(pseudonym: string): Promise<string | undefined> {
    this.#cache.delete(pseudonym);
    const stored = await this.#store.get(pseudonym);
    if (!stored) return undefined;
    return (await this.#store.destroy(pseudonym, stored.keyId)) ? stored.keyId : undefined;
  }

  async #unwrap(name: string, stored: WrappedKey): Promise<DataKey> {
    const key = await this.#wrapper.unwrap(stored.wrapped, { name, keyId: stored.keyId });
    return withSecret(stored.keyId, key);
  }

  #remember<K extends DataKey | undefined>(pseudonym: string, key: K): K {
    this.#cache.set(pseudonym, { key, at: this.#now() });
    return key;
  }
}

async function createKey(store: KeyStore, wrapper: KeyWrapper, name: string): Promise<WrappedKey> {
  const keyId = newKeyId();
  const { wrapped } = await wrapper.generate({ name, keyId });
  return store.createIfAbsent(name, { keyId, wrapped });
}
