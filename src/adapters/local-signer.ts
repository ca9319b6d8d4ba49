/**
 * A {@link Signer} backed by a P-256 private key held in this process (from a PEM file or text),
 * for development, tests and single-host deployments. Production deployments SHOULD prefer a
 * signer whose key never leaves a KMS/HSM.
 */
import { type KeyObject, sign } from 'node:crypto';
import { StorageError } from '../core/errors.js';
import type { Signer } from '../core/ports.js';
import { loadPrivateKey, parsePrivateKeyPem, spkiOf } from './keys.js';

/** Signs with a local ECDSA P-256 key: DER `ECDSA-Sig-Value` over SHA-256(message). */
export class LocalSigner implements Signer {
  readonly description: string;
  readonly #key: KeyObject;
  readonly #spki: Uint8Array;

  private constructor(key: KeyObject, description: string) {
    this.#key = key;
    this.#spki = spkiOf(key);
    this.description = description;
  }

  /**
   * Loads the key from a PEM file path or from PEM text (PKCS#8 or SEC 1, unencrypted).
   * @throws ConfigurationError `KEY_NOT_FOUND`, `KEY_MALFORMED`, `KEY_UNSUPPORTED` (not P-256,
   *   or encrypted).
   */
  static async load(pathOrPem: string): Promise<LocalSigner> {
    const { key, source } = await loadPrivateKey(pathOrPem);
    return new LocalSigner(key, `local key ${source}`);
  }

  /**
   * Builds a signer from PEM text already in memory.
   * @throws ConfigurationError `KEY_MALFORMED`, `KEY_UNSUPPORTED`.
   */
  static fromPem(pem: string, description = 'local key (PEM text)'): LocalSigner {
    return new LocalSigner(parsePrivateKeyPem(pem), description);
  }

  /** DER SubjectPublicKeyInfo of the public key (a copy). */
  async publicKey(): Promise<Uint8Array> {
    return this.#spki.slice();
  }

  /**
   * DER ECDSA signature over SHA-256(message); randomized, so two calls differ.
   * @throws StorageError `SIGN_FAILED` (not retryable) if OpenSSL refuses, which a key that
   *   loaded should never cause.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    try {
      const sig = sign('sha256', message, { key: this.#key, dsaEncoding: 'der' });
      return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
    } catch (cause) {
      throw new StorageError('SIGN_FAILED', `${this.description}: signing failed`, {
        retryable: false,
        cause,
      });
    }
  }
}
