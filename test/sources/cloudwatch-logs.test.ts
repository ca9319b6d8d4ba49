import { gunzipSync, gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { mapCloudWatchLogsEvent } from '../../src/sources/cloudwatch-logs.js';
import { gunzipBounded, MAX_DECOMPRESSED_BYTES } from '../../src/sources/decode.js';
import { accepted, b64, fixture, outline, rejected, text } from './support.js';

const subscription = fixture<CloudWatchLogsEvent>('cloudwatch-logs');
const decode = (e: CloudWatchLogsEvent): CloudWatchLogsDecodedData =>
  JSON.parse(gunzipSync(Buffer.from(e.awslogs.data, 'base64')).toString());
const batch = decode(subscription);
const ids = batch.logEvents.map((e) => e.id);
const awslogs = (bytes: Uint8Array | string): CloudWatchLogsEvent => ({
  awslogs: { data: b64(bytes) },
});

/** Maps `event`, expecting one record with one rejected item of `code`. */
function rejectedPayload(event: unknown, code: string) {
  const records = mapCloudWatchLogsEvent(event as CloudWatchLogsEvent);
  expect(records).toHaveLength(1);
  expect(records[0]?.items).toHaveLength(1);
  const item = rejected(records[0]?.items[0], code);
  expect(item.delivery).toEqual({ source: 'cloudwatch-logs' });
  return item;
}

describe('mapCloudWatchLogsEvent: a subscription batch of three log events', () => {
  const records = mapCloudWatchLogsEvent(subscription);

  it('gives one record, retried whole, with one item per log event', () => {
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      itemIdentifier: undefined,
      lane: undefined,
      maybeRedelivered: false,
    });
    expect(outline(records)).toEqual([ids.map((id) => `ok cloudwatch-logs:${id}`)]);
  });

  it('keeps each message as the event it holds', () => {
    expect(records[0]?.items.map(accepted)).toEqual(
      batch.logEvents.map((e) => JSON.parse(e.message)),
    );
  });
});

describe('mapCloudWatchLogsEvent: log events that are not audit events', () => {
  const event = fixture<CloudWatchLogsEvent>('cloudwatch-logs-bad-message');
  const logEvents = decode(event).logEvents;
  const records = mapCloudWatchLogsEvent(event);

  it('rejects only those, one item each, keeping the others', () => {
    expect(outline(records)).toEqual([
      [
        `ok cloudwatch-logs:${logEvents[0]?.id}`,
        `JSON_INVALID cloudwatch-logs:${logEvents[1]?.id}`,
        `EVENT_INVALID cloudwatch-logs:${logEvents[2]?.id}`,
        `RECORD_INVALID cloudwatch-logs:${logEvents[3]?.id}`,
      ],
    ]);
  });

  it('keeps the message, or the whole log event when it has no message', () => {
    const items = records[0]?.items ?? [];
    expect(rejected(items[1], 'JSON_INVALID').rawText).toBe(logEvents[1]?.message);
    expect(rejected(items[2], 'EVENT_INVALID').paths).toEqual(['actor']);
    const noMessage = rejected(items[3], 'RECORD_INVALID');
    expect(noMessage.paths).toEqual(['message']);
    expect(JSON.parse(noMessage.rawText)).toEqual(logEvents[3]);
  });

  it('refuses a JSON array message: one event per log event', () => {
    const json = JSON.stringify({
      ...batch,
      logEvents: [{ ...batch.logEvents[0], message: '[]' }],
    });
    const [record] = mapCloudWatchLogsEvent(awslogs(gzipSync(json)));
    expect(rejected(record?.items[0], 'EVENT_INVALID').paths).toEqual(['']);
  });
});

describe('mapCloudWatchLogsEvent: payloads without log data', () => {
  it('gives no records for a CONTROL_MESSAGE (a reachability check)', () => {
    expect(mapCloudWatchLogsEvent(fixture('cloudwatch-logs-control'))).toEqual([]);
  });

  it('gives no records for a batch without log events', () => {
    expect(
      mapCloudWatchLogsEvent(awslogs(gzipSync(JSON.stringify({ ...batch, logEvents: [] })))),
    ).toEqual([]);
  });
});

