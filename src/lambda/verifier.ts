/**
 * The scheduled verifier's dependencies, built once per execution environment from its
 * configuration (verifier-config.ts): the three stores, the trusted log keys (AUDITLOCK_TRUSTED_KEYS
 * plus the public keys of the KMS keys in AUDITLOCK_LOG_KEY_IDS), the witness signer and the
 * notifier. Folder paths instead of s3:// URLs and a PEM witness key make it run locally.
 */
import { createKmsClient, createS3Client } from '../adapters/aws-config.js';
import { LocalEd25519Signer } from '../adapters/ed25519-key.js';
import { FolderStore } from '../adapters/folder-store.js';
import { KmsEd25519Signer } from '../adapters/kms-ed25519-signer.js';
import { KmsSigner } from '../adapters/kms-signer.js';
import { parseS3Url, S3Store } from '../adapters/s3-store.js';
import { createSnsClient, SnsNotifier } from '../adapters/sns-notifier.js';
import type { ScheduledVerifyDeps } from '../app/scheduled-verify.js';
import { cosignerKey } from '../core/cosignature.js';
import type { TrustedKey } from '../core/note.js';
import type { Clock, ObjectStore } from '../core/ports.js';
import type { Ed25519Signer } from '../core/witness-signer.js';
import type { VerifierConfig } from './verifier-config.js';

export type VerifierRuntime = Omit<ScheduledVerifyDeps, 'timeLeftMs' | 'onFinding'>;

/** Everything a run needs except its time budget. */
export async function buildVerifierRuntime(
  config: VerifierConfig,
  clock: Clock,
): Promise<VerifierRuntime> {
  const primary = openStore(config.AUDITLOCK_PRIMARY_STORE, 1, config.AUDITLOCK_PRIMARY_REGION);
  const replica = config.AUDITLOCK_REPLICA_STORE
    ? openStore(config.AUDITLOCK_REPLICA_STORE, 1)
    : undefined;
  const state = openStore(config.AUDITLOCK_STATE_STORE, config.AUDITLOCK_STATE_RETENTION_DAYS);
  if (state instanceof S3Store) await state.checkBucket();
  const kms = createKmsClient();
  const trustedKeys: TrustedKey[] = [...config.trustedKeys];
  for (const keyId of config.AUDITLOCK_LOG_KEY_IDS) {
    // GetPublicKey (and the key's spec and usage) through the signer's own checks; never signs.
    const spki = await new KmsSigner({ client: kms, keyId }).publicKey();
    trustedKeys.push({ spki, label: `KMS key ${keyId}` });
  }
  const signer: Ed25519Signer = config.AUDITLOCK_WITNESS_KMS_KEY_ID
    ? new KmsEd25519Signer({ client: kms, keyId: config.AUDITLOCK_WITNESS_KMS_KEY_ID })
    : LocalEd25519Signer.fromPem(
        config.AUDITLOCK_WITNESS_PRIVATE_KEY_PEM as string,
        'AUDITLOCK_WITNESS_PRIVATE_KEY_PEM',
      );
  const key = cosignerKey(config.AUDITLOCK_WITNESS_NAME, await signer.publicKey());
  return {
    primary,
    replica,
    state,
    trustedKeys,
    witness: { signer, key },
    notifier: config.AUDITLOCK_NOTIFY_TOPIC_ARN
      ? new SnsNotifier({ client: createSnsClient(), topicArn: config.AUDITLOCK_NOTIFY_TOPIC_ARN })
      : undefined,
    clock,
    reserveMs: config.AUDITLOCK_TIME_RESERVE_MS,
    logs: config.AUDITLOCK_LOGS,
    minRetentionDays: config.AUDITLOCK_RETENTION_DAYS,
    rtcWindowMs: config.AUDITLOCK_RTC_WINDOW_SECONDS * 1000,
    concurrency: config.AUDITLOCK_CONCURRENCY,
  };
}

function openStore(spec: string, retentionDays: number, region?: string): ObjectStore {
  if (!spec.startsWith('s3://')) return new FolderStore(spec);
  const { bucket, prefix } = parseS3Url(spec);
  return new S3Store({
    client: createS3Client(region ? { region } : {}),
    bucket,
    prefix,
    retention: { days: retentionDays },
  });
}
