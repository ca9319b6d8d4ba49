/**
 * The primary stack's template: the locked archive, its policy, keys, roles, ingest functions,
 * replication and alarms. Presence of what is needed and absence of everything dangerous.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALWAYS_DENIED_ACTIONS } from '../src/bucket-policy.js';
import { KEY_ADMIN_ACTIONS } from '../src/keys.js';
import { namesOf } from '../src/names.js';
import { REPLICATION_RULE_ID } from '../src/primary-stack.js';
import {
  actionsOf,
  config,
  DANGEROUS_ACTIONS,
  keyPolicies,
  matches,
  roleId,
  roleStatements,
  type Statement,
  type Synthesized,
  synth,
} from './helpers.js';

/** How CDK renders a StarPrincipal in a resource policy. */
const EVERYONE = '*';
const c = config();
const n = namesOf(c);
let s: Synthesized;
beforeAll(() => {
  s = synth(c);
});

const archiveBucketId = () =>
  Object.keys(
    s.primaryT.findResources('AWS::S3::Bucket', { Properties: { BucketName: n.archiveBucket } }),
  )[0] as string;
const archivePolicy = (): Statement[] => {
  const policies = s.primaryT.findResources('AWS::S3::BucketPolicy', {
    Properties: { Bucket: { Ref: archiveBucketId() } },
  });
  return (Object.values(policies)[0]?.Properties.PolicyDocument.Statement ?? []) as Statement[];
};

describe('archive bucket', () => {
  it('is Object Lock COMPLIANCE with the configured default retention, versioned, private, SSE-KMS with bucket keys', () => {
    s.primaryT.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: n.archiveBucket,
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: Match.anyValue(),
              },
            },
          ],
        },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: Match.anyValue() },
          LogFilePrefix: `${n.archiveBucket}/`,
        },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('has no lifecycle rules (expiration would add delete markers)', () => {
    const bucket = s.primaryT.toJSON().Resources[archiveBucketId()];
    expect(bucket.Properties.LifecycleConfiguration).toBeUndefined();
  });

  it('logs to a separate bucket without Object Lock, itself private and TLS-only', () => {
    const logs = s.primaryT.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: n.primaryAccessLogBucket },
    });
    const props = Object.values(logs)[0]?.Properties;
    expect(props?.ObjectLockEnabled).toBeUndefined();
    expect(props?.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
  });

  it('denies non-TLS access, deletes and every lock, retention and lifecycle change to every principal', () => {
    const st = archivePolicy();
    const deny = (sid: string) => st.find((x) => x.Sid === sid && x.Effect === 'Deny');
    const tls = deny('DenyInsecureTransport');
    expect(tls?.Principal).toEqual(EVERYONE);
    expect(tls?.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    const all = deny('DenyDeletesAndLockChanges');
    expect(all?.Principal).toEqual(EVERYONE);
    expect(all?.Condition).toBeUndefined();
    expect(actionsOf(all as Statement).sort()).toEqual([...ALWAYS_DENIED_ACTIONS].sort());
    for (const a of [
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:BypassGovernanceRetention',
      's3:PutBucketObjectLockConfiguration',
      's3:PutBucketVersioning',
      's3:PutLifecycleConfiguration',
    ])
      expect(actionsOf(all as Statement)).toContain(a);
    for (const sid of ['DenyRetentionChanges', 'DenyLegalHoldChanges']) {
      expect(deny(sid)?.Principal).toEqual(EVERYONE);
      expect(deny(sid)?.Condition).toBeUndefined(); // no exemption unless configured
    }
  });

  it('denies a PutObject that carries no If-None-Match', () => {
    const st = archivePolicy().find((x) => x.Sid === 'DenyPutWithoutIfNoneMatch');
    expect(st?.Effect).toBe('Deny');
    expect(st?.Principal).toEqual(EVERYONE);
    expect(actionsOf(st as Statement)).toEqual(['s3:PutObject']);
    expect(st?.Condition).toEqual({ Null: { 's3:if-none-match': 'true' } });
  });

  it('allows nothing to anyone in its own policy', () => {
    expect(archivePolicy().filter((x) => x.Effect === 'Allow')).toEqual([]);
  });

  it('exempts only the configured legal-hold role from the legal-hold deny', () => {
    const arn = 'arn:aws:iam::111111111111:role/legal-hold';
    const t = synth(config({ legalHoldRoleArn: arn })).primaryT;
    const policy = Object.values(t.findResources('AWS::S3::BucketPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    expect(policy.find((x) => x.Sid === 'DenyLegalHoldChanges')?.Condition).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': arn },
    });
    expect(policy.find((x) => x.Sid === 'DenyRetentionChanges')?.Condition).toBeUndefined();
  });
});

