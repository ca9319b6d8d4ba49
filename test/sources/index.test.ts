import { describe, expect, it } from 'vitest';
import { detectSource, mapEvent } from '../../src/sources/index.js';
import type { SourceKind } from '../../src/sources/types.js';
import { fixture } from './support.js';

const fixtures: [string, SourceKind][] = [
  ['sqs-standard', 'sqs'],
  ['sqs-fifo', 'sqs'],
  ['sqs-malformed', 'sqs'],
  ['kinesis', 'kinesis'],
  ['kinesis-malformed', 'kinesis'],
  ['eventbridge-custom', 'eventbridge'],
  ['eventbridge-cloudtrail-create-user', 'eventbridge'],
  ['eventbridge-cloudtrail-access-denied', 'eventbridge'],
  ['eventbridge-ec2-state-change', 'eventbridge'],
  ['cloudwatch-logs', 'cloudwatch-logs'],
  ['cloudwatch-logs-control', 'cloudwatch-logs'],
  ['cloudwatch-logs-bad-base64', 'cloudwatch-logs'],
  ['direct', 'direct'],
];

describe('detectSource', () => {
  it.each(fixtures)('recognises %s as %s', (name, kind) => {
    expect(detectSource(fixture(name))).toBe(kind);
  });

  it('recognises a bare array as a direct invocation', () => {
    expect(detectSource([])).toBe('direct');
  });

  it('recognises nothing else', () => {
    const others = [
      null,
      'text',
      42,
      {},
      { Records: [] },
      { Records: [{ eventSource: 'aws:dynamodb' }] },
      { Records: [{ EventSource: 'aws:sns' }] },
      { awslogs: { data: 1 } },
      { 'detail-type': 'x', source: 'y' },
      { events: 'x' },
    ];
    for (const value of others) expect(detectSource(value)).toBeUndefined();
  });
});

describe('mapEvent', () => {
  it.each(fixtures)('maps %s without throwing', (name, kind) => {
    expect(Array.isArray(mapEvent(kind, fixture(name)))).toBe(true);
  });

  it('does not throw when an event is handed to the wrong mapper', () => {
    const kinds: SourceKind[] = ['sqs', 'kinesis', 'eventbridge', 'cloudwatch-logs', 'direct'];
    for (const [name] of fixtures) {
      for (const kind of kinds) {
        const items = mapEvent(kind, fixture(name)).flatMap((r) => r.items);
        if (kind !== detectSource(fixture(name))) expect(items.every((i) => !i.ok)).toBe(true);
      }
    }
  });
});
