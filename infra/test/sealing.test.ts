/**
 * Sealed fields (docs/DEPLOY.md "Sealed fields"): the key table, its keys, the eraser role and
 * the ingest functions' sealing variables exist only when `sealing` is configured, with the grants
 * the key store's code calls and nothing more.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { InfraConfigError, readConfigFile } from '../src/config.js';
import { namesOf } from '../src/names.js';
import {
  ERASER_KEY_TABLE_ACTIONS,
  INGEST_KEY_TABLE_ACTIONS,
  PSEUDONYM_KEY_NAME,
  WRAP_CONTEXT_KEYS,
} from '../src/sealing.js';
import {
  actionsOf,
  build,
  config,
  keyPolicies,
  matches,
  roleId,
  roleStatements,
  type Statement,
  synth,
} from './helpers.js';

const SEAL = {
  v: 1,
  subject: 'actor.id',
  fields: [{ path: 'actor.id' }, { path: 'detail.email', subject: 'detail.userId' }],
};
const sealed = (extra: Record<string, unknown> = {}) =>
  config({ sealing: { config: SEAL, ...extra } });
const SEAL_VARS = ['AUDITLOCK_SEAL_CONFIG', 'AUDITLOCK_KEY_TABLE', 'AUDITLOCK_KEY_WRAP_KMS_KEY_ID'];

const c = sealed();
const n = namesOf(c);
const s = synth(c);
const t = s.primaryT;

/** Every Allow statement of a role granting an action matched by `action`. */
const granting = (role: string, action: string): Statement[] =>
  roleStatements(t, role).filter(
    (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => matches(a, action)),
  );
const keyIdOfAlias = (alias: string): string => {
  const aliases = t.findResources('AWS::KMS::Alias', { Properties: { AliasName: alias } });
  const a = Object.values(aliases)[0] as {
    Properties: { TargetKeyId: { 'Fn::GetAtt': string[] } };
  };
  return a.Properties.TargetKeyId['Fn::GetAtt'][0] as string;
};

describe('sealing off (the default)', () => {
  const off = synth(config());
  it('creates no table, no eraser role, no extra key and no sealing variable', () => {
    off.primaryT.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(
      Object.keys(
        off.primaryT.findResources('AWS::IAM::Role', { Properties: { RoleName: n.eraserRole } }),
      ),
    ).toEqual([]);
    expect(Object.keys(off.primaryT.findResources('AWS::KMS::Key'))).toHaveLength(
      Object.keys(t.findResources('AWS::KMS::Key')).length - 2,
    );
    for (const fn of Object.values(off.primaryT.findResources('AWS::Lambda::Function'))) {
      const vars = Object.keys(fn.Properties.Environment.Variables as object);
      for (const v of SEAL_VARS) expect(vars).not.toContain(v);
    }
    expect(
      roleStatements(off.primaryT, n.ingestRole).some((x) =>
        actionsOf(x).some((a) => a.startsWith('dynamodb:')),
      ),
    ).toBe(false);
  });
});

describe('the key table', () => {
  it("has the adapter's key schema, on-demand billing, deletion protection and is retained", () => {
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: n.keyTable,
        KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('keeps point-in-time recovery for the shortest window by default, and the configured one', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: {
        PointInTimeRecoveryEnabled: true,
        RecoveryPeriodInDays: 1,
      },
    });
    synth(sealed({ pitrDays: 7 })).primaryT.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { RecoveryPeriodInDays: 7 },
    });
    expect(() => sealed({ pitrDays: 36 })).toThrow(InfraConfigError);
    expect(() => sealed({ pitrDays: 0 })).toThrow(InfraConfigError);
  });

  it('is encrypted with its own customer managed key, usable only through DynamoDB', () => {
    const keyId = keyIdOfAlias(n.keyTableDataKeyAlias);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    const uses = (keyPolicies(t)[keyId] as Statement[]).filter(
      (x) => x.Sid !== 'AccountAdministrationWithoutUse' && x.Sid !== 'DynamoDbDescribesKey',
    );
    expect(uses.length).toBe(3);
    for (const u of uses)
      expect(u.Condition?.StringEquals?.['kms:ViaService']).toBe(
        `dynamodb.${c.primary.region}.amazonaws.com`,
      );
  });
});

describe('the wrapping key', () => {
  const keyId = keyIdOfAlias(n.subjectKeyWrapAlias);
  const policy = keyPolicies(t)[keyId] as Statement[];

  it('is symmetric, rotates yearly and is retained', () => {
    t.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true, RotationPeriodInDays: 365 },
    });
    const key = t.toJSON().Resources[keyId];
    expect(key.Properties.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('lets only the ingest role GenerateDataKey, with exactly the wrapper context keys', () => {
    const generators = policy.filter(
      (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => matches(a, 'kms:GenerateDataKey')),
    );
    expect(generators).toHaveLength(1);
    expect(generators[0]?.Principal).toEqual({
      AWS: { 'Fn::GetAtt': [roleId(t, n.ingestRole), 'Arn'] },
    });
    expect(generators[0]?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'kms:EncryptionContextKeys': [...WRAP_CONTEXT_KEYS],
    });
    expect(generators[0]?.Condition?.Null).toEqual({
      'kms:EncryptionContext:auditlock:subject': 'false',
      'kms:EncryptionContext:auditlock:key': 'false',
    });
  });

  it('lets the eraser Decrypt the pseudonym key only, and nobody schedule its deletion', () => {
    const decrypters = policy.filter(
      (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => matches(a, 'kms:Decrypt')),
    );
    expect(decrypters.map((x) => x.Sid).sort()).toEqual([
      'EraserUnwrapsPseudonymKey',
      'IngestWrapsSubjectKeys',
    ]);
    const eraser = decrypters.find((x) => x.Sid === 'EraserUnwrapsPseudonymKey');
    expect(eraser?.Principal).toEqual({ AWS: { 'Fn::GetAtt': [roleId(t, n.eraserRole), 'Arn'] } });
    expect(eraser?.Condition?.StringEquals).toEqual({
      'kms:EncryptionContext:auditlock:subject': PSEUDONYM_KEY_NAME,
    });
    for (const x of policy)
      for (const forbidden of ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:CreateGrant'])
        expect(
          actionsOf(x).some((a) => matches(a, forbidden)),
          `${x.Sid} ${forbidden}`,
        ).toBe(false);
  });
});

