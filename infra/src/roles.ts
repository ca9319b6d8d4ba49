/**
 * The three roles of the primary account, each with only what its code calls (read from
 * src/adapters/s3-store.ts, s3-versions.ts, s3-bucket.ts, kms-signer.ts):
 * - ingest: PutObject (conditional, COMPLIANCE), GetObject(+Version) for head and redelivery
 *   lookups and the read-back after a lost race, ListBucket(+Versions) (ListBucket also turns a
 *   missing key's 403 into 404), the bucket check (GetBucketVersioning,
 *   GetBucketObjectLockConfiguration), KMS Sign/GetPublicKey/DescribeKey on the signing key and
 *   the data key through S3. Never CDK's grantWrite/grantPut (they add retention, legal hold and
 *   delete actions).
 * - auditor: list and read objects and versions (both archives and the verifier's state), read
 *   retention and legal hold, decrypt through S3, GetPublicKey.
 * - replication: what S3 replication of Object Lock objects needs, nothing for deletes.
 */
import {
  AccountPrincipal,
  type IPrincipal,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config.js';
import type { Names } from './names.js';

/** S3 actions of the ingest role (tests assert the role has these and no others). */
export const INGEST_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'] as const;
export const INGEST_BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:GetBucketVersioning',
  's3:GetBucketObjectLockConfiguration',
] as const;
/**
 * `allow(sid, actions, resources, conditions?)`, which adds that one statement to `role`'s own
 * policy: how the constructs grant their roles, one statement id per purpose.
 */
export function statementsOf(role: Role) {
  return (
    sid: string,
    actions: readonly string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ) =>
    role.addToPrincipalPolicy(
      new PolicyStatement({ sid, actions: [...actions], resources, conditions }),
    );
}

export const SIGNER_KMS_ACTIONS = ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'] as const;
/**
 * Reading a log signing key's public key: KmsSigner.publicKey() (src/adapters/kms-signer.ts), which
 * the verifier, the export and `auditlock pubkey --kms-key` call, sends DescribeKey (the key must be
 * Enabled) together with GetPublicKey, and fails if either is refused. Neither signs.
 */
export const PUBLIC_KEY_READ_ACTIONS = ['kms:GetPublicKey', 'kms:DescribeKey'] as const;

export const AUDITOR_OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectRetention',
  's3:GetObjectLegalHold',
] as const;
export const AUDITOR_BUCKET_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'] as const;

/** S3 User Guide, "Setting up permissions for replication" plus the Object Lock additions. */
export const REPLICATION_SOURCE_BUCKET_ACTIONS = [
  's3:GetReplicationConfiguration',
  's3:ListBucket',
] as const;
export const REPLICATION_SOURCE_OBJECT_ACTIONS = [
  's3:GetObjectVersionForReplication',
  's3:GetObjectVersionAcl',
  's3:GetObjectVersionTagging',
  // Object Lock replication: retention and legal hold travel with the replica.
  's3:GetObjectRetention',
  's3:GetObjectLegalHold',
] as const;
/** No s3:ReplicateDelete: delete markers are not replicated (and are denied anyway). */
export const REPLICATION_DESTINATION_ACTIONS = ['s3:ReplicateObject', 's3:ReplicateTags'] as const;

