import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_LINE_LENGTH } from '../../src/core/event.js';
import { mapSqsEvent } from '../../src/sources/sqs.js';
import { accepted, fixture, outline, rejected } from './support.js';

const standard = fixture<SQSEvent>('sqs-standard');
const fifo = fixture<SQSEvent>('sqs-fifo');
const malformed = fixture<SQSEvent>('sqs-malformed');
const [first] = standard.Records as [SQSRecord];
const valid = JSON.parse(first.body);

/** An SQS event of one message like the fixture's first, with `body` and attribute changes. */
function oneMessage(body: string, attributes: Partial<SQSRecord['attributes']> = {}): SQSEvent {
  return { Records: [{ ...first, body, attributes: { ...first.attributes, ...attributes } }] };
}

describe('mapSqsEvent: standard queue', () => {
  const records = mapSqsEvent(standard);

  it('gives one record per message, named by messageId, on the default lane', () => {
    expect(records.map((r) => r.itemIdentifier)).toEqual(standard.Records.map((m) => m.messageId));
    expect(records.map((r) => r.lane)).toEqual([undefined, undefined, undefined, undefined]);
    expect(records.map((r) => r.maybeRedelivered)).toEqual([false, false, false, false]);
    expect(records.every((r) => r.sequenceNumber === undefined)).toBe(true);
  });

  it('maps each body to items: an event, bad JSON, an array of two, an invalid event', () => {
    expect(outline(records)).toEqual([
      ['ok sqs:059f36b4-87a3-44ab-83d2-661975830a7d'],
      ['JSON_INVALID sqs:2e1424d4-f796-459a-8184-9c92662be6da'],
      [
        'ok sqs:9a1b7c2d-4e5f-4a6b-8c7d-0e1f2a3b4c5d#0',
        'ok sqs:9a1b7c2d-4e5f-4a6b-8c7d-0e1f2a3b4c5d#1',
      ],
      ['EVENT_INVALID sqs:c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f'],
    ]);
  });

  it('keeps accepted events exactly as sent', () => {
    expect(accepted(records[0]?.items[0])).toEqual(valid);
    const array = JSON.parse(standard.Records[2]?.body ?? '');
    expect(records[2]?.items.map(accepted)).toEqual(array);
  });

  it('keeps the body of a rejected message as its raw bytes, and names the message', () => {
    const bad = rejected(records[1]?.items[0], 'JSON_INVALID');
    expect(bad.rawText).toBe(standard.Records[1]?.body);
    expect(bad.error.location).toBe('sqs message 2e1424d4-f796-459a-8184-9c92662be6da');

    const invalid = rejected(records[3]?.items[0], 'EVENT_INVALID');
    expect(invalid.paths).toEqual(['actor']);
    expect(invalid.rawText).toBe(standard.Records[3]?.body);
  });
});

describe('mapSqsEvent: FIFO queue', () => {
  const records = mapSqsEvent(fifo);

  it('puts each message on its MessageGroupId lane', () => {
    expect(records.map((r) => r.lane)).toEqual(['tenant-42', 'tenant-7']);
  });

  it('flags a message received before (ApproximateReceiveCount 2)', () => {
    expect(records.map((r) => r.maybeRedelivered)).toEqual([true, false]);
  });

  it('maps the bodies', () => {
    expect(outline(records)).toEqual([
      ['ok sqs:11d6ee51-4cc7-4302-9e22-7cd8afdaadf5'],
      ['ok sqs:2a7f3c1e-9b8d-4e6f-a5c4-3b2a1d0e9f8c'],
    ]);
  });

  it('gives no lane for a MessageGroupId on a standard queue (fair queues order nothing)', () => {
    const records = mapSqsEvent(oneMessage(first.body, { MessageGroupId: 'tenant-42' }));
    expect(records[0]?.lane).toBeUndefined();
  });
});