describe('roles', () => {
  const tableArn = {
    'Fn::GetAtt': [Object.keys(t.findResources('AWS::DynamoDB::Table'))[0], 'Arn'],
  };

  it('the ingest role gets exactly GetItem and PutItem on the table, never DeleteItem', () => {
    const dynamo = roleStatements(t, n.ingestRole).filter((x) =>
      actionsOf(x).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0] as Statement).sort()).toEqual([...INGEST_KEY_TABLE_ACTIONS].sort());
    expect(dynamo[0]?.Resource).toEqual(tableArn);
    expect(granting(n.ingestRole, 'dynamodb:DeleteItem')).toEqual([]);
  });

  it('the eraser role gets GetItem and DeleteItem on the table, never PutItem', () => {
    const dynamo = roleStatements(t, n.eraserRole).filter((x) =>
      actionsOf(x).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0] as Statement).sort()).toEqual([...ERASER_KEY_TABLE_ACTIONS].sort());
    expect(dynamo[0]?.Resource).toEqual(tableArn);
    expect(granting(n.eraserRole, 'dynamodb:PutItem')).toEqual([]);
    expect(granting(n.eraserRole, 'kms:GenerateDataKey').map((x) => x.Sid)).toEqual([
      'ArchiveKeyViaS3',
    ]);
  });

  it('the eraser appends write-once to its own log only, and signs with the current key', () => {
    const puts = granting(n.eraserRole, 's3:PutObject');
    expect(puts).toHaveLength(1);
    expect(puts[0]?.Resource).toBe(`${n.bucketArn(n.archiveBucket)}/${c.storePrefix}/privacy/*`);
    expect(puts[0]?.Condition?.Null).toEqual({ 's3:if-none-match': 'false' });
    expect(granting(n.eraserRole, 'kms:Sign')).toHaveLength(1);
    for (const forbidden of ['s3:DeleteObject', 's3:PutObjectRetention', 'iam:PassRole'])
      expect(granting(n.eraserRole, forbidden)).toEqual([]);
  });

  it('the eraser is assumable from the primary account, by the listed principals only', () => {
    const who = 'arn:aws:iam::111111111111:role/dpo';
    const x = synth(sealed({ eraser: { principalArns: [who] } })).primaryT;
    x.hasResourceProperties('AWS::IAM::Role', {
      RoleName: n.eraserRole,
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'sts:AssumeRole',
            Condition: { ArnEquals: { 'aws:PrincipalArn': [who] } },
          }),
        ],
      },
    });
  });
});

describe('ingest functions', () => {
  it('get the three sealing variables when sealing is on', () => {
    const fns = Object.values(t.findResources('AWS::Lambda::Function')).filter((f) =>
      String(f.Properties.Description).startsWith('auditlock ingest'),
    );
    expect(fns).toHaveLength(c.ingest.length);
    for (const fn of fns) {
      const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(JSON.parse(vars.AUDITLOCK_SEAL_CONFIG as string)).toEqual(SEAL);
      expect(vars.AUDITLOCK_KEY_TABLE).toBe(n.keyTable);
      expect(vars.AUDITLOCK_KEY_WRAP_KMS_KEY_ID).toEqual({
        'Fn::GetAtt': [keyIdOfAlias(n.subjectKeyWrapAlias), 'Arn'],
      });
    }
  });
});

describe('the sealing block', () => {
  const codes = (f: () => unknown): readonly string[] => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(InfraConfigError);
      return (err as InfraConfigError).fields;
    }
    throw new Error('expected INFRA_CONFIG_INVALID');
  };
  it('refuses a field without a subject, an erasure log that is an ingest log or lane, a too-long configuration', () => {
    expect(
      codes(() => config({ sealing: { config: { v: 1, fields: [{ path: 'actor.id' }] } } })),
    ).toEqual(['sealing.config.fields.0']);
    expect(codes(() => sealed({ erasureLog: 'app' }))).toEqual(['sealing.erasureLog']);
    expect(codes(() => sealed({ erasureLog: 'app.3' }))).toEqual(['sealing.erasureLog']);
    const many = Array.from({ length: 64 }, (_, i) => ({ path: `detail.${'x'.repeat(40)}${i}` }));
    expect(
      codes(() => config({ sealing: { config: { v: 1, subject: 'actor.id', fields: many } } })),
    ).toEqual(['sealing.config']);
    expect(
      codes(() => config({ sealing: { config: SEAL }, ingestNeedsPutObjectRetention: true })),
    ).toEqual(['sealing']);
  });

  it('passes cdk-nag with its acknowledgements', () => {
    const d = build(c, { appProps: { outdir: mkdtempSync(join(tmpdir(), 'auditlock-nag-')) } });
    expect(() => d.app.synth()).not.toThrow();
  });
});

describe('the example configuration', () => {
  it('reads its sealing configuration from the file it names', () => {
    const example = readConfigFile(join(import.meta.dirname, '..', 'config', 'example.json'));
    expect(example.sealing?.config.fields.map((f) => f.path)).toContain('actor.id');
  });
});
