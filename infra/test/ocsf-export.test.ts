/**
 * The scheduled OCSF export in the primary stack (opt-in `export` block): its configuration, the
 * export bucket (not locked), the role's exact actions and the absence of every delete, retention,
 * bucket-configuration, Sign and archive-write action, the function's environment and schedule.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type InfraConfigError, parseConfig, readConfigFile } from '../src/config.js';
import { namesOf } from '../src/names.js';
import {
  actionsOf,
  config,
  DANGEROUS_ACTIONS,
  keyPolicies,
  matches,
  rawConfig,
  roleId,
  roleStatements,
  type Statement,
  type Synthesized,
  synth,
} from './helpers.js';

const c = config({ export: {} });
const n = namesOf(c);
let s: Synthesized;
beforeAll(() => {
  s = synth(c);
});

const ARCHIVE = `arn:aws:s3:::${n.archiveBucket}`;
const EXPORT = `arn:aws:s3:::${n.exportBucket}`;
const STATE = `${EXPORT}/ocsf/.auditlock-export-state.json`;
const FILES = `${EXPORT}/ocsf/auditlock-*/*`;
const LAKE_KEY = 'arn:aws:kms:eu-central-1:111111111111:key/0123abcd-0123-4567-89ab-0123456789ab';

const resourcesOf = (x: Statement): unknown[] =>
  Array.isArray(x.Resource) ? x.Resource : [x.Resource];
const exportFn = (t = s.primaryT) =>
  Object.values(
    t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: n.exportFunction } }),
  )[0]?.Properties as Record<string, unknown> & {
    Environment: { Variables: Record<string, unknown> };
    DeadLetterConfig: { TargetArn: unknown };
  };
const exportBucketId = (t = s.primaryT) =>
  Object.keys(
    t.findResources('AWS::S3::Bucket', { Properties: { BucketName: n.exportBucket } }),
  )[0] as string;
const exportArn = (t = s.primaryT) => ({ 'Fn::GetAtt': [roleId(t, n.exportRole), 'Arn'] });

function fieldsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (err) {
    expect((err as InfraConfigError).code).toBe('INFRA_CONFIG_INVALID');
    return (err as InfraConfigError).fields;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('export configuration', () => {
  it('is off by default: no export function, role, bucket or schedule in either stack', () => {
    const x = synth(config());
    expect(x.primary.ocsfExport).toBeUndefined();
    for (const t of [x.primaryT, x.replicaT]) {
      expect(exportFn(t)).toBeUndefined();
      expect(
        Object.keys(t.findResources('AWS::IAM::Role', { Properties: { RoleName: n.exportRole } })),
      ).toEqual([]);
      expect(exportBucketId(t)).toBeUndefined();
    }
    expect(Object.keys(x.primaryT.findResources('AWS::Scheduler::Schedule'))).toEqual([]);
  });

  it('fills the handler defaults: parquet, hourly, every log, prefix ocsf, 900 s with a 60 s reserve', () => {
    expect(c.export).toEqual({
      rateMinutes: 60,
      format: 'parquet',
      logs: [],
      prefix: 'ocsf',
      stateName: '.auditlock-export-state.json',
      readerRoleArns: [],
      rowsPerFile: 100_000,
      memoryMb: 2048,
      timeoutSeconds: 900,
      timeReserveSeconds: 60,
    });
  });

  it('names every bad export field', () => {
    const fields = fieldsOf(
      rawConfig({
        export: {
          format: 'csv',
          rateMinutes: 1,
          logs: ['UPPER'],
          prefix: 'a/*',
          stateName: '/abs',
          bucketName: 'Bad_Bucket',
          unknown: true,
        },
      }),
    );
    expect([...fields].sort()).toEqual(
      [
        'export',
        'export.bucketName',
        'export.format',
        'export.logs.0',
        'export.prefix',
        'export.rateMinutes',
        'export.stateName',
      ].sort(),
    );
  });

  it('refuses a reserve over half the timeout, a mapping too long for the environment, and our-bucket fields with an existing bucket', () => {
    expect(
      fieldsOf(rawConfig({ export: { timeoutSeconds: 100, timeReserveSeconds: 51 } })),
    ).toEqual(['export.timeReserveSeconds']);
    expect(
      fieldsOf(
        rawConfig({ export: { mapping: { version: 1, rules: [], pad: 'x'.repeat(2100) } } }),
      ),
    ).toEqual(['export.mapping']);
    expect(fieldsOf(rawConfig({ export: { bucketKeyArn: LAKE_KEY } }))).toEqual([
      'export.bucketKeyArn',
    ]);
    expect(
      [
        ...fieldsOf(
          rawConfig({
            export: {
              bucketName: 'acme-lake',
              expireDays: 30,
              readerRoleArns: ['arn:aws:iam::111111111111:role/athena'],
            },
          }),
        ),
      ].sort(),
    ).toEqual(['export.expireDays', 'export.readerRoleArns']);
  });
});

describe('export configuration files', () => {
  it('the example turns the export on (so the offline scanners see it)', () => {
    const example = readConfigFile(join(import.meta.dirname, '..', 'config', 'example.json'));
    expect(example.export).toMatchObject({ format: 'parquet', rateMinutes: 60, prefix: 'ocsf' });
  });

  it('reads a string export.mapping as the path of a mapping file next to the configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditlock-export-config-'));
    const mapping = { version: 1, rules: [], cloud: { region: 'eu-central-1' } };
    writeFileSync(join(dir, 'mapping.json'), JSON.stringify(mapping));
    writeFileSync(
      join(dir, 'deploy.json'),
      JSON.stringify(rawConfig({ export: { mapping: 'mapping.json' } })),
    );
    expect(readConfigFile(join(dir, 'deploy.json')).export?.mapping).toEqual(mapping);
  });
});

describe('export bucket', () => {
  it('is versioned, private, SSE-KMS with its own key, access-logged, retained, and NOT object-locked', () => {
    s.primaryT.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: n.exportBucket,
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
        LoggingConfiguration: {
          DestinationBucketName: Match.anyValue(),
          LogFilePrefix: `${n.exportBucket}/`,
        },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    const props = s.primaryT.toJSON().Resources[exportBucketId()].Properties;
    expect(props.ObjectLockEnabled).toBeUndefined();
    expect(props.ObjectLockConfiguration).toBeUndefined();
    // It logs into the primary's access-log bucket, like the archive.
    const archive = Object.values(
      s.primaryT.findResources('AWS::S3::Bucket', { Properties: { BucketName: n.archiveBucket } }),
    )[0]?.Properties as { LoggingConfiguration: { DestinationBucketName: unknown } };
    expect(props.LoggingConfiguration.DestinationBucketName).toEqual(
      archive.LoggingConfiguration.DestinationBucketName,
    );
    // Replaced versions (a run started again) expire; current ones are kept unless expireDays.
    expect(props.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'expire-replaced-versions',
        NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        Status: 'Enabled',
      },
    ]);
  });

  it('is TLS-only, and nobody but the export role may put the state object', () => {
    const st = Object.values(
      s.primaryT.findResources('AWS::S3::BucketPolicy', {
        Properties: { Bucket: { Ref: exportBucketId() } },
      }),
    )[0]?.Properties.PolicyDocument.Statement as Statement[];
    const tls = st.find(
      (x) =>
        x.Effect === 'Deny' &&
        JSON.stringify(x.Condition) ===
          JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
    );
    expect(actionsOf(tls as Statement)).toEqual(['s3:*']);
    const state = st.find((x) => x.Sid === 'DenyStateWritesButExporter') as Statement;
    expect(state).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Resource: STATE });
    expect(actionsOf(state)).toEqual(['s3:PutObject']);
    expect(state.Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': exportArn() } });
    expect(st.filter((x) => x.Effect === 'Allow')).toEqual([]);
  });

  it('its key lets the export role encrypt and decrypt through S3 and the configured readers decrypt only', () => {
    const x = synth(
      config({ export: { readerRoleArns: ['arn:aws:iam::111111111111:role/athena'] } }),
    );
    const [key] = Object.entries(keyPolicies(x.primaryT)).filter(([, st]) =>
      st.some((y) => y.Sid === 'ExportWritesAndReads'),
    );
    const st = key?.[1] as Statement[];
    const viaS3 = { StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' } };
    const own = st.find((y) => y.Sid === 'ExportWritesAndReads') as Statement;
    expect(own.Principal).toEqual({ AWS: exportArn(x.primaryT) });
    expect(actionsOf(own).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(own.Condition).toEqual(viaS3);
    const readers = st.find((y) => y.Sid === 'ReadersDecrypt') as Statement;
    expect(actionsOf(readers)).toEqual(['kms:Decrypt']);
    expect(readers.Condition).toEqual({
      ...viaS3,
      ArnEquals: { 'aws:PrincipalArn': ['arn:aws:iam::111111111111:role/athena'] },
    });
    expect(readers.Principal).toEqual({ AWS: 'arn:aws:iam::111111111111:root' });
    x.primaryT.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: n.exportDataKeyAlias,
      TargetKeyId: { 'Fn::GetAtt': [key?.[0], 'Arn'] },
    });
    // Without readers, only the export role uses the key.
    const [, plain] = Object.entries(keyPolicies(s.primaryT)).find(([, y]) =>
      y.some((z) => z.Sid === 'ExportWritesAndReads'),
    ) as [string, Statement[]];
    expect(plain.map((y) => y.Sid)).toEqual([
      'AccountAdministrationWithoutUse',
      'ExportWritesAndReads',
    ]);
  });
});

describe('export role', () => {
  const statements = () => roleStatements(s.primaryT, n.exportRole);

  it('has exactly the read, put, public-key, dead-letter and log actions', () => {
    expect([...new Set(statements().flatMap(actionsOf))].sort()).toEqual(
      [
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:GenerateDataKey',
        'kms:GetPublicKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
        's3:PutObject',
        'sns:Publish',
      ].sort(),
    );
  });

  it('reads the archive store (what S3Store reads call) and writes nothing there', () => {
    const by = (sid: string) => statements().find((x) => x.Sid === sid) as Statement;
    expect(actionsOf(by('ListArchive')).sort()).toEqual(['s3:ListBucket', 's3:ListBucketVersions']);
    expect(by('ListArchive').Resource).toBe(ARCHIVE);
    expect(actionsOf(by('ReadArchive')).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(by('ReadArchive').Resource).toBe(`${ARCHIVE}/audit/*`);
    const onArchive = statements().filter((x) =>
      resourcesOf(x).some((r) => JSON.stringify(r).includes(ARCHIVE)),
    );
    expect(onArchive.map((x) => x.Sid).sort()).toEqual(['ListArchive', 'ReadArchive']);
    for (const x of onArchive)
      for (const a of actionsOf(x)) expect(a).toMatch(/^s3:(Get|List)[A-Za-z]+$/);
  });

  it('puts only its files and its state under the export prefix, and reads only the state there', () => {
    const puts = statements().filter((x) => actionsOf(x).some((a) => matches('s3:Put*', a)));
    expect(puts).toHaveLength(1);
    expect(actionsOf(puts[0] as Statement)).toEqual(['s3:PutObject']);
    expect(puts[0]?.Resource).toEqual([FILES, STATE]);
    const read = statements().find((x) => x.Sid === 'ReadState') as Statement;
    expect(actionsOf(read)).toEqual(['s3:GetObject']);
    expect(read.Resource).toBe(STATE);
    // ListBucket on the export bucket: a missing state object answers 404, not 403.
    const list = statements().find((x) => x.Sid === 'ListExportBucket') as Statement;
    expect(actionsOf(list)).toEqual(['s3:ListBucket']);
    expect(list.Resource).toBe(EXPORT);
  });

  it('has no delete, retention, bypass, bucket-configuration, Sign or wildcard action', () => {
    const allowed = statements()
      .filter((x) => x.Effect === 'Allow')
      .flatMap(actionsOf);
    const forbidden = [
      ...DANGEROUS_ACTIONS,
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:DeleteObjectTagging',
      's3:PutObjectRetention',
      's3:BypassGovernanceRetention',
      's3:PutBucketPolicy',
      's3:PutBucketAcl',
      's3:PutBucketVersioning',
      's3:PutBucketObjectLockConfiguration',
      's3:PutObjectAcl',
      'kms:Sign',
      'kms:Encrypt',
    ];
    for (const a of allowed) {
      expect(['*', 's3:*', 'kms:*', 'sns:*', 'logs:*', 'iam:*']).not.toContain(a);
      expect(a).not.toMatch(/^s3:(Delete|PutBucket|Bypass|Replicate)/);
      for (const d of forbidden)
        expect(matches(a, d), `export allows ${a} (covers ${d})`).toBe(false);
    }
  });

  it('decrypts only through S3 (or SNS for the alarm topic), GetPublicKey and DescribeKey (KmsSigner.publicKey) on the signing keys only', () => {
    for (const x of statements().filter((y) => actionsOf(y).includes('kms:Decrypt')))
      expect(x.Condition?.StringEquals?.['kms:ViaService']).toMatch(
        /^(s3|sns)\.eu-central-1\.amazonaws\.com$/,
      );
    const [signingKey] = Object.keys(
      s.primaryT.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }),
    );
    const pub = statements().find((x) => x.Sid === 'LogKeysPublic') as Statement;
    expect(actionsOf(pub).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey']);
    expect(pub.Resource).toEqual({ 'Fn::GetAtt': [signingKey, 'Arn'] });
  });

  it('is let into the archive key (Decrypt via S3) and every signing generation (GetPublicKey only)', () => {
    const x = synth(config({ export: {}, signingKey: { generation: 2, retiredGenerations: [1] } }));
    const policies = keyPolicies(x.primaryT);
    const principal = { AWS: exportArn(x.primaryT) };
    const all = Object.values(policies).flat();
    const decrypt = all.filter((y) => y.Sid === 'ExportDecrypt');
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]).toMatchObject({
      Principal: principal,
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' } },
    });
    const signingKeys = Object.keys(
      x.primaryT.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }),
    );
    expect(signingKeys).toHaveLength(2);
    for (const k of signingKeys) {
      const mine = (policies[k] ?? []).filter((y) =>
        JSON.stringify(y.Principal).includes(roleId(x.primaryT, n.exportRole)),
      );
      expect(mine.map((y) => [y.Sid, actionsOf(y)])).toEqual([
        ['ExportReadsPublicKey', ['kms:GetPublicKey', 'kms:DescribeKey']],
      ]);
    }
    const st = roleStatements(x.primaryT, n.exportRole);
    const pub = st.find((y) => y.Sid === 'LogKeysPublic') as Statement;
    expect(resourcesOf(pub)).toHaveLength(2);
    expect(exportFn(x.primaryT).Environment.Variables.AUDITLOCK_LOG_KEY_IDS).toEqual({
      'Fn::Join': [
        '',
        signingKeys.flatMap((k) => [{ 'Fn::GetAtt': [k, 'Arn'] }, ',']).slice(0, -1),
      ],
    });
  });
});

describe('export function', () => {
  it('runs the export bundle on nodejs22.x, one at a time, with the documented environment', () => {
    const x = synth(
      config({
        export: {
          format: 'jsonl',
          logs: ['app', 'events'],
          prefix: 'ext/acme',
          rowsPerFile: 5000,
          timeoutSeconds: 600,
          timeReserveSeconds: 90,
          memoryMb: 3008,
          mapping: { version: 1, rules: [] },
        },
      }),
    );
    const f = exportFn(x.primaryT);
    expect(f).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 3008,
      Timeout: 600,
      ReservedConcurrentExecutions: 1,
      Role: exportArn(x.primaryT),
    });
    const [signingKey] = Object.keys(
      x.primaryT.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }),
    );
    expect(f.Environment.Variables).toEqual({
      AUDITLOCK_ARCHIVE_STORE: `s3://${n.archiveBucket}/audit`,
      AUDITLOCK_EXPORT_BUCKET: n.exportBucket,
      AUDITLOCK_EXPORT_PREFIX: 'ext/acme',
      AUDITLOCK_EXPORT_FORMAT: 'jsonl',
      AUDITLOCK_EXPORT_STATE_NAME: '.auditlock-export-state.json',
      AUDITLOCK_LOG_KEY_IDS: { 'Fn::GetAtt': [signingKey, 'Arn'] },
      AUDITLOCK_LOGS: 'app,events',
      AUDITLOCK_OCSF_MAPPING: '{"version":1,"rules":[]}',
      AUDITLOCK_ROWS_PER_FILE: '5000',
      AUDITLOCK_TIME_RESERVE_MS: '90000',
      POWERTOOLS_SERVICE_NAME: n.exportFunction,
    });
    const puts = roleStatements(x.primaryT, n.exportRole).find((y) => y.Sid === 'PutFilesAndState');
    expect(puts?.Resource).toEqual([
      `${EXPORT}/ext/acme/auditlock-*/*`,
      `${EXPORT}/ext/acme/.auditlock-export-state.json`,
    ]);
  });

  it('an empty prefix is the bucket root; without logs or mapping those variables are absent', () => {
    const x = synth(config({ export: { prefix: '' } }));
    const env = exportFn(x.primaryT).Environment.Variables;
    expect(env.AUDITLOCK_EXPORT_PREFIX).toBe('');
    expect(env).not.toHaveProperty('AUDITLOCK_LOGS');
    expect(env).not.toHaveProperty('AUDITLOCK_OCSF_MAPPING');
    const puts = roleStatements(x.primaryT, n.exportRole).find((y) => y.Sid === 'PutFilesAndState');
    expect(puts?.Resource).toEqual([
      `${EXPORT}/auditlock-*/*`,
      `${EXPORT}/.auditlock-export-state.json`,
    ]);
  });

  it('is not retried on failure; dead letters and its alarms go to the alarm topic', () => {
    const f = exportFn();
    const [topic] = Object.keys(s.primaryT.findResources('AWS::SNS::Topic'));
    expect(f.DeadLetterConfig.TargetArn).toEqual({ Ref: topic });
    s.primaryT.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: {
        Ref: Object.keys(
          s.primaryT.findResources('AWS::Lambda::Function', {
            Properties: { FunctionName: n.exportFunction },
          }),
        )[0],
      },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
    const st = roleStatements(s.primaryT, n.exportRole);
    expect(st.find((x) => x.Sid === 'PublishDeadLetters')?.Resource).toEqual({ Ref: topic });
    const alarms = Object.values(s.primaryT.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((a) =>
        JSON.stringify(a.Dimensions ?? []).includes(
          Object.keys(
            s.primaryT.findResources('AWS::Lambda::Function', {
              Properties: { FunctionName: n.exportFunction },
            }),
          )[0] as string,
        ),
      );
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(['Errors', 'Invocations']);
    expect(alarms.find((a) => a.MetricName === 'Invocations')).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      Period: 3600,
      TreatMissingData: 'breaching',
    });
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topic }]);
  });

  it('is invoked by an EventBridge Scheduler schedule at the configured rate, with a role that may only invoke it', () => {
    const x = synth(config({ export: { rateMinutes: 30 } }));
    const fnId = Object.keys(
      x.primaryT.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: n.exportFunction },
      }),
    )[0];
    const schedules = Object.values(x.primaryT.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    expect(schedules[0]?.Properties).toMatchObject({
      Name: n.exportFunction,
      ScheduleExpression: 'rate(30 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [roleId(x.primaryT, n.exportSchedulerRole), 'Arn'] },
      },
    });
    const st = roleStatements(x.primaryT, n.exportSchedulerRole);
    expect(st.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
    expect(st[0]?.Resource).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
  });
});

describe('existing export bucket', () => {
  it('creates no bucket or key, only grants on the named bucket (and its key when given)', () => {
    const x = synth(
      config({ export: { bucketName: 'acme-lake', prefix: 'ext', bucketKeyArn: LAKE_KEY } }),
    );
    expect(
      Object.keys(
        x.primaryT.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'acme-lake' } }),
      ),
    ).toEqual([]);
    expect(
      Object.values(keyPolicies(x.primaryT))
        .flat()
        .filter((y) => y.Sid === 'ExportWritesAndReads'),
    ).toEqual([]);
    const st = roleStatements(x.primaryT, n.exportRole);
    const by = (sid: string) => st.find((y) => y.Sid === sid) as Statement;
    expect(by('PutFilesAndState').Resource).toEqual([
      'arn:aws:s3:::acme-lake/ext/auditlock-*/*',
      'arn:aws:s3:::acme-lake/ext/.auditlock-export-state.json',
    ]);
    expect(by('ListExportBucket').Resource).toBe('arn:aws:s3:::acme-lake');
    expect(by('ExportKeyViaS3')).toMatchObject({
      Resource: LAKE_KEY,
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' } },
    });
    expect(exportFn(x.primaryT).Environment.Variables.AUDITLOCK_EXPORT_BUCKET).toBe('acme-lake');
    // An SSE-S3 bucket: no KMS grant for it at all.
    const y = synth(config({ export: { bucketName: 'acme-lake' } }));
    expect(roleStatements(y.primaryT, n.exportRole).find((z) => z.Sid === 'ExportKeyViaS3')).toBe(
      undefined,
    );
  });
});
