import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { mapKinesisEvent } from '../../src/sources/kinesis.js';
import { accepted, b64, fixture, outline, rejected } from './support.js';

const stream = fixture<KinesisStreamEvent>('kinesis');
const malformed = fixture<KinesisStreamEvent>('kinesis-malformed');
const [first] = stream.Records as [KinesisStreamRecord];
const seqs = stream.Records.map((r) => r.kinesis.sequenceNumber);

function withData(data: string, changes: Partial<KinesisStreamRecord> = {}): KinesisStreamEvent {
  return { Records: [{ ...first, ...changes, kinesis: { ...first.kinesis, data } }] };
}

describe('mapKinesisEvent: three records from one shard', () => {
  const records = mapKinesisEvent(stream);

  it('names each record by its sequence number, as a string and as a bigint', () => {
    expect(records.map((r) => r.itemIdentifier)).toEqual(seqs);
    expect(records.map((r) => r.sequenceNumber)).toEqual(seqs.map((s) => BigInt(s)));
  });

  it('puts every record on its shard lane, never flagged as redelivered', () => {
    expect(records.map((r) => r.lane)).toEqual(Array(3).fill('shardId-000000000000'));
    expect(records.map((r) => r.maybeRedelivered)).toEqual([false, false, false]);
  });

  it('maps a valid record and rejects bad base64 and bad JSON', () => {
    expect(outline(records)).toEqual([
      [`ok kinesis:${seqs[0]}`],
      [`BASE64_INVALID kinesis:${seqs[1]}`],
      [`JSON_INVALID kinesis:${seqs[2]}`],
    ]);
    expect(accepted(records[0]?.items[0])).toEqual(
      JSON.parse(Buffer.from(first.kinesis.data, 'base64').toString()),
    );
  });

  it('keeps the text of bad base64, and the decoded bytes of bad JSON', () => {
    const badBase64 = rejected(records[1]?.items[0], 'BASE64_INVALID');
    expect(badBase64.rawText).toBe('not base64!');
    expect(badBase64.error.location).toBe(`kinesis record ${seqs[1]}`);

    const badJson = rejected(records[2]?.items[0], 'JSON_INVALID');
    expect(badJson.rawText).toBe('{"id":"4ced7ddf","time":');
    expect(badJson.paths).toEqual(['']);
  });
});

describe('mapKinesisEvent: malformed records', () => {
  const records = mapKinesisEvent(malformed);
  const seq = (i: number) => malformed.Records[i]?.kinesis.sequenceNumber;

  it('keeps every record, each as at least one item', () => {
    expect(records).toHaveLength(malformed.Records.length);
    expect(outline(records)).toEqual([
      [`UTF8_INVALID kinesis:${seq(0)}`],
      [`BASE64_INVALID kinesis:${seq(1)}`],
      [`BASE64_INVALID kinesis:${seq(2)}`],
      [`ok kinesis:${seq(3)}#0`, `ok kinesis:${seq(3)}#1`],
      [`EVENT_INVALID kinesis:${seq(4)}`],
      [`RECORD_INVALID kinesis:${seq(5)}`],
      [`EVENT_INVALID kinesis:${seq(6)}`],
      [`RECORD_INVALID kinesis:${seq(7)}`],
    ]);
  });

  it('keeps the decoded bytes of data that is not UTF-8', () => {
    expect([...rejected(records[0]?.items[0], 'UTF8_INVALID').raw]).toEqual([
      0x7b, 0xff, 0xfe, 0x7d,
    ]);
  });

  it('refuses base64 that Buffer.from would accept: no padding, a line break', () => {
    const data = malformed.Records[1]?.kinesis.data ?? '';
    expect(JSON.parse(Buffer.from(data, 'base64').toString()).id).toBeDefined();
    expect(rejected(records[1]?.items[0], 'BASE64_INVALID').rawText).toBe(data);
    expect(rejected(records[2]?.items[0], 'BASE64_INVALID').rawText).toContain('\n');
  });

  it('rejects an empty array and a JSON object that is not an event', () => {
    expect(rejected(records[4]?.items[0], 'EVENT_INVALID').paths).toEqual(['']);
    expect(rejected(records[6]?.items[0], 'EVENT_INVALID').paths).toEqual([
      'time',
      'action',
      'actor',
      'outcome',
      'hello',
    ]);
  });

  it('keeps a record without data, or without a shard id, whole; no lane without a shard', () => {
    const noData = rejected(records[5]?.items[0], 'RECORD_INVALID');
    expect(noData.paths).toEqual(['kinesis.data']);
    expect(JSON.parse(noData.rawText)).toEqual(malformed.Records[5]);

    const noShard = rejected(records[7]?.items[0], 'RECORD_INVALID');
    expect(noShard.paths).toEqual(['eventID']);
    expect(records[7]?.lane).toBeUndefined();
  });

  it('refuses a sequence number that is not decimal, keeping what it was', () => {
    const event = withData(first.kinesis.data);
    const record = event.Records[0] as KinesisStreamRecord;
    record.kinesis.sequenceNumber = '0x1f';

    const [mapped] = mapKinesisEvent(event);

    expect(mapped?.itemIdentifier).toBe('0x1f');
    expect(mapped?.sequenceNumber).toBeUndefined();
    expect(rejected(mapped?.items[0], 'RECORD_INVALID').paths).toEqual(['kinesis.sequenceNumber']);
  });

  it('rejects aggregated (KPL) records as not UTF-8', () => {
    const kpl = b64(new Uint8Array([0xf3, 0x89, 0x9a, 0xc2, 0x0a, 0x01, 0x41]));
    expect(rejected(mapKinesisEvent(withData(kpl))[0]?.items[0], 'UTF8_INVALID').raw).toHaveLength(
      7,
    );
  });

  it('gives a batch without Records one rejected item', () => {
    const records = mapKinesisEvent({ Records: 'x' } as unknown as KinesisStreamEvent);
    expect(rejected(records[0]?.items[0], 'PAYLOAD_INVALID').paths).toEqual(['Records']);
  });
});
