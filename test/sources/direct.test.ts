import { describe, expect, it } from 'vitest';
import { type DirectEvent, mapDirectInvocation } from '../../src/sources/direct.js';
import { accepted, fixture, outline, rejected } from './support.js';

const payload = fixture<{ events: Record<string, unknown>[] }>('direct');

describe('mapDirectInvocation', () => {
  it('gives one record, retried whole, with one item per event', () => {
    const records = mapDirectInvocation(payload);

    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      itemIdentifier: undefined,
      lane: undefined,
      maybeRedelivered: false,
    });
    expect(outline(records)).toEqual([
      ['ok api:4ced7ddf-c1cc-41a5-9da0-e9abdf5a1375', 'ok api:1', 'EVENT_INVALID api:2'],
    ]);
    expect(accepted(records[0]?.items[1])).toEqual(payload.events[1]);
  });

  it('keeps a rejected event as its JSON, located by index', () => {
    const item = rejected(mapDirectInvocation(payload)[0]?.items[2], 'EVENT_INVALID');

    expect(item.paths).toEqual(['actor']);
    expect(item.error.location).toBe('direct invocation item 2');
    expect(JSON.parse(item.rawText)).toEqual(payload.events[2]);
  });

  it('takes a bare array the same way', () => {
    expect(outline(mapDirectInvocation(payload.events))).toEqual(
      outline(mapDirectInvocation(payload)),
    );
  });

  it('rejects an empty batch as one item', () => {
    expect(
      rejected(mapDirectInvocation({ events: [] })[0]?.items[0], 'EVENT_INVALID').paths,
    ).toEqual(['events']);
    expect(rejected(mapDirectInvocation([])[0]?.items[0], 'EVENT_INVALID').paths).toEqual(['']);
  });

  it('rejects any other payload as one item keeping it whole', () => {
    const cases: [unknown, string[]][] = [
      [payload.events[0], ['events', ...Object.keys(payload.events[0] ?? {})]],
      [{ events: 'x' }, ['events']],
      [{ events: [], extra: 1 }, ['extra']],
      ['text', ['']],
      [null, ['']],
      [42, ['']],
    ];
    for (const [value, paths] of cases) {
      const records = mapDirectInvocation(value as DirectEvent);
      expect(records).toHaveLength(1);
      expect(records[0]?.items).toHaveLength(1);
      const item = rejected(records[0]?.items[0], 'PAYLOAD_INVALID');
      expect(item.paths).toEqual(paths);
      expect(item.rawText).toBe(JSON.stringify(value));
      expect(item.delivery).toEqual({ source: 'api' });
    }
  });

  it('does not throw for values JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const item = rejected(mapDirectInvocation([cyclic, 10n])[0]?.items[0], 'EVENT_INVALID');
    expect(item.rawText).toBe('[object Object]');
  });
});
