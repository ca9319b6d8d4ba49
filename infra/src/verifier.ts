/**
 * The scheduled verifier and witness, in the replica Region (issue 9, docs/DEPLOY.md "Verifier"):
 * one Lambda (the main package's `dist-lambda/verify` bundle) on an EventBridge Scheduler
 * schedule that verifies the primary and replica stores incrementally, compares them, cosigns the
 * verified heads with its Ed25519 witness key, keeps its own state and the cosigned checkpoints
 * write-once in a locked state bucket, and publishes every finding to a topic. Its role can read
 * both archives and write only conditional, COMPLIANCE-locked objects into the state bucket.
 */
import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias, type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Architecture, Function as LambdaFn, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  addAlarm,
  allowAlarmPublish,
  METRICS_NAMESPACE,
  VERIFIER_METRICS,
  verifierMetric,
} from './alarms.js';
import type { DeploymentConfig } from './config.js';
import { handlerCode } from './ingest.js';
import { dataKey, keyPolicy, roleByArn } from './keys.js';
import { LockedBucket } from './locked-bucket.js';
import type { Names } from './names.js';
import {
  AUDITOR_BUCKET_ACTIONS,
  AUDITOR_OBJECT_ACTIONS,
  PUBLIC_KEY_READ_ACTIONS,
  s3ViaService,
  statementsOf,
} from './roles.js';
import { scheduleFunction } from './schedule.js';

/** S3 Replication Time Control's window (the only one S3 offers), also the verifier's lag limit. */
export const RTC_WINDOW_SECONDS = 15 * 60;
/** Time the handler keeps in hand before its timeout to store its state (AUDITLOCK_TIME_RESERVE_MS). */
export const TIME_RESERVE_MS = 30_000;

/** Read-only on both archives: list, get, and read lock state (src/adapters/s3-versions.ts). */
export const VERIFIER_BUCKET_ACTIONS = AUDITOR_BUCKET_ACTIONS;
export const VERIFIER_OBJECT_ACTIONS = AUDITOR_OBJECT_ACTIONS;
/** S3Store's first write checks that the bucket is still versioned and locked (s3-bucket.ts). */
export const STATE_BUCKET_CHECK_ACTIONS = [
  's3:GetBucketVersioning',
  's3:GetBucketObjectLockConfiguration',
] as const;
export const WITNESS_KMS_ACTIONS = ['kms:Sign', 'kms:GetPublicKey'] as const;

/**
 * The verifier's role, with its S3 permissions; the construct adds the KMS, SNS and Logs ones.
 * Never CDK's grantWrite/grantPut/grantReadWrite (they add retention, legal-hold and delete actions).
 */
export function verifierRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const role = new Role(scope, 'VerifierRole', {
    roleName: n.verifierRole,
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description:
      'auditlock verifier: reads both archives, writes only write-once state, signs as witness',
  });
  const archives = [n.bucketArn(n.archiveBucket), n.bucketArn(n.replicaBucket)];
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListArchives',
      actions: [...VERIFIER_BUCKET_ACTIONS],
      resources: archives,
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadArchives',
      actions: [...VERIFIER_OBJECT_ACTIONS],
      resources: archives.map((b) => `${b}/${c.storePrefix}/*`),
    }),
  );
  const state = n.bucketArn(n.stateBucket);
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListAndCheckState',
      actions: [...VERIFIER_BUCKET_ACTIONS, ...STATE_BUCKET_CHECK_ACTIONS],
      resources: [state],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadState',
      actions: [...VERIFIER_OBJECT_ACTIONS],
      resources: [`${state}/*`],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'PutStateWriteOnce',
      actions: ['s3:PutObject'],
      resources: [`${state}/*`],
      conditions: {
        Null: { 's3:if-none-match': 'false' },
        StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
      },
    }),
  );
  return role;
}

/**
 * The log signing keys the verifier trusts (AUDITLOCK_LOG_KEY_IDS): the multi-Region replica in
 * this Region when the stack has one (GetPublicKey stays in-Region), else the primary Region's
 * signing-key alias ARN (known before the primary is deployed; it follows rotations), plus the
 * configured retired generations' primary ARNs.
 */
export type LogKeys = { readonly replicaKeyArn?: string | undefined };

export type VerifierProps = {
  readonly config: DeploymentConfig;
  readonly names: Names;
  readonly role: Role;
  /** The replica bucket's SSE-KMS key (its policy already lets the role decrypt through S3). */
  readonly replicaKey: IKey;
  readonly logKeys: LogKeys;
  /** The replica Region's access-log bucket: the state bucket logs there too. */
  readonly accessLogs: Bucket;
  readonly bundleDir: string;
};

export class Verifier extends Construct {
  readonly fn: LambdaFn;
  readonly state: LockedBucket;
  readonly witnessKey: Key;
  readonly topic: Topic;
  readonly schedulerRole: Role;
  /** The values of AUDITLOCK_LOG_KEY_IDS, in order. */
  readonly logKeyIds: readonly string[];

