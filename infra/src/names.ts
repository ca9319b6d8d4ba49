/**
 * Deterministic resource names, derived from the configuration alone. The two regional stacks
 * refer to each other by these names (never by cross-region references, which are experimental
 * in CDK), so either stack can be synthesized and reviewed without the other deployed.
 */
import type { DeploymentConfig } from './config.js';

export type Names = ReturnType<typeof namesOf>;

/** Every physical name the stacks share. */
export function namesOf(c: DeploymentConfig) {
  const p = c.primary;
  const r = c.replica;
  return {
    primaryStack: `${c.name}-primary`,
    replicaStack: `${c.name}-replica`,
    archiveBucket: `${c.name}-archive-${p.account}-${p.region}`,
    replicaBucket: `${c.name}-replica-${r.account}-${r.region}`,
    primaryAccessLogBucket: `${c.name}-access-logs-${p.account}-${p.region}`,
    replicaAccessLogBucket: `${c.name}-access-logs-${r.account}-${r.region}`,
    /** The verifier's and witness's write-once state, in the replica Region. */
    stateBucket: `${c.name}-state-${r.account}-${r.region}`,
    ingestRole: `${c.name}-ingest`,
    auditorRole: `${c.name}-auditor`,
    replicationRole: `${c.name}-replication`,
    /** Sealing only: the operator role that erases subjects (docs/DEPLOY.md "Sealed fields"). */
    eraserRole: `${c.name}-eraser`,
    /** Sealing only: the DynamoDB key store of subject keys and its two KMS keys. */
    keyTable: `${c.name}-subject-keys`,
    subjectKeyWrapAlias: `alias/${c.name}-subject-key-wrap`,
    keyTableDataKeyAlias: `alias/${c.name}-subject-keys-data`,
    /** Replica account: the scheduled verifier's role and the role the schedule invokes it with. */
    verifierRole: `${c.name}-verifier`,
    verifierSchedulerRole: `${c.name}-verifier-schedule`,
    verifierFunction: `${c.name}-verifier`,
    verifierLogGroup: `/auditlock/${c.name}/verify`,
    witnessName: c.verifier.witnessName ?? `${c.originPrefix}/witness/verifier`,
    /** Export only: the scheduled OCSF export, its bucket (unless export.bucketName) and key. */
    exportRole: `${c.name}-export`,
    exportSchedulerRole: `${c.name}-export-schedule`,
    exportFunction: `${c.name}-export`,
    exportLogGroup: `/auditlock/${c.name}/export`,
    exportBucket: c.export?.bucketName ?? `${c.name}-export-${p.account}-${p.region}`,
    exportDataKeyAlias: `alias/${c.name}-export-data`,
    signingKeyAlias: `alias/${c.name}-signing`,
    replicaSigningKeyAlias: `alias/${c.name}-signing-replica`,
    replicaDataKeyAlias: `alias/${c.name}-replica-data`,
    archiveDataKeyAlias: `alias/${c.name}-archive-data`,
    stateDataKeyAlias: `alias/${c.name}-state-data`,
    witnessKeyAlias: `alias/${c.name}-witness`,
    roleArn: (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`,
    bucketArn: (bucket: string) => `arn:aws:s3:::${bucket}`,
    /** The store's URL as the Lambda handlers read it (AUDITLOCK_STORE). */
    storeUrl: `s3://${c.name}-archive-${p.account}-${p.region}/${c.storePrefix}`,
    /** The same store as replicated (replication keeps the keys). */
    replicaStoreUrl: `s3://${c.name}-replica-${r.account}-${r.region}/${c.storePrefix}`,
    stateStoreUrl: `s3://${c.name}-state-${r.account}-${r.region}`,
  };
}
