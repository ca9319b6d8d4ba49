/**
 * Alarms and the topic they notify. Every alarm here means "look now": its threshold is a count
 * above zero or an age past a window; docs/DEPLOY.md says what each means and what to do.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** Namespace of the handlers' Powertools EMF metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'auditlock';

export type AlarmSpec = {
  readonly metric: IMetric;
  /** Alarm when the metric is greater than this. */
  readonly above: number;
  /** Periods (of the metric's period) that must breach in a row. */
  readonly periods?: number;
  readonly description: string;
};

/** One alarm on `spec.metric`, notifying `topic`; missing data is not a breach. */
export function addAlarm(scope: Construct, id: string, topic: ITopic, spec: AlarmSpec): Alarm {
  const alarm = new Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.above,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: spec.periods ?? 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: spec.description,
  });
  alarm.addAlarmAction(new SnsAction(topic));
  return alarm;
}

/** A handler metric (EMF, dimension `service`), summed over five minutes. */
export function handlerMetric(metricName: string, service: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: 'Sum',
    period: Duration.minutes(5),
  });
}

/**
 * An S3 Replication Time Control metric of one rule (namespace AWS/S3, reported in the source
 * bucket's Region; S3 User Guide "Replication metrics").
 */
export function replicationMetric(
  metricName: 'OperationsFailedReplication' | 'ReplicationLatency' | 'OperationsPendingReplication',
  dims: { source: string; destination: string; ruleId: string },
  statistic: 'Sum' | 'Maximum',
): Metric {
  return new Metric({
    namespace: 'AWS/S3',
    metricName,
    dimensionsMap: {
      SourceBucket: dims.source,
      DestinationBucket: dims.destination,
      RuleId: dims.ruleId,
    },
    statistic,
    period: Duration.minutes(5),
  });
}
