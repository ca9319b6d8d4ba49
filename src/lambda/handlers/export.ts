/**
 * Lambda handler of the scheduled OCSF export (docs/OCSF.md §6): each invocation (e.g. an
 * EventBridge Scheduler schedule) is one run of app/scheduled-export.ts, from the archive to the
 * export bucket, resuming from the state object there. Thin: configuration, clients, one call.
 * It fails (so the Errors alarm fires) when the run could not finish; no state is then written.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createKmsClient, createS3Client } from '../../adapters/aws-config.js';
import { KmsSigner } from '../../adapters/kms-signer.js';
import { S3ExportTarget } from '../../adapters/s3-export-target.js';
import { parseS3Url, S3Store } from '../../adapters/s3-store.js';
import { runScheduledExport, type ScheduledExportReport } from '../../app/scheduled-export.js';
import type { AuditlockError } from '../../core/errors.js';
import type { TrustedKey } from '../../core/note.js';
import { readExportConfig } from '../export-config.js';

const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'auditlock-export',
});

/** The version the bundle was built from (scripts/bundle.mjs does not inject one). */
const PRODUCT_VERSION = process.env.AUDITLOCK_PRODUCT_VERSION ?? 'lambda';

export async function handler(_event: unknown, context: Context): Promise<ScheduledExportReport> {
  logger.addContext(context);
  try {
    const config = readExportConfig();
    const s3 = createS3Client();
    const { bucket, prefix } = parseS3Url(config.AUDITLOCK_ARCHIVE_STORE);
    // A reader: retention is only used for writes, which export never makes to the archive.
    const store = new S3Store({ client: s3, bucket, prefix, retention: { days: 1 } });
    const trustedKeys: TrustedKey[] = [...config.trustedKeys];
    if (config.AUDITLOCK_LOG_KEY_IDS.length > 0) {
      const kms = createKmsClient();
      for (const keyId of config.AUDITLOCK_LOG_KEY_IDS)
        trustedKeys.push({
          spki: await new KmsSigner({ client: kms, keyId }).publicKey(),
          label: `KMS key ${keyId}`,
        });
    }
    const report = await runScheduledExport({
      store,
      target: new S3ExportTarget({
        client: s3,
        bucket: config.AUDITLOCK_EXPORT_BUCKET,
        prefix: config.AUDITLOCK_EXPORT_PREFIX,
      }),
      trustedKeys,
      config: config.mapping,
      format: config.AUDITLOCK_EXPORT_FORMAT,
      productVersion: PRODUCT_VERSION,
      logs: config.AUDITLOCK_LOGS,
      stateName: config.AUDITLOCK_EXPORT_STATE_NAME,
      rowsPerFile: config.AUDITLOCK_ROWS_PER_FILE,
      // Files and the state must still be put after the last segment: stop in time.
      stopAfterSegment: () => context.getRemainingTimeInMillis() < config.AUDITLOCK_TIME_RESERVE_MS,
    });
    logger.info('export done', {
      rows: report.rows,
      complete: report.complete,
      files: report.files.length,
      logs: report.logs,
    });
    return report;
  } catch (err) {
    logger.error('export failed', {
      error:
        err instanceof Error
          ? { name: err.name, code: (err as AuditlockError).code, message: err.message }
          : String(err),
    });
    throw err;
  }
}
