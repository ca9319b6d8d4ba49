/**
 * Every cdk-nag finding this deployment acknowledges, with its reason, in one place for review.
 * cdk-nag 3 reports through CDK's Validations API: an unacknowledged finding fails `app.synth()`.
 * Acknowledgement ids are exact (`<pack>::<rule>[<finding>]`; v3 has no prefix matching), so the
 * IAM5 ones are computed from the same deterministic names the policies use.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { DeploymentConfig, SealingConfig } from './config.js';
import { logStreamsArn } from './ingest.js';
import type { Names } from './names.js';
import { exportLogStreamsArn, exportObjectArns } from './ocsf-export.js';
import type { PrimaryStack } from './primary-stack.js';
import type { ReplicaStack } from './replica-stack.js';
import { verifierLogStreamsArn } from './verifier.js';

const AWS = (rule: string) => `AwsSolutions::AwsSolutions-${rule}`;
const NIST = (rule: string) => `NIST.800.53.R5::NIST.800.53.R5-${rule}`;

/** One acknowledgement: which finding, on which construct (and its subtree), and why. */
export type Acknowledgement = {
  readonly scope: IConstruct;
  readonly id: string;
  readonly reason: string;
};

const WHY = {
  objectWildcard:
    'Object-level S3 actions name objects, and segment keys are created as the log grows: the resource is every object under the store prefix (or bucket) of this one bucket, never another bucket.',
  logStreams:
    "Lambda creates a log stream per execution environment; the wildcard covers only the streams of this function's own log group.",
  replicaKeyByAlias:
    "The replica data key lives in the other Region's stack and is named by alias only (no cross-region references); the statement is pinned to that alias with kms:ResourceAliases and to S3 with kms:ViaService.",
  runtime:
    'The handlers are bundled for and tested on nodejs22.x (scripts/bundle.mjs target node22); moving runtimes is a tested change of the main package, not of infra.',
  vpc: 'The functions accept no inbound traffic and call only S3 and KMS over TLS with IAM auth; a VPC would add NAT or endpoint costs without reducing what the role may do.',
  concurrency:
    'Writers are capped by the event source (SQS MaximumConcurrency, one invocation per Kinesis shard, the async queue); reserved concurrency fails to deploy in accounts with the default low quota. Set it per deployment when the quota allows.',
  syncDlq:
    "Invoked synchronously by an event source mapping, where a function DeadLetterConfig never fires; the SQS redrive policy / the mapping's on-failure destination is the dead-letter queue (alarmed).",
  dlqIsDlq:
    'This queue is itself the on-failure destination (dead-letter queue) of the Kinesis mapping; a DLQ for a DLQ would only move the problem.',
  inlinePolicy:
    'The AWS::IAM::Policy is created with its role and attached to it alone; a customer managed policy would be one more object that could be attached elsewhere.',
  accessLogsSse:
    'S3 server access logging delivers only to SSE-S3 buckets (S3 User Guide, "Enabling server access logging").',
  accessLogsReplication:
    'Server access logs are per-Region operational evidence of each bucket; each Region keeps its own.',
  replicaReplication:
    'This bucket is the replication destination; the archive is replicated into it.',
  verifierVpc:
    'The verifier accepts no inbound traffic and calls only S3, KMS and SNS over TLS with IAM auth (the primary Region cross-Region); a VPC would add NAT or endpoint costs without reducing what the role may do.',
  keysByAlias:
    "The keys live in the other Region's stack and are named by alias only (no cross-region references): each statement is pinned to its aliases with kms:ResourceAliases (and the data keys to S3 with kms:ViaService).",
  stateReplication:
    "The verifier's state and cosigned checkpoints are kept in the replica Region, apart from the primary they attest; the bucket is itself locked (COMPLIANCE, deletes denied). Losing the Region loses only the witness's memory, which auditors' kept cosigned checkpoints still cover.",
  exportFiles:
    "Export file keys are made per run (`<prefix>/<source>/region=…/accountId=…/eventDay=…/<log>-<seq>-<part>`): the resource is every object under the export prefix's Security Lake source folders (`auditlock-*`, src/core/ocsf-classes.ts) of this one bucket; the state object is named exactly.",
  exportVpc:
    'The export accepts no inbound traffic and calls only S3, KMS and SNS in its Region over TLS with IAM auth; a VPC would add NAT or endpoint costs without reducing what the role may do.',
  exportReplication:
    'The export bucket holds derived copies: every file can be written again from the replicated, locked archive (delete the state object and the next run exports everything again), so a second Region would only double the copies.',
  keyTableBackups:
    'The subject key table is erased by deleting items: every backup of it keeps erased keys restorable, so it has none besides point-in-time recovery, whose window is the shortest configured (sealing.pitrDays, docs/DEPLOY.md "Sealed fields").',
} as const;

