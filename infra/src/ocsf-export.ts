/**
 * The scheduled OCSF export, in the primary Region (docs/DEPLOY.md "OCSF export", docs/OCSF.md
 * §6.1): one Lambda (the main package's `dist-lambda/export` bundle) on an EventBridge Scheduler
 * schedule that exports what was sealed since its last run from the archive into an export bucket
 * (ours, or an existing one such as a Security Lake custom source's) in the Security Lake layout,
 * and keeps its state object there. Its role reads the archive and writes only its files and its
 * state under the export prefix: no delete, retention, bucket-configuration or Sign action.
 *
 * The export bucket is not object-locked: exports are derived copies (the evidence is the locked
 * archive; every row names the leaf a receipt proves), and a run started again after one that
 * died replaces the files and the state it left (src/adapters/s3-export-target.ts).
 */
import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  type IPrincipal,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Alias, type IKey, type Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, Function as LambdaFn, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { addAlarm } from './alarms.js';
import type { DeploymentConfig, ExportConfig } from './config.js';
import { handlerCode } from './ingest.js';
import { dataKey, type KeyUse } from './keys.js';
import type { Names } from './names.js';
import { PUBLIC_KEY_READ_ACTIONS, s3ViaService, statementsOf } from './roles.js';
import { scheduleFunction } from './schedule.js';

/**
 * What the export's reads of the archive call (S3Store via src/app/events.ts, head.ts,
 * trusted-segment.ts): ListObjectsV2 and ListObjectVersions; GetObject, GetObject by VersionId and
 * HeadObject. No retention or legal-hold reads (those are the verifier's). s3:ListBucket also
 * makes a missing key answer 404 (S3 answers 403 without it), which the head search relies on.
 */
export const EXPORT_ARCHIVE_BUCKET_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'] as const;
export const EXPORT_ARCHIVE_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'] as const;
/** On each trusted log key (AUDITLOCK_LOG_KEY_IDS): what KmsSigner.publicKey() needs. */
export const EXPORT_LOG_KEY_ACTIONS = PUBLIC_KEY_READ_ACTIONS;
/** Every export file's first key part: the Security Lake custom sources (src/core/ocsf-classes.ts). */
export const EXPORT_SOURCE_PATTERN = 'auditlock-*';

const DATA_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

/** `<prefix>/` or `''`: how S3ExportTarget joins the prefix and a name. */
function prefixPath(e: ExportConfig): string {
  return e.prefix === '' ? '' : `${e.prefix}/`;
}

/** ARNs of the export's objects: its files (by source folder) and its state object. */
export function exportObjectArns(c: DeploymentConfig, n: Names): { files: string; state: string } {
  const e = c.export as ExportConfig;
  const base = `${n.bucketArn(n.exportBucket)}/${prefixPath(e)}`;
  return { files: `${base}${EXPORT_SOURCE_PATTERN}/*`, state: `${base}${e.stateName}` };
}

/** The ARN covering the log streams of the export's log group. */
export function exportLogStreamsArn(c: DeploymentConfig, n: Names): string {
  return `arn:aws:logs:${c.primary.region}:${c.primary.account}:log-group:${n.exportLogGroup}:log-stream:*`;
}

/**
 * The export's role, with its S3 permissions (created before the keys, whose policies name it);
 * the construct adds the KMS, SNS and Logs ones. Never CDK's grantRead/grantWrite (grantWrite adds
 * s3:DeleteObject*, s3:PutObjectRetention and s3:PutObjectLegalHold).
 */
export function exportRole(scope: Construct, c: DeploymentConfig, n: Names): Role {
  const role = new Role(scope, 'ExportRole', {
    roleName: n.exportRole,
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: 'auditlock OCSF export: reads the archive, writes only its files and state',
  });
  const allow = statementsOf(role);
  const archive = n.bucketArn(n.archiveBucket);
  allow('ListArchive', EXPORT_ARCHIVE_BUCKET_ACTIONS, [archive]);
  allow('ReadArchive', EXPORT_ARCHIVE_OBJECT_ACTIONS, [`${archive}/${c.storePrefix}/*`]);
  const objects = exportObjectArns(c, n);
  // ListBucket: the first run's GetObject of the state (not there yet) must answer 404, not 403.
  allow('ListExportBucket', ['s3:ListBucket'], [n.bucketArn(n.exportBucket)]);
  allow('ReadState', ['s3:GetObject'], [objects.state]);
  allow('PutFilesAndState', ['s3:PutObject'], [objects.files, objects.state]);
  return role;
}

