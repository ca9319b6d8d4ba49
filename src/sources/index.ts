/**
 * Event-source mappers: each turns one Lambda event into {@link SourceRecord}s, pure and total
 * (bad input becomes rejected items, never an exception). {@link detectSource} tells which
 * mapper an incoming event needs; {@link mapEvent} picks it.
 */
import type {
  CloudWatchLogsEvent,
  EventBridgeEvent,
  KinesisStreamEvent,
  SQSEvent,
} from 'aws-lambda';
import { mapCloudWatchLogsEvent } from './cloudwatch-logs.js';
import { type DirectEvent, mapDirectInvocation } from './direct.js';
import { mapEventBridgeEvent } from './eventbridge.js';
import { asObject } from './items.js';
import { mapKinesisEvent } from './kinesis.js';
import { mapSqsEvent } from './sqs.js';
import type { SourceKind, SourceRecord } from './types.js';

export { mapCloudWatchLogsEvent } from './cloudwatch-logs.js';
export { MAX_DECOMPRESSED_BYTES } from './decode.js';
export { type DirectEvent, mapDirectInvocation } from './direct.js';
export { mapEventBridgeEvent } from './eventbridge.js';
export { mapKinesisEvent } from './kinesis.js';
export { mapSqsEvent } from './sqs.js';
export type { SourceItem, SourceKind, SourceRecord } from './types.js';

/**
 * Which source sent `event`, by its shape:
 * - `Records[0].eventSource` `aws:sqs` or `aws:kinesis` (the event source mapping's records);
 * - `awslogs.data` a string (a CloudWatch Logs subscription);
 * - `detail-type` and `source` strings and a `detail` member (an EventBridge rule target);
 * - an array, or an object with an `events` array (a direct invocation).
 *
 * Undefined for anything else, including an empty `Records` array, which no event source sends.
 */
export function detectSource(event: unknown): SourceKind | undefined {
  if (Array.isArray(event)) return 'direct';
  const o = asObject(event);
  if (o === undefined) return undefined;
  if (Array.isArray(o.Records)) {
    const eventSource = asObject(o.Records[0])?.eventSource;
    if (eventSource === 'aws:sqs') return 'sqs';
    if (eventSource === 'aws:kinesis') return 'kinesis';
    return undefined;
  }
  if (typeof asObject(o.awslogs)?.data === 'string') return 'cloudwatch-logs';
  if (typeof o['detail-type'] === 'string' && typeof o.source === 'string' && 'detail' in o) {
    return 'eventbridge';
  }
  if (Array.isArray(o.events)) return 'direct';
  return undefined;
}

/**
 * Maps `event` with the mapper for `kind` (usually from {@link detectSource}). The event is
 * trusted to have that source's shape only as far as the mapper trusts it: not at all.
 */
export function mapEvent(kind: SourceKind, event: unknown): SourceRecord[] {
  switch (kind) {
    case 'sqs':
      return mapSqsEvent(event as SQSEvent);
    case 'kinesis':
      return mapKinesisEvent(event as KinesisStreamEvent);
    case 'eventbridge':
      return mapEventBridgeEvent(event as EventBridgeEvent<string, unknown>);
    case 'cloudwatch-logs':
      return mapCloudWatchLogsEvent(event as CloudWatchLogsEvent);
    case 'direct':
      return mapDirectInvocation(event as DirectEvent);
  }
}