/** The acknowledgements of one deployment. */
export function acknowledgementsOf(d: {
  config: DeploymentConfig;
  names: Names;
  primary: PrimaryStack;
  replica: ReplicaStack;
}): Acknowledgement[] {
  const { config: c, names: n, primary, replica } = d;
  const child = (scope: IConstruct, id: string) => scope.node.findChild(id);
  const archive = n.bucketArn(n.archiveBucket);
  const replicaBucket = n.bucketArn(n.replicaBucket);
  const iam5 = (resource: string) => AWS(`IAM5[Resource::${resource}]`);
  const ingestRole = child(primary, 'IngestRole');
  const auditorRole = child(primary, 'AuditorRole');
  const replicationRole = child(primary, 'ReplicationRole');
  const verifier = replica.verifier;
  const verifierRole = child(replica, 'VerifierRole');
  const acks: Acknowledgement[] = [
    { scope: ingestRole, id: iam5(`${archive}/${c.storePrefix}/*`), reason: WHY.objectWildcard },
    ...c.ingest.map((s) => ({
      scope: ingestRole,
      id: iam5(logStreamsArn(c, s)),
      reason: WHY.logStreams,
    })),
    { scope: auditorRole, id: iam5(`${archive}/*`), reason: WHY.objectWildcard },
    { scope: auditorRole, id: iam5(`${replicaBucket}/*`), reason: WHY.objectWildcard },
    { scope: replicationRole, id: iam5(`${archive}/*`), reason: WHY.objectWildcard },
    { scope: replicationRole, id: iam5(`${replicaBucket}/*`), reason: WHY.objectWildcard },
    {
      scope: replicationRole,
      id: iam5(`arn:aws:kms:${c.replica.region}:${c.replica.account}:key/*`),
      reason: WHY.replicaKeyByAlias,
    },
    { scope: auditorRole, id: iam5(`${n.bucketArn(n.stateBucket)}/*`), reason: WHY.objectWildcard },
    {
      scope: auditorRole,
      id: iam5(`arn:aws:kms:${c.replica.region}:${c.replica.account}:key/*`),
      reason: WHY.keysByAlias,
    },
    ...[
      `${archive}/${c.storePrefix}/*`,
      `${replicaBucket}/${c.storePrefix}/*`,
      `${n.bucketArn(n.stateBucket)}/*`,
    ].map((resource) => ({ scope: verifierRole, id: iam5(resource), reason: WHY.objectWildcard })),
    { scope: verifierRole, id: iam5(verifierLogStreamsArn(c, n)), reason: WHY.logStreams },
    {
      scope: verifierRole,
      id: iam5(`arn:aws:kms:${c.primary.region}:${c.primary.account}:key/*`),
      reason: WHY.keysByAlias,
    },
    { scope: verifier.fn, id: AWS('L1'), reason: WHY.runtime },
    { scope: verifier.fn, id: NIST('LambdaInsideVPC'), reason: WHY.verifierVpc },
    {
      scope: verifier.state.bucket,
      id: NIST('S3BucketReplicationEnabled'),
      reason: WHY.stateReplication,
    },
    ...[ingestRole, auditorRole, replicationRole, verifierRole, verifier.schedulerRole].map(
      (scope) => ({
        scope,
        id: NIST('IAMNoInlinePolicy'),
        reason: WHY.inlinePolicy,
      }),
    ),
  ];
  for (const f of primary.functions) {
    acks.push(
      { scope: f.fn, id: AWS('L1'), reason: WHY.runtime },
      { scope: f.fn, id: NIST('LambdaInsideVPC'), reason: WHY.vpc },
      { scope: f.fn, id: NIST('LambdaConcurrency'), reason: WHY.concurrency },
    );
    if (f.source.type === 'sqs' || f.source.type === 'kinesis')
      acks.push({ scope: f.fn, id: NIST('LambdaDLQ'), reason: WHY.syncDlq });
    if (f.source.type === 'kinesis')
      acks.push({ scope: f.dlq, id: AWS('SQS3'), reason: WHY.dlqIsDlq });
  }
  for (const logs of [primary.archive.accessLogs, replica.replica.accessLogs])
    acks.push(
      { scope: logs, id: NIST('S3DefaultEncryptionKMS'), reason: WHY.accessLogsSse },
      { scope: logs, id: NIST('S3BucketReplicationEnabled'), reason: WHY.accessLogsReplication },
    );
  acks.push({
    scope: replica.replica.bucket,
    id: NIST('S3BucketReplicationEnabled'),
    reason: WHY.replicaReplication,
  });
  if (primary.ocsfExport !== undefined) {
    const x = primary.ocsfExport;
    const exportRole = child(primary, 'ExportRole');
    const files = exportObjectArns(c, n).files;
    acks.push(
      { scope: exportRole, id: iam5(`${archive}/${c.storePrefix}/*`), reason: WHY.objectWildcard },
      { scope: exportRole, id: iam5(files), reason: WHY.exportFiles },
      { scope: exportRole, id: iam5(exportLogStreamsArn(c, n)), reason: WHY.logStreams },
      ...[exportRole, x.schedulerRole].map((scope) => ({
        scope,
        id: NIST('IAMNoInlinePolicy'),
        reason: WHY.inlinePolicy,
      })),
      { scope: x.fn, id: AWS('L1'), reason: WHY.runtime },
      { scope: x.fn, id: NIST('LambdaInsideVPC'), reason: WHY.exportVpc },
    );
    // Only the bucket the stack creates (an existing one, export.bucketName, is not ours to judge).
    if (c.export?.bucketName === undefined)
      acks.push({
        scope: x.bucket,
        id: NIST('S3BucketReplicationEnabled'),
        reason: WHY.exportReplication,
      });
  }
  if (primary.sealing !== undefined) {
    const eraser = primary.sealing.eraser;
    const erasureLog = (c.sealing as SealingConfig).erasureLog;
    acks.push(
      { scope: eraser, id: NIST('IAMNoInlinePolicy'), reason: WHY.inlinePolicy },
      {
        scope: eraser,
        id: iam5(`${archive}/${c.storePrefix}/${erasureLog}/*`),
        reason: WHY.objectWildcard,
      },
      {
        scope: primary.sealing.table,
        id: NIST('DynamoDBInBackupPlan'),
        reason: WHY.keyTableBackups,
      },
    );
  }
  return acks;
}

/** Registers every acknowledgement with CDK's Validations API. */
export function acknowledgeFindings(
  d: Parameters<typeof acknowledgementsOf>[0],
): Acknowledgement[] {
  const acks = acknowledgementsOf(d);
  for (const a of acks) Validations.of(a.scope).acknowledge({ id: a.id, reason: a.reason });
  return acks;
}
