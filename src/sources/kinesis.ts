/**
 * Amazon Kinesis Data Streams → source records. One Kinesis record is one source record; its
 * `data` is base64 of one audit event as a JSON object, or a JSON array of them.
 *
 * Event shape: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { utf8 } from '../core/encoding.js';
import type { InputIssue } from '../core/errors.js';
import { decodeBase64, decodeUtf8 } from './decode.js';
import {
  asInputError,
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

/** `shardId-000000000006:49590338…`: the shard id, a colon, the sequence number. */
const EVENT_ID = /^(shardId-[^:]+):/;
/** Sequence numbers are decimal, up to 128 digits (Kinesis `SequenceNumber` pattern `0|([1-9]\d{0,128})`). */
const SEQUENCE_NUMBER = /^(?:0|[1-9][0-9]{0,128})$/;

/**
 * The records of one Kinesis invocation, one per Kinesis record, in order.
 *
 * - `itemIdentifier`: `kinesis.sequenceNumber`, which a partial batch response names
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html).
 * - `sequenceNumber`: the same, as a bigint (increasing within a shard).
 * - `lane`: the shard id, the part of `eventID` before the colon.
 * - `maybeRedelivered`: false; Kinesis redelivery is recognised by a per-shard sequence-number
 *   watermark instead.
 * - delivery: `{ source: 'kinesis', id: sequenceNumber }`; for an array `sequenceNumber#index`.
 *
 * Never throws: data that is not canonical base64 (`BASE64_INVALID`, the data text kept), not
 * UTF-8 (`UTF8_INVALID`), not JSON (`JSON_INVALID`), not an audit event (`EVENT_INVALID`,
 * `EVENT_TOO_LARGE`), or a record without a sequence number, shard id or data (`RECORD_INVALID`)
 * becomes a rejected item keeping the decoded bytes (or the record). Records aggregated by the
 * Kinesis Producer Library are not de-aggregated: they are rejected as `UTF8_INVALID`.
 */
export function mapKinesisEvent(event: KinesisStreamEvent): SourceRecord[] {
  return mapRecords(event, 'kinesis', mapKinesisRecord);
}

function mapKinesisRecord(record: unknown): SourceRecord {
  const r = asObject(record) ?? {};
  const kinesis = asObject(r.kinesis) ?? {};
  const seq = asString(kinesis.sequenceNumber);
  const validSeq = seq !== undefined && SEQUENCE_NUMBER.test(seq) && isDeliveryId(seq);
  const shard = EVENT_ID.exec(asString(r.eventID) ?? '')?.[1];
  const origin = {
    source: 'kinesis',
    id: seq,
    location: `kinesis record ${seq ?? '(no sequenceNumber)'}`,
  };
  const base = {
    itemIdentifier: seq,
    lane: shard,
    maybeRedelivered: false,
    sequenceNumber: validSeq ? BigInt(seq) : undefined,
  };

  const issues: InputIssue[] = [];
  if (!validSeq) {
    issues.push(
      expected('kinesis.sequenceNumber', 'a decimal sequence number', kinesis.sequenceNumber),
    );
  }
  if (shard === undefined)
    issues.push(expected('eventID', 'shardId-…:<sequence number>', r.eventID));
  if (typeof kinesis.data !== 'string')
    issues.push(expected('kinesis.data', 'base64 text', kinesis.data));
  if (issues.length > 0 || typeof kinesis.data !== 'string') {
    const error = recordInvalid(origin.location, issues);
    return { ...base, items: [rejectItem(rawOf(record), error, origin)] };
  }

  const data = kinesis.data;
  let bytes: Uint8Array | undefined;
  try {
    bytes = decodeBase64(data, origin.location);
    const text = decodeUtf8(bytes, origin.location);
    return { ...base, items: itemsFromText(text, origin, { arrays: true, raw: bytes }) };
  } catch (e) {
    const error = asInputError(e, origin.location);
    return { ...base, items: [rejectItem(bytes ?? utf8(data), error, origin)] };
  }
}
