import { describe, expect, it } from 'vitest';
import { MAX_EVENT_LINE_LENGTH } from '../../src/core/event.js';
import { deliveryOf, isDeliveryId, itemsFromText } from '../../src/sources/items.js';
import { accepted, rejected, utf8 } from './support.js';

const origin = { source: 'sqs', id: 'm-1', location: 'sqs message m-1' };
const event = {
  time: '2026-11-01T00:00:00Z',
  action: 'login',
  actor: { id: 'zoe' },
  outcome: 'success',
};

describe('delivery ids (as core/entry.ts stores them)', () => {
  it('accepts 1 to 512 characters without control characters', () => {
    expect(isDeliveryId('059f36b4-87a3-44ab-83d2-661975830a7d')).toBe(true);
    expect(isDeliveryId('é'.repeat(512))).toBe(true);
    expect(isDeliveryId('x'.repeat(513))).toBe(false);
    expect(isDeliveryId('')).toBe(false);
    expect(isDeliveryId('a\tb')).toBe(false);
    expect(isDeliveryId('\uD800')).toBe(false);
    expect(isDeliveryId(7)).toBe(false);
  });

  it('leaves out an id that could not be stored', () => {
    expect(deliveryOf('sqs', 'a\u007fb')).toEqual({ source: 'sqs' });
    expect(deliveryOf('sqs', undefined)).toEqual({ source: 'sqs' });
  });
});

describe('itemsFromText', () => {
  it('reads one event, or with arrays on, each element', () => {
    const [one] = itemsFromText(JSON.stringify(event), origin, { arrays: true });
    expect(accepted(one)).toEqual(event);
    expect(one?.delivery).toEqual({ source: 'sqs', id: 'm-1' });
    const two = itemsFromText(JSON.stringify([event, event]), origin, { arrays: true });
    expect(two.map((i) => i.delivery.id)).toEqual(['m-1#0', 'm-1#1']);
  });

  it('refuses an array when arrays are off', () => {
    const [item] = itemsFromText(JSON.stringify([event]), origin, { arrays: false });
    expect(rejected(item, 'EVENT_INVALID').paths).toEqual(['']);
  });

  it('applies the event-line limit to a single event, at exactly one past it', () => {
    const pad = (n: number) => JSON.stringify({ ...event, detail: { p: 'x'.repeat(n) } });
    const base = pad(0).length;
    const atLimit = pad(MAX_EVENT_LINE_LENGTH - base);
    const over = pad(MAX_EVENT_LINE_LENGTH - base + 1);

    expect(atLimit).toHaveLength(MAX_EVENT_LINE_LENGTH);
    expect(
      rejected(itemsFromText(atLimit, origin, { arrays: true })[0], 'EVENT_INVALID').paths,
    ).toEqual(['detail']);
    expect(
      rejected(itemsFromText(over, origin, { arrays: true })[0], 'EVENT_TOO_LARGE').paths,
    ).toEqual(['']);
  });

  it('keeps the given raw bytes rather than re-encoding the text', () => {
    const raw = utf8('{oops');
    const [item] = itemsFromText('{oops', origin, { arrays: true, raw });
    expect(rejected(item, 'JSON_INVALID').raw).toBe(raw);
  });

  it('leaves out element ids when the record has none', () => {
    const items = itemsFromText(
      JSON.stringify([event]),
      { ...origin, id: undefined },
      { arrays: true },
    );
    expect(items[0]?.delivery).toEqual({ source: 'sqs' });
  });
});
