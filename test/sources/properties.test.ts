/**
 * Properties of every mapper: valid events survive each transport's encoding unchanged, and any
 * input at all (garbage bodies, payloads, records) maps without throwing to storable items, one
 * rejected item per unreadable record.
 */

import { gzipSync } from 'node:zlib';
import type { EventBridgeEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEntry, makeEventEntry, makeQuarantineEntry } from '../../src/core/entry.js';
import type { AuditEvent } from '../../src/core/event.js';
import { parseJsonStrict } from '../../src/core/strict-json.js';
import {
  mapCloudWatchLogsEvent,
  mapDirectInvocation,
  mapEventBridgeEvent,
  mapKinesisEvent,
  mapSqsEvent,
} from '../../src/sources/index.js';
import type { SourceRecord } from '../../src/sources/types.js';
import { auditEvent } from '../helpers/arbitraries.js';
import { allItems, b64 } from './support.js';

const RUNS = { numRuns: 150 };

/** Every item becomes an entry the log can store: no mapper output is unstorable. */
function expectStorable(records: readonly SourceRecord[]): void {
  for (const item of allItems(records)) {
    const entry = item.ok
      ? makeEventEntry(item.event, 0, item.delivery)
      : makeQuarantineEntry(item.raw, item.error, 0, item.delivery);
    encodeEntry(entry);
  }
}

/** Events split into consecutive groups: a group of one is sent as an object, others as arrays. */
const batches = fc
  .array(fc.tuple(auditEvent(), fc.boolean()), { minLength: 1, maxLength: 12 })
  .map((pairs) => {
    const groups: AuditEvent[][] = [];
    for (const [event, startsGroup] of pairs) {
      const last = groups.at(-1);
      if (startsGroup || last === undefined) groups.push([event]);
      else last.push(event);
    }
    return groups;
  });
const bodyOf = (group: AuditEvent[]) => JSON.stringify(group.length === 1 ? group[0] : group);

function sqsEvent(bodies: string[]) {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `059f36b4-87a3-44ab-83d2-${String(i).padStart(12, '0')}`,
      body,
      attributes: { ApproximateReceiveCount: '1' },
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:audit-events',
    })),
  } as never;
}

function kinesisEvent(data: string[]) {
  return {
    Records: data.map((d, i) => ({
      kinesis: { sequenceNumber: String(4965662139n * 10n ** 40n + BigInt(i)), data: d },
      eventSource: 'aws:kinesis',
      eventID: `shardId-000000000000:${4965662139n * 10n ** 40n + BigInt(i)}`,
    })),
  } as never;
}

function logsEvent(messages: string[]) {
  const batch = {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/aws/lambda/payments-api',
    logStream: 'stream',
    subscriptionFilters: ['auditlock'],
    logEvents: messages.map((message, i) => ({
      id: String(36622316099n * 10n ** 45n + BigInt(i)),
      timestamp: i,
      message,
    })),
  };
  return { awslogs: { data: b64(gzipSync(JSON.stringify(batch))) } };
}

const acceptedEvents = (records: readonly SourceRecord[]) =>
  allItems(records).map((i) => (i.ok ? i.event : i.error.code));

describe('valid events survive every transport unchanged', () => {
  it('SQS: one event or an array per message', () => {
    fc.assert(
      fc.property(batches, (groups) => {
        const records = mapSqsEvent(sqsEvent(groups.map(bodyOf)));
        expect(records).toHaveLength(groups.length);
        expect(acceptedEvents(records)).toEqual(groups.flat());
        const ids = allItems(records).map((i) => i.delivery.id);
        expect(new Set(ids).size).toBe(ids.length);
      }),
      RUNS,
    );
  });

  it('Kinesis: base64 of one event or an array per record', () => {
    fc.assert(
      fc.property(batches, (groups) => {
        const records = mapKinesisEvent(kinesisEvent(groups.map((g) => b64(bodyOf(g)))));
        expect(records).toHaveLength(groups.length);
        expect(acceptedEvents(records)).toEqual(groups.flat());
      }),
      RUNS,
    );
  });

  it('CloudWatch Logs: one event per log message, gzip and base64', () => {
    fc.assert(
      fc.property(fc.array(auditEvent(), { minLength: 1, maxLength: 12 }), (events) => {
        const records = mapCloudWatchLogsEvent(logsEvent(events.map((e) => JSON.stringify(e))));
        expect(records).toHaveLength(1);
        expect(acceptedEvents(records)).toEqual(events);
      }),
      RUNS,
    );
  });

  it('direct invocation: { events } and a bare array', () => {
    fc.assert(
      fc.property(fc.array(auditEvent(), { minLength: 1, maxLength: 12 }), (events) => {
        const sent = JSON.parse(JSON.stringify(events));
        expect(acceptedEvents(mapDirectInvocation({ events: sent }))).toEqual(events);
        expect(acceptedEvents(mapDirectInvocation(sent))).toEqual(events);
      }),
      RUNS,
    );
  });

  it('EventBridge: an audit event in detail', () => {
    fc.assert(
      fc.property(auditEvent(), (event) => {
        const envelope = {
          version: '0',
          id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
          'detail-type': 'Audit Event',
          source: 'com.example.payments',
          account: '123456789012',
          time: '2026-11-01T00:54:10Z',
          region: 'eu-west-1',
          resources: [],
          detail: event,
        };
        expect(acceptedEvents(mapEventBridgeEvent(envelope))).toEqual([event]);
      }),
      RUNS,
    );
  });
});

