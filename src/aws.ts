/**
 * `auditlock/aws`: the AWS adapters. An S3 Object Lock store, a KMS signer, the client factories
 * they are built with (the standard SDK configuration chain, AWS_ENDPOINT_URL included), and
 * `bootstrap` (an Object Lock bucket plus an ECC_NIST_P256 signing key). Kept apart from
 * `auditlock` so that importing the library does not load the AWS SDK.
 */

export {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrap,
} from './adapters/aws-bootstrap.js';
export {
  type AwsClientOptions,
  createKmsClient,
  createS3Client,
} from './adapters/aws-config.js';
export {
  KMS_MAX_RAW_MESSAGE_BYTES,
  KmsSigner,
  type KmsSignerOptions,
} from './adapters/kms-signer.js';
export {
  type BucketCheck,
  type ObjectVersionInfo,
  parseS3Url,
  S3Store,
  type S3StoreOptions,
  type VersionDescription,
} from './adapters/s3-store.js';
