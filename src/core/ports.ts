/**
 * The narrow interfaces the core and the use cases need from the outside world. Adapters (folder,
 * memory, S3, local key, KMS) implement them; nothing in `src/core` implements I/O itself.
 *
 * Keys are `/`-separated relative names such as `prod/seg/00000000000000000042.seg`. They never
 * start with `/`, never contain `..`, `//`, `\` or control characters.
 */

/** Outcome of a successful {@link ObjectStore.putIfAbsent}. */
export type PutResult = {
  /** `created`: this call wrote the object. `identical`: it already held exactly these bytes. */
  readonly status: 'created' | 'identical';
  /** Store-specific version identifier (S3 version id), when the store has versions. */
  readonly versionId?: string | undefined;
};

/** What a writer tells the store about the object it puts. */
export type PutOptions = {
  /**
   * Seal time (ms) of the segment. Stores with retention (S3 Object Lock) retain the object until
   * this time plus their configured period; others ignore it.
   */
  readonly sealedAt?: number;
};

/** Bounds on one read of stored bytes. */
export type ReadOptions = {
  /**
   * Largest object (bytes) the caller will accept. A store MUST NOT read or buffer more than
   * `maxBytes + 1` bytes of a larger object; it throws StorageError `OBJECT_TOO_LARGE`
   * (`retryable: false`) instead. Callers reading segments pass `MAX_SEGMENT_BYTES`.
   */
  readonly maxBytes?: number;
};

/** One listed object. */
export type ObjectInfo = {
  readonly key: string;
  readonly size: number;
};

/**
 * A write-once object store.
 *
 * Contract (every implementation MUST pass `test/adapters/store-contract.ts`):
 * - `putIfAbsent` MUST be atomic: of two concurrent puts of different bytes to one key, exactly
 *   one succeeds and the other throws `StorageError` code `OBJECT_EXISTS` (`retryable: false`).
 * - A put of bytes identical to what the key already holds MUST resolve `{ status: 'identical' }`,
 *   so a retry after a lost response is safe and still write-once.
 * - A resolved put MUST be durable: readable after a crash of this process or host.
 * - A put MUST NOT keep a reference to `bytes` once it has settled (copy them if they are kept):
 *   the archiver builds each segment in the buffer of the one before.
 * - Nothing MUST ever overwrite, truncate or delete an object through this interface.
 * - A key that ever held an object MUST count as taken (by `putIfAbsent` and `exists`) even if
 *   it was since hidden (an S3 delete marker): writing there would shadow the original.
 * - `list` MUST yield every object under `prefix` exactly once, in ascending order of the UTF-8
 *   bytes of the key, paging internally; it MAY run concurrently with puts.
 * - Transient failures throw `StorageError` with `retryable: true`; implementations SHOULD retry
 *   them internally (with backoff) before giving up.
 */
export interface ObjectStore {
  /** Human-readable location, e.g. `/var/audit` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Creates `key` holding `bytes` unless it exists.
   * @throws StorageError `OBJECT_EXISTS` if the key holds different bytes.
   */
  putIfAbsent(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /**
   * The object's bytes, or `undefined` if there is no such key. The caller owns the returned
   * bytes (a copy or a fresh buffer, never a view of the store's own memory): readers may detach
   * them to free memory early. Only regular objects count: a folder store MUST NOT follow
   * symbolic links and MUST refuse anything that is not a regular file (StorageError
   * `OBJECT_UNREADABLE`, `retryable: false`).
   * @throws StorageError `OBJECT_TOO_LARGE` when the object exceeds `options.maxBytes`.
   */
  get(key: string, options?: ReadOptions): Promise<Uint8Array | undefined>;
  /** Whether `key` exists (one cheap request; used to find the head in O(log n) probes). */
  exists(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, ascending. `startAfter` skips keys `<=` it. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
  /**
   * Optional: the distinct first path segments of all keys, ascending, each once, cheaply (S3:
   * one request per 1,000 names). Stores without it are listed in full instead.
   */
  listTopFolders?(): AsyncIterable<string>;
}

/**
 * Signs checkpoints. Only ECDSA P-256 with SHA-256 (C2SP signed-note signature type 0x02) for now.
 *
 * Contract: `sign(message)` MUST return an ASN.1 DER `ECDSA-Sig-Value` over SHA-256(message) made
 * with the private key matching `publicKey()`. It MUST NOT pre-hash differently or return IEEE
 * P1363 (r||s). Transient failures throw `StorageError` with `retryable: true`.
 */
export interface Signer {
  /** Short description for messages, e.g. `local key ./keys/signing-key.pem` or a KMS key ARN. */
  readonly description: string;
  /** DER SubjectPublicKeyInfo of the P-256 public key. Implementations cache it. */
  publicKey(): Promise<Uint8Array>;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * Tells people about findings (SNS in production). Contract: `publish` resolves once the message
 * is accepted for delivery; transient failures throw `StorageError` with `retryable: true`.
 */
export interface Notifier {
  readonly description: string;
  /** `subject` is one line of at most 100 printable ASCII characters. */
  publish(message: { readonly subject: string; readonly body: string }): Promise<void>;
}

/** Milliseconds since the Unix epoch. Injected so the core never reads a clock. */
export interface Clock {
  now(): number;
}

/** One version or delete marker of a key in a versioned store (S3). */
export type ObjectVersion = {
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly isDeleteMarker: boolean;
  readonly size: number;
  readonly lastModified: Date | undefined;
};

/** Lock and integrity metadata of one version. */
export type VersionMetadata = {
  /** `COMPLIANCE`, `GOVERNANCE`, or `undefined` without retention. */
  readonly lockMode: string | undefined;
  readonly retainUntil: Date | undefined;
  readonly legalHold: boolean;
  /** Base64 SHA-256 the store keeps for the version, if any. */
  readonly checksumSha256: string | undefined;
  readonly replicationStatus: string | undefined;
};

/**
 * A store that keeps every version of a key (S3 with versioning). Write-once through
 * {@link ObjectStore} cannot stop someone with other permissions adding a version on top or a
 * delete marker; these calls let the verifier see and report both.
 *
 * Contract: `listVersions` MUST yield every version and delete marker under `prefix`, keys in
 * ascending UTF-8 byte order, all entries of one key together.
 */
export interface VersionedObjectStore extends ObjectStore {
  /** `startAfter` skips every entry of keys `<=` it. */
  listVersions(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectVersion>;
  /** As {@link ObjectStore.get}, for one version. */
  getVersion(
    key: string,
    versionId: string,
    options?: ReadOptions,
  ): Promise<Uint8Array | undefined>;
  describeVersion(key: string, versionId: string): Promise<VersionMetadata | undefined>;
}

/** Whether `store` exposes versions. */
export function isVersionedStore(store: ObjectStore): store is VersionedObjectStore {
  const s = store as Partial<VersionedObjectStore>;
  return (
    typeof s.listVersions === 'function' &&
    typeof s.getVersion === 'function' &&
    typeof s.describeVersion === 'function'
  );
}
