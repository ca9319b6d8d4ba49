/**
 * CloudWatch Logs subscription → source records. `awslogs.data` is base64 of gzip of one JSON
 * batch `{ messageType, owner, logGroup, logStream, subscriptionFilters, logEvents }`; each log
 * event's `message` is one audit event as JSON.
 *
 * Event shape: https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchlogs.html
 * Payload: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
 */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { utf8 } from '../core/encoding.js';
import type { InputIssue } from '../core/errors.js';
import { summarise } from '../core/event.js';
import { decodeBase64, decodeUtf8, gunzipBounded, inputError, parseJson } from './decode.js';
import {
  asInputError,
  asObject,
  expected,
  guard,
  isDeliveryId,
  itemsFromText,
  type Origin,
  rawOf,
  recordInvalid,
  rejectedRecord,
  rejectItem,
} from './items.js';
import type { SourceItem, SourceRecord } from './types.js';

const SOURCE = 'cloudwatch-logs';

/**
 * The records of one CloudWatch Logs invocation: one record holding one item per log event, in
 * order (`itemIdentifier` undefined: Lambda retries the whole asynchronous invocation).
 * Delivery: `{ source: 'cloudwatch-logs', id: logEvent.id }`.
 *
 * A `CONTROL_MESSAGE` batch gives no records: CloudWatch Logs sends it to check that the
 * destination is reachable, and it carries no log data.
 *
 * Never throws. A payload that cannot be read is one rejected item keeping the payload as far as
 * it was decoded: `BASE64_INVALID` (the base64 text), `GZIP_INVALID` or `PAYLOAD_TOO_LARGE` past
 * `MAX_DECOMPRESSED_BYTES` (16 MiB) (the compressed bytes), `UTF8_INVALID`, `JSON_INVALID` or
 * `PAYLOAD_INVALID` for a wrong shape (the decompressed bytes). A log event whose message is not
 * an audit event (`JSON_INVALID`, `EVENT_INVALID`, `EVENT_TOO_LARGE`) or that lacks an id or
 * message (`RECORD_INVALID`) is one rejected item; the others are unaffected.
 */
export function mapCloudWatchLogsEvent(event: CloudWatchLogsEvent): SourceRecord[] {
  const origin: Origin = { source: SOURCE, id: undefined, location: 'cloudwatch-logs payload' };
  return guard(
    () => readPayload(event, origin),
    (error) => [rejectedRecord(event, error, origin)],
    origin.location,
  );
}

function readPayload(event: unknown, origin: Origin): SourceRecord[] {
  const record = (items: SourceItem[]): SourceRecord[] => [
    { itemIdentifier: undefined, lane: undefined, maybeRedelivered: false, items },
  ];
  const data = asObject(asObject(event)?.awslogs)?.data;
  if (typeof data !== 'string') {
    const issue = expected('awslogs.data', 'base64 text', data);
    const error = inputError('PAYLOAD_INVALID', origin.location, issue.message, [issue]);
    return record([rejectItem(rawOf(event), error, origin)]);
  }
  let raw = (): Uint8Array => utf8(data);
  let logEvents: unknown[];
  try {
    const zipped = decodeBase64(data, origin.location);
    raw = () => zipped;
    const json = gunzipBounded(zipped, origin.location);
    raw = () => json;
    const batch = checkBatch(parseJson(decodeUtf8(json, origin.location), origin.location), origin);
    if (batch === 'control') return [];
    logEvents = batch;
  } catch (e) {
    return record([rejectItem(raw(), asInputError(e, origin.location), origin)]);
  }
  return logEvents.length === 0 ? [] : record(logEvents.flatMap(itemsOfLogEvent));
}

/**
 * The log events of a `DATA_MESSAGE`, or `'control'`.
 * @throws InputError `PAYLOAD_INVALID`
 */
function checkBatch(value: unknown, origin: Origin): unknown[] | 'control' {
  const batch = asObject(value);
  const type = batch?.messageType;
  if (type === 'CONTROL_MESSAGE') return 'control';
  const issues: InputIssue[] = [];
  if (batch === undefined) issues.push(expected('', 'a JSON object', value));
  else if (type !== 'DATA_MESSAGE') {
    issues.push(expected('messageType', 'DATA_MESSAGE or CONTROL_MESSAGE', type));
  }
  if (batch !== undefined && !Array.isArray(batch.logEvents)) {
    issues.push(expected('logEvents', 'an array', batch.logEvents));
  }
  if (issues.length > 0 || !Array.isArray(batch?.logEvents)) {
    const what = summarise('expected a CloudWatch Logs batch', issues);
    throw inputError('PAYLOAD_INVALID', origin.location, what, issues);
  }
  return batch.logEvents;
}

function itemsOfLogEvent(logEvent: unknown): SourceItem[] {
  const e = asObject(logEvent) ?? {};
  const id = isDeliveryId(e.id) ? e.id : undefined;
  const origin = { source: SOURCE, id, location: `cloudwatch-logs log event ${id ?? '(no id)'}` };
  const issues: InputIssue[] = [];
  if (id === undefined) issues.push(expected('id', 'a log event id', e.id));
  if (typeof e.message !== 'string') issues.push(expected('message', 'a string', e.message));
  if (issues.length > 0 || typeof e.message !== 'string') {
    return [rejectItem(rawOf(logEvent), recordInvalid(origin.location, issues), origin)];
  }
  // One event per log message: a JSON array is refused like any other non-object.
  return itemsFromText(e.message, origin, { arrays: false });
}