  constructor(scope: Construct, id: string, props: VerifierProps) {
    super(scope, id);
    const { config: c, names: n, role } = props;
    const region = c.replica.region;
    const account = c.replica.account;
    const auditor = roleByArn(c.primary.account, n.roleArn(c.primary.account, n.auditorRole));
    const viaS3 = s3ViaService(region);
    const allow = statementsOf(role);

    // Operations key of this Region: the verifier's log group and the findings topic.
    const opsKey = dataKey(this, 'OpsKey', 'auditlock: verifier log group and findings topic', [
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
            'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${account}:log-group:${n.verifierLogGroup}`,
          },
        },
      },
      {
        sid: 'PublishAlarms',
        principal: new ServicePrincipal('cloudwatch.amazonaws.com'),
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      },
      {
        sid: 'VerifierPublishes',
        principal: role,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
      },
    ]);

    // The state bucket: locked like the archives; the verifier writes, the auditor reads.
    const stateKey = dataKey(this, 'StateKey', 'auditlock: SSE-KMS of the verifier state bucket', [
      {
        sid: 'VerifierReadsAndWrites',
        principal: role,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        conditions: viaS3,
      },
      {
        sid: 'AuditorDecrypts',
        principal: auditor.principal,
        actions: ['kms:Decrypt'],
        conditions: { ...auditor.condition, ...viaS3 },
      },
    ]);
    new Alias(this, 'StateKeyAlias', { aliasName: n.stateDataKeyAlias, targetKey: stateKey });
    this.state = new LockedBucket(this, 'State', {
      bucketName: n.stateBucket,
      accessLogs: { bucket: props.accessLogs },
      retentionDays: c.verifier.stateRetentionDays ?? c.retentionDays,
      encryptionKey: stateKey,
      legalHoldRoleArn: c.legalHoldRoleArn,
    });
    if (account !== c.primary.account)
      this.state.bucket.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowAuditorRead',
          effect: Effect.ALLOW,
          principals: [auditor.principal],
          actions: [...AUDITOR_BUCKET_ACTIONS, ...AUDITOR_OBJECT_ACTIONS],
          resources: [this.state.bucket.bucketArn, this.state.bucket.arnForObjects('*')],
          conditions: auditor.condition,
        }),
      );

    // The witness key: Ed25519 (C2SP tlog-cosignature), its own key, not a replica of the log's.
    // Only the verifier role may Sign; the auditor may read the public key.
    this.witnessKey = new Key(this, 'WitnessKey', {
      description: `auditlock: witness key ${n.witnessName} (Ed25519 cosignatures)`,
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      policy: keyPolicy([
        { sid: 'VerifierSignsAsWitness', principal: role, actions: [...WITNESS_KMS_ACTIONS] },
        {
          sid: 'AuditorReadsPublicKey',
          principal: auditor.principal,
          actions: ['kms:GetPublicKey'],
          conditions: auditor.condition,
        },
      ]),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new Alias(this, 'WitnessKeyAlias', {
      aliasName: n.witnessKeyAlias,
      targetKey: this.witnessKey,
    });

    this.topic = new Topic(this, 'FindingsTopic', {
      topicName: `${c.name}-findings`,
      displayName: `auditlock ${c.name} verifier findings`,
      masterKey: opsKey,
      enforceSSL: true,
    });
    this.topic.addSubscription(new EmailSubscription(c.alarmEmail));
    allowAlarmPublish(this.topic, account, region);

    // KMS and SNS permissions of the role.
    allow('ReadReplicaViaS3', ['kms:Decrypt'], [props.replicaKey.keyArn], viaS3);
    allow('StateViaS3', ['kms:Decrypt', 'kms:GenerateDataKey'], [stateKey.keyArn], viaS3);
    // The archive key lives in the primary stack: named by alias, only through S3 there.
    allow(
      'ReadArchiveViaS3',
      ['kms:Decrypt'],
      [`arn:aws:kms:${c.primary.region}:${c.primary.account}:key/*`],
      {
        ...s3ViaService(c.primary.region),
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': n.archiveDataKeyAlias },
      },
    );
    allow('WitnessSigns', WITNESS_KMS_ACTIONS, [this.witnessKey.keyArn]);
    const primaryKeys = `arn:aws:kms:${c.primary.region}:${c.primary.account}`;
    const logKeyIds: string[] = [];
    if (props.logKeys.replicaKeyArn !== undefined) {
      logKeyIds.push(props.logKeys.replicaKeyArn);
      allow('LogKeyPublic', PUBLIC_KEY_READ_ACTIONS, [props.logKeys.replicaKeyArn]);
    } else {
      logKeyIds.push(`${primaryKeys}:${n.signingKeyAlias}`);
      allow('LogKeyPublicByAlias', PUBLIC_KEY_READ_ACTIONS, [`${primaryKeys}:key/*`], {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': n.signingKeyAlias },
      });
    }
    if (c.verifier.retiredSigningKeyArns.length > 0) {
      logKeyIds.push(...c.verifier.retiredSigningKeyArns);
      allow('RetiredLogKeysPublic', PUBLIC_KEY_READ_ACTIONS, [...c.verifier.retiredSigningKeyArns]);
    }
    this.logKeyIds = logKeyIds;
    allow('PublishFindings', ['sns:Publish'], [this.topic.topicArn]);
    allow('FindingsTopicKey', ['kms:Decrypt', 'kms:GenerateDataKey'], [opsKey.keyArn], {
      StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` },
    });

    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: n.verifierLogGroup,
      retention: c.lambda.logRetentionDays as RetentionDays,
      encryptionKey: opsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [verifierLogStreamsArn(c, n)]);

    const rate = Duration.minutes(c.schedule.rateMinutes);
    this.fn = new LambdaFn(this, 'Function', {
      functionName: n.verifierFunction,
      description: 'auditlock scheduled verifier and witness (both Regions)',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(props.bundleDir, 'verify'),
      role,
      memorySize: c.verifier.memoryMb,
      timeout: Duration.seconds(c.verifier.timeoutSeconds),
      // One run at a time is enough (two are safe: the state is write-once); a run that finds
      // the previous one still going is throttled and retried until the next period.
      reservedConcurrentExecutions: 1,
      logGroup,
      environment: {
        AUDITLOCK_PRIMARY_STORE: n.storeUrl,
        AUDITLOCK_PRIMARY_REGION: c.primary.region,
        AUDITLOCK_REPLICA_STORE: n.replicaStoreUrl,
        AUDITLOCK_STATE_STORE: n.stateStoreUrl,
        AUDITLOCK_LOG_KEY_IDS: logKeyIds.join(','),
        AUDITLOCK_WITNESS_KMS_KEY_ID: this.witnessKey.keyArn,
        AUDITLOCK_WITNESS_NAME: n.witnessName,
        AUDITLOCK_NOTIFY_TOPIC_ARN: this.topic.topicArn,
        AUDITLOCK_RETENTION_DAYS: String(c.retentionDays),
        // The records it writes carry the state bucket's retention explicitly, like segments.
        AUDITLOCK_STATE_RETENTION_DAYS: String(c.verifier.stateRetentionDays ?? c.retentionDays),
        AUDITLOCK_RTC_WINDOW_SECONDS: String(RTC_WINDOW_SECONDS),
        AUDITLOCK_TIME_RESERVE_MS: String(TIME_RESERVE_MS),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: n.verifierFunction,
      },
    });
    // A failed run is reported: its event goes to the findings topic (the role may publish).
    this.schedulerRole = scheduleFunction(this, {
      account: c.replica.account,
      region: c.replica.region,
      name: n.verifierFunction,
      roleName: n.verifierSchedulerRole,
      rateMinutes: c.schedule.rateMinutes,
      deployment: c.name,
      invokes: 'the verifier',
      task: 'verify both Regions and cosign',
      sid: 'InvokeVerifier',
      fn: this.fn,
      deadLetters: this.topic,
    });

    const alarm = (name: string, spec: Parameters<typeof addAlarm>[3]) =>
      addAlarm(this, name, this.topic, spec);
    alarm('ErrorsAlarm', {
      metric: this.fn.metricErrors({ period: rate }),
      above: 0,
      description: 'the scheduled verifier failed (it resumes from its state on the next run)',
    });
    alarm('NotRunningAlarm', {
      metric: this.fn.metricInvocations({ period: rate }),
      below: 1,
      periods: 2,
      missingIsBreach: true,
      description: 'the scheduled verifier did not run for two schedule periods',
    });
    alarm('FindingsAlarm', {
      metric: verifierMetric(VERIFIER_METRICS.findings, n.verifierFunction, 'Sum', rate),
      above: 0,
      description: 'the verifier reported findings (details on the findings topic and in its log)',
    });
    alarm('StaleCosignedHeadAlarm', {
      metric: verifierMetric(
        VERIFIER_METRICS.secondsSinceCosignedHead,
        n.verifierFunction,
        'Maximum',
        rate,
      ),
      above: c.verifier.staleHeadPeriods * rate.toSeconds(),
      description: `no head cosigned for more than ${c.verifier.staleHeadPeriods} schedule periods`,
    });
    alarm('ReplicationLagAlarm', {
      metric: verifierMetric(VERIFIER_METRICS.replicationLag, n.verifierFunction, 'Maximum', rate),
      above: RTC_WINDOW_SECONDS,
      description: 'objects are missing from the replica for longer than the RTC window',
    });

    new CfnOutput(scope, 'StateBucketName', { value: n.stateBucket });
    new CfnOutput(scope, 'WitnessKeyArn', { value: this.witnessKey.keyArn });
    new CfnOutput(scope, 'WitnessName', { value: n.witnessName });
    new CfnOutput(scope, 'FindingsTopicArn', { value: this.topic.topicArn });
  }
}

/** The ARN covering the log streams of the verifier's log group. */
export function verifierLogStreamsArn(c: DeploymentConfig, n: Names): string {
  return `arn:aws:logs:${c.replica.region}:${c.replica.account}:log-group:${n.verifierLogGroup}:log-stream:*`;
}
