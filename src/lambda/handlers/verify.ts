/**
 * Lambda handler of the scheduled verifier (an EventBridge Scheduler schedule in the replica
 * Region; docs/DEPLOY.md). Each invocation is one run of app/scheduled-verify.ts: incremental
 * verification of the primary and the replica from the verifier's own state, comparison, the
 * witness's cosignature of every clean head, findings to SNS. It answers with the run's report
 * and fails (so the Errors alarm fires) only when it could not do its job: a store, the state, the
 * witness or the notifier failed. Findings are not failures of the run: they are its output.
 *
 * EMF metrics (namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service` =
 * POWERTOOLS_SERVICE_NAME, as the ingest handlers', plus the ones named):
 * SegmentsVerified, BytesVerified, FindingsTotal, Findings (dimension Code), ReplicationLagSeconds
 * (the oldest pending replica), SecondsSinceCosignedHead (the stalest log's newest cosignature),
 * RunIncomplete (1 when the time budget ended the run early).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { systemClock } from '../../adapters/system-clock.js';
import {
  runScheduledVerification,
  type ScheduledVerifyReport,
} from '../../app/scheduled-verify.js';
import type { AuditlockError } from '../../core/errors.js';
import { buildVerifierRuntime, type VerifierRuntime } from '../verifier.js';
import { readVerifierConfig } from '../verifier-config.js';

const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'auditlock-verifier',
});
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'auditlock',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'auditlock-verifier',
});

let runtime: Promise<VerifierRuntime> | undefined;

function getRuntime(): Promise<VerifierRuntime> {
  runtime ??= buildVerifierRuntime(readVerifierConfig(), systemClock).catch((err) => {
    runtime = undefined; // a transient failure must not poison the execution environment
    throw err;
  });
  return runtime;
}

export async function handler(_event: unknown, context: Context): Promise<ScheduledVerifyReport> {
  logger.addContext(context);
  try {
    const deps = await getRuntime();
    const report = await runScheduledVerification({
      ...deps,
      timeLeftMs: () => context.getRemainingTimeInMillis(),
      onFinding: (f) => logger.warn('finding', { finding: f }),
    });
    publishMetrics(report);
    logger.info('verification done', {
      ok: report.ok,
      complete: report.complete,
      findings: report.findings,
      segmentsRead: report.segmentsRead,
      bytesRead: report.bytesRead,
      notified: report.notified,
      logs: report.logs,
    });
    return report;
  } catch (err) {
    logger.error('verification failed', {
      error:
        err instanceof Error
          ? { name: err.name, code: (err as AuditlockError).code, message: err.message }
          : String(err),
    });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}

function publishMetrics(report: ScheduledVerifyReport): void {
  metrics.addMetric('SegmentsVerified', MetricUnit.Count, report.segmentsRead);
  metrics.addMetric('BytesVerified', MetricUnit.Bytes, report.bytesRead);
  metrics.addMetric('FindingsTotal', MetricUnit.Count, report.findings);
  metrics.addMetric('RunIncomplete', MetricUnit.Count, report.complete ? 0 : 1);
  const lag = Math.max(0, ...report.logs.map((l) => l.replicationLagMs));
  metrics.addMetric('ReplicationLagSeconds', MetricUnit.Seconds, Math.ceil(lag / 1000));
  const stalest = report.logs
    .map((l) => l.secondsSinceCosigned)
    .filter((s): s is number => s !== undefined);
  if (stalest.length > 0)
    metrics.addMetric('SecondsSinceCosignedHead', MetricUnit.Seconds, Math.max(...stalest));
  for (const [code, n] of Object.entries(report.findingsByCode)) {
    const one = metrics.singleMetric();
    one.addDimension('Code', code);
    one.addMetric('Findings', MetricUnit.Count, n as number);
  }
}

/** Test hook: forget the warm runtime (a new execution environment). */
export function resetVerifierRuntimeForTests(): void {
  runtime = undefined;
}
