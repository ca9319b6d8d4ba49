/**
 * The primary Region: the archive bucket, its keys, the ingest functions, replication into the
 * replica bucket (which must exist first: docs/DEPLOY.md "Deploy order"), the auditor role and
 * the alarms. The replica side is referred to by deterministic names only (names.ts).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Effect, PolicyStatement, type Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { addAlarm, allowAlarmPublish, replicationMetric } from './alarms.js';
import type { DeploymentConfig } from './config.js';
import { IngestFunction, sourceId } from './ingest.js';
import { dataKey, type KeyUse, roleByArn, signingKey } from './keys.js';
import { LockedBucket } from './locked-bucket.js';
import type { Names } from './names.js';
import { EXPORT_LOG_KEY_ACTIONS, exportRole, OcsfExport } from './ocsf-export.js';
import {
  auditorRole,
  ingestRole,
  PUBLIC_KEY_READ_ACTIONS,
  replicationRole,
  SIGNER_KMS_ACTIONS,
  s3ViaService,
} from './roles.js';
import { eraserRole, type SubjectKeyStore, subjectKeyStore } from './sealing.js';
import { VERIFIER_BUCKET_ACTIONS, VERIFIER_OBJECT_ACTIONS } from './verifier.js';

export type PrimaryStackProps = StackProps & {
  readonly config: DeploymentConfig;
  readonly names: Names;
  readonly bundleDir: string;
};

/** Id of the one replication rule (also a dimension of the replication metrics). */
export const REPLICATION_RULE_ID = 'archive-to-replica';
/** S3 Replication Time Control: 99.99% of objects within 15 minutes (the only value S3 offers). */
export const RTC_MINUTES = 15;

export class PrimaryStack extends Stack {
  readonly archive: LockedBucket;
  readonly functions: IngestFunction[];
  /** Sealing only: the key table, its keys and the eraser role. */
  readonly sealing?: SubjectKeyStore & { readonly eraser: Role };
  /** Export only: the scheduled OCSF export (ocsf-export.ts). */
  readonly ocsfExport?: OcsfExport;

