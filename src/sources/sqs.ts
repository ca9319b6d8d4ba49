/**
 * Amazon SQS → source records. One SQS message is one record; its body holds one audit event as a
 * JSON object, or a JSON array of them (each element one item).
 *
 * Event shape: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
import type { SQSEvent } from 'aws-lambda';
import type { InputIssue } from '../core/errors.js';
import {
  asObject,
  asString,
  expected,
  isDeliveryId,
  itemsFromText,
  mapRecords,
  rawOf,
  recordInvalid,
  rejectItem,
} from './items.js';
import type { SourceRecord } from './types.js';

/**
 * The records of one SQS invocation, one per message, in order.
 *
 * - `itemIdentifier`: the `messageId`, which a partial batch response names
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 * - `lane`: the `MessageGroupId` of a FIFO queue, whose ARN ends in `.fifo` (FIFO queue names must;
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html).
 *   Standard queues may carry a `MessageGroupId` too (fair queues), which orders nothing: no lane.
 * - `maybeRedelivered`: `ApproximateReceiveCount` above 1 ("the number of times a message has been
 *   received across all queues but not deleted", ReceiveMessage API), or the count is missing.
 * - delivery: `{ source: 'sqs', id: messageId }`; for an array body `messageId#index`.
 *
 * Never throws: a body that is not valid JSON (`JSON_INVALID`), too long for one event
 * (`EVENT_TOO_LARGE`), not an audit event or an empty array (`EVENT_INVALID`), or a message
 * without an id or body (`RECORD_INVALID`) becomes a rejected item keeping the input.
 */
export function mapSqsEvent(event: SQSEvent): SourceRecord[] {
  return mapRecords(event, 'sqs', mapSqsMessage);
}

function mapSqsMessage(message: unknown): SourceRecord {
  const m = asObject(message) ?? {};
  const messageId = asString(m.messageId);
  const attributes = asObject(m.attributes) ?? {};
  const fifo = asString(m.eventSourceARN)?.endsWith('.fifo') === true;
  // NaN (attribute missing) fails `<= 1`: an unknown count may be a redelivery.
  const receiveCount = Number(asString(attributes.ApproximateReceiveCount));
  const origin = {
    source: 'sqs',
    id: messageId,
    location: `sqs message ${messageId ?? '(no messageId)'}`,
  };
  const record = {
    itemIdentifier: messageId,
    lane: fifo ? asString(attributes.MessageGroupId) : undefined,
    maybeRedelivered: !(receiveCount <= 1),
  };

  const issues: InputIssue[] = [];
  if (!isDeliveryId(messageId))
    issues.push(expected('messageId', 'an SQS message id', m.messageId));
  if (typeof m.body !== 'string') issues.push(expected('body', 'a string', m.body));
  if (issues.length > 0 || typeof m.body !== 'string') {
    const error = recordInvalid(origin.location, issues);
    return { ...record, items: [rejectItem(rawOf(message), error, origin)] };
  }
  return { ...record, items: itemsFromText(m.body, origin, { arrays: true }) };
}
