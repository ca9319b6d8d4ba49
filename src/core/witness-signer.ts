/**
 * The witness's signing port: an Ed25519 key (RFC 8032, "pure" Ed25519, no pre-hash), as C2SP
 * tlog-cosignature requires for `cosignature/v1` (signature type 0x04). Adapters: a local key
 * (`src/adapters/ed25519-key.ts`, tests and offline use) and AWS KMS `ECC_NIST_EDWARDS25519`
 * with `ED25519_SHA_512` and `MessageType: RAW` (`src/adapters/kms-ed25519-signer.ts`).
 */

/** Size of a raw Ed25519 public key (RFC 8032 §5.1.5). */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Size of an Ed25519 signature (RFC 8032 §5.1.6). */
export const ED25519_SIGNATURE_SIZE = 64;

/**
 * Signs cosignature messages with an Ed25519 key.
 *
 * Contract:
 * - `publicKey()` MUST return the raw 32-byte Ed25519 public key (not an SPKI) matching the
 *   private key; implementations cache it.
 * - `sign(message)` MUST return the 64-byte RFC 8032 Ed25519 signature of exactly `message`. It
 *   MUST NOT pre-hash (Ed25519ph, KMS `ED25519_PH_SHA_512`): that is a different signature that
 *   no cosignature verifier accepts.
 * - Transient failures throw `StorageError` with `retryable: true`.
 */
export interface Ed25519Signer {
  /** Short description for messages, e.g. `local key ./witness-key.pem` or a KMS key ARN. */
  readonly description: string;
  publicKey(): Promise<Uint8Array>;
  sign(message: Uint8Array): Promise<Uint8Array>;
}
