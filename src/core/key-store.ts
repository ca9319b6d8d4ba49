/**
 * Ports for sealed fields' keys (docs/FORMAT.md §11.4): a {@link KeyStore} of wrapped keys, and a
 * {@link KeyWrapper} that wraps and unwraps them (a local key file, or AWS KMS).
 *
 * The key store is deliberately mutable and MUST NOT be write-once: erasure destroys keys. It
 * holds only wrapped keys, by name: `pseudonym` for the deployment's pseudonym key, a subject
 * pseudonym (64 hex digits) for that subject's current data key.
 */

/** A wrapped key as stored: its id (FORMAT.md §11.1 `key`) and the wrapper's output. */
export type WrappedKey = { readonly keyId: string; readonly wrapped: Uint8Array };

/** The name of the deployment's pseudonym key in a key store. */
export const PSEUDONYM_KEY_NAME = 'pseudonym';

/** A key name: `pseudonym` or a subject pseudonym. */
export const KEY_NAME = /^(pseudonym|[0-9a-f]{64})$/;

export interface KeyStore {
  /** Where the keys are, for messages (a folder path, a table ARN). */
  readonly location: string;

  /**
   * The key stored under `name`, or undefined when there is none (never created, or destroyed).
   * MUST throw StorageError `KEY_STORE_UNAVAILABLE` when the store cannot answer: "no key" is an
   * answer, and readers show a field as erased on it.
   */
  get(name: string): Promise<WrappedKey | undefined>;

  /**
   * Stores `key` under `name` unless a key is there already; returns the key that is stored
   * afterwards (the given one, or the existing one when another writer won). MUST be atomic
   * against concurrent calls for the same name and durable before it resolves.
   */
  createIfAbsent(name: string, key: WrappedKey): Promise<WrappedKey>;

  /**
   * Destroys the key under `name` if its id is `keyId`: the wrapped bytes are gone from the store
   * when this resolves (overwritten first where the medium allows). Returns whether a key was
   * destroyed. MUST NOT destroy a newer key (another id) created meanwhile.
   */
  destroy(name: string, keyId: string): Promise<boolean>;
}

/** Context a wrapped key is bound to (KMS encryption context, AES-GCM associated data). */
export type WrapContext = { readonly name: string; readonly keyId: string };

export interface KeyWrapper {
  /** Which key-encryption key, for messages (`local:<file>`, a KMS key ARN). */
  readonly description: string;

  /** A new random 32-byte key and its wrapped form, bound to `context`. */
  generate(context: WrapContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }>;

  /**
   * The key `wrapped` holds.
   * @throws StorageError `KEY_UNWRAP_FAILED` (not retryable) when it was not wrapped by this
   *   wrapper for `context`; StorageError (retryable) when the KMS cannot be reached.
   */
  unwrap(wrapped: Uint8Array, context: WrapContext): Promise<Uint8Array>;
}
