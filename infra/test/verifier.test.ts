/**
 * The scheduled verifier and witness in the replica stack: the locked state bucket, the Ed25519
 * witness key only the verifier may use, the verifier role's exact actions (and the absence of
 * every write to the archives), its environment, schedule and alarms.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALWAYS_DENIED_ACTIONS } from '../src/bucket-policy.js';
import { namesOf } from '../src/names.js';
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

const c = config();
const n = namesOf(c);
let s: Synthesized;
beforeAll(() => {
  s = synth(c);
});

const resourcesOf = (x: Statement): string[] =>
  (Array.isArray(x.Resource) ? x.Resource : [x.Resource]).map((r) => JSON.stringify(r));
const stateBucketId = () =>
  Object.keys(
    s.replicaT.findResources('AWS::S3::Bucket', { Properties: { BucketName: n.stateBucket } }),
  )[0] as string;
const statePolicy = (): Statement[] =>
  (Object.values(
    s.replicaT.findResources('AWS::S3::BucketPolicy', {
      Properties: { Bucket: { Ref: stateBucketId() } },
    }),
  )[0]?.Properties.PolicyDocument.Statement ?? []) as Statement[];
const witnessKeyId = () =>
  Object.keys(
    s.replicaT.findResources('AWS::KMS::Key', {
      Properties: { KeySpec: 'ECC_NIST_EDWARDS25519' },
    }),
  )[0] as string;
const verifierFn = () =>
  Object.values(
    s.replicaT.findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: n.verifierFunction },
    }),
  )[0]?.Properties as FnProps;
type FnProps = Record<string, unknown> & {
  Environment: { Variables: Record<string, unknown> };
  DeadLetterConfig: { TargetArn: unknown };
};
const verifierArn = () => ({ 'Fn::GetAtt': [roleId(s.replicaT, n.verifierRole), 'Arn'] });

describe('state bucket', () => {
  it('is Object Lock COMPLIANCE with the archive retention, versioned, private, SSE-KMS, retained, access-logged', () => {
    s.replicaT.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: n.stateBucket,
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
            Match.objectLike({
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }),
            }),
          ],
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: `${n.stateBucket}/` }),
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(s.replicaT.toJSON().Resources[stateBucketId()].Properties.LifecycleConfiguration).toBe(
      undefined,
    );
  });

  it('takes its own retention when configured', () => {
    const x = synth(config({ verifier: { stateRetentionDays: 4000 } }));
    x.replicaT.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: n.stateBucket,
      ObjectLockConfiguration: Match.objectLike({
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 4000 } },
      }),
    });
  });

  it('carries the locked-bucket denies: TLS, deletes and lock changes, retention, legal hold, puts without If-None-Match', () => {
    const st = statePolicy();
    const deny = (sid: string) => st.find((x) => x.Sid === sid && x.Effect === 'Deny');
    expect(deny('DenyInsecureTransport')?.Condition).toEqual({
      Bool: { 'aws:SecureTransport': 'false' },
    });
    expect(actionsOf(deny('DenyDeletesAndLockChanges') as Statement).sort()).toEqual(
      [...ALWAYS_DENIED_ACTIONS].sort(),
    );
    expect(actionsOf(deny('DenyRetentionChanges') as Statement)).toEqual(['s3:PutObjectRetention']);
    expect(deny('DenyRetentionChanges')?.Condition).toBeUndefined();
    expect(deny('DenyLegalHoldChanges')?.Condition).toBeUndefined();
    expect(deny('DenyPutWithoutIfNoneMatch')?.Condition).toEqual({
      Null: { 's3:if-none-match': 'true' },
    });
    for (const x of st) expect(x.Principal).toEqual('*');
    expect(st.filter((x) => x.Effect === 'Allow')).toEqual([]);
  });
});

describe('witness key', () => {
  it('is an ECC_NIST_EDWARDS25519 SIGN_VERIFY key of its own (not multi-Region, not a replica), retained', () => {
    const key = s.replicaT.toJSON().Resources[witnessKeyId()];
    expect(key.Properties).toMatchObject({
      KeySpec: 'ECC_NIST_EDWARDS25519',
      KeyUsage: 'SIGN_VERIFY',
    });
    expect(key.Properties.MultiRegion).not.toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    s.replicaT.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: n.witnessKeyAlias,
      TargetKeyId: { 'Fn::GetAtt': [witnessKeyId(), 'Arn'] },
    });
  });

  it('lets only the verifier role Sign (and read the public key); the account administers without Sign', () => {
    const st = keyPolicies(s.replicaT)[witnessKeyId()] as Statement[];
    const signers = st.filter(
      (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => matches(a, 'kms:Sign')),
    );
    expect(signers).toHaveLength(1);
    expect(signers[0]?.Principal).toEqual({ AWS: verifierArn() });
    expect(actionsOf(signers[0] as Statement).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    for (const x of st) {
      for (const a of actionsOf(x)) {
        expect(['*', 'kms:*', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion']).not.toContain(a);
        if (x !== signers[0]) expect(matches(a, 'kms:Sign'), `${x.Sid} allows ${a}`).toBe(false);
      }
    }
    const others = st.filter((x) => x !== signers[0]).flatMap(actionsOf);
    expect(others).toContain('kms:GetPublicKey'); // the auditor
  });
});

describe('verifier role', () => {
  const statements = () => roleStatements(s.replicaT, n.verifierRole);
  const archiveArns = () => [`arn:aws:s3:::${n.archiveBucket}`, `arn:aws:s3:::${n.replicaBucket}`];

  it('has exactly the read, write-once, sign, publish and log actions', () => {
    const actions = [...new Set(statements().flatMap(actionsOf))].sort();
    expect(actions).toEqual(
      [
        'kms:Decrypt',
        // The log keys' public keys through KmsSigner.publicKey: DescribeKey with GetPublicKey.
        'kms:DescribeKey',
        'kms:GenerateDataKey',
        'kms:GetPublicKey',
        'kms:Sign',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetBucketObjectLockConfiguration',
        's3:GetBucketVersioning',
        's3:GetObject',
        's3:GetObjectLegalHold',
        's3:GetObjectRetention',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
        's3:PutObject',
        'sns:Publish',
      ].sort(),
    );
  });

  it('on both archives only reads: no Put*, no Delete*, no retention, legal hold or wildcard action', () => {
    const onArchives = statements().filter((x) =>
      resourcesOf(x).some((r) => archiveArns().some((a) => r.includes(a))),
    );
    expect(onArchives.length).toBeGreaterThan(0);
    for (const x of onArchives)
      for (const a of actionsOf(x)) expect(a).toMatch(/^s3:(Get|List)[A-Za-z]+$/);
    for (const x of statements())
      for (const a of actionsOf(x)) {
        expect(['*', 's3:*', 'kms:*', 'sns:*', 'logs:*']).not.toContain(a);
        for (const d of DANGEROUS_ACTIONS)
          expect(matches(a, d), `verifier allows ${a} (covers ${d})`).toBe(false);
      }
    const puts = statements().filter((x) => actionsOf(x).some((a) => matches('s3:Put*', a)));
    expect(puts.map((x) => x.Sid)).toEqual(['PutStateWriteOnce']);
  });

  it('puts into the state bucket only conditionally and COMPLIANCE-locked', () => {
    const put = statements().find((x) => x.Sid === 'PutStateWriteOnce') as Statement;
    expect(actionsOf(put)).toEqual(['s3:PutObject']);
    expect(put.Resource).toBe(`arn:aws:s3:::${n.stateBucket}/*`);
    expect(put.Condition).toEqual({
      Null: { 's3:if-none-match': 'false' },
      StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' },
    });
  });

  it('reads only the store prefix of the archives, decrypts only through S3', () => {
    const read = statements().find((x) => x.Sid === 'ReadArchives') as Statement;
    expect(read.Resource).toEqual(archiveArns().map((a) => `${a}/audit/*`));
    const decrypts = statements().filter((x) => actionsOf(x).includes('kms:Decrypt'));
    for (const x of decrypts)
      expect(Object.values(x.Condition?.StringEquals ?? {})[0]).toMatch(
        /^(s3|sns)\.eu-(west|central)-1\.amazonaws\.com$/,
      );
    const archiveKey = statements().find((x) => x.Sid === 'ReadArchiveViaS3') as Statement;
    expect(archiveKey.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' },
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': n.archiveDataKeyAlias },
    });
  });

  it('is let into the archive key and the signing key by the primary stack, pinned by aws:PrincipalArn', () => {
    const pinned = {
      ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::111111111111:role/${n.verifierRole}` },
    };
    const all = Object.values(keyPolicies(s.primaryT)).flat();
    const decrypt = all.find((x) => x.Sid === 'VerifierDecrypt') as Statement;
    expect(actionsOf(decrypt)).toEqual(['kms:Decrypt']);
    expect(decrypt.Condition).toMatchObject(pinned);
    const pub = all.filter((x) => x.Sid === 'VerifierReadsPublicKey');
    expect(pub).toHaveLength(1);
    expect(actionsOf(pub[0] as Statement).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey']);
    s.primaryT.hasResourceProperties('AWS::KMS::Alias', { AliasName: n.archiveDataKeyAlias });
  });
});

describe('verifier function', () => {
  it('runs the verify bundle with the documented environment, 1024 MB, 10 minutes, one at a time', () => {
    const f = verifierFn();
    expect(f).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 600,
      ReservedConcurrentExecutions: 1,
      Role: verifierArn(),
    });
    const env = f.Environment.Variables;
    expect(env).toMatchObject({
      AUDITLOCK_PRIMARY_STORE: `s3://${n.archiveBucket}/audit`,
      AUDITLOCK_PRIMARY_REGION: 'eu-central-1',
      AUDITLOCK_REPLICA_STORE: `s3://${n.replicaBucket}/audit`,
      AUDITLOCK_STATE_STORE: `s3://${n.stateBucket}`,
      AUDITLOCK_LOG_KEY_IDS: `arn:aws:kms:eu-central-1:111111111111:${n.signingKeyAlias}`,
      AUDITLOCK_WITNESS_KMS_KEY_ID: { 'Fn::GetAtt': [witnessKeyId(), 'Arn'] },
      AUDITLOCK_WITNESS_NAME: 'audit.acme.example/prod/witness/verifier',
      AUDITLOCK_NOTIFY_TOPIC_ARN: {
        Ref: Object.keys(s.replicaT.findResources('AWS::SNS::Topic'))[0],
      },
      AUDITLOCK_RETENTION_DAYS: '2557',
      AUDITLOCK_STATE_RETENTION_DAYS: '2557',
      AUDITLOCK_RTC_WINDOW_SECONDS: '900',
      AUDITLOCK_TIME_RESERVE_MS: '30000',
      POWERTOOLS_METRICS_NAMESPACE: 'auditlock',
      POWERTOOLS_SERVICE_NAME: n.verifierFunction,
    });
    expect(f.DeadLetterConfig.TargetArn).toEqual(env.AUDITLOCK_NOTIFY_TOPIC_ARN);
  });

  it('trusts the in-Region signing-key replica when there is one, plus retired generations', () => {
    const primary =
      'arn:aws:kms:eu-central-1:111111111111:key/mrk-0123456789abcdef0123456789abcdef';
    const retired =
      'arn:aws:kms:eu-central-1:111111111111:key/mrk-fedcba9876543210fedcba9876543210';
    const x = synth(
      config({
        replica: { account: '111111111111', region: 'eu-west-1', signingKeyArn: primary },
        verifier: { retiredSigningKeyArns: [retired] },
      }),
    );
    const [replicaKey] = Object.keys(x.replicaT.findResources('AWS::KMS::ReplicaKey'));
    const f = Object.values(
      x.replicaT.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: n.verifierFunction },
      }),
    )[0]?.Properties as FnProps;
    expect(f.Environment.Variables.AUDITLOCK_LOG_KEY_IDS).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [replicaKey, 'Arn'] }, `,${retired}`]],
    });
    const st = roleStatements(x.replicaT, n.verifierRole);
    expect(st.find((y) => y.Sid === 'RetiredLogKeysPublic')?.Resource).toBe(retired);
    const [policy] = Object.values(keyPolicies(x.replicaT, 'AWS::KMS::ReplicaKey'));
    const verifierUse = (policy ?? []).find((y) => y.Sid === 'VerifierReadsPublicKey');
    expect(actionsOf(verifierUse as Statement).sort()).toEqual([
      'kms:DescribeKey',
      'kms:GetPublicKey',
    ]);
  });

  it('is invoked by an EventBridge Scheduler schedule at the configured rate, with a role that may only invoke it', () => {
    const x = synth(config({ schedule: { rateMinutes: 30 } }));
    const schedules = Object.values(x.replicaT.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    const fnId = Object.keys(
      x.replicaT.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: n.verifierFunction },
      }),
    )[0];
    expect(schedules[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(30 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [roleId(x.replicaT, n.verifierSchedulerRole), 'Arn'] },
      },
    });
    const st = roleStatements(x.replicaT, n.verifierSchedulerRole);
    expect(st.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
    expect(st[0]?.Resource).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(Object.keys(s.primaryT.findResources('AWS::Scheduler::Schedule'))).toEqual([]);
  });
});

describe('findings topic and alarms', () => {
  it('the topic is KMS-encrypted, TLS-only and mails the configured address', () => {
    s.replicaT.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'acme-audit-findings',
      KmsMasterKeyId: Match.anyValue(),
    });
    s.replicaT.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@acme.example',
    });
    const policies = Object.values(s.replicaT.findResources('AWS::SNS::TopicPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    expect(
      policies.some(
        (x) =>
          x.Effect === 'Deny' &&
          JSON.stringify(x.Condition) ===
            JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      ),
    ).toBe(true);
    // The topic policy replaces SNS's default one: this account's alarms are let in explicitly.
    const alarms = policies.find((x) => x.Sid === 'CloudWatchAlarms') as Statement;
    expect(alarms.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    expect(alarms.Condition).toEqual({
      ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:*' },
      StringEquals: { 'aws:SourceAccount': '111111111111' },
    });
  });

  it('alarms on errors, on not running for two periods, on any finding, on a stale cosigned head and on replication lag', () => {
    const alarms = Object.values(s.replicaT.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties,
    );
    const by = (metric: string) => alarms.find((a) => a.MetricName === metric);
    expect(by('Errors')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(by('Invocations')).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      Period: 3600,
      TreatMissingData: 'breaching',
    });
    expect(by('FindingsTotal')).toMatchObject({
      Namespace: 'auditlock',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    // The handler's metrics carry its Powertools service name, the function's name.
    for (const m of ['FindingsTotal', 'SecondsSinceCosignedHead', 'ReplicationLagSeconds'])
      expect(by(m)?.Dimensions).toEqual([{ Name: 'service', Value: n.verifierFunction }]);
    expect(by('SecondsSinceCosignedHead')).toMatchObject({
      Namespace: 'auditlock',
      Statistic: 'Maximum',
      Threshold: 3 * 3600,
    });
    expect(by('ReplicationLagSeconds')).toMatchObject({
      Namespace: 'auditlock',
      Statistic: 'Maximum',
      Threshold: 900,
    });
    expect(alarms).toHaveLength(5);
    const [topic] = Object.keys(s.replicaT.findResources('AWS::SNS::Topic'));
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topic }]);
  });

  it('the stale-head threshold follows the configuration', () => {
    const x = synth(config({ schedule: { rateMinutes: 15 }, verifier: { staleHeadPeriods: 4 } }));
    x.replicaT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SecondsSinceCosignedHead',
      Threshold: 4 * 15 * 60,
      Period: 900,
    });
  });
});

describe('cross-account replica', () => {
  it('the archive lets the verifier of the replica account read its store, pinned by aws:PrincipalArn', () => {
    const x = synth(config({ replica: { account: '222222222222', region: 'eu-west-1' } }));
    const policy = Object.values(x.primaryT.findResources('AWS::S3::BucketPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    const allow = policy.find((y) => y.Sid === 'AllowVerifierRead') as Statement;
    expect(allow.Effect).toBe('Allow');
    for (const a of actionsOf(allow)) expect(a).toMatch(/^s3:(Get|List)/);
    expect(allow.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::222222222222:role/${n.verifierRole}` },
    });
  });
});
