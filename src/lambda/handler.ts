/**
 * The Lambda handler shell shared by every event source: parse the event with the source's
 * mapper, hand the records to the warm {@link IngestRuntime}, and answer in the shape Lambda
 * expects. SQS and Kinesis get a partial batch response (`ReportBatchItemFailures` must be enabled
 * on the event source mapping); other sources fail the whole invocation so Lambda retries it.
 */
import { mkdir } from 'node:fs/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { commonConfig, createKmsClient, createS3Client } from '../adapters/aws-config.js';
import { DynamoDbKeyStore } from '../adapters/dynamodb-key-store.js';
import { FolderStore } from '../adapters/folder-store.js';
import { KmsKeyWrapper } from '../adapters/kms-key-wrapper.js';
import { KmsSigner } from '../adapters/kms-signer.js';
import { LocalSigner } from '../adapters/local-signer.js';
import { parseS3Url, S3Store } from '../adapters/s3-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { SubjectKeys } from '../app/subject-keys.js';
import { AuditlockError } from '../core/errors.js';
import type { ObjectStore, Signer } from '../core/ports.js';
import type { SourceKind, SourceRecord } from '../sources/types.js';
import { type LambdaConfig, readConfig } from './config.js';
import { IngestRuntime } from './runtime.js';

/** The response Lambda reads for SQS and Kinesis with ReportBatchItemFailures. */
export type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };

export type DirectResponse = { archived: number; quarantined: number; skippedRedeliveries: number };

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'auditlock' });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'auditlock',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'auditlock',
});

let runtime: Promise<IngestRuntime> | undefined;

/** The runtime of this execution environment, built on first use and reused while warm. */
function getRuntime(): Promise<IngestRuntime> {
  runtime ??= buildRuntime().catch((err) => {
    runtime = undefined; // a transient failure (KMS throttling) must not poison the environment
    throw err;
  });
  return runtime;
}

async function buildRuntime(): Promise<IngestRuntime> {
  const config = readConfig();
  const store = openStore(config);
  const signer = openSigner(config);
  await signer.publicKey(); // fetch and cache now: fail fast on a wrong key, keep invocations lean
  if (store instanceof S3Store) await store.checkBucket();
  // A folder store (local runs) reads before its first write: the folder must exist.
  else await mkdir(config.AUDITLOCK_STORE, { recursive: true });
  const subjectKeys = config.sealConfig ? await openSubjectKeys(config) : undefined;
  return new IngestRuntime({
    config,
    store,
    signer,
    clock: systemClock,
    logger,
    metrics,
    subjectKeys,
  });
}

/** Keys of sealed fields: the DynamoDB key table, wrapped by the KMS key (docs/PRIVACY.md). */
function openSubjectKeys(config: LambdaConfig): Promise<SubjectKeys> {
  return SubjectKeys.open({
    store: new DynamoDbKeyStore({
      client: new DynamoDBClient(commonConfig({})),
      table: config.AUDITLOCK_KEY_TABLE as string,
    }),
    wrapper: new KmsKeyWrapper({
      client: createKmsClient(),
      keyId: config.AUDITLOCK_KEY_WRAP_KMS_KEY_ID as string,
    }),
  });
}

function openStore(config: LambdaConfig): ObjectStore {
  const spec = config.AUDITLOCK_STORE;
  if (!spec.startsWith('s3://')) return new FolderStore(spec);
  const { bucket, prefix } = parseS3Url(spec);
  return new S3Store({
    client: createS3Client(),
    bucket,
    prefix,
    retention: { days: config.AUDITLOCK_RETENTION_DAYS },
  });
}

function openSigner(config: LambdaConfig): Signer {
  if (config.AUDITLOCK_KMS_KEY_ID)
    return new KmsSigner({ client: createKmsClient(), keyId: config.AUDITLOCK_KMS_KEY_ID });
  return LocalSigner.fromPem(
    config.AUDITLOCK_PRIVATE_KEY_PEM as string,
    'AUDITLOCK_PRIVATE_KEY_PEM',
  );
}

/** Builds the handler for one source from its mapper. */
export function makeHandler<E>(kind: SourceKind, map: (event: E) => SourceRecord[]) {
  const partial = kind === 'sqs' || kind === 'kinesis';
  return async (event: E, context: Context): Promise<BatchResponse | DirectResponse> => {
    logger.addContext(context);
    try {
      const rt = await getRuntime();
      const records = map(event);
      const result = await rt.process(kind, records, () => context.getRemainingTimeInMillis());
      logger.info('invocation done', {
        source: kind,
        records: records.length,
        stored: result.stored,
        quarantined: result.quarantined,
        skippedRedeliveries: result.skippedRedeliveries,
        failed: result.failed.length,
        deferred: result.deferred,
      });
      if (partial) {
        // A record without an identifier (an SQS message without a messageId) cannot be named,
        // and acknowledging the rest would delete it: fail the whole batch instead.
        const unnamed = result.failed.filter((r) => !r.itemIdentifier).length;
        if (unnamed > 0)
          throw new AuditlockError(
            'BATCH_INCOMPLETE',
            `${unnamed} record(s) without an item identifier not stored; failing the whole batch so Lambda retries it`,
          );
        // Exactly this shape: anything else makes Lambda treat the whole batch as processed. A
        // message twice in the batch (a redelivery) is named once.
        const names = new Set(result.failed.map((r) => r.itemIdentifier as string));
        return { batchItemFailures: [...names].map((itemIdentifier) => ({ itemIdentifier })) };
      }
      if (result.failed.length > 0)
        throw new AuditlockError(
          'BATCH_INCOMPLETE',
          `${result.failed.length} record(s) not stored; failing the invocation so Lambda retries it`,
        );
      return {
        archived: result.stored - result.quarantined,
        quarantined: result.quarantined,
        skippedRedeliveries: result.skippedRedeliveries,
      };
    } catch (err) {
      // Nothing was acknowledged: Lambda retries the whole batch (SQS, Kinesis) or invocation.
      logger.error('invocation failed', {
        error:
          err instanceof Error
            ? { name: err.name, code: (err as AuditlockError).code, message: err.message }
            : String(err),
      });
      throw err;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** Test hook: forget the warm runtime (a new execution environment). */
export function resetRuntimeForTests(): void {
  runtime = undefined;
}