export const s3ViaService = (region: string) => ({
  StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` },
});

/** The role every ingest function runs as. */
export function ingestRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const role = new Role(scope, 'IngestRole', {
    roleName: n.ingestRole,
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: 'auditlock ingest Lambdas: conditional COMPLIANCE puts and signing, nothing else',
  });
  const bucketArn = n.bucketArn(n.archiveBucket);
  const storeObjects = `${bucketArn}/${c.storePrefix}/*`;
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'PutSegmentsWriteOnce',
      actions: ['s3:PutObject'],
      resources: [storeObjects],
      conditions: {
        // Only conditional, COMPLIANCE-locked puts (the bucket policy denies the rest anyway).
        Null: { 's3:if-none-match': 'false' },
        StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
      },
    }),
  );
  if (c.ingestNeedsPutObjectRetention)
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SetComplianceRetentionOnPut',
        actions: ['s3:PutObjectRetention'],
        resources: [storeObjects],
        conditions: {
          StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
          NumericLessThanEquals: {
            's3:object-lock-remaining-retention-days': String(c.retentionDays + 1),
          },
        },
      }),
    );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadSegments',
      actions: [...INGEST_OBJECT_ACTIONS],
      resources: [storeObjects],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListAndCheckBucket',
      actions: [...INGEST_BUCKET_ACTIONS],
      resources: [bucketArn],
    }),
  );
  return role;
}

/** The read-only auditor role; `trustedAccounts` (default: the primary account) may assume it. */
export function auditorRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const accounts =
    c.auditor.trustedAccounts.length > 0 ? c.auditor.trustedAccounts : [c.primary.account];
  const conditions =
    c.auditor.externalId === undefined
      ? undefined
      : { StringEquals: { 'sts:ExternalId': c.auditor.externalId } };
  const trust = (a: string): IPrincipal => new AccountPrincipal(a).withConditions(conditions ?? {});
  const role = new Role(scope, 'AuditorRole', {
    roleName: n.auditorRole,
    assumedBy: trust(accounts[0] as string),
    description: 'auditlock auditor: read-only access to both archives and the public keys',
  });
  for (const a of accounts.slice(1))
    role.assumeRolePolicy?.addStatements(
      new PolicyStatement({
        actions: ['sts:AssumeRole'],
        principals: [new AccountPrincipal(a)],
        conditions,
      }),
    );
  // Both archives and the verifier's state bucket (the witness's cosigned checkpoints).
  const buckets = [
    n.bucketArn(n.archiveBucket),
    n.bucketArn(n.replicaBucket),
    n.bucketArn(n.stateBucket),
  ];
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListArchives',
      actions: [...AUDITOR_BUCKET_ACTIONS],
      resources: buckets,
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadArchives',
      actions: [...AUDITOR_OBJECT_ACTIONS],
      resources: buckets.map((b) => `${b}/*`),
    }),
  );
  // The replica Region's data keys live in the other stack: named by alias, only through S3.
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReplicaRegionKeysViaS3',
      actions: ['kms:Decrypt'],
      resources: [`arn:aws:kms:${c.replica.region}:${c.replica.account}:key/*`],
      conditions: {
        ...s3ViaService(c.replica.region),
        'ForAnyValue:StringEquals': {
          'kms:ResourceAliases': [n.replicaDataKeyAlias, n.stateDataKeyAlias],
        },
      },
    }),
  );
  return role;
}

/** The role S3 assumes to replicate the archive into the replica bucket. */
export function replicationRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const source = n.bucketArn(n.archiveBucket);
  const role = new Role(scope, 'ReplicationRole', {
    roleName: n.replicationRole,
    assumedBy: new ServicePrincipal('s3.amazonaws.com').withConditions({
      // Confused-deputy protection: only S3 acting for this bucket in this account.
      StringEquals: { 'aws:SourceAccount': c.primary.account },
      ArnLike: { 'aws:SourceArn': source },
    }),
    description: 'auditlock: S3 replication of the locked archive (no deletes)',
  });
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'SourceBucket',
      actions: [...REPLICATION_SOURCE_BUCKET_ACTIONS],
      resources: [source],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'SourceObjects',
      actions: [...REPLICATION_SOURCE_OBJECT_ACTIONS],
      resources: [`${source}/*`],
    }),
  );
  const crossAccount = c.replica.account !== c.primary.account;
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'DestinationObjects',
      actions: [
        ...REPLICATION_DESTINATION_ACTIONS,
        // Cross-account: replicas are owned by the destination account (owner override).
        ...(crossAccount ? ['s3:ObjectOwnerOverrideToBucketOwner'] : []),
      ],
      resources: [`${n.bucketArn(n.replicaBucket)}/*`],
    }),
  );
  // The replica's data key, named by alias (it lives in the other stack): only through S3 there.
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'EncryptReplicas',
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [`arn:aws:kms:${c.replica.region}:${c.replica.account}:key/*`],
      conditions: {
        ...s3ViaService(c.replica.region),
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': n.replicaDataKeyAlias },
      },
    }),
  );
  return role;
}