describe('replication', () => {
  it('replicates everything with RTC 15 min, metrics, SSE-KMS objects, and no delete markers', () => {
    const bucket = s.primaryT.toJSON().Resources[archiveBucketId()];
    const rc = bucket.Properties.ReplicationConfiguration;
    expect(rc.Role).toEqual({ 'Fn::GetAtt': [roleId(s.primaryT, n.replicationRole), 'Arn'] });
    expect(rc.Rules).toHaveLength(1);
    const rule = rc.Rules[0];
    expect(rule).toMatchObject({
      Id: REPLICATION_RULE_ID,
      Status: 'Enabled',
      Filter: { Prefix: '' },
      DeleteMarkerReplication: { Status: 'Disabled' },
      SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
      Destination: {
        Bucket: `arn:aws:s3:::${n.replicaBucket}`,
        EncryptionConfiguration: {
          ReplicaKmsKeyID: `arn:aws:kms:eu-west-1:111111111111:${n.replicaDataKeyAlias}`,
        },
        ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
        Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
      },
    });
    // Same account: no owner override.
    expect(rule.Destination.AccessControlTranslation).toBeUndefined();
  });

  it('gives the replication role the Object Lock actions CDK omits, and no ReplicateDelete', () => {
    const st = roleStatements(s.primaryT, n.replicationRole);
    const actions = st.flatMap(actionsOf);
    for (const a of [
      's3:GetReplicationConfiguration',
      's3:ListBucket',
      's3:GetObjectVersionForReplication',
      's3:GetObjectVersionAcl',
      's3:GetObjectVersionTagging',
      's3:GetObjectRetention',
      's3:GetObjectLegalHold',
      's3:ReplicateObject',
      's3:ReplicateTags',
    ])
      expect(actions).toContain(a);
    expect(actions).not.toContain('s3:ReplicateDelete');
    expect(actions).not.toContain('s3:ObjectOwnerOverrideToBucketOwner');
    const trust =
      s.primaryT.toJSON().Resources[roleId(s.primaryT, n.replicationRole)].Properties
        .AssumeRolePolicyDocument;
    expect(trust.Statement[0].Principal).toEqual({ Service: 's3.amazonaws.com' });
    expect(trust.Statement[0].Condition.StringEquals).toEqual({
      'aws:SourceAccount': '111111111111',
    });
  });

  it('cross-account: owner override to the destination account, and the role may use it', () => {
    const x = synth(config({ replica: { account: '222222222222', region: 'eu-west-1' } }));
    const bucket = Object.values(
      x.primaryT.findResources('AWS::S3::Bucket', { Properties: { BucketName: n.archiveBucket } }),
    )[0];
    const dest = bucket?.Properties.ReplicationConfiguration.Rules[0].Destination;
    expect(dest.Account).toBe('222222222222');
    expect(dest.AccessControlTranslation).toEqual({ Owner: 'Destination' });
    expect(roleStatements(x.primaryT, n.replicationRole).flatMap(actionsOf)).toContain(
      's3:ObjectOwnerOverrideToBucketOwner',
    );
  });

  it('alarms on failed replication and on latency past the RTC threshold, and notifies both RTC events', () => {
    s.primaryT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'OperationsFailedReplication',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: Match.arrayWith([{ Name: 'RuleId', Value: REPLICATION_RULE_ID }]),
    });
    s.primaryT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'ReplicationLatency',
      Statistic: 'Maximum',
      Threshold: 900,
    });
    const bucket = s.primaryT.toJSON().Resources[archiveBucketId()];
    const events = bucket.Properties.NotificationConfiguration.TopicConfigurations.map(
      (t: { Event: string }) => t.Event,
    );
    expect(events.sort()).toEqual([
      's3:Replication:OperationFailedReplication',
      's3:Replication:OperationMissedThreshold',
    ]);
  });
});

