/**
 * The replica Region: a second locked bucket with the same protections, its own SSE-KMS key
 * (replicas are re-encrypted under it), and, once the primary signing key exists, a multi-Region
 * replica of it for verification in this Region (GetPublicKey only: nobody signs here).
 * It also runs the scheduled verifier and witness (verifier.ts).
 * Deployed first: the primary's replication rule names this bucket (docs/DEPLOY.md).
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config.js';
import { dataKey, keyPolicy, roleByArn } from './keys.js';
import { LockedBucket } from './locked-bucket.js';
import type { Names } from './names.js';
import {
  AUDITOR_BUCKET_ACTIONS,
  AUDITOR_OBJECT_ACTIONS,
  PUBLIC_KEY_READ_ACTIONS,
  REPLICATION_DESTINATION_ACTIONS,
  s3ViaService,
} from './roles.js';
import { Verifier, verifierRole } from './verifier.js';

export type ReplicaStackProps = StackProps & {
  readonly config: DeploymentConfig;
  readonly names: Names;
  readonly bundleDir: string;
};

export class ReplicaStack extends Stack {
  readonly replica: LockedBucket;
  readonly verifier: Verifier;

  constructor(scope: Construct, id: string, props: ReplicaStackProps) {
    super(scope, id, props);
    const { config: c, names: n } = props;
    const primaryAccount = c.primary.account;
    const replication = roleByArn(primaryAccount, n.roleArn(primaryAccount, n.replicationRole));
    const auditor = roleByArn(primaryAccount, n.roleArn(primaryAccount, n.auditorRole));
    const viaS3 = s3ViaService(c.replica.region);
    const verifier = verifierRole(this, c, n);

    const key = dataKey(this, 'ReplicaKey', 'auditlock: SSE-KMS of the replica bucket', [
      {
        sid: 'ReplicationEncrypts',
        principal: replication.principal,
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        conditions: { ...replication.condition, ...viaS3 },
      },
      {
        sid: 'AuditorDecrypts',
        principal: auditor.principal,
        actions: ['kms:Decrypt'],
        conditions: { ...auditor.condition, ...viaS3 },
      },
      { sid: 'VerifierDecrypts', principal: verifier, actions: ['kms:Decrypt'], conditions: viaS3 },
    ]);
    new Alias(this, 'ReplicaKeyAlias', { aliasName: n.replicaDataKeyAlias, targetKey: key });

    this.replica = new LockedBucket(this, 'Replica', {
      bucketName: n.replicaBucket,
      accessLogs: { bucketName: n.replicaAccessLogBucket },
      retentionDays: c.retentionDays,
      encryptionKey: key,
      legalHoldRoleArn: c.legalHoldRoleArn,
    });

    if (c.replica.account !== primaryAccount) {
      // Cross-account: the destination account must let the source's roles in (S3 User Guide,
      // "Configuring replication when buckets are owned by different accounts").
      const bucket = this.replica.bucket;
      bucket.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowReplicationFromPrimary',
          effect: Effect.ALLOW,
          principals: [replication.principal],
          actions: [...REPLICATION_DESTINATION_ACTIONS, 's3:ObjectOwnerOverrideToBucketOwner'],
          resources: [bucket.arnForObjects('*')],
          conditions: replication.condition,
        }),
      );
      bucket.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowAuditorRead',
          effect: Effect.ALLOW,
          principals: [auditor.principal],
          actions: [...AUDITOR_BUCKET_ACTIONS, ...AUDITOR_OBJECT_ACTIONS],
          resources: [bucket.bucketArn, bucket.arnForObjects('*')],
          conditions: auditor.condition,
        }),
      );
    }

    let replicaKeyArn: string | undefined;
    if (c.replica.signingKeyArn !== undefined) {
      const replicaKey = new CfnReplicaKey(this, 'SigningKeyReplica', {
        primaryKeyArn: c.replica.signingKeyArn,
        description: 'auditlock: replica of the log signing key, for verification only',
        // No kms:Sign for anyone: a replica shares the key material, so a signer here would be a
        // second writer of the log's signatures.
        keyPolicy: keyPolicy(
          [
            {
              sid: 'AuditorReadsPublicKey',
              principal: auditor.principal,
              actions: PUBLIC_KEY_READ_ACTIONS,
              conditions: auditor.condition,
            },
            {
              sid: 'VerifierReadsPublicKey',
              principal: verifier,
              actions: PUBLIC_KEY_READ_ACTIONS,
            },
          ],
          { multiRegion: true },
        ).toJSON(),
      });
      replicaKey.applyRemovalPolicy(RemovalPolicy.RETAIN);
      new CfnOutput(this, 'SigningKeyReplicaArn', { value: replicaKey.attrArn });
      replicaKeyArn = replicaKey.attrArn;
    }

    this.verifier = new Verifier(this, 'Verifier', {
      config: c,
      names: n,
      role: verifier,
      replicaKey: key,
      logKeys: { replicaKeyArn },
      accessLogs: this.replica.accessLogs,
      bundleDir: props.bundleDir,
    });
    new CfnOutput(this, 'ReplicaBucketName', { value: n.replicaBucket });
  }
}
