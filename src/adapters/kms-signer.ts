/**
 * {@link Signer} backed by an AWS KMS asymmetric key (`ECC_NIST_P256`, `SIGN_VERIFY`): the private
 * key never leaves KMS. Messages are sent whole (`MessageType: RAW`) and KMS hashes them with
 * SHA-256, so the signature is exactly what the port promises: DER ECDSA over SHA-256(message).
 *
 * AWS KMS API reference: Sign ("Message … up to 4096 bytes" for RAW), GetPublicKey (DER-encoded
 * SubjectPublicKeyInfo), DescribeKey.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import {
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  type AuditlockError,
  ConfigurationError,
  InputError,
  IntegrityError,
  StorageError,
} from '../core/errors.js';
import type { Signer } from '../core/ports.js';
import { awsErrorFacts, isTransientAwsError } from './aws-config.js';
// The client-setup checks (region, credentials, endpoint) are the same for every AWS service.
import { type AwsSetupErrorCode, classifyAwsSetupError, describeAwsError } from './s3-errors.js';

/** KMS Sign's limit for `MessageType: RAW`; longer messages would have to be pre-hashed. */
export const KMS_MAX_RAW_MESSAGE_BYTES = 4096;

const ALGORITHM = 'ECDSA_SHA_256';

/** The KMS IAM action a request needs, named in `ACCESS_DENIED` messages. */
export type KmsAction =
  | 'kms:Sign'
  | 'kms:GetPublicKey'
  | 'kms:DescribeKey'
  // Administrative actions, used only by `bootstrap`:
  | 'kms:CreateKey'
  | 'kms:CreateAlias';

/** Codes of the errors KMS failures become. */
export type KmsErrorCode =
  | AwsSetupErrorCode
  | 'ACCESS_DENIED'
  | 'KEY_NOT_FOUND'
  | 'KEY_DISABLED'
  | 'KEY_UNSUPPORTED'
  | 'SIGNER_UNAVAILABLE'
  | 'SIGNER_FAILED';

/** Construction options of {@link KmsSigner}. */
export type KmsSignerOptions = {
  /** A KMS client, e.g. from `createKmsClient()`; its retry settings apply to every request. */
  readonly client: KMSClient;
  /** Key id, key ARN, alias name (`alias/…`) or alias ARN. */
  readonly keyId: string;
};

type ResolvedKey = { readonly arn: string; readonly spki: Uint8Array; readonly key: KeyObject };

/** Signs with a KMS key; checks the key once, at first use, and caches its public key. */
export class KmsSigner implements Signer {
  readonly #client: KMSClient;
  readonly #keyId: string;
  #resolved: Promise<ResolvedKey> | undefined;
  #arn: string | undefined;

  constructor(options: KmsSignerOptions) {
    this.#client = options.client;
    this.#keyId = options.keyId;
  }

  /** `KMS key <ARN>` once resolved, `KMS key <id as given>` before. */
  get description(): string {
    return `KMS key ${this.#arn ?? this.#keyId}`;
  }