/** Text that is not a valid audit event: anything from random UTF-16 to JSON values. */
const garbageText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', ',', ':', ' ', '1', 'a') }),
  fc.json(),
);
const garbageBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  garbageText.map((s) => new TextEncoder().encode(s)),
);

/** How many items a body that is no audit event gives: one per element of a non-empty array. */
function expectedItems(body: string): number {
  try {
    // Bodies are read as strict JSON (duplicate names and inexact numbers refused as a whole).
    const value = parseJsonStrict(body, 'test');
    return Array.isArray(value) && value.length > 0 ? value.length : 1;
  } catch {
    return 1;
  }
}

describe('garbage never throws and is never dropped', () => {
  it('SQS bodies: one rejected item each (one per element for an array)', () => {
    fc.assert(
      fc.property(fc.array(garbageText, { maxLength: 5 }), (bodies) => {
        const records = mapSqsEvent(sqsEvent(bodies));
        expect(records).toHaveLength(bodies.length);
        records.forEach((r, i) => {
          expect(r.items).toHaveLength(expectedItems(bodies[i] ?? ''));
          expect(r.items.every((item) => !item.ok)).toBe(true);
        });
        expectStorable(records);
      }),
      RUNS,
    );
  });

  it('Kinesis data: any text, any bytes base64-encoded', () => {
    const data = fc.oneof(
      garbageText.map((text) => ({ data: text, items: 1 })),
      garbageBytes.map((bytes) => {
        let body = '';
        try {
          body = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {}
        return { data: b64(bytes), items: expectedItems(body) };
      }),
    );
    fc.assert(
      fc.property(fc.array(data, { maxLength: 5 }), (cases) => {
        const records = mapKinesisEvent(kinesisEvent(cases.map((c) => c.data)));
        expect(records.map((r) => r.items.length)).toEqual(cases.map((c) => c.items));
        expect(allItems(records).every((item) => !item.ok)).toBe(true);
        expectStorable(records);
      }),
      RUNS,
    );
  });

  it('CloudWatch Logs payloads: one rejected item', () => {
    const data = fc.oneof(
      garbageText,
      garbageBytes.map(b64),
      garbageBytes.map((bytes) => b64(gzipSync(bytes))),
    );
    fc.assert(
      fc.property(data, (d) => {
        const records = mapCloudWatchLogsEvent({ awslogs: { data: d } });
        expect(records).toHaveLength(1);
        expect(records[0]?.items).toHaveLength(1);
        expect(records[0]?.items[0]?.ok).toBe(false);
        expectStorable(records);
      }),
      RUNS,
    );
  });

  it('CloudWatch Logs messages: one rejected item per log event', () => {
    fc.assert(
      fc.property(fc.array(garbageText, { minLength: 1, maxLength: 5 }), (messages) => {
        const records = mapCloudWatchLogsEvent(logsEvent(messages));
        expect(records[0]?.items).toHaveLength(messages.length);
        expect(allItems(records).every((item) => !item.ok)).toBe(true);
        expectStorable(records);
      }),
      RUNS,
    );
  });

  it('whole events of any shape, to every mapper', () => {
    const shapes = fc.oneof(
      fc.anything(),
      fc.record({ Records: fc.array(fc.anything(), { maxLength: 4 }) }),
      fc.record({ awslogs: fc.record({ data: fc.anything() }) }),
      fc.record({
        id: fc.anything(),
        time: fc.anything(),
        source: fc.string(),
        'detail-type': fc.string(),
        detail: fc.anything(),
        resources: fc.anything(),
      }),
      fc.record({ events: fc.array(fc.anything(), { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(shapes, (event) => {
        const records = [
          mapSqsEvent(event as never),
          mapKinesisEvent(event as never),
          mapCloudWatchLogsEvent(event as never),
          mapDirectInvocation(event as never),
          mapEventBridgeEvent(event as EventBridgeEvent<string, unknown>),
        ];
        for (const r of records) expectStorable(r);
        // Records-based mappers keep every record; the others always give one record.
        const inputs = (event as { Records?: unknown })?.Records;
        if (Array.isArray(inputs)) {
          expect(records[0]).toHaveLength(inputs.length);
          expect(records[1]).toHaveLength(inputs.length);
        }
        expect(records[3]).toHaveLength(1);
        expect(records[4]).toHaveLength(1);
        for (const r of records.flat()) expect(r.items.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });
});
