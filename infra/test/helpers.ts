/** Test helpers: a valid configuration, synthesized templates and IAM statement lookups. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { type BuildOptions, buildApp, type Deployment } from '../src/app.js';
import { type DeploymentConfig, parseConfig } from '../src/config.js';

/** A configuration with every source type, as a user would write it (before defaults). */
export function rawConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'acme-audit',
    primary: { account: '111111111111', region: 'eu-central-1' },
    replica: { account: '111111111111', region: 'eu-west-1' },
    retentionDays: 2557,
    originPrefix: 'audit.acme.example/prod',
    ingest: [
      { type: 'sqs', log: 'app' },
      { type: 'kinesis', log: 'stream', shards: 2 },
      { type: 'eventbridge', log: 'events', sources: ['com.acme.orders'] },
      { type: 'cloudwatch-logs', log: 'cwl', logGroupNames: ['/acme/app/audit'] },
    ],
    alarmEmail: 'oncall@acme.example',
    ...overrides,
  };
}

export function config(overrides: Record<string, unknown> = {}): DeploymentConfig {
  return parseConfig(rawConfig(overrides));
}

/** Every handler folder the stacks package: the four ingest sources, the verifier, the export. */
export const HANDLERS = [
  'sqs',
  'kinesis',
  'eventbridge',
  'cloudwatch-logs',
  'verify',
  'export',
] as const;

let stubDir: string | undefined;
/**
 * A bundle folder with a stub `index.mjs` per handler. The templates do not depend on the code
 * (only the asset hash does), so the tests need neither the main package's bundle nor a handler
 * that is still being written; `cdk synth` and scripts/infra-check.mjs deploy the real bundles.
 */
export function stubBundleDir(skip: readonly string[] = []): string {
  if (skip.length === 0 && stubDir !== undefined) return stubDir;
  const dir = mkdtempSync(join(tmpdir(), 'auditlock-stub-bundle-'));
  for (const h of HANDLERS) {
    if (skip.includes(h)) continue;
    mkdirSync(join(dir, h));
    writeFileSync(
      join(dir, h, 'index.mjs'),
      `export const handler = async () => ({ stub: '${h}' });\n`,
    );
  }
  if (skip.length === 0) stubDir = dir;
  return dir;
}

/** buildApp with the stub bundle. */
export function build(c: DeploymentConfig, options: BuildOptions = {}): Deployment {
  return buildApp(c, { bundleDir: stubBundleDir(), ...options });
}

export type Synthesized = Deployment & { primaryT: Template; replicaT: Template };

/** Both templates of a deployment, without the nag packs (nag.test.ts runs those). */
export function synth(c: DeploymentConfig): Synthesized {
  const d = build(c, { nag: false });
  return { ...d, primaryT: Template.fromStack(d.primary), replicaT: Template.fromStack(d.replica) };
}

export type Statement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

export const actionsOf = (s: Statement): string[] =>
  Array.isArray(s.Action) ? s.Action : [s.Action];

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** The logical id of the role whose RoleName is `roleName`. */
export function roleId(t: Template, roleName: string): string {
  const roles = t.findResources('AWS::IAM::Role', { Properties: { RoleName: roleName } });
  const ids = Object.keys(roles);
  if (ids.length !== 1) throw new Error(`expected one role ${roleName}, found ${ids.length}`);
  return ids[0] as string;
}

/** Every identity-policy statement attached to a role (AWS::IAM::Policy, inline, managed). */
export function roleStatements(t: Template, roleName: string): Statement[] {
  const id = roleId(t, roleName);
  const role = (t.toJSON().Resources as Resources)[id]?.Properties ?? {};
  const out: Statement[] = [];
  for (const p of (role.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ??
    [])
    out.push(...p.PolicyDocument.Statement);
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'])
    for (const r of Object.values(t.findResources(type))) {
      const roles = (r.Properties.Roles as { Ref?: string }[] | undefined) ?? [];
      if (roles.some((x) => x.Ref === id))
        out.push(...(r.Properties.PolicyDocument.Statement as Statement[]));
    }
  if ((role.ManagedPolicyArns as unknown[] | undefined)?.length)
    throw new Error(`${roleName} has managed policies`);
  return out;
}

/** Statements of every key policy in a template, by key logical id. */
export function keyPolicies(t: Template, type = 'AWS::KMS::Key'): Record<string, Statement[]> {
  const out: Record<string, Statement[]> = {};
  for (const [id, r] of Object.entries(t.findResources(type)))
    out[id] = (r.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
  return out;
}

/** Whether `action` is matched by an IAM action pattern (`s3:*`, `s3:Put*`, `*`). */
export function matches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.?+^$()[\]{}|\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}

/** Actions no role may ever be allowed: deletes, lock and retention changes, wildcards, PassRole. */
export const DANGEROUS_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:DeleteBucket',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
  's3:PutBucketVersioning',
  's3:PutLifecycleConfiguration',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutReplicationConfiguration',
  's3:ReplicateDelete',
  's3:PutObjectAcl',
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:CreateGrant',
  'iam:PassRole',
] as const;
