/**
 * KMS keys and their key policies. No key policy grants `kms:*`: the account (root) gets the
 * administrative actions listed here, each usage action goes to the one role that needs it.
 * The account must keep kms:PutKeyPolicy, or KMS's lockout safety check refuses the policy and the
 * key becomes unmanageable; that also means an administrator can rewrite a key policy, a
 * deliberate, CloudTrail-logged act (docs/COMPLIANCE.md lists it among the operator's duties).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  ArnPrincipal,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * What the account may do to a key: describe, tag, manage aliases, rotate and edit the policy.
 * Deliberately absent: every cryptographic action (Sign, Decrypt, GenerateDataKey…, so an
 * administrator cannot sign log heads or read the archive without first changing the policy),
 * kms:CreateGrant (a grant would be a second, policy-less path to Sign), kms:DisableKey and
 * kms:ScheduleKeyDeletion (disabling or deleting the data key makes the archive unreadable for
 * its whole retention: to do it one must first rewrite the policy).
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:ListResourceTags',
  'kms:ListKeyPolicies',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
] as const;

/** Multi-Region keys only: replicate and move the primary Region. */
const MULTI_REGION_ADMIN_ACTIONS = ['kms:ReplicateKey', 'kms:UpdatePrimaryRegion'] as const;

/** A usage grant in a key policy. */
export type KeyUse = {
  readonly sid: string;
  readonly principal: IPrincipal;
  readonly actions: readonly string[];
  readonly conditions?: Record<string, unknown>;
};

/** A key policy: the account's administration plus the listed uses. */
export function keyPolicy(
  uses: readonly KeyUse[],
  options?: { multiRegion?: boolean },
): PolicyDocument {
  const admin = [...KEY_ADMIN_ACTIONS, ...(options?.multiRegion ? MULTI_REGION_ADMIN_ACTIONS : [])];
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'AccountAdministrationWithoutUse',
        principals: [new AccountRootPrincipal()],
        actions: admin,
        resources: ['*'],
      }),
      ...uses.map(
        (u) =>
          new PolicyStatement({
            sid: u.sid,
            principals: [u.principal],
            actions: [...u.actions],
            resources: ['*'],
            conditions: u.conditions,
          }),
      ),
    ],
  });
}

/**
 * A principal for a role named in another stack, Region or account, usable before that role
 * exists: resource policies that name a missing role ARN are refused at deploy time, so the
 * account is named and the role is pinned with `aws:PrincipalArn`.
 */
export function roleByArn(
  account: string,
  roleArn: string,
): { principal: IPrincipal; condition: Record<string, unknown> } {
  return {
    principal: new ArnPrincipal(`arn:aws:iam::${account}:root`),
    condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
  };
}

/** A symmetric SSE-KMS key with yearly automatic rotation, retained on stack deletion. */
export function dataKey(
  scope: Construct,
  id: string,
  description: string,
  uses: readonly KeyUse[],
): Key {
  return new Key(scope, id, {
    description,
    enableKeyRotation: true,
    rotationPeriod: Duration.days(365),
    policy: keyPolicy(uses),
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/**
 * The log's signing key: ECC_NIST_P256 SIGN_VERIFY (ECDSA_SHA_256, the signed-note 0x02 type), a
 * multi-Region key so the replica Region can hold a replica for verification. Asymmetric keys do
 * not rotate automatically: rotation is a new generation (docs/DEPLOY.md).
 */
export function signingKey(
  scope: Construct,
  id: string,
  description: string,
  uses: readonly KeyUse[],
): Key {
  return new Key(scope, id, {
    description,
    keySpec: KeySpec.ECC_NIST_P256,
    keyUsage: KeyUsage.SIGN_VERIFY,
    multiRegion: true,
    policy: keyPolicy(uses, { multiRegion: true }),
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
