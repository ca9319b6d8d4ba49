/**
 * The deny statements every locked bucket (archive and replica) carries. Object Lock COMPLIANCE is
 * the hard guarantee (nobody, root included, can delete or shorten a locked version); these
 * statements close what Object Lock leaves open (S3 User Guide, "How S3 Object Lock works"):
 * delete markers, shadowing versions, and configuration changes that weaken new writes.
 * A bucket policy can itself be replaced by whoever holds s3:PutBucketPolicy, so they are a
 * guardrail that turns weakening into a deliberate, CloudTrail-logged act (docs/COMPLIANCE.md).
 */
import { Effect, type IPrincipal, PolicyStatement, StarPrincipal } from 'aws-cdk-lib/aws-iam';

/** Actions nobody may call on a locked bucket or its objects. */
export const ALWAYS_DENIED_ACTIONS = [
  // A DeleteObject without a version id adds a delete marker even under COMPLIANCE.
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
  // Versioning cannot be suspended on a lock bucket on AWS, but deny it anyway (defence in depth).
  's3:PutBucketVersioning',
  // Lifecycle expiration of current versions adds delete markers.
  's3:PutLifecycleConfiguration',
] as const;

export type DenyOptions = {
  readonly bucketArn: string;
  /** Role exempt from the legal-hold deny (the legal team's), if any. */
  readonly legalHoldRoleArn?: string | undefined;
  /** Role exempt from the retention deny (the writer, when its PutObject needs it), if any. */
  readonly retentionWriterRoleArn?: string | undefined;
};

const everyone = (): IPrincipal => new StarPrincipal();

/** The deny statements, in a stable order (tests look them up by Sid). */
export function lockedBucketDenies(o: DenyOptions): PolicyStatement[] {
  const objects = `${o.bucketArn}/*`;
  const both = [o.bucketArn, objects];
  const exempt = (arn: string | undefined) =>
    arn === undefined ? undefined : { ArnNotEquals: { 'aws:PrincipalArn': arn } };
  return [
    new PolicyStatement({
      sid: 'DenyInsecureTransport',
      effect: Effect.DENY,
      principals: [everyone()],
      actions: ['s3:*'],
      resources: both,
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    new PolicyStatement({
      sid: 'DenyDeletesAndLockChanges',
      effect: Effect.DENY,
      principals: [everyone()],
      actions: [...ALWAYS_DENIED_ACTIONS],
      resources: both,
    }),
    new PolicyStatement({
      sid: 'DenyRetentionChanges',
      effect: Effect.DENY,
      principals: [everyone()],
      actions: ['s3:PutObjectRetention'],
      resources: [objects],
      conditions: exempt(o.retentionWriterRoleArn),
    }),
    new PolicyStatement({
      sid: 'DenyLegalHoldChanges',
      effect: Effect.DENY,
      principals: [everyone()],
      actions: ['s3:PutObjectLegalHold'],
      resources: [objects],
      conditions: exempt(o.legalHoldRoleArn),
    }),
    // S3 conditional writes (2024-11): `s3:if-none-match` is absent from a PutObject without
    // If-None-Match, so even a writer with broken code cannot add a version on top of a key.
    // UploadPart is also s3:PutObject and carries no If-None-Match: this denies multipart uploads
    // as a whole, which the writer never uses (segments are at most 32 MiB, one PUT each).
    // Replication writes with s3:ReplicateObject and is not affected.
    new PolicyStatement({
      sid: 'DenyPutWithoutIfNoneMatch',
      effect: Effect.DENY,
      principals: [everyone()],
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { Null: { 's3:if-none-match': 'true' } },
    }),
  ];
}
