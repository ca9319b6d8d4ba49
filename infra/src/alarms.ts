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
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** Namespace of the handlers' Powertools EMF metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'auditlock';

export type AlarmSpec = {
  readonly metric: IMetric;
  /** Alarm when the metric is greater than this (or, with `below`, less than that instead). */
  readonly above?: number;
  readonly below?: number;
  /** Periods (of the metric's period) that must breach in a row. */
  readonly periods?: number;
  /** Missing data is a breach (for "it did not run" alarms); default: not a breach. */
  readonly missingIsBreach?: boolean;
  readonly description: string;
};

/** One alarm on `spec.metric`, notifying `topic`. */
export function addAlarm(scope: Construct, id: string, topic: ITopic, spec: AlarmSpec): Alarm {
  const below = spec.below !== undefined;
  const alarm = new Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.below ?? spec.above ?? 0,
    comparisonOperator: below
      ? ComparisonOperator.LESS_THAN_THRESHOLD
      : ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: spec.periods ?? 1,
    treatMissingData: spec.missingIsBreach
      ? TreatMissingData.BREACHING
      : TreatMissingData.NOT_BREACHING,
    alarmDescription: spec.description,
  });
  alarm.addAlarmAction(new SnsAction(topic));
  return alarm;
}

/**
 * Lets this account's CloudWatch alarms publish to `topic`. A topic policy of CDK's (enforceSSL)
 * replaces SNS's default policy, which is what let the alarms in; pinned to this account's alarms.
 */
export function allowAlarmPublish(topic: ITopic, account: string, region: string): void {
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchAlarms',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:${account}:alarm:*` },
        StringEquals: { 'aws:SourceAccount': account },
      },
    }),
  );
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

/** The scheduled verifier's EMF metrics (src/lambda/handlers/verify.ts), dimension `service`. */
export const VERIFIER_METRICS = {
  findings: 'FindingsTotal',
  secondsSinceCosignedHead: 'SecondsSinceCosignedHead',
  replicationLag: 'ReplicationLagSeconds',
} as const;

/** A verifier metric of the function whose POWERTOOLS_SERVICE_NAME is `service`, over one period. */
export function verifierMetric(
  metricName: (typeof VERIFIER_METRICS)[keyof typeof VERIFIER_METRICS],
  service: string,
  statistic: 'Sum' | 'Maximum',
  period: Duration,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period,
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
