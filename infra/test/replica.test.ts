/** The replica stack: the same lock and protections, its own key, the optional signing-key replica. */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALWAYS_DENIED_ACTIONS } from '../src/bucket-policy.js';
import { namesOf } from '../src/names.js';
import {
  actionsOf,
  config,
  keyPolicies,
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

const policyOf = (x: Synthesized): Statement[] =>
  Object.values(x.replicaT.findResources('AWS::S3::BucketPolicy'))
    .map((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .find((st) => st.some((y) => y.Sid === 'DenyPutWithoutIfNoneMatch')) ?? [];

describe('replica bucket', () => {
  it('is locked like the archive: COMPLIANCE, versioning, private, SSE-KMS with bucket keys, retained', () => {
    s.replicaT.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: n.replicaBucket,
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }),
            }),
          ],
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: `${n.replicaBucket}/` }),
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('carries the same deny statements and, in one account, no Allow', () => {
    const st = policyOf(s);
    expect(st.map((x) => x.Sid).sort()).toEqual(
      [
        'DenyDeletesAndLockChanges',
        'DenyInsecureTransport',
        'DenyLegalHoldChanges',
        'DenyPutWithoutIfNoneMatch',
        'DenyRetentionChanges',
      ].sort(),
    );
    expect(
      actionsOf(st.find((x) => x.Sid === 'DenyDeletesAndLockChanges') as Statement).sort(),
    ).toEqual([...ALWAYS_DENIED_ACTIONS].sort());
    expect(st.filter((x) => x.Effect === 'Allow')).toEqual([]);
  });

  it('has its own data key behind the alias the replication rule names, usable only via S3 by the pinned roles', () => {
    s.replicaT.hasResourceProperties('AWS::KMS::Alias', { AliasName: n.replicaDataKeyAlias });
    const [st] = Object.values(keyPolicies(s.replicaT));
    const enc = st?.find((x) => x.Sid === 'ReplicationEncrypts');
    expect(actionsOf(enc as Statement).sort()).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
    expect(enc?.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::111111111111:role/${n.replicationRole}` },
      StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
    });
    for (const x of st ?? []) expect(actionsOf(x)).not.toContain('kms:*');
  });

  it('without the primary key ARN there is no signing key replica', () => {
    expect(Object.keys(s.replicaT.findResources('AWS::KMS::ReplicaKey'))).toEqual([]);
  });
});

describe('signing key replica', () => {
  it('replicates the configured primary key for GetPublicKey, with no Sign for anyone', () => {
    const arn = 'arn:aws:kms:eu-central-1:111111111111:key/mrk-0123456789abcdef0123456789abcdef';
    const x = synth(
      config({ replica: { account: '111111111111', region: 'eu-west-1', signingKeyArn: arn } }),
    );
    x.replicaT.hasResource('AWS::KMS::ReplicaKey', {
      Properties: Match.objectLike({ PrimaryKeyArn: arn }),
      DeletionPolicy: 'Retain',
    });
    const [st] = Object.values(keyPolicies(x.replicaT, 'AWS::KMS::ReplicaKey'));
    const actions = (st ?? []).flatMap(actionsOf);
    expect(actions).toContain('kms:GetPublicKey');
    for (const forbidden of ['kms:Sign', 'kms:*', 'kms:CreateGrant'])
      expect(actions).not.toContain(forbidden);
  });
});

describe('cross-account replica', () => {
  it("lets in only the primary account's replication and auditor roles, pinned by aws:PrincipalArn", () => {
    const x = synth(config({ replica: { account: '222222222222', region: 'eu-west-1' } }));
    const allows = policyOf(x).filter((y) => y.Effect === 'Allow');
    expect(allows.map((y) => y.Sid).sort()).toEqual([
      'AllowAuditorRead',
      'AllowReplicationFromPrimary',
    ]);
    const repl = allows.find((y) => y.Sid === 'AllowReplicationFromPrimary') as Statement;
    expect(actionsOf(repl).sort()).toEqual([
      's3:ObjectOwnerOverrideToBucketOwner',
      's3:ReplicateObject',
      's3:ReplicateTags',
    ]);
    expect(repl.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::111111111111:role/${n.replicationRole}` },
    });
    const auditor = allows.find((y) => y.Sid === 'AllowAuditorRead') as Statement;
    for (const a of actionsOf(auditor)) expect(a).toMatch(/^s3:(Get|List)/);
  });
});
