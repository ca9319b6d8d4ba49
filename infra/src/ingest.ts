/**
 * One ingest Lambda per configured source, with its queue / stream / rule / subscription, its
 * dead-letter queue and its alarms. Event source settings follow docs/LAMBDA.md ("Per source"):
 * the handlers rely on ReportBatchItemFailures, Kinesis ParallelizationFactor 1 and so on.
 * The code is the main package's bundle (`npm run bundle`: dist-lambda/<source>/index.mjs), so
 * what is deployed is exactly what its tests ran; infra bundles nothing itself and needs no Docker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Architecture,
  CfnEventSourceMapping,
  Code,
  Function as LambdaFn,
  Runtime,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  FilterPattern,
  LogGroup,
  type RetentionDays,
  SubscriptionFilter,
} from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { addAlarm, handlerMetric, METRICS_NAMESPACE } from './alarms.js';
import type { DeploymentConfig, IngestSource } from './config.js';
import type { Names } from './names.js';

/** Where `npm run bundle` in the repository root writes the handlers. */
export const DEFAULT_BUNDLE_DIR = join(import.meta.dirname, '..', '..', 'dist-lambda');

export type IngestProps = {
  readonly config: DeploymentConfig;
  readonly names: Names;
  readonly source: IngestSource;
  readonly role: Role;
  readonly logKey: IKey;
  readonly topic: ITopic;
  readonly bundleDir: string;
  /** Sealing only: AUDITLOCK_SEAL_CONFIG, AUDITLOCK_KEY_TABLE, AUDITLOCK_KEY_WRAP_KMS_KEY_ID. */
  readonly sealingEnvironment?: Record<string, string> | undefined;
};

/** The function's log group (deterministic, so policies and acknowledgements can name it). */
export function ingestLogGroupName(c: DeploymentConfig, s: IngestSource): string {
  return `/auditlock/${c.name}/ingest/${s.type}-${s.log}`;
}

/** The ARN covering the log streams of a source's log group. */
export function logStreamsArn(c: DeploymentConfig, s: IngestSource): string {
  return `arn:aws:logs:${c.primary.region}:${c.primary.account}:log-group:${ingestLogGroupName(c, s)}:log-stream:*`;
}

/** A construct id for a source: `Sqs-orders`, `Kinesis-default`… */
export function sourceId(s: IngestSource): string {
  const type = s.type
    .split('-')
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('');
  return `${type}-${s.log}`;
}

/** A handler bundle the stacks need is not there (the main package was not bundled). */
export class BundleMissingError extends Error {
  readonly code = 'BUNDLE_MISSING' as const;
  readonly path: string;
  constructor(path: string) {
    super(`${path} is missing: run \`npm run bundle\` in the repository root first`);
    this.name = 'BundleMissingError';
    this.path = path;
  }
}

/**
 * The bundled handler's folder for `source` (an ingest source type, `verify` or `export`).
 * @throws BundleMissingError `BUNDLE_MISSING` naming the file when the main package is not bundled
 */
export function handlerCode(
  bundleDir: string,
  source: IngestSource['type'] | 'verify' | 'export',
): Code {
  const dir = join(bundleDir, source);
  const file = join(dir, 'index.mjs');
  if (!existsSync(file)) throw new BundleMissingError(file);
  // Only index.mjs ships (the handler is `index.handler`); meta.json is esbuild's size report.
  return Code.fromAsset(dir, { exclude: ['meta.json'] });
}

/** An ingest function and everything that feeds it. */
export class IngestFunction extends Construct {
  readonly fn: LambdaFn;
  readonly dlq: Queue;
  readonly service: string;
  readonly source: IngestSource;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const { config: c, source: s, role } = props;
    const timeout = Duration.seconds(c.lambda.timeoutSeconds);
    const asynchronous = s.type === 'eventbridge' || s.type === 'cloudwatch-logs';
    const fifo = s.type === 'sqs' && s.fifo;
    this.service = `${c.name}-${s.type}-${s.log}`;
    this.source = s;