describe('mapCloudWatchLogsEvent: payloads that cannot be read', () => {
  it('keeps the text of bad base64', () => {
    const item = rejectedPayload(fixture('cloudwatch-logs-bad-base64'), 'BASE64_INVALID');
    expect(item.rawText).toBe('H4sIAAAAAAAAA%%%not base64');
  });

  it('keeps the bytes of data that is not gzip', () => {
    const event = fixture<CloudWatchLogsEvent>('cloudwatch-logs-bad-gzip');
    const item = rejectedPayload(event, 'GZIP_INVALID');
    expect(item.rawText).toBe(Buffer.from(event.awslogs.data, 'base64').toString());
  });

  it('refuses bytes after the gzip data, which zlib alone would ignore when zero', () => {
    rejectedPayload(fixture('cloudwatch-logs-trailing-garbage'), 'GZIP_INVALID');
    const zeros = Buffer.concat([gzipSync(JSON.stringify(batch)), Buffer.alloc(4)]);
    expect(() => gunzipSync(zeros)).not.toThrow();
    rejectedPayload(awslogs(zeros), 'GZIP_INVALID');
  });

  it('accepts several gzip members (RFC 1952 §2.2)', () => {
    const json = JSON.stringify(batch);
    const members = Buffer.concat([gzipSync(json.slice(0, 100)), gzipSync(json.slice(100))]);
    expect(outline(mapCloudWatchLogsEvent(awslogs(members)))).toEqual(
      outline(mapCloudWatchLogsEvent(subscription)),
    );
  });

  it('stops a decompression bomb at the bound, keeping the compressed bytes', () => {
    const event = fixture<CloudWatchLogsEvent>('cloudwatch-logs-gzip-bomb');
    const compressed = Buffer.from(event.awslogs.data, 'base64');
    expect(compressed.length).toBeLessThan(64 * 1024);

    const item = rejectedPayload(event, 'PAYLOAD_TOO_LARGE');

    expect(Buffer.from(item.raw).equals(compressed)).toBe(true);
  });

  it('decompresses exactly up to the bound and refuses one byte more', () => {
    const at = gzipSync(Buffer.alloc(MAX_DECOMPRESSED_BYTES));
    const over = gzipSync(Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1));
    expect(gunzipBounded(at, 'record 1').length).toBe(MAX_DECOMPRESSED_BYTES);
    expect(() => gunzipBounded(over, 'record 2')).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('keeps the decompressed bytes of text that is not JSON', () => {
    const item = rejectedPayload(fixture('cloudwatch-logs-not-json'), 'JSON_INVALID');
    expect(item.rawText).toBe('REPORT RequestId: 6e9f2a1b Duration: 2.1 ms');
  });

  it('keeps decompressed bytes that are not UTF-8', () => {
    const item = rejectedPayload(awslogs(gzipSync(Buffer.from([0xc3, 0x28]))), 'UTF8_INVALID');
    expect([...item.raw]).toEqual([0xc3, 0x28]);
  });

  it('refuses JSON of the wrong shape', () => {
    const event = fixture<CloudWatchLogsEvent>('cloudwatch-logs-wrong-shape');
    const item = rejectedPayload(event, 'PAYLOAD_INVALID');
    expect(item.paths).toEqual(['logEvents']);
    expect(item.rawText).toBe('{"messageType":"DATA_MESSAGE","owner":"123456789012"}');

    const unknownType = awslogs(gzipSync(JSON.stringify({ ...batch, messageType: 'OTHER' })));
    expect(rejectedPayload(unknownType, 'PAYLOAD_INVALID').paths).toEqual(['messageType']);
    expect(rejectedPayload(awslogs(gzipSync('[1]')), 'PAYLOAD_INVALID').paths).toEqual(['']);
  });

  it('keeps an event without awslogs.data whole', () => {
    const item = rejectedPayload({ awslogs: {} }, 'PAYLOAD_INVALID');
    expect(item.paths).toEqual(['awslogs.data']);
    expect(text(item.raw)).toBe('{"awslogs":{}}');
  });
});