describe('mapSqsEvent: malformed messages', () => {
  const records = mapSqsEvent(malformed);

  it('keeps every message, each as at least one item', () => {
    expect(records).toHaveLength(malformed.Records.length);
    expect(outline(records)).toEqual([
      ['EVENT_INVALID sqs:0b8e3f5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b'],
      ['EVENT_INVALID sqs:1c9f4a6b-2d3e-4f5a-8b9c-8d7e6f5a4b3c'],
      ['RECORD_INVALID sqs:6b2f9e1d-3c4a-4b5e-8f7d-2a1c0b9e8d7f'],
      ['RECORD_INVALID sqs:-'],
      [
        'ok sqs:3e1b6c8d-4f5a-4b7c-8d9e-0f1a2b3c4d5e#0',
        'EVENT_INVALID sqs:3e1b6c8d-4f5a-4b7c-8d9e-0f1a2b3c4d5e#1',
      ],
      ['ok sqs:4f2c7d9e-5a6b-4c8d-9e0f-1a2b3c4d5e6f'],
    ]);
  });

  it('rejects an empty array body as one item', () => {
    const empty = rejected(records[0]?.items[0], 'EVENT_INVALID');
    expect(empty.paths).toEqual(['']);
    expect(empty.rawText).toBe('[]');
  });

  it('rejects a JSON body that is not an object', () => {
    expect(rejected(records[1]?.items[0], 'EVENT_INVALID').paths).toEqual(['']);
  });

  it('keeps a message without body or messageId whole, as JSON', () => {
    const noBody = rejected(records[2]?.items[0], 'RECORD_INVALID');
    expect(noBody.paths).toEqual(['body']);
    expect(JSON.parse(noBody.rawText)).toEqual(malformed.Records[2]);

    const noId = rejected(records[3]?.items[0], 'RECORD_INVALID');
    expect(noId.paths).toEqual(['messageId']);
    expect(records[3]?.itemIdentifier).toBeUndefined();
    expect(JSON.parse(noId.rawText)).toEqual(malformed.Records[3]);
  });

  it('rejects one element of an array body, keeping that element', () => {
    const element = rejected(records[4]?.items[1], 'EVENT_INVALID');
    expect(element.paths).toEqual(['actor']);
    expect(element.error.location).toBe('sqs message 3e1b6c8d-4f5a-4b7c-8d9e-0f1a2b3c4d5e item 1');
    expect(JSON.parse(element.rawText)).toEqual(JSON.parse(malformed.Records[4]?.body ?? '')[1]);
  });

  it('treats a missing ApproximateReceiveCount as a possible redelivery', () => {
    expect(records[5]?.maybeRedelivered).toBe(true);
  });
});

describe('mapSqsEvent: sizes and odd shapes', () => {
  it('refuses a single-event body longer than an event line, before parsing, keeping it all', () => {
    const body = JSON.stringify({ ...valid, detail: { pad: 'x'.repeat(MAX_EVENT_LINE_LENGTH) } });

    const [record] = mapSqsEvent(oneMessage(body));

    const big = rejected(record?.items[0], 'EVENT_TOO_LARGE');
    expect(big.paths).toEqual(['']);
    expect(big.raw.length).toBe(Buffer.byteLength(body));
  });

  it('accepts an array body longer than one event line (the queue bounds it)', () => {
    const event = { ...valid, detail: { pad: 'x'.repeat(60_000) } };
    const body = JSON.stringify(Array.from({ length: 10 }, () => event));
    expect(body.length).toBeGreaterThan(MAX_EVENT_LINE_LENGTH);

    const [record] = mapSqsEvent(oneMessage(body));

    expect(record?.items.every((i) => i.ok)).toBe(true);
    expect(record?.items).toHaveLength(10);
  });

  it('rejects an array element over the event size limit on its own', () => {
    const huge = { ...valid, detail: { pad: 'x'.repeat(70_000) } };

    const [record] = mapSqsEvent(oneMessage(JSON.stringify([valid, huge])));

    expect(record?.items[0]?.ok).toBe(true);
    expect(rejected(record?.items[1], 'EVENT_INVALID').paths).toEqual(['detail']);
  });

  it('accepts surrounding whitespace', () => {
    const [record] = mapSqsEvent(oneMessage(`\n  ${first.body}\r\n`));
    expect(accepted(record?.items[0])).toEqual(valid);
  });

  it('gives an empty batch no records, and a batch without Records one rejected item', () => {
    expect(mapSqsEvent({ Records: [] })).toEqual([]);

    const records = mapSqsEvent({} as SQSEvent);

    expect(records).toHaveLength(1);
    expect(rejected(records[0]?.items[0], 'PAYLOAD_INVALID').paths).toEqual(['Records']);
  });

  it('keeps a record that is not an object', () => {
    const records = mapSqsEvent({ Records: [42] } as unknown as SQSEvent);
    const item = rejected(records[0]?.items[0], 'RECORD_INVALID');
    expect(item.paths).toEqual(['messageId', 'body']);
    expect(item.rawText).toBe('42');
  });

  it('refuses a messageId that could not be stored as a delivery id', () => {
    const event = { Records: [{ ...first, messageId: 'a\u0000b' }] };
    const item = rejected(mapSqsEvent(event)[0]?.items[0], 'RECORD_INVALID');
    expect(item.paths).toEqual(['messageId']);
    expect(item.delivery).toEqual({ source: 'sqs' });
  });
});