    this.dlq = new Queue(this, 'Dlq', {
      fifo: fifo || undefined,
      retentionPeriod: Duration.days(14), // the longest SQS allows: the last resort
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: ingestLogGroupName(c, s),
      retention: c.lambda.logRetentionDays as RetentionDays,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: `Logs${id.replace(/[^A-Za-z0-9]/g, '')}`,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logStreamsArn(c, s)],
      }),
    );

    this.fn = new LambdaFn(this, 'Function', {
      description: `auditlock ingest (${s.type}) into log ${s.log}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      code: handlerCode(props.bundleDir, s.type),
      role,
      memorySize: c.lambda.memoryMb,
      timeout,
      logGroup,
      // Asynchronous sources: two retries, then the event goes to the DLQ (docs/LAMBDA.md).
      ...(asynchronous ? { retryAttempts: 2, deadLetterQueue: this.dlq } : {}),
      environment: {
        AUDITLOCK_STORE: props.names.storeUrl,
        AUDITLOCK_KMS_KEY_ID: props.names.signingKeyAlias,
        AUDITLOCK_ORIGIN_PREFIX: c.originPrefix,
        AUDITLOCK_LOG: s.log,
        AUDITLOCK_RETENTION_DAYS: String(c.retentionDays),
        // Longest time between a message's first and last receive: visibility (6x timeout) x
        // maxReceiveCount (5), docs/LAMBDA.md "Configuration"; capped at SQS's 14 days.
        AUDITLOCK_DEDUP_WINDOW_SECONDS: String(Math.min(30 * c.lambda.timeoutSeconds, 14 * 86_400)),
        POWERTOOLS_SERVICE_NAME: this.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.sealingEnvironment,
      },
    });

    const alarm = (name: string, spec: Parameters<typeof addAlarm>[3]) =>
      addAlarm(this, name, props.topic, spec);
    alarm('ErrorsAlarm', {
      metric: this.fn.metricErrors({ period: Duration.minutes(5) }),
      above: 0,
      description: `${this.service}: invocations failed (records go back to the source)`,
    });
    alarm('ThrottlesAlarm', {
      metric: this.fn.metricThrottles({ period: Duration.minutes(5) }),
      above: 0,
      description: `${this.service}: invocations throttled`,
    });
    alarm('DlqDepthAlarm', {
      metric: this.dlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      above: 0,
      description: `${this.service}: records in the dead-letter queue were NOT archived`,
    });
    alarm('QuarantinedAlarm', {
      metric: handlerMetric('RecordsQuarantined', this.service),
      above: 0,
      description: `${this.service}: a producer sent input that is not an audit event (stored as quarantined)`,
    });
    alarm('RecordsFailedAlarm', {
      metric: handlerMetric('RecordsFailed', this.service),
      above: 0,
      periods: 3,
      description: `${this.service}: records handed back for retry for 15 minutes`,
    });

    if (s.type === 'sqs') {
      const queue = new Queue(this, 'Queue', {
        fifo: s.fifo || undefined,
        // AWS: at least 6x the function timeout, so throttled batches can be retried.
        visibilityTimeout: Duration.seconds(6 * c.lambda.timeoutSeconds),
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: this.dlq, maxReceiveCount: 5 },
      });
      this.fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: s.batchSize,
          maxBatchingWindow: s.fifo ? undefined : Duration.seconds(s.maxBatchingWindowSeconds),
          reportBatchItemFailures: true,
          maxConcurrency: s.maxConcurrency,
        }),
      );
      alarm('OldestMessageAlarm', {
        metric: queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        above: 15 * 60,
        description: `${this.service}: the oldest queued message waits longer than 15 minutes`,
      });
    } else if (s.type === 'kinesis') {
      const stream = new Stream(this, 'Stream', {
        shardCount: s.shards,
        streamMode: StreamMode.PROVISIONED,
        encryption: StreamEncryption.MANAGED,
        retentionPeriod: Duration.days(7),
      });
      stream.grantRead(role);
      this.dlq.grantSendMessages(role);
      // L1: the L2 refuses -1 for retries and record age, which docs/LAMBDA.md requires (retry
      // until the record expires from the stream rather than skip it).
      new CfnEventSourceMapping(this, 'Mapping', {
        functionName: this.fn.functionName,
        eventSourceArn: stream.streamArn,
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: s.batchSize,
        parallelizationFactor: 1,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: -1,
        maximumRecordAgeInSeconds: -1,
        functionResponseTypes: ['ReportBatchItemFailures'],
        destinationConfig: { onFailure: { destination: this.dlq.queueArn } },
      });
      alarm('IteratorAgeAlarm', {
        metric: this.fn.metric('IteratorAge', {
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        above: 15 * 60 * 1000,
        description: `${this.service}: records wait in the stream longer than 15 minutes`,
      });
    } else if (s.type === 'eventbridge') {
      const rule = new Rule(this, 'Rule', {
        eventBus:
          s.eventBusName === 'default'
            ? undefined
            : EventBus.fromEventBusName(this, 'Bus', s.eventBusName),
        eventPattern: { source: s.sources },
        description: `auditlock: archive events from ${s.sources.join(', ')}`,
      });
      rule.addTarget(
        new LambdaFunction(this.fn, {
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.dlq,
        }),
      );
    } else {
      s.logGroupNames.forEach((name, i) => {
        new SubscriptionFilter(this, `Subscription${i}`, {
          logGroup: LogGroup.fromLogGroupName(this, `Source${i}`, name),
          destination: new LambdaDestination(this.fn),
          filterPattern:
            s.filterPattern === ''
              ? FilterPattern.allEvents()
              : FilterPattern.literal(s.filterPattern),
        });
      });
    }
  }
}