export type OcsfExportProps = {
  readonly config: DeploymentConfig;
  readonly names: Names;
  readonly role: Role;
  /** ARNs of the signing keys whose public keys the export trusts (AUDITLOCK_LOG_KEY_IDS). */
  readonly logKeyArns: readonly string[];
  /** The primary's operations key: the log group, and the alarm topic (dead letters). */
  readonly opsKey: IKey;
  readonly topic: ITopic;
  /** The primary Region's access-log bucket: our export bucket logs there too. */
  readonly accessLogs: Bucket;
  readonly bundleDir: string;
};

export class OcsfExport extends Construct {
  readonly fn: LambdaFn;
  /** The export bucket: ours, or the configured one (imported: nothing is changed on it). */
  readonly bucket: IBucket;
  /** Our bucket's SSE-KMS key; undefined with `export.bucketName`. */
  readonly key?: Key;
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: OcsfExportProps) {
    super(scope, id);
    const { config: c, names: n, role } = props;
    const e = c.export as ExportConfig;
    const { region } = c.primary;
    const viaS3 = s3ViaService(region);
    const allow = statementsOf(role);

    if (e.bucketName === undefined) {
      const key = this.#key(c, n, role);
      this.key = key;
      this.bucket = this.#bucket(c, n, key, props.accessLogs, role);
      allow('ExportKeyViaS3', DATA_KEY_ACTIONS, [key.keyArn], viaS3);
    } else {
      this.bucket = Bucket.fromBucketName(this, 'Bucket', e.bucketName);
      if (e.bucketKeyArn !== undefined)
        allow('ExportKeyViaS3', DATA_KEY_ACTIONS, [e.bucketKeyArn], viaS3);
    }

    allow('LogKeysPublic', EXPORT_LOG_KEY_ACTIONS, [...props.logKeyArns]);
    // Dead letters go to the alarm topic (encrypted with the operations key).
    allow('PublishDeadLetters', ['sns:Publish'], [props.topic.topicArn]);
    allow('AlarmTopicKey', ['kms:Decrypt', 'kms:GenerateDataKey'], [props.opsKey.keyArn], {
      StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` },
    });
    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: n.exportLogGroup,
      retention: c.lambda.logRetentionDays as RetentionDays,
      encryptionKey: props.opsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [exportLogStreamsArn(c, n)]);

    const rate = Duration.minutes(e.rateMinutes);
    this.fn = new LambdaFn(this, 'Function', {
      functionName: n.exportFunction,
      // Lambda descriptions hold 256 characters: the bucket name (<= 63), not the prefix.
      description: `auditlock scheduled OCSF export (${e.format}) into ${n.exportBucket}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(props.bundleDir, 'export'),
      role,
      memorySize: e.memoryMb,
      timeout: Duration.seconds(e.timeoutSeconds),
      // One run at a time, required: two runs start from the same state and write files of the
      // same names, so the one that stopped earlier could replace a file with fewer rows while
      // the other's state, put last, says those rows were exported (docs/DEPLOY.md "OCSF export").
      reservedConcurrentExecutions: 1,
      logGroup,
      environment: exportEnvironment(c, n, props.logKeyArns),
    });
    // A failed run's event, or one that waited a whole period behind a running export, goes to
    // the alarm topic.
    this.schedulerRole = scheduleFunction(this, {
      account: c.primary.account,
      region: c.primary.region,
      name: n.exportFunction,
      roleName: n.exportSchedulerRole,
      rateMinutes: e.rateMinutes,
      deployment: c.name,
      invokes: 'the OCSF export',
      task: `OCSF export (${e.format})`,
      sid: 'InvokeExport',
      fn: this.fn,
      deadLetters: props.topic,
    });

    addAlarm(this, 'ErrorsAlarm', props.topic, {
      metric: this.fn.metricErrors({ period: rate }),
      above: 0,
      description:
        'the OCSF export failed (no state was put: the next run starts from the same one)',
    });
    addAlarm(this, 'NotRunningAlarm', props.topic, {
      metric: this.fn.metricInvocations({ period: rate }),
      below: 1,
      periods: 2,
      missingIsBreach: true,
      description: 'the OCSF export did not run for two schedule periods',
    });

    new CfnOutput(scope, 'ExportBucketName', { value: n.exportBucket });
    new CfnOutput(scope, 'ExportFunctionName', { value: n.exportFunction });
  }

  /** Our export bucket's key: the export role writes and reads, the configured readers read. */
  #key(c: DeploymentConfig, n: Names, role: IPrincipal): Key {
    const e = c.export as ExportConfig;
    const viaS3 = s3ViaService(c.primary.region);
    const uses: KeyUse[] = [
      {
        sid: 'ExportWritesAndReads',
        principal: role,
        actions: DATA_KEY_ACTIONS,
        conditions: viaS3,
      },
    ];
    if (e.readerRoleArns.length > 0)
      uses.push({
        sid: 'ReadersDecrypt',
        // The account, pinned to the readers (they may not exist yet: roleByArn in keys.ts); their
        // own IAM policies must also allow kms:Decrypt and s3:GetObject.
        principal: new ArnPrincipal(`arn:aws:iam::${c.primary.account}:root`),
        actions: ['kms:Decrypt'],
        conditions: { ...viaS3, ArnEquals: { 'aws:PrincipalArn': [...e.readerRoleArns] } },
      });
    const key = dataKey(this, 'Key', 'auditlock: SSE-KMS of the OCSF export bucket', uses);
    new Alias(this, 'KeyAlias', { aliasName: n.exportDataKeyAlias, targetKey: key });
    return key;
  }

  /** Our export bucket: private, TLS-only, versioned, SSE-KMS, access-logged, retained; not locked. */
  #bucket(c: DeploymentConfig, n: Names, key: Key, accessLogs: Bucket, role: Role): Bucket {
    const e = c.export as ExportConfig;
    const bucket = new Bucket(this, 'Bucket', {
      bucketName: n.exportBucket,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: `${n.exportBucket}/`,
      // A run started again replaces files and the state: the replaced versions go after 30 days.
      lifecycleRules: [
        {
          id: 'expire-replaced-versions',
          noncurrentVersionExpiration: Duration.days(30),
          ...(e.expireDays === undefined ? {} : { expiration: Duration.days(e.expireDays) }),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The state decides where the next run starts (docs/OCSF.md §6: "keep it where only the
    // exporter writes"): nobody else may put it.
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyStateWritesButExporter',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [exportObjectArns(c, n).state],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
      }),
    );
    return bucket;
  }
}

/** The handler's environment (src/lambda/export-config.ts: every AUDITLOCK_* it reads). */
export function exportEnvironment(
  c: DeploymentConfig,
  n: Names,
  logKeyArns: readonly string[],
): Record<string, string> {
  const e = c.export as ExportConfig;
  return {
    AUDITLOCK_ARCHIVE_STORE: n.storeUrl,
    AUDITLOCK_EXPORT_BUCKET: n.exportBucket,
    AUDITLOCK_EXPORT_PREFIX: e.prefix,
    AUDITLOCK_EXPORT_FORMAT: e.format,
    AUDITLOCK_EXPORT_STATE_NAME: e.stateName,
    AUDITLOCK_LOG_KEY_IDS: logKeyArns.join(','),
    ...(e.logs.length > 0 ? { AUDITLOCK_LOGS: e.logs.join(',') } : {}),
    ...(e.mapping === undefined ? {} : { AUDITLOCK_OCSF_MAPPING: JSON.stringify(e.mapping) }),
    AUDITLOCK_ROWS_PER_FILE: String(e.rowsPerFile),
    AUDITLOCK_TIME_RESERVE_MS: String(e.timeReserveSeconds * 1000),
    POWERTOOLS_SERVICE_NAME: n.exportFunction,
  };
}