  constructor(scope: Construct, id: string, props: PrimaryStackProps) {
    super(scope, id, props);
    const { config: c, names: n } = props;
    const region = c.primary.region;

    const ingest = ingestRole(this, c, n);
    const auditor = auditorRole(this, c, n);
    const replication = replicationRole(this, c, n);
    // Sealing: the operator's eraser also appends (its erasure records) to the archive.
    const eraser = c.sealing === undefined ? undefined : eraserRole(this, c, n);
    // Export: reads the archive, puts OCSF files into the export bucket (ocsf-export.ts).
    const exporter = c.export === undefined ? undefined : exportRole(this, c, n);
    // The scheduled verifier runs in the replica account and Region (replica stack, verifier.ts).
    const verifier = roleByArn(c.replica.account, n.roleArn(c.replica.account, n.verifierRole));

    // Operations key: log groups, the alarm topic. Services use it only for this account.
    const sourceAccount = { StringEquals: { 'aws:SourceAccount': c.primary.account } };
    const opsKey = dataKey(this, 'OpsKey', 'auditlock: Lambda log groups and the alarm topic', [
      {
        sid: 'CloudWatchLogs',
        principal: new ServicePrincipal(`logs.${region}.amazonaws.com`),
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:DescribeKey',
        ],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${c.primary.account}:log-group:*`,
          },
        },
      },
      ...['cloudwatch.amazonaws.com', 's3.amazonaws.com'].map(
        (service): KeyUse => ({
          sid: `PublishAlarms${service.split('.')[0]}`,
          principal: new ServicePrincipal(service),
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          conditions: sourceAccount,
        }),
      ),
      // The export's dead letters go to the alarm topic.
      ...(exporter === undefined
        ? []
        : [
            {
              sid: 'ExportPublishesDeadLetters',
              principal: exporter,
              actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
              conditions: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
            },
          ]),
    ]);

    // The archive's SSE-KMS key: used only through S3 in this Region, by the three roles.
    const viaS3 = s3ViaService(region);
    const archiveKey = dataKey(this, 'ArchiveKey', 'auditlock: SSE-KMS of the archive bucket', [
      {
        sid: 'IngestEncryptDecrypt',
        principal: ingest,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        conditions: viaS3,
      },
      { sid: 'AuditorDecrypt', principal: auditor, actions: ['kms:Decrypt'], conditions: viaS3 },
      ...(eraser === undefined
        ? []
        : [
            {
              sid: 'EraserEncryptDecrypt',
              principal: eraser,
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              conditions: viaS3,
            },
          ]),
      ...(exporter === undefined
        ? []
        : [
            {
              sid: 'ExportDecrypt',
              principal: exporter,
              actions: ['kms:Decrypt'],
              conditions: viaS3,
            },
          ]),
      {
        sid: 'ReplicationDecrypt',
        principal: replication,
        actions: ['kms:Decrypt'],
        conditions: viaS3,
      },
      {
        sid: 'VerifierDecrypt',
        principal: verifier.principal,
        actions: ['kms:Decrypt'],
        conditions: { ...verifier.condition, ...viaS3 },
      },
    ]);
    // The verifier's policy names this key by alias (it lives in another stack).
    new Alias(this, 'ArchiveKeyAlias', { aliasName: n.archiveDataKeyAlias, targetKey: archiveKey });
    const writers = eraser === undefined ? [ingest] : [ingest, eraser];
    for (const [role, actions] of [
      ...writers.map((w) => [w, ['kms:GenerateDataKey', 'kms:Decrypt']] as const),
      [auditor, ['kms:Decrypt']] as const,
      [replication, ['kms:Decrypt']] as const,
      ...(exporter === undefined ? [] : [[exporter, ['kms:Decrypt']] as const]),
    ])
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ArchiveKeyViaS3',
          actions: [...actions],
          resources: [archiveKey.keyArn],
          conditions: viaS3,
        }),
      );

    // Signing keys: only the ingest role may Sign, and only with the current generation.
    const verifierReads: KeyUse = {
      sid: 'VerifierReadsPublicKey',
      principal: verifier.principal,
      actions: PUBLIC_KEY_READ_ACTIONS,
      conditions: verifier.condition,
    };
    const publicKeyReaders: KeyUse[] = [
      verifierReads,
      ...(exporter === undefined
        ? []
        : [{ sid: 'ExportReadsPublicKey', principal: exporter, actions: EXPORT_LOG_KEY_ACTIONS }]),
    ];
    const current = signingKey(
      this,
      `SigningKeyG${c.signingKey.generation}`,
      `auditlock: log signing key, generation ${c.signingKey.generation}`,
      [
        { sid: 'IngestSigns', principal: ingest, actions: [...SIGNER_KMS_ACTIONS] },
        // erase-subject signs the erasure records it appends with the log's key.
        ...(eraser === undefined
          ? []
          : [{ sid: 'EraserSigns', principal: eraser, actions: [...SIGNER_KMS_ACTIONS] }]),
        { sid: 'AuditorReadsPublicKey', principal: auditor, actions: PUBLIC_KEY_READ_ACTIONS },
        ...publicKeyReaders,
      ],
    );
    new Alias(this, 'SigningKeyAlias', { aliasName: n.signingKeyAlias, targetKey: current });
    for (const w of writers)
      w.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'SignCheckpoints',
          actions: [...SIGNER_KMS_ACTIONS],
          resources: [current.keyArn],
        }),
      );
    const publicKeys = [current.keyArn];
    for (const g of c.signingKey.retiredGenerations) {
      const retired = signingKey(
        this,
        `SigningKeyG${g}`,
        `auditlock: retired log signing key, generation ${g}`,
        [
          { sid: 'AuditorReadsPublicKey', principal: auditor, actions: PUBLIC_KEY_READ_ACTIONS },
          ...publicKeyReaders,
        ],
      );
      publicKeys.push(retired.keyArn);
    }
    auditor.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadPublicKeys',
        actions: [...PUBLIC_KEY_READ_ACTIONS],
        resources: publicKeys,
      }),
    );

    this.archive = new LockedBucket(this, 'Archive', {
      bucketName: n.archiveBucket,
      accessLogs: { bucketName: n.primaryAccessLogBucket },
      retentionDays: c.retentionDays,
      encryptionKey: archiveKey,
      legalHoldRoleArn: c.legalHoldRoleArn,
      retentionWriterRoleArn: c.ingestNeedsPutObjectRetention
        ? n.roleArn(c.primary.account, n.ingestRole)
        : undefined,
    });

    if (c.replica.account !== c.primary.account)
      // Cross-account: the verifier's account must be let in by this bucket too.
      this.archive.bucket.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowVerifierRead',
          effect: Effect.ALLOW,
          principals: [verifier.principal],
          actions: [...VERIFIER_BUCKET_ACTIONS, ...VERIFIER_OBJECT_ACTIONS],
          resources: [
            this.archive.bucket.bucketArn,
            this.archive.bucket.arnForObjects(`${c.storePrefix}/*`),
          ],
          conditions: verifier.condition,
        }),
      );

    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `auditlock ${c.name} alarms`,
      masterKey: opsKey,
      enforceSSL: true,
    });
    topic.addSubscription(new EmailSubscription(c.alarmEmail));
    allowAlarmPublish(topic, c.primary.account, region);

    this.#replicate(c, n, replication.roleArn, topic);

    const keys = eraser === undefined ? undefined : subjectKeyStore(this, c, n, { ingest, eraser });
    if (keys !== undefined && eraser !== undefined) this.sealing = { ...keys, eraser };

    this.functions = c.ingest.map(
      (s) =>
        new IngestFunction(this, sourceId(s), {
          config: c,
          names: n,
          source: s,
          role: ingest,
          logKey: opsKey,
          topic,
          bundleDir: props.bundleDir,
          sealingEnvironment: keys?.environment,
        }),
    );

    if (exporter !== undefined)
      this.ocsfExport = new OcsfExport(this, 'OcsfExport', {
        config: c,
        names: n,
        role: exporter,
        // Every generation: the export re-reads segments sealed under retired keys too.
        logKeyArns: publicKeys,
        opsKey,
        topic,
        accessLogs: this.archive.accessLogs,
        bundleDir: props.bundleDir,
      });

    new CfnOutput(this, 'ArchiveBucketName', { value: n.archiveBucket });
    new CfnOutput(this, 'StoreUrl', { value: n.storeUrl });
    new CfnOutput(this, 'SigningKeyArn', {
      value: current.keyArn,
      description: 'set replica.signingKeyArn to this',
    });
    new CfnOutput(this, 'SigningKeyAliasName', { value: n.signingKeyAlias });
    new CfnOutput(this, 'AuditorRoleArn', { value: auditor.roleArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
    if (this.sealing !== undefined) {
      new CfnOutput(this, 'EraserRoleArn', { value: this.sealing.eraser.roleArn });
      new CfnOutput(this, 'SubjectKeyTableName', { value: n.keyTable });
      new CfnOutput(this, 'SubjectKeyWrapKeyArn', { value: this.sealing.wrapKey.keyArn });
    }
  }

  /** Cross-Region Replication with RTC and metrics, and its failure / missed-threshold alarms. */
  #replicate(c: DeploymentConfig, n: Names, roleArn: string, topic: Topic): void {
    const cfn = this.archive.bucket.node.defaultChild as CfnBucket;
    const crossAccount = c.replica.account !== c.primary.account;
    cfn.replicationConfiguration = {
      role: roleArn,
      rules: [
        {
          id: REPLICATION_RULE_ID,
          priority: 0,
          status: 'Enabled',
          filter: { prefix: '' },
          // V2 configuration: delete markers are not replicated (and the policy denies deletes).
          deleteMarkerReplication: { status: 'Disabled' },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
          destination: {
            bucket: n.bucketArn(n.replicaBucket),
            ...(crossAccount
              ? { account: c.replica.account, accessControlTranslation: { owner: 'Destination' } }
              : {}),
            encryptionConfiguration: {
              replicaKmsKeyId: `arn:aws:kms:${c.replica.region}:${c.replica.account}:${n.replicaDataKeyAlias}`,
            },
            replicationTime: { status: 'Enabled', time: { minutes: RTC_MINUTES } },
            metrics: { status: 'Enabled', eventThreshold: { minutes: RTC_MINUTES } },
          },
        },
      ],
    };
    // S3 event notifications for the RTC events (S3 User Guide, "Replication event notifications").
    // The topic policy names the bucket by its deterministic ARN, so there is no reference cycle.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'S3ReplicationEvents',
        principals: [new ServicePrincipal('s3.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': n.bucketArn(n.archiveBucket) },
          StringEquals: { 'aws:SourceAccount': c.primary.account },
        },
      }),
    );
    cfn.notificationConfiguration = {
      topicConfigurations: [
        { event: 's3:Replication:OperationFailedReplication', topic: topic.topicArn },
        { event: 's3:Replication:OperationMissedThreshold', topic: topic.topicArn },
      ],
    };
    const policy = topic.node.tryFindChild('Policy');
    if (policy !== undefined) cfn.node.addDependency(policy);

    const dims = {
      source: n.archiveBucket,
      destination: n.replicaBucket,
      ruleId: REPLICATION_RULE_ID,
    };
    addAlarm(this, 'ReplicationFailedAlarm', topic, {
      metric: replicationMetric('OperationsFailedReplication', dims, 'Sum'),
      above: 0,
      description: 'objects failed to replicate to the replica Region',
    });
    addAlarm(this, 'ReplicationLatencyAlarm', topic, {
      metric: replicationMetric('ReplicationLatency', dims, 'Maximum'),
      above: RTC_MINUTES * 60,
      description: 'replication is slower than the 15-minute RTC threshold',
    });
  }
}