describe('signing key', () => {
  const signingKeys = () =>
    s.primaryT.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } });

  it('is an ECC_NIST_P256 SIGN_VERIFY multi-Region key, retained, behind the alias the functions use', () => {
    const keys = signingKeys();
    expect(Object.keys(keys)).toHaveLength(1);
    const [id, key] = Object.entries(keys)[0] as [string, (typeof keys)[string]];
    expect(key.Properties).toMatchObject({ KeyUsage: 'SIGN_VERIFY', MultiRegion: true });
    expect(key.DeletionPolicy).toBe('Retain');
    s.primaryT.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: n.signingKeyAlias,
      TargetKeyId: { 'Fn::GetAtt': [id, 'Arn'] },
    });
  });

  it('lets only the ingest role Sign; the account administers without Sign, Decrypt or kms:*', () => {
    const [id] = Object.keys(signingKeys());
    const st = keyPolicies(s.primaryT)[id as string] as Statement[];
    const signers = st.filter(
      (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => matches(a, 'kms:Sign')),
    );
    expect(signers).toHaveLength(1);
    expect(signers[0]?.Principal).toEqual({
      AWS: { 'Fn::GetAtt': [roleId(s.primaryT, n.ingestRole), 'Arn'] },
    });
    const admin = st.find((x) => x.Sid === 'AccountAdministrationWithoutUse');
    expect(JSON.stringify(admin?.Principal)).toContain(':iam::111111111111:root');
    for (const a of actionsOf(admin as Statement)) {
      expect(KEY_ADMIN_ACTIONS as readonly string[]).toContain(
        a === 'kms:ReplicateKey' || a === 'kms:UpdatePrimaryRegion' ? 'kms:DescribeKey' : a,
      );
      expect(a).not.toContain('*');
    }
    for (const forbidden of [
      'kms:Sign',
      'kms:Decrypt',
      'kms:CreateGrant',
      'kms:ScheduleKeyDeletion',
      'kms:DisableKey',
    ])
      expect(actionsOf(admin as Statement)).not.toContain(forbidden);
  });

  it('keeps retired generations for GetPublicKey only, and moves Sign to the new one', () => {
    const x = synth(config({ signingKey: { generation: 2, retiredGenerations: [1] } }));
    const keys = x.primaryT.findResources('AWS::KMS::Key', {
      Properties: { KeySpec: 'ECC_NIST_P256' },
    });
    expect(Object.keys(keys).sort()).toEqual([
      expect.stringMatching(/^SigningKeyG1/),
      expect.stringMatching(/^SigningKeyG2/),
    ]);
    const policies = keyPolicies(x.primaryT);
    for (const id of Object.keys(keys)) {
      const signs = (policies[id] as Statement[]).some((st) => actionsOf(st).includes('kms:Sign'));
      expect(signs).toBe(id.startsWith('SigningKeyG2'));
    }
  });
});

describe('no key policy and no role grants kms:* or a wildcard principal', () => {
  it('holds for every key', () => {
    for (const [, st] of Object.entries(keyPolicies(s.primaryT)))
      for (const x of st) {
        expect(actionsOf(x).filter((a) => a === '*' || a === 'kms:*')).toEqual([]);
        expect(x.Principal).not.toEqual(EVERYONE);
      }
  });
});

