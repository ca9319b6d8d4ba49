/**
 * {@link Ed25519Signer} backed by an AWS KMS key with key spec `ECC_NIST_EDWARDS25519`: the
 * witness's private key never leaves KMS. Every Sign request uses `SigningAlgorithm:
 * ED25519_SHA_512` with `MessageType: RAW`, which is standard RFC 8032 Ed25519 over the message
 * (1 to 4,096 bytes). Never `ED25519_PH_SHA_512`: that is Ed25519ph (pre-hashed), a different
 * signature no cosignature verifier accepts.
 *
 * AWS KMS API reference: Sign, GetPublicKey (DER SubjectPublicKeyInfo; for Ed25519 the RFC 8410
 * prefix `302a300506032b6570032100` and the 32 key bytes). moto has no such key spec: the
 * contract test runs only against real AWS (test/witness/kms-ed25519-signer.test.ts).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import { ED25519_SPKI_PREFIX } from '../core/cosignature.js';
import { ConfigurationError, InputError, IntegrityError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type { Ed25519Signer } from '../core/witness-signer.js';
import { classifyKmsError, KMS_MAX_RAW_MESSAGE_BYTES } from './kms-signer.js';

const ALGORITHM = 'ED25519_SHA_512';
const KEY_SPEC = 'ECC_NIST_EDWARDS25519';

type Resolved = { readonly raw: Uint8Array; readonly key: KeyObject };

export class KmsEd25519Signer implements Ed25519Signer {
  readonly description: string;
  readonly #client: KMSClient;
  readonly #keyId: string;
  #resolved: Promise<Resolved> | undefined;

  constructor(options: { readonly client: KMSClient; readonly keyId: string }) {
    this.#client = options.client;
    this.#keyId = options.keyId;
    this.description = `KMS key ${options.keyId}`;
  }

  /**
   * The raw 32-byte public key, fetched once with GetPublicKey.
   * @throws ConfigurationError `KEY_UNSUPPORTED` unless an `ECC_NIST_EDWARDS25519` SIGN_VERIFY
   *   key offering `ED25519_SHA_512`; KMS errors as `classifyKmsError` maps them.
   */
  async publicKey(): Promise<Uint8Array> {
    return (await this.#resolve()).raw.slice();
  }

  /**
   * RFC 8032 Ed25519 signature of `message`, checked against the public key before it is returned.
   * @throws InputError `MESSAGE_TOO_LARGE` over 4,096 bytes (KMS's RAW limit), before any request;
   *   IntegrityError `SIGNATURE_INVALID` if KMS returned a signature the key rejects; KMS errors.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (message.byteLength === 0 || message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES)
      throw new InputError(
        'MESSAGE_TOO_LARGE',
        `KMS signs 1 to ${KMS_MAX_RAW_MESSAGE_BYTES} bytes with MessageType RAW; got ${message.byteLength}`,
      );
    const { key } = await this.#resolve();
    let signature: Uint8Array | undefined;
    try {
      const out = await this.#client.send(
        new SignCommand({
          KeyId: this.#keyId,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: ALGORITHM,
        }),
      );
      signature = out.Signature;
    } catch (err) {
      throw classifyKmsError(err, 'kms:Sign', this.#keyId);
    }
    if (
      signature === undefined ||
      signature.length !== 64 ||
      !verify(null, message, key, signature)
    )
      throw new IntegrityError(
        'SIGNATURE_INVALID',
        `${this.description} returned a signature its public key rejects`,
      );
    return signature;
  }

  #resolve(): Promise<Resolved> {
    if (this.#resolved === undefined) {
      const resolving = this.#fetch();
      this.#resolved = resolving;
      resolving.catch(() => {
        if (this.#resolved === resolving) this.#resolved = undefined;
      });
    }
    return this.#resolved;
  }

  async #fetch(): Promise<Resolved> {
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.#client.send(new GetPublicKeyCommand({ KeyId: this.#keyId }));
    } catch (err) {
      throw classifyKmsError(err, 'kms:GetPublicKey', this.#keyId);
    }
    const unsupported = (why: string) =>
      new ConfigurationError(
        'KEY_UNSUPPORTED',
        `${this.#keyId} cannot cosign: need a ${KEY_SPEC} SIGN_VERIFY key with ${ALGORITHM} (${why})`,
      );
    if (out.KeySpec !== undefined && out.KeySpec !== KEY_SPEC)
      throw unsupported(`key spec ${out.KeySpec}`);
    if (
      out.KeyUsage !== 'SIGN_VERIFY' ||
      !(out.SigningAlgorithms ?? []).some((a) => a === ALGORITHM)
    )
      throw unsupported(
        `usage ${out.KeyUsage}, algorithms ${(out.SigningAlgorithms ?? []).join(',')}`,
      );
    const spki = out.PublicKey;
    if (
      spki === undefined ||
      spki.length !== ED25519_SPKI_PREFIX.length + 32 ||
      !bytesEqual(spki.subarray(0, ED25519_SPKI_PREFIX.length), ED25519_SPKI_PREFIX)
    )
      throw unsupported('public key is not an Ed25519 SPKI');
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return { raw: spki.slice(ED25519_SPKI_PREFIX.length), key };
  }
}
