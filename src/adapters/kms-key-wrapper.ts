/**
 * {@link KeyWrapper} backed by an AWS KMS symmetric key (docs/FORMAT.md §11.4): one KMS key wraps
 * every subject's data key. `GenerateDataKey` (`KeySpec: AES_256`) creates a key and returns it in
 * clear and wrapped; `Decrypt` unwraps it. Both send the encryption context
 * `{"auditlock:subject": name, "auditlock:key": keyId}`, so a wrapped key works only under its own
 * name and id, and CloudTrail logs which subject each Decrypt was for.
 *
 * AWS KMS API reference: GenerateDataKey, Decrypt ("EncryptionContext … must be the same" as the
 * one used to encrypt). Deleting the KMS key itself (ScheduleKeyDeletion) waits 7–30 days.
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { StorageError } from '../core/errors.js';
import type { KeyWrapper, WrapContext } from '../core/key-store.js';
import { awsErrorFacts, isTransientAwsError } from './aws-config.js';

export type KmsWrapErrorCode = 'KEY_UNWRAP_FAILED' | 'KMS_UNAVAILABLE' | 'KMS_FAILED';

function contextOf(c: WrapContext): Record<string, string> {
  return { 'auditlock:subject': c.name, 'auditlock:key': c.keyId };
}

export class KmsKeyWrapper implements KeyWrapper {
  readonly #client: KMSClient;
  readonly #keyId: string;

  /** @param keyId key id, key ARN, alias name or alias ARN of a SYMMETRIC_DEFAULT key */
  constructor(options: { client: KMSClient; keyId: string }) {
    this.#client = options.client;
    this.#keyId = options.keyId;
  }

  get description(): string {
    return `KMS key ${this.#keyId}`;
  }

  async generate(context: WrapContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    try {
      const out = await this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.#keyId,
          KeySpec: 'AES_256',
          EncryptionContext: contextOf(context),
        }),
      );
      if (out.Plaintext?.length !== 32 || !out.CiphertextBlob)
        throw new Error('GenerateDataKey returned no 32-byte key');
      return { plaintext: out.Plaintext, wrapped: out.CiphertextBlob };
    } catch (err) {
      throw classify(err, 'kms:GenerateDataKey', this.#keyId, context);
    }
  }

  async unwrap(wrapped: Uint8Array, context: WrapContext): Promise<Uint8Array> {
    try {
      const out = await this.#client.send(
        new DecryptCommand({
          KeyId: this.#keyId,
          CiphertextBlob: wrapped,
          EncryptionContext: contextOf(context),
        }),
      );
      if (out.Plaintext?.length !== 32) throw new Error('Decrypt returned no 32-byte key');
      return out.Plaintext;
    } catch (err) {
      throw classify(err, 'kms:Decrypt', this.#keyId, context);
    }
  }
}

function classify(
  err: unknown,
  action: string,
  keyId: string,
  context: WrapContext,
): StorageError<KmsWrapErrorCode> {
  const { name } = awsErrorFacts(err);
  const what = `${action} on ${keyId} for key ${context.name} (${context.keyId})`;
  if (isTransientAwsError(err))
    return new StorageError('KMS_UNAVAILABLE', `${what}: ${name || String(err)}`, {
      retryable: true,
      cause: err,
    });
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException')
    return new StorageError('KEY_UNWRAP_FAILED', `${what}: ${name}`, {
      retryable: false,
      cause: err,
    });
  return new StorageError('KMS_FAILED', `${what}: ${name || String(err)}`, {
    retryable: false,
    cause: err,
  });
}