describe('roles: exactly what the code calls, nothing dangerous', () => {
  const roles = () => [n.ingestRole, n.auditorRole, n.replicationRole];

  it.each([['ingest'], ['auditor'], ['replication']])(
    '%s role: no dangerous action, no s3:*, kms:*, iam:PassRole',
    (which) => {
      const name = { ingest: n.ingestRole, auditor: n.auditorRole, replication: n.replicationRole }[
        which
      ] as string;
      const allowed = roleStatements(s.primaryT, name)
        .filter((x) => x.Effect === 'Allow')
        .flatMap(actionsOf);
      expect(allowed.length).toBeGreaterThan(0);
      for (const a of allowed) {
        expect(['*', 's3:*', 'kms:*', 'iam:*']).not.toContain(a);
        for (const d of DANGEROUS_ACTIONS)
          expect(matches(a, d), `${name} allows ${a} (covers ${d})`).toBe(false);
      }
      expect(roles()).toContain(name);
    },
  );

  it('ingest role: the S3 and KMS actions of s3-store.ts / kms-signer.ts and no other', () => {
    const st = roleStatements(s.primaryT, n.ingestRole);
    const s3 = st.flatMap(actionsOf).filter((a) => a.startsWith('s3:'));
    expect([...new Set(s3)].sort()).toEqual(
      [
        's3:GetBucketObjectLockConfiguration',
        's3:GetBucketVersioning',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
        's3:PutObject',
      ].sort(),
    );
    const kms = [...new Set(st.flatMap(actionsOf).filter((a) => a.startsWith('kms:')))].sort();
    expect(kms).toEqual([
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GenerateDataKey',
      'kms:GetPublicKey',
      'kms:Sign',
    ]);
    const put = st.find((x) => x.Sid === 'PutSegmentsWriteOnce');
    expect(put?.Resource).toBe(`arn:aws:s3:::${n.archiveBucket}/audit/*`);
    expect(put?.Condition).toEqual({
      Null: { 's3:if-none-match': 'false' },
      StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
    });
  });

  it('ingest role: with ingestNeedsPutObjectRetention, COMPLIANCE retention bounded by the retention period, and only it exempt', () => {
    const x = synth(config({ ingestNeedsPutObjectRetention: true }));
    const st = roleStatements(x.primaryT, n.ingestRole).find(
      (y) => y.Sid === 'SetComplianceRetentionOnPut',
    );
    expect(st?.Condition).toEqual({
      StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
      NumericLessThanEquals: { 's3:object-lock-remaining-retention-days': '2558' },
    });
    const policy = Object.values(x.primaryT.findResources('AWS::S3::BucketPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    expect(policy.find((y) => y.Sid === 'DenyRetentionChanges')?.Condition).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': `arn:aws:iam::111111111111:role/${n.ingestRole}` },
    });
  });

  it('auditor role: list, get, retention, legal hold, decrypt via S3, read public keys; nothing else', () => {
    const actions = [
      ...new Set(roleStatements(s.primaryT, n.auditorRole).flatMap(actionsOf)),
    ].sort();
    expect(actions).toEqual(
      [
        'kms:Decrypt',
        // `auditlock pubkey --kms-key` (KmsSigner.publicKey) sends DescribeKey with GetPublicKey.
        'kms:DescribeKey',
        'kms:GetPublicKey',
        's3:GetObject',
        's3:GetObjectLegalHold',
        's3:GetObjectRetention',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
      ].sort(),
    );
  });

  it('auditor role: assumable from the trusted accounts, with the external id when configured', () => {
    const x = synth(
      config({
        auditor: {
          trustedAccounts: ['333333333333', '444444444444'],
          externalId: 'acme-audit-2026',
        },
      }),
    );
    const trust = x.primaryT.toJSON().Resources[roleId(x.primaryT, n.auditorRole)].Properties
      .AssumeRolePolicyDocument.Statement as Statement[];
    expect(trust).toHaveLength(2);
    for (const t of trust)
      expect(t.Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'acme-audit-2026' } });
    expect(JSON.stringify(trust)).toContain('333333333333');
    expect(JSON.stringify(trust)).toContain('444444444444');
  });
});