  /**
   * The key's ARN (aliases resolved).
   * @throws as {@link sign}, except `MESSAGE_TOO_LARGE`
   */
  async keyArn(): Promise<string> {
    return (await this.#resolve()).arn;
  }

  /**
   * DER SubjectPublicKeyInfo of the key, fetched once with GetPublicKey.
   * @throws as {@link sign}, except `MESSAGE_TOO_LARGE`
   */
  async publicKey(): Promise<Uint8Array> {
    return (await this.#resolve()).spki.slice();
  }

  /**
   * DER ECDSA P-256 signature over SHA-256(message), checked against the public key before it is
   * returned (a wrong key or algorithm must never produce a checkpoint nobody can verify).
   * @throws InputError `MESSAGE_TOO_LARGE` over 4,096 bytes, before any request
   * @throws ConfigurationError `ACCESS_DENIED`, `CREDENTIALS_INVALID`, `KEY_NOT_FOUND`, `KEY_DISABLED`, `KEY_UNSUPPORTED`,
   *   `REGION_MISSING`, `REGION_INVALID`, `ENDPOINT_UNREACHABLE`
   * @throws StorageError `SIGNER_UNAVAILABLE` (retryable: throttling, 5xx, network) or `SIGNER_FAILED`
   * @throws IntegrityError `SIGNATURE_INVALID` if KMS returned a signature the public key rejects
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (message.byteLength > KMS_MAX_RAW_MESSAGE_BYTES) {
      throw new InputError(
        'MESSAGE_TOO_LARGE',
        `KMS signs at most ${KMS_MAX_RAW_MESSAGE_BYTES} bytes with MessageType RAW; got ${message.byteLength}`,
      );
    }
    const { arn, key } = await this.#resolve();
    let signature: Uint8Array | undefined;
    try {
      const out = await this.#client.send(
        new SignCommand({
          KeyId: arn,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: ALGORITHM,
        }),
      );
      signature = out.Signature;
    } catch (err) {
      throw classifyKmsError(err, 'kms:Sign', arn);
    }
    if (signature === undefined || !verifies(key, message, signature)) {
      throw new IntegrityError(
        'SIGNATURE_INVALID',
        `${arn} returned a signature its public key rejects`,
      );
    }
    return signature;
  }

  #resolve(): Promise<ResolvedKey> {
    if (this.#resolved === undefined) {
      const resolving = this.#fetchKey();
      this.#resolved = resolving;
      // Remember only success: after a transient failure the next call asks KMS again.
      resolving.then(
        (r) => {
          this.#arn = r.arn;
        },
        () => {
          if (this.#resolved === resolving) this.#resolved = undefined;
        },
      );
    }
    return this.#resolved;
  }

  async #fetchKey(): Promise<ResolvedKey> {
    const keyId = this.#keyId;
    const [described, pub] = await Promise.all([
      this.#client
        .send(new DescribeKeyCommand({ KeyId: keyId }))
        .catch((err: unknown) => Promise.reject(classifyKmsError(err, 'kms:DescribeKey', keyId))),
      this.#client
        .send(new GetPublicKeyCommand({ KeyId: keyId }))
        .catch((err: unknown) => Promise.reject(classifyKmsError(err, 'kms:GetPublicKey', keyId))),
    ]);
    const meta = described.KeyMetadata;
    const arn = meta?.Arn ?? keyId;
    if (meta?.KeyState !== undefined && meta.KeyState !== 'Enabled') {
      throw new ConfigurationError('KEY_DISABLED', `${arn} is ${meta.KeyState}, not Enabled`);
    }
    // Key usage and algorithms come from GetPublicKey (emulators omit KeySpec; the curve is
    // checked on the key itself below).
    const usage = pub.KeyUsage ?? meta?.KeyUsage;
    const algorithms = pub.SigningAlgorithms ?? meta?.SigningAlgorithms ?? [];
    if (usage !== 'SIGN_VERIFY' || !algorithms.includes(ALGORITHM)) {
      throw unsupported(arn, `usage ${usage ?? '?'}, algorithms ${algorithms.join(',') || 'none'}`);
    }
    if (pub.PublicKey === undefined) throw unsupported(arn, 'no public key returned');
    const spki = pub.PublicKey.slice();
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (cause) {
      throw unsupported(arn, 'public key is not valid DER SPKI', cause);
    }
    const details = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw unsupported(
        arn,
        `key is ${key.asymmetricKeyType} ${details?.namedCurve ?? ''}, not P-256`,
      );
    }
    return { arn, spki, key };
  }
}

/** node:crypto verify, treating a signature it cannot even parse as invalid. */
function verifies(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', message, key, signature);
  } catch {
    return false;
  }
}

function unsupported(
  arn: string,
  why: string,
  cause?: unknown,
): ConfigurationError<'KEY_UNSUPPORTED'> {
  return new ConfigurationError(
    'KEY_UNSUPPORTED',
    `${arn} cannot sign checkpoints: need an ECC_NIST_P256 SIGN_VERIFY key with ${ALGORITHM} (${why})`,
    { cause },
  );
}

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'IncompleteSignature',
]);

/**
 * Maps a failed KMS call to an auditlock error (see {@link KmsErrorCode}): a client without a
 * region or credentials, or with an unreachable endpoint, and permission and key problems are
 * ConfigurationErrors naming the action and key; throttling, 5xx and network failures left over
 * after the SDK's retries are retryable StorageErrors. Every message ends with what the SDK said.
 */
export function classifyKmsError(
  err: unknown,
  action: KmsAction,
  keyId: string,
): AuditlockError<KmsErrorCode> {
  const { name } = awsErrorFacts(err);
  const label = describeAwsError(err);
  const setup = classifyAwsSetupError(err, 'KMS', `${action} on ${keyId}`);
  if (setup !== undefined) return setup;
  const config = (code: KmsErrorCode, what: string) =>
    new ConfigurationError(code, `${action} on ${keyId}: ${what} (${label})`, { cause: err });
  switch (name) {
    case 'AccessDeniedException':
      return config('ACCESS_DENIED', `denied; grant ${action} on this key to this role`);
    case 'NotFoundException':
      return config('KEY_NOT_FOUND', 'no such key or alias');
    case 'DisabledException':
    case 'KMSInvalidStateException':
    case 'KeyUnavailableException':
      return config('KEY_DISABLED', 'the key is disabled, pending deletion or unavailable');
    case 'InvalidKeyUsageException':
    case 'UnsupportedOperationException':
      return config('KEY_UNSUPPORTED', `not an ECC_NIST_P256 SIGN_VERIFY key with ${ALGORITHM}`);
  }
  if (CREDENTIAL_ERRORS.has(name) && !isTransientAwsError(err)) {
    return config('CREDENTIALS_INVALID', 'AWS credentials rejected');
  }
  if (isTransientAwsError(err)) {
    return new StorageError('SIGNER_UNAVAILABLE', `${action} on ${keyId} failed (${label})`, {
      retryable: true,
      cause: err,
    });
  }
  return new StorageError('SIGNER_FAILED', `${action} on ${keyId} failed (${label})`, {
    retryable: false,
    cause: err,
  });
}
