/**
 * An Object Lock bucket as both regions use it: COMPLIANCE default retention, versioning, Block
 * Public Access, bucket-owner-enforced ownership, SSE-KMS with a customer key and bucket keys,
 * retained on stack deletion, server access logs to a separate unlocked bucket (an Object Lock
 * bucket cannot be a server-access-log destination), and the deny statements of bucket-policy.ts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { lockedBucketDenies } from './bucket-policy.js';

export type LockedBucketProps = {
  readonly bucketName: string;
  /** The access-log bucket to create, or `accessLogs`: an existing one to log into. */
  readonly accessLogs: { readonly bucketName: string } | { readonly bucket: Bucket };
  readonly retentionDays: number;
  readonly encryptionKey: IKey;
  readonly legalHoldRoleArn?: string | undefined;
  readonly retentionWriterRoleArn?: string | undefined;
};

/** The locked bucket and its access-log bucket (its own, or a shared one). */
export class LockedBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: LockedBucketProps) {
    super(scope, id);
    this.accessLogs =
      'bucket' in props.accessLogs
        ? props.accessLogs.bucket
        : LockedBucket.#accessLogBucket(this, props.accessLogs.bucketName, props.retentionDays);
    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(
        Duration.days(props.retentionDays),
      ),
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: `${props.bucketName}/`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const s of lockedBucketDenies({
      bucketArn: this.bucket.bucketArn,
      legalHoldRoleArn: props.legalHoldRoleArn,
      retentionWriterRoleArn: props.retentionWriterRoleArn,
    }))
      this.bucket.addToResourcePolicy(s);
  }

  static #accessLogBucket(scope: Construct, bucketName: string, retentionDays: number): Bucket {
    return new Bucket(scope, 'AccessLogs', {
      bucketName,
      // Server access logging supports SSE-S3 destinations only (S3 User Guide).
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      // Access logs are operational evidence, kept as long as the archive's default retention.
      lifecycleRules: [
        {
          expiration: Duration.days(retentionDays),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
