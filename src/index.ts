/**
 * `auditlock`: the library entry point. The core format and verification functions (also
 * available alone as `auditlock/core`), the local stores and signer, and the two use cases a
 * program embeds: the archiver (write) and `verifyStore` (check).
 *
 * Nothing here loads the AWS SDK: the S3 store, the KMS signer and bootstrap are in
 * `auditlock/aws` (src/aws.ts), so a verifier of a folder or evidence bundle does not pay for
 * the SDK's import graph (the Powertools pattern of subpath exports, STYLE.md).
 */

// Stores and signers without AWS.
export { FolderStore } from './adapters/folder-store.js';
export {
  generateKeyPair,
  type KeyPairPem,
  loadPrivateKey,
  loadPublicKey,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  VKEY_FILE,
  type WrittenKeyPair,
  writeKeyPair,
} from './adapters/keys.js';
export { LocalSigner } from './adapters/local-signer.js';
export { MemoryStore } from './adapters/memory-store.js';
export { systemClock } from './adapters/system-clock.js';
// Use cases.
export {
  Archiver,
  type ArchiverOptions,
  type Receipt,
  type StoredInfo,
} from './app/archiver.js';
export { type VerifyStoreOptions, type VerifyStoreResult, verifyStore } from './app/verify.js';
export * from './core/index.js';