describe('ingest functions', () => {
  const fns = () => s.primaryT.findResources('AWS::Lambda::Function');

  it('one nodejs22.x function per source, running as the ingest role, with the handler settings', () => {
    const all = Object.values(fns());
    expect(all).toHaveLength(4);
    const ingestArn = { 'Fn::GetAtt': [roleId(s.primaryT, n.ingestRole), 'Arn'] };
    for (const f of all) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Role: ingestArn,
        Timeout: 120,
      });
      expect(f.Properties.Environment.Variables).toMatchObject({
        AUDITLOCK_STORE: `s3://${n.archiveBucket}/audit`,
        AUDITLOCK_KMS_KEY_ID: n.signingKeyAlias,
        AUDITLOCK_ORIGIN_PREFIX: 'audit.acme.example/prod',
        AUDITLOCK_RETENTION_DAYS: '2557',
        POWERTOOLS_METRICS_NAMESPACE: 'auditlock',
      });
    }
    const logs = all.map((f) => f.Properties.Environment.Variables.AUDITLOCK_LOG).sort();
    expect(logs).toEqual(['app', 'cwl', 'events', 'stream']);
  });

  it('SQS: ReportBatchItemFailures, visibility 6x timeout, redrive after 5 receives into a 14-day DLQ', () => {
    s.primaryT.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      MaximumBatchingWindowInSeconds: 5,
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Sqsapp'), 'Arn'] },
    });
    const slow = synth(
      config({ ingest: [{ type: 'sqs', log: 'app', maxBatchingWindowSeconds: 60 }] }),
    );
    slow.primaryT.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumBatchingWindowInSeconds: 60,
    });
    s.primaryT.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
      SqsManagedSseEnabled: true,
    });
  });

  it('Kinesis: one invocation per shard, retry until expiry, bisect, on-failure destination', () => {
    s.primaryT.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ParallelizationFactor: 1,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
      BisectBatchOnFunctionError: true,
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    s.primaryT.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 2,
      StreamEncryption: { EncryptionType: 'KMS' },
    });
  });

  it('EventBridge and CloudWatch Logs: asynchronous, two retries then a DLQ', () => {
    s.primaryT.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['com.acme.orders'] },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue() })],
    });
    s.primaryT.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/acme/app/audit',
    });
    const asyncFns = Object.values(fns()).filter((f) =>
      ['events', 'cwl'].includes(f.Properties.Environment.Variables.AUDITLOCK_LOG),
    );
    expect(asyncFns).toHaveLength(2);
    for (const f of asyncFns) expect(f.Properties.DeadLetterConfig?.TargetArn).toBeDefined();
    expect(
      Object.values(s.primaryT.findResources('AWS::Lambda::EventInvokeConfig')).map(
        (r) => r.Properties.MaximumRetryAttempts,
      ),
    ).toEqual([2, 2]);
  });

  it('alarms per function: errors, throttles, DLQ depth, quarantined records (EMF), failed records, age', () => {
    const alarms = Object.values(s.primaryT.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties,
    );
    for (const log of ['app', 'stream', 'events', 'cwl']) {
      const type = { app: 'sqs', stream: 'kinesis', events: 'eventbridge', cwl: 'cloudwatch-logs' }[
        log
      ];
      const service = `acme-audit-${type}-${log}`;
      const emf = alarms.filter(
        (a) => a.Namespace === 'auditlock' && a.Dimensions?.[0]?.Value === service,
      );
      expect(emf.map((a) => a.MetricName).sort()).toEqual(['RecordsFailed', 'RecordsQuarantined']);
    }
    const count = (metric: string) => alarms.filter((a) => a.MetricName === metric).length;
    expect(count('Errors')).toBe(4);
    expect(count('Throttles')).toBe(4);
    expect(count('ApproximateNumberOfMessagesVisible')).toBe(4);
    expect(count('ApproximateAgeOfOldestMessage')).toBe(1);
    expect(count('IteratorAge')).toBe(1);
    const [topic] = Object.keys(s.primaryT.findResources('AWS::SNS::Topic'));
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topic }]);
  });

  it('the alarm topic is KMS-encrypted and mails the configured address', () => {
    s.primaryT.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    s.primaryT.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@acme.example',
    });
  });

  it('the scheduled verifier is the only function of the replica stack (verifier.test.ts)', () => {
    expect(Object.keys(s.primaryT.findResources('AWS::Scheduler::Schedule'))).toEqual([]);
    const fns = Object.values(s.replicaT.findResources('AWS::Lambda::Function'));
    expect(fns.map((f) => f.Properties.FunctionName)).toEqual([n.verifierFunction]);
  });
});
